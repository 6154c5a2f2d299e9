//! Sub-packaged messages put back together (消息包封装项, JT/T 808-2019 §4.4.3).
//!
//! A message too long for one frame is sent in `total` packages, each with its index (from 1)
//! and its own serial; the serials of one message's packages are consecutive, and the
//! platform names the message by its first package's serial (0x8003 补传分包请求 asks for
//! missing packages with "the serial of the original message's first package"). So a package
//! belongs to the message keyed by (phone, message id, total, first serial = serial − index
//! + 1, wrapping).
//!
//! Bounded: at most [`ReassemblyLimits::max_messages`] messages pending and
//! [`ReassemblyLimits::max_bytes`] body bytes over all of them (the oldest pending message is
//! dropped to make room); a message not complete within [`ReassemblyLimits::max_age_ms`] of
//! its first package is dropped. Times are the caller's clock, ms.

use std::collections::HashMap;

use super::frame::{Frame, FrameError, Package};

/// The bounds of a [`Reassembler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// The most messages pending at once.
    pub max_messages: usize,
    /// The most body bytes held over all pending messages; also the largest message.
    pub max_bytes: usize,
    /// How long a message may stay incomplete after its first package arrived, ms.
    pub max_age_ms: i64,
}

impl Default for ReassemblyLimits {
    /// 32 messages, 1 MiB, 2 minutes: plenty for location batches (about 40 bytes a location),
    /// too little for the multimedia uploads (0x0801) the door does not read.
    fn default() -> Self {
        ReassemblyLimits {
            max_messages: 32,
            max_bytes: 1 << 20,
            max_age_ms: 120_000,
        }
    }
}

/// Which message a package belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    phone: String,
    msg_id: u16,
    total: u16,
    first_serial: u16,
}

/// The packages of one message received so far.
#[derive(Debug)]
struct Pending {
    /// The header of a package, for the whole message's header.
    first: Frame,
    /// Bodies by index − 1.
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    bytes: usize,
    since_ms: i64,
    /// Arrival order, to drop the oldest first.
    order: u64,
}

/// Puts sub-packaged messages back together; one per connection (or one shared: the key
/// holds the phone).
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    pending: HashMap<Key, Pending>,
    bytes: usize,
    next_order: u64,
    dropped: u64,
}

impl Reassembler {
    /// An empty reassembler with these bounds.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            limits,
            ..Reassembler::default()
        }
    }

    /// Takes a frame received at `now_ms`. A frame that is not a sub-package (or is the only
    /// package of its message) comes back at once; a package is kept until its message is
    /// complete, which then comes back as one frame: the header of the first package with
    /// `package: None`, and the bodies in index order. A package received twice replaces the
    /// first copy.
    ///
    /// # Errors
    /// `bad_package` (index 0 or above the total, total 0), `reassembly_too_large` (a message
    /// that cannot fit in `max_bytes` even alone: `total` packages of this one's size).
    pub fn push(&mut self, frame: Frame, now_ms: i64) -> Result<Option<Frame>, FrameError> {
        self.expire(now_ms);
        let Some(Package { total, index }) = frame.header.package else {
            return Ok(Some(frame));
        };
        if total == 0 || index == 0 || index > total {
            return Err(FrameError::BadPackage { total, index });
        }
        if total == 1 {
            let mut frame = frame;
            frame.header.package = None;
            return Ok(Some(frame));
        }
        let limit = self.limits.max_bytes;
        if frame.body.len().saturating_mul(usize::from(total)) > limit.saturating_mul(2) {
            // Even allowing the last package to be short, this message cannot fit.
            return Err(FrameError::ReassemblyTooLarge { total, limit });
        }
        let key = Key {
            phone: frame.header.phone.clone(),
            msg_id: frame.header.msg_id,
            total,
            first_serial: frame.header.serial.wrapping_sub(index - 1),
        };
        let slot = usize::from(index - 1);
        let size = frame.body.len();
        let old = self
            .pending
            .get(&key)
            .and_then(|p| p.parts[slot].as_ref())
            .map_or(0, Vec::len);
        let held = self.pending.get(&key).map_or(0, |p| p.bytes);
        if held - old + size > limit {
            self.remove(&key);
            return Err(FrameError::ReassemblyTooLarge { total, limit });
        }
        // Make room: drop the oldest other messages until this package fits.
        while self.bytes - old + size > limit
            || (!self.pending.contains_key(&key) && self.pending.len() >= self.limits.max_messages)
        {
            let oldest = self
                .pending
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, p)| p.order)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.remove(&k);
                    self.dropped += 1;
                }
                None => break,
            }
        }
        if self.limits.max_messages == 0 {
            return Err(FrameError::ReassemblyTooLarge { total, limit });
        }
        let order = self.next_order;
        let pending = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            first: frame.clone(),
            parts: vec![None; usize::from(total)],
            received: 0,
            bytes: 0,
            since_ms: now_ms,
            order,
        });
        self.next_order += 1;
        if index == 1 {
            pending.first = frame.clone();
        }
        match pending.parts[slot].replace(frame.body) {
            Some(previous) => {
                pending.bytes -= previous.len();
                self.bytes -= previous.len();
            }
            None => pending.received += 1,
        }
        pending.bytes += size;
        self.bytes += size;
        if pending.received < usize::from(total) {
            return Ok(None);
        }
        let Some(done) = self.remove(&key) else {
            return Ok(None);
        };
        let mut whole = done.first;
        whole.header.package = None;
        whole.header.serial = key.first_serial;
        whole.body = done.parts.into_iter().flatten().flatten().collect();
        Ok(Some(whole))
    }

    /// Removes a pending message, keeping the byte count.
    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.bytes -= p.bytes;
        Some(p)
    }

    /// Drops the messages still incomplete `max_age_ms` after their first package; returns
    /// how many.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let max_age = self.limits.max_age_ms;
        let old: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ms.saturating_sub(p.since_ms) > max_age)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &old {
            self.remove(k);
        }
        self.dropped += old.len() as u64;
        old.len()
    }

    /// The messages pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The body bytes held over all pending messages.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The incomplete messages dropped so far (expired, or to make room).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jt808::{Header, Version};

    fn part(phone: &str, serial: u16, total: u16, index: u16, body: &[u8]) -> Frame {
        Frame {
            header: Header {
                msg_id: 0x0704,
                version: Version::V2013,
                encryption: 0,
                phone: phone.into(),
                serial,
                package: Some(Package { total, index }),
            },
            body: body.to_vec(),
        }
    }

    const PHONE: &str = "013912344323";

    #[test]
    fn packages_in_any_order_make_the_whole_body() {
        let mut r = Reassembler::default();
        // Serials 65534, 65535, 0: the serial wraps inside the message.
        assert_eq!(r.push(part(PHONE, 0, 3, 3, b"ghi"), 0), Ok(None));
        assert_eq!(r.push(part(PHONE, 65534, 3, 1, b"abc"), 1), Ok(None));
        assert_eq!(r.pending(), 1);
        assert_eq!(r.bytes(), 6);
        let whole = r
            .push(part(PHONE, 65535, 3, 2, b"def"), 2)
            .unwrap()
            .unwrap();
        assert_eq!(whole.body, b"abcdefghi".to_vec());
        assert_eq!(whole.header.package, None);
        assert_eq!(whole.header.serial, 65534);
        assert_eq!((r.pending(), r.bytes()), (0, 0));
    }

    #[test]
    fn frames_without_packages_pass_through() {
        let mut r = Reassembler::default();
        let mut f = part(PHONE, 5, 1, 1, b"x");
        f.header.package = None;
        assert_eq!(r.push(f.clone(), 0), Ok(Some(f.clone())));
        let single = part(PHONE, 5, 1, 1, b"x");
        assert_eq!(r.push(single, 0), Ok(Some(f)));
    }

    #[test]
    fn messages_of_other_terminals_and_serials_do_not_mix() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(part(PHONE, 10, 2, 1, b"a"), 0), Ok(None));
        assert_eq!(r.push(part("013912344324", 11, 2, 2, b"X"), 0), Ok(None));
        assert_eq!(r.push(part(PHONE, 21, 2, 2, b"Y"), 0), Ok(None));
        assert_eq!(r.pending(), 3);
        let whole = r.push(part(PHONE, 11, 2, 2, b"b"), 0).unwrap().unwrap();
        assert_eq!(whole.body, b"ab".to_vec());
        assert_eq!(r.pending(), 2);
    }

    #[test]
    fn a_repeated_package_replaces_the_first_copy() {
        let mut r = Reassembler::default();
        r.push(part(PHONE, 1, 2, 1, b"old!"), 0).unwrap();
        r.push(part(PHONE, 1, 2, 1, b"new"), 0).unwrap();
        assert_eq!(r.bytes(), 3);
        let whole = r.push(part(PHONE, 2, 2, 2, b"+"), 0).unwrap().unwrap();
        assert_eq!(whole.body, b"new+".to_vec());
        assert_eq!(r.bytes(), 0);
    }

    #[test]
    fn bad_packages_are_refused() {
        let mut r = Reassembler::default();
        for (total, index) in [(0, 0), (3, 0), (3, 4), (0, 1)] {
            assert_eq!(
                r.push(part(PHONE, 1, total, index, b"x"), 0),
                Err(FrameError::BadPackage { total, index })
            );
        }
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn bounds_drop_the_oldest_and_old_messages_expire() {
        let limits = ReassemblyLimits {
            max_messages: 2,
            max_bytes: 10,
            max_age_ms: 1000,
        };
        let mut r = Reassembler::new(limits);
        r.push(part(PHONE, 100, 2, 1, b"aaaa"), 0).unwrap();
        r.push(part(PHONE, 200, 2, 1, b"bbbb"), 1).unwrap();
        // A third message: the oldest (serial 100) goes.
        r.push(part(PHONE, 300, 2, 1, b"cc"), 2).unwrap();
        assert_eq!((r.pending(), r.bytes(), r.dropped()), (2, 6, 1));
        // The second package of 300 needs 5 more bytes: 6 + 5 > 10, so 200 goes too.
        let whole = r
            .push(part(PHONE, 301, 2, 2, b"12345"), 3)
            .unwrap()
            .unwrap();
        assert_eq!(whole.body, b"cc12345".to_vec());
        assert_eq!((r.pending(), r.bytes(), r.dropped()), (0, 0, 2));
        // Expiry.
        let mut r = Reassembler::new(limits);
        r.push(part(PHONE, 1, 2, 1, b"a"), 0).unwrap();
        assert_eq!(r.expire(1000), 0);
        assert_eq!(r.expire(1001), 1);
        assert_eq!(r.push(part(PHONE, 2, 2, 2, b"b"), 1002), Ok(None));
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn a_message_larger_than_the_limit_is_refused() {
        let limits = ReassemblyLimits {
            max_messages: 4,
            max_bytes: 10,
            max_age_ms: 1000,
        };
        let mut r = Reassembler::new(limits);
        assert_eq!(
            r.push(part(PHONE, 1, 100, 1, b"abcdef"), 0),
            Err(FrameError::ReassemblyTooLarge {
                total: 100,
                limit: 10
            })
        );
        r.push(part(PHONE, 1, 2, 1, b"abcdef"), 0).unwrap();
        assert_eq!(
            r.push(part(PHONE, 2, 2, 2, b"ghijk"), 0)
                .unwrap_err()
                .code(),
            "reassembly_too_large"
        );
        assert_eq!((r.pending(), r.bytes()), (0, 0));
    }
}
