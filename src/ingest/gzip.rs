//! Gzip request bodies (`Content-Encoding: gzip`): every member of the stream is read (RFC 1952
//! allows several, and `cat a.gz b.gz` or some HTTP clients produce them), the output is
//! bounded, and a body that cannot be read to its very end is refused whole (DESIGN.md §6) —
//! never half-read.
//!
//! Decisions:
//! - Bytes after the last member that are not a gzip member (garbage, zero padding, a cut-off
//!   member) make the body unreadable: the client sent something we cannot fully account for.
//! - An empty body is not a gzip stream (it has no member) and is refused.
//! - The output stops at `limit + 1` bytes: inflating never takes more memory than the limit,
//!   however small the compressed body (a gzip bomb costs at most `limit` bytes).

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// Why a gzip body is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GunzipError {
    /// The body is not a complete gzip stream: a bad header, a corrupt or cut-off member, a
    /// checksum that does not match, trailing bytes, or no member at all.
    #[error("the gzip body cannot be read: {reason}")]
    Corrupt {
        /// What the decoder found.
        reason: String,
    },
    /// The body inflates to more than the limit.
    #[error("the gzip body inflates to more than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes of inflated output.
        limit: usize,
    },
}

/// Inflates a gzip body of one or more members into at most `limit` bytes.
///
/// # Errors
/// [`GunzipError::TooLarge`] when the output would exceed `limit` (it stops reading there);
/// [`GunzipError::Corrupt`] when the body is empty or not read to its end as gzip members.
pub fn gunzip_limited(bytes: &[u8], limit: usize) -> Result<Vec<u8>, GunzipError> {
    if bytes.is_empty() {
        return Err(GunzipError::Corrupt {
            reason: "the body is empty (no gzip member)".into(),
        });
    }
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| GunzipError::Corrupt {
            reason: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(GunzipError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn one_member_is_inflated() {
        assert_eq!(gunzip_limited(&gz(b"hello"), 100).unwrap(), b"hello");
        assert_eq!(gunzip_limited(&gz(b""), 100).unwrap(), b"");
    }

    #[test]
    fn every_member_is_read() {
        let mut body = gz(b"{\"a\":1}\n{\"a\":2}\n");
        body.extend(gz(b"{\"a\":3}\n{\"a\":4}\n"));
        body.extend(gz(b"{\"a\":5}\n"));
        assert_eq!(
            gunzip_limited(&body, 1000).unwrap(),
            b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n{\"a\":5}\n"
        );
    }

    #[test]
    fn trailing_bytes_after_the_last_member_are_refused() {
        for tail in [
            &b"garbage"[..],
            &[0u8; 8][..],
            &[0x1f][..],
            &[0x1f, 0x8b, 8][..],
        ] {
            let mut body = gz(b"pings");
            body.extend_from_slice(tail);
            let e = gunzip_limited(&body, 1000).unwrap_err();
            assert!(matches!(e, GunzipError::Corrupt { .. }), "{tail:?}: {e:?}");
        }
    }

    #[test]
    fn a_cut_off_or_damaged_member_is_refused() {
        let body = gz(b"a body long enough to be cut somewhere in its deflate stream");
        for cut in [1, 5, 10, body.len() / 2, body.len() - 4, body.len() - 1] {
            let e = gunzip_limited(&body[..cut], 1000).unwrap_err();
            assert!(matches!(e, GunzipError::Corrupt { .. }), "cut {cut}: {e:?}");
        }
        // The CRC-32 of the trailer no longer matches the data.
        let mut bad_crc = body.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 0xff;
        assert!(matches!(
            gunzip_limited(&bad_crc, 1000),
            Err(GunzipError::Corrupt { .. })
        ));
        // A cut-off second member refuses the whole body, the good first member with it.
        let mut two = gz(b"first");
        two.extend_from_slice(&body[..body.len() - 3]);
        assert!(matches!(
            gunzip_limited(&two, 1000),
            Err(GunzipError::Corrupt { .. })
        ));
    }

    #[test]
    fn empty_and_plain_bodies_are_refused() {
        for body in [&b""[..], b"{\"worker\":\"w\"}", b"\x1f\x8b"] {
            assert!(
                matches!(gunzip_limited(body, 1000), Err(GunzipError::Corrupt { .. })),
                "{body:?}"
            );
        }
    }

    #[test]
    fn output_over_the_limit_is_refused_at_the_limit() {
        let data = vec![b'0'; 10_000];
        assert_eq!(gunzip_limited(&gz(&data), 10_000).unwrap().len(), 10_000);
        assert_eq!(
            gunzip_limited(&gz(&data), 9_999),
            Err(GunzipError::TooLarge { limit: 9_999 })
        );
        // Over the limit across members: 2 × 6,000 bytes.
        let mut two = gz(&data[..6_000]);
        two.extend(gz(&data[..6_000]));
        assert_eq!(
            gunzip_limited(&two, 10_000),
            Err(GunzipError::TooLarge { limit: 10_000 })
        );
        // A bomb: 16 MiB of zeros in about 16 KiB, refused after 1 MiB of output.
        let bomb = gz(&vec![0u8; 16 << 20]);
        assert!(bomb.len() < 40_000);
        assert_eq!(
            gunzip_limited(&bomb, 1 << 20),
            Err(GunzipError::TooLarge { limit: 1 << 20 })
        );
    }
}
