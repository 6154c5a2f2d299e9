//! Framing (JT/T 808-2019 §4.4): the streaming [`Deframer`] from TCP bytes to [`Frame`]s,
//! the [`Header`] of both editions, and [`encode_frame`] for the platform's messages.
//!
//! Decisions:
//! - Every 0x7e is a delimiter: whatever stands between two flags (or between the start of the
//!   stream and the first flag) is one candidate frame, and an empty one (two flags in a row,
//!   as between back-to-back frames) is nothing. So garbage, a frame cut short or a lost flag
//!   costs one `Err` and the next frame is decoded whole.
//! - The size limit counts un-escaped bytes between the flags (header, body, checksum). The
//!   largest frame the standard allows is [`MAX_FRAME_BYTES_STANDARD`] (a 21-byte header with
//!   sub-package fields, 1023 body bytes — the length field has 10 bits — and the checksum), so
//!   a longer 0x0704 batch arrives sub-packaged and [`DEFAULT_MAX_FRAME_BYTES`] (2 KiB) is
//!   never reached by a conforming frame: it only bounds memory. A candidate past the limit is
//!   reported once as `oversized` as soon as it crosses it, and its bytes are dropped up to the
//!   next flag, so a stream without flags never holds more than the limit.
//! - The phone number must be BCD digits (`bad_bcd` otherwise): it names the terminal.

use std::collections::VecDeque;

use super::bcd;

/// The flag that opens and closes every frame.
const FLAG: u8 = 0x7e;
/// The escape byte: `7d 02` stands for 0x7e and `7d 01` for 0x7d.
const ESCAPE: u8 = 0x7d;

/// The most body bytes one frame carries: the header's length field has 10 bits.
pub const MAX_BODY_BYTES: usize = 0x3ff;

/// The largest frame the standard allows, un-escaped, flags excluded: a 2019 header with
/// sub-package fields (21 bytes), [`MAX_BODY_BYTES`] and the checksum.
pub const MAX_FRAME_BYTES_STANDARD: usize = 21 + MAX_BODY_BYTES + 1;

/// The default limit of a [`Deframer`], un-escaped bytes between the flags: 2 KiB, twice what
/// a conforming frame can reach ([`MAX_FRAME_BYTES_STANDARD`]).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 2048;

/// The smallest frame: a 2013 header without sub-package fields (12 bytes) and the checksum.
const MIN_FRAME_BYTES: usize = 13;

/// Properties bits of the header (JT/T 808-2019 table 2).
const PROP_BODY_LEN: u16 = 0x03ff;
const PROP_PACKAGED: u16 = 1 << 13;
const PROP_VERSION: u16 = 1 << 14;

/// Why bytes from a terminal are not a usable frame or message. [`FrameError::code`] is the
/// stable snake_case name of each cause.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The last byte before the closing flag is not the XOR of the header and body bytes.
    #[error("checksum byte is {found:#04x}, the XOR of the header and body is {computed:#04x}")]
    BadChecksum {
        /// The checksum byte the frame carries.
        found: u8,
        /// The XOR of its header and body bytes.
        computed: u8,
    },
    /// 0x7d is followed by a byte other than 0x01 or 0x02 (0x7e: the frame ended after it).
    #[error("escape byte 0x7d followed by {byte:#04x} (only 0x01 and 0x02 are escapes)")]
    BadEscape {
        /// The byte after 0x7d.
        byte: u8,
    },
    /// Fewer bytes than the part being read needs (a frame shorter than its header, a body
    /// shorter than its message's fixed fields, a batch shorter than its count).
    #[error("{what} needs {needed} bytes, {got} left")]
    Truncated {
        /// The part being read.
        what: &'static str,
        /// The bytes it needs.
        needed: usize,
        /// The bytes there are.
        got: usize,
    },
    /// More un-escaped bytes between two flags than the deframer's limit.
    #[error("frame longer than {limit} bytes, dropped up to the next 0x7e")]
    Oversized {
        /// The limit, un-escaped bytes.
        limit: usize,
    },
    /// The body length in the header's properties (10 bits) is not the length of the body.
    #[error("header says the body has {header} bytes, it has {actual}")]
    BodyLength {
        /// The length in the header.
        header: usize,
        /// The bytes between the header and the checksum.
        actual: usize,
    },
    /// A BCD nibble above 9 (phone number, time).
    #[error("{field}: byte {byte:#04x} is not BCD (a nibble above 9)")]
    BadBcd {
        /// The field being read.
        field: &'static str,
        /// The offending byte.
        byte: u8,
    },
    /// A location time (YYMMDDhhmmss, UTC+8) that does not exist.
    #[error("time {bcd} (YYMMDDhhmmss, UTC+8) does not exist")]
    BadTime {
        /// The 12 digits as sent.
        bcd: String,
    },
    /// A location's additional item whose length runs past the end of the body, or a lone
    /// byte where an item's id and length should be.
    #[error("additional item {id:#04x} says {len} bytes, {available} left")]
    BadItem {
        /// The item's id.
        id: u8,
        /// The length it claims.
        len: usize,
        /// The bytes left after its id and length.
        available: usize,
    },
    /// The body is encrypted (properties bits 10–12 not zero): it cannot be read.
    #[error("body encrypted (mode {mode}); only plain bodies are read")]
    Encrypted {
        /// The encryption bits (1: RSA).
        mode: u8,
    },
    /// A sub-package whose index is 0 or above its total, or a total of 0.
    #[error("sub-package {index} of {total}: the index runs from 1 to the total")]
    BadPackage {
        /// The total in the header.
        total: u16,
        /// The index in the header.
        index: u16,
    },
    /// A sub-packaged message larger than the reassembler's byte limit.
    #[error("sub-packaged message of {total} packages cannot fit in {limit} bytes")]
    ReassemblyTooLarge {
        /// Its number of packages.
        total: u16,
        /// The reassembler's byte limit.
        limit: usize,
    },
}

impl FrameError {
    /// The stable snake_case code of the cause, e.g. `bad_checksum`.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::BadChecksum { .. } => "bad_checksum",
            FrameError::BadEscape { .. } => "bad_escape",
            FrameError::Truncated { .. } => "truncated",
            FrameError::Oversized { .. } => "oversized",
            FrameError::BodyLength { .. } => "body_length",
            FrameError::BadBcd { .. } => "bad_bcd",
            FrameError::BadTime { .. } => "bad_time",
            FrameError::BadItem { .. } => "bad_item",
            FrameError::Encrypted { .. } => "encrypted",
            FrameError::BadPackage { .. } => "bad_package",
            FrameError::ReassemblyTooLarge { .. } => "reassembly_too_large",
        }
    }
}

/// Why a platform message cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The phone is not 12 (2013 header) or 20 (2019 header) decimal digits.
    #[error("phone {phone:?} is not {digits} decimal digits")]
    BadPhone {
        /// The phone given.
        phone: String,
        /// The digits its header version needs.
        digits: usize,
    },
    /// The body is longer than one frame carries ([`MAX_BODY_BYTES`]).
    #[error("body of {len} bytes, a frame carries at most {MAX_BODY_BYTES}")]
    BodyTooLong {
        /// The body's length.
        len: usize,
    },
}

impl EncodeError {
    /// The stable snake_case code of the cause.
    pub fn code(&self) -> &'static str {
        match self {
            EncodeError::BadPhone { .. } => "bad_phone",
            EncodeError::BodyTooLong { .. } => "body_too_long",
        }
    }
}

/// The edition of a header: properties bit 14 (版本标识) is 0 in 2011/2013 headers and 1 in
/// 2019 ones, which add a protocol-version byte and a 10-byte phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// JT/T 808-2011/2013: phone 6 BCD bytes (12 digits).
    V2013,
    /// JT/T 808-2019: a protocol version byte (1 for the 2019 edition), phone 10 BCD bytes
    /// (20 digits).
    V2019 {
        /// The protocol version byte (协议版本号).
        protocol: u8,
    },
}

impl Version {
    /// The digits of the phone number in this edition's header.
    pub fn phone_digits(self) -> usize {
        match self {
            Version::V2013 => 12,
            Version::V2019 { .. } => 20,
        }
    }
}

/// Where a sub-package stands in its message (properties bit 13; 消息包封装项).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Package {
    /// The number of packages of the message (消息总包数).
    pub total: u16,
    /// This package's place, from 1 (包序号).
    pub index: u16,
}

/// A frame's header (消息头, JT/T 808-2019 table 2): message id, properties (body length,
/// encryption, sub-package and version bits), [protocol version,] phone, serial,
/// [package total and index].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The message id (消息 ID), e.g. 0x0200 for a location report.
    pub msg_id: u16,
    /// The edition of the header.
    pub version: Version,
    /// Properties bits 10–12 (数据加密方式): 0 plain, bit 10 RSA.
    pub encryption: u8,
    /// The terminal's phone number (终端手机号): the BCD digits, leading zeros kept (12 or 20).
    pub phone: String,
    /// The sender's message serial number (消息流水号), counting from 0 and wrapping.
    pub serial: u16,
    /// The sub-package fields, when properties bit 13 is set.
    pub package: Option<Package>,
}

impl Header {
    /// The bytes of this header for a body of `body_len` bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when the phone does not fit the edition or the body is too long.
    fn encode(&self, body_len: usize) -> Result<Vec<u8>, EncodeError> {
        if body_len > MAX_BODY_BYTES {
            return Err(EncodeError::BodyTooLong { len: body_len });
        }
        let digits = self.version.phone_digits();
        let phone = bcd::encode(&self.phone)
            .filter(|_| self.phone.len() == digits)
            .ok_or_else(|| EncodeError::BadPhone {
                phone: self.phone.clone(),
                digits,
            })?;
        // body_len ≤ 0x3ff was checked above.
        let mut props = u16::try_from(body_len).unwrap_or(0) & PROP_BODY_LEN;
        props |= u16::from(self.encryption & 0x07) << 10;
        if self.package.is_some() {
            props |= PROP_PACKAGED;
        }
        let mut out = Vec::with_capacity(21);
        out.extend(self.msg_id.to_be_bytes());
        match self.version {
            Version::V2013 => {
                out.extend(props.to_be_bytes());
            }
            Version::V2019 { protocol } => {
                out.extend((props | PROP_VERSION).to_be_bytes());
                out.push(protocol);
            }
        }
        out.extend(phone);
        out.extend(self.serial.to_be_bytes());
        if let Some(p) = self.package {
            out.extend(p.total.to_be_bytes());
            out.extend(p.index.to_be_bytes());
        }
        Ok(out)
    }
}

/// One checked frame: its header and its (un-escaped) body. The checksum was right and the
/// body is as long as the header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header.
    pub header: Header,
    /// The body (消息体), un-escaped; a sub-package's share of its message's body.
    pub body: Vec<u8>,
}

/// A big-endian u16 at `at` (the caller checked the length).
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The XOR of bytes (校验码).
fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Reads a frame from the un-escaped bytes between two flags.
///
/// # Errors
/// `truncated`, `bad_checksum`, `bad_bcd` (phone), `body_length`.
fn parse_frame(content: &[u8]) -> Result<Frame, FrameError> {
    let Some((&found, data)) = content
        .split_last()
        .filter(|_| content.len() >= MIN_FRAME_BYTES)
    else {
        return Err(FrameError::Truncated {
            what: "frame",
            needed: MIN_FRAME_BYTES,
            got: content.len(),
        });
    };
    let computed = xor(data);
    if computed != found {
        return Err(FrameError::BadChecksum { found, computed });
    }
    let props = be16(data, 2);
    let (version, phone_at, phone_len) = if props & PROP_VERSION != 0 {
        (Version::V2019 { protocol: data[4] }, 5, 10)
    } else {
        (Version::V2013, 4, 6)
    };
    let serial_at = phone_at + phone_len;
    let packaged = props & PROP_PACKAGED != 0;
    let header_len = serial_at + 2 + if packaged { 4 } else { 0 };
    if data.len() < header_len {
        return Err(FrameError::Truncated {
            what: "header",
            needed: header_len,
            got: data.len(),
        });
    }
    let header = Header {
        msg_id: be16(data, 0),
        version,
        encryption: ((props >> 10) & 0x07) as u8,
        phone: bcd::digits(&data[phone_at..serial_at], "phone")?,
        serial: be16(data, serial_at),
        package: packaged.then(|| Package {
            total: be16(data, serial_at + 2),
            index: be16(data, serial_at + 4),
        }),
    };
    let body = &data[header_len..];
    let said = usize::from(props & PROP_BODY_LEN);
    if body.len() != said {
        return Err(FrameError::BodyLength {
            header: said,
            actual: body.len(),
        });
    }
    Ok(Frame {
        header,
        body: body.to_vec(),
    })
}

/// The whole frame of a platform message: header (the body length and flags computed),
/// body, checksum, escaped, between flags.
///
/// # Errors
/// [`EncodeError::BadPhone`] when the header's phone is not 12 (2013) or 20 (2019) digits,
/// [`EncodeError::BodyTooLong`] past [`MAX_BODY_BYTES`].
pub fn encode_frame(header: &Header, body: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut content = header.encode(body.len())?;
    content.extend_from_slice(body);
    content.push(xor(&content));
    let mut out = Vec::with_capacity(content.len() + 8);
    out.push(FLAG);
    for &b in &content {
        match b {
            FLAG => out.extend([ESCAPE, 0x02]),
            ESCAPE => out.extend([ESCAPE, 0x01]),
            b => out.push(b),
        }
    }
    out.push(FLAG);
    Ok(out)
}

/// What the deframer does with the rest of the current candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Skip {
    /// Keep it.
    No,
    /// Drop it: it had a bad escape (reported at the closing flag).
    BadEscape(u8),
    /// Drop it: it passed the limit (already reported).
    Oversized,
}

/// The streaming deframer of one TCP connection: [`push`](Deframer::push) the bytes as they
/// arrive, in pieces of any size, then [`pop`](Deframer::pop) the frames (and the errors of
/// bad ones) in order. The frames do not depend on how the bytes were split.
///
/// Memory: the current candidate never holds more than the limit; [`pop`](Deframer::pop)
/// after every push so the queue of results stays short.
#[derive(Debug)]
pub struct Deframer {
    max_frame_bytes: usize,
    /// The un-escaped bytes of the current candidate.
    buf: Vec<u8>,
    /// The last byte was 0x7d.
    escaped: bool,
    skip: Skip,
    ready: VecDeque<Result<Frame, FrameError>>,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl Deframer {
    /// A deframer that refuses candidates longer than `max_frame_bytes` un-escaped bytes
    /// (raised to the 13 bytes of the smallest frame).
    pub fn new(max_frame_bytes: usize) -> Self {
        Deframer {
            max_frame_bytes: max_frame_bytes.max(MIN_FRAME_BYTES),
            buf: Vec::new(),
            escaped: false,
            skip: Skip::No,
            ready: VecDeque::new(),
        }
    }

    /// The limit, un-escaped bytes between two flags.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// Feeds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == FLAG {
                self.close();
                continue;
            }
            if self.skip != Skip::No {
                continue;
            }
            let byte = if self.escaped {
                self.escaped = false;
                match b {
                    0x01 => ESCAPE,
                    0x02 => FLAG,
                    other => {
                        self.skip = Skip::BadEscape(other);
                        self.buf.clear();
                        continue;
                    }
                }
            } else if b == ESCAPE {
                self.escaped = true;
                continue;
            } else {
                b
            };
            if self.buf.len() >= self.max_frame_bytes {
                self.skip = Skip::Oversized;
                self.buf = Vec::new();
                self.ready.push_back(Err(FrameError::Oversized {
                    limit: self.max_frame_bytes,
                }));
            } else {
                self.buf.push(byte);
            }
        }
    }

    /// Ends the current candidate at a flag.
    fn close(&mut self) {
        let escaped = std::mem::take(&mut self.escaped);
        let skip = std::mem::replace(&mut self.skip, Skip::No);
        match skip {
            Skip::Oversized => {}
            Skip::BadEscape(byte) => self.ready.push_back(Err(FrameError::BadEscape { byte })),
            Skip::No if escaped => {
                self.ready
                    .push_back(Err(FrameError::BadEscape { byte: FLAG }));
            }
            Skip::No if self.buf.is_empty() => {}
            Skip::No => self.ready.push_back(parse_frame(&self.buf)),
        }
        self.buf.clear();
    }

    /// The next frame, or the error of the next bad one, in the order they arrived; `None`
    /// until another closing flag arrives.
    pub fn pop(&mut self) -> Option<Result<Frame, FrameError>> {
        self.ready.pop_front()
    }

    /// The un-escaped bytes held for the frame not yet closed (at most the limit).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_2013() -> Header {
        Header {
            msg_id: 0x0200,
            version: Version::V2013,
            encryption: 0,
            phone: "013912344323".into(),
            serial: 0x7e7d,
            package: None,
        }
    }

    fn header_2019() -> Header {
        Header {
            msg_id: 0x0704,
            version: Version::V2019 { protocol: 1 },
            encryption: 0,
            phone: "00000000013912344329".into(),
            serial: 7,
            package: Some(Package { total: 3, index: 2 }),
        }
    }

    /// Frame content (header, body, checksum) escaped between flags, as a terminal sends it.
    fn wrap(content: &[u8]) -> Vec<u8> {
        let mut out = vec![FLAG];
        for &b in content {
            match b {
                FLAG => out.extend([ESCAPE, 0x02]),
                ESCAPE => out.extend([ESCAPE, 0x01]),
                b => out.push(b),
            }
        }
        out.push(FLAG);
        out
    }

    fn deframe_all(bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        let mut d = Deframer::default();
        d.push(bytes);
        std::iter::from_fn(|| d.pop()).collect()
    }

    fn codes(results: &[Result<Frame, FrameError>]) -> Vec<&'static str> {
        results
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "ok"))
            .collect()
    }

    #[test]
    fn escaping_is_the_standard_example() {
        // JT/T 808 §4.4.2's example: 30 7e 08 7d 55 is sent as 30 7d 02 08 7d 01 55.
        let h = header_2013();
        let wire = encode_frame(&h, &[0x30, 0x7e, 0x08, 0x7d, 0x55]).unwrap();
        let hex: String = wire.iter().map(|b| format!("{b:02x}")).collect();
        assert!(hex.contains("307d02087d0155"), "{hex}");
        // The serial 0x7e7d is escaped in the header too.
        assert!(hex.contains("7d027d01"), "{hex}");
        assert_eq!(wire.iter().filter(|&&b| b == FLAG).count(), 2);
    }

    #[test]
    fn frames_round_trip_in_both_editions() {
        for h in [header_2013(), header_2019()] {
            let body: Vec<u8> = (0..=255u8).chain([0x7e, 0x7d, 0x7d, 0x02]).collect();
            let wire = encode_frame(&h, &body).unwrap();
            let got = deframe_all(&wire);
            assert_eq!(
                got,
                vec![Ok(Frame {
                    header: h.clone(),
                    body
                })]
            );
        }
    }

    #[test]
    fn any_split_gives_the_same_frames() {
        let mut stream = encode_frame(&header_2013(), b"\x7e\x7d abc").unwrap();
        stream.extend(b"garbage");
        stream.extend(encode_frame(&header_2019(), &[0x7d; 20]).unwrap());
        let whole = deframe_all(&stream);
        assert_eq!(codes(&whole), ["ok", "truncated", "ok"]);
        for size in 1..stream.len() {
            let mut d = Deframer::default();
            let mut got = Vec::new();
            for piece in stream.chunks(size) {
                d.push(piece);
                got.extend(std::iter::from_fn(|| d.pop()));
            }
            assert_eq!(got, whole, "pieces of {size}");
        }
    }

    #[test]
    fn every_rejection_leaves_the_next_frame_whole() {
        let good = encode_frame(&header_2013(), b"body").unwrap();
        let mut bad_checksum = good.clone();
        let n = bad_checksum.len();
        bad_checksum[n - 2] ^= 0x01;
        let mut bad_escape = good.clone();
        bad_escape.insert(5, ESCAPE);
        bad_escape.insert(6, 0x03);
        let escape_then_flag = vec![FLAG, 0x01, 0x02, ESCAPE, FLAG];
        let truncated = good[..8].to_vec();
        // Body length 5 in the header, 4 bytes of body (checksum fixed up).
        let mut content = header_2013().encode(5).unwrap();
        content.extend(b"body");
        content.push(xor(&content));
        let body_length = wrap(&content);
        // A 2019 header cut short: the version bit set, 14 bytes.
        let mut short_2019 = vec![0x02, 0x00, 0x40, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        short_2019.push(xor(&short_2019));
        let short_2019_frame = wrap(&short_2019);
        // A phone that is not BCD.
        let mut bad_phone = header_2013().encode(0).unwrap();
        bad_phone[4] = 0xa1;
        bad_phone.push(xor(&bad_phone));
        let bad_phone_frame = wrap(&bad_phone);
        let oversized: Vec<u8> = [FLAG]
            .into_iter()
            .chain(std::iter::repeat_n(0x11, 3000))
            .chain([FLAG])
            .collect();
        for (bad, code) in [
            (bad_checksum, "bad_checksum"),
            (bad_escape, "bad_escape"),
            (escape_then_flag, "bad_escape"),
            (truncated, "truncated"),
            (body_length, "body_length"),
            (short_2019_frame, "truncated"),
            (bad_phone_frame, "bad_bcd"),
            (oversized, "oversized"),
        ] {
            let mut stream = bad.clone();
            stream.extend(&good);
            let got = deframe_all(&stream);
            assert_eq!(codes(&got), [code, "ok"], "{bad:02x?}");
            assert_eq!(got[1], deframe_all(&good)[0]);
        }
    }

    #[test]
    fn a_stream_without_flags_stays_within_the_limit() {
        let mut d = Deframer::new(100);
        let mut errors = Vec::new();
        for _ in 0..1000 {
            d.push(&[0x55; 37]);
            assert!(d.buffered() <= 100);
            errors.extend(std::iter::from_fn(|| d.pop()));
        }
        assert_eq!(errors, vec![Err(FrameError::Oversized { limit: 100 })]);
        // The next frame after the flag is whole.
        d.push(&encode_frame(&header_2013(), b"x").unwrap());
        assert!(matches!(d.pop(), Some(Ok(_))));
        assert_eq!(d.pop(), None);
    }

    #[test]
    fn a_frame_of_exactly_the_limit_passes_and_one_more_byte_does_not() {
        let body = vec![0x42; 100];
        let wire = encode_frame(&header_2013(), &body).unwrap();
        let content = 12 + 100 + 1;
        let mut d = Deframer::new(content);
        d.push(&wire);
        assert!(matches!(d.pop(), Some(Ok(_))));
        let mut d = Deframer::new(content - 1);
        d.push(&wire);
        assert_eq!(d.pop().unwrap().unwrap_err().code(), "oversized");
        assert_eq!(d.pop(), None);
    }

    #[test]
    fn header_fields_are_read_from_the_properties() {
        // msg 0x0200, props: body 1 byte, RSA (bit 10), version flag, sub-package.
        let mut content = vec![0x02, 0x00, 0x64, 0x01, 0x01];
        content.extend([0x00, 0x00, 0x00, 0x00, 0x01, 0x39, 0x12, 0x34, 0x43, 0x29]);
        content.extend([0x00, 0x05, 0x00, 0x02, 0x00, 0x01, 0xaa]);
        content.push(xor(&content));
        let frame = deframe_all(&wrap(&content)).remove(0).unwrap();
        assert_eq!(
            frame.header,
            Header {
                msg_id: 0x0200,
                version: Version::V2019 { protocol: 1 },
                encryption: 1,
                phone: "00000000013912344329".into(),
                serial: 5,
                package: Some(Package { total: 2, index: 1 }),
            }
        );
        assert_eq!(frame.body, vec![0xaa]);
    }

    #[test]
    fn encoding_refuses_what_cannot_be_framed() {
        let mut h = header_2013();
        h.phone = "13912344323".into();
        assert_eq!(
            encode_frame(&h, b"").unwrap_err().code(),
            "bad_phone",
            "11 digits in a 2013 header"
        );
        h.phone = "01391234432x".into();
        assert_eq!(encode_frame(&h, b"").unwrap_err().code(), "bad_phone");
        let h = header_2013();
        assert_eq!(
            encode_frame(&h, &[0; MAX_BODY_BYTES + 1]),
            Err(EncodeError::BodyTooLong {
                len: MAX_BODY_BYTES + 1
            })
        );
        assert!(encode_frame(&h, &[0; MAX_BODY_BYTES]).is_ok());
    }
}
