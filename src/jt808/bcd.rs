//! BCD (8421 code, two decimal digits a byte, high nibble first): the terminal's phone number
//! and the time of a location.

use chrono::NaiveDate;

use super::frame::FrameError;
use crate::model::UnixMs;

/// The offset of the standard's times (Beijing time, UTC+8), ms.
const UTC8_MS: i64 = 8 * 3_600_000;

/// The digits of BCD bytes, leading zeros kept.
///
/// # Errors
/// [`FrameError::BadBcd`] when a nibble is above 9.
pub(crate) fn digits(bytes: &[u8], field: &'static str) -> Result<String, FrameError> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if nibble > 9 {
                return Err(FrameError::BadBcd { field, byte: b });
            }
            out.push(char::from(b'0' + nibble));
        }
    }
    Ok(out)
}

/// The BCD bytes of a string of decimal digits (an even number of them), or `None` when it
/// holds anything else.
pub(crate) fn encode(digits: &str) -> Option<Vec<u8>> {
    let d = digits.as_bytes();
    if !d.len().is_multiple_of(2) || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        d.chunks_exact(2)
            .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
            .collect(),
    )
}

/// The instant of a 6-byte BCD time `YYMMDDhhmmss` in UTC+8 (years 2000–2099), UTC ms.
///
/// # Errors
/// [`FrameError::BadBcd`] for a nibble above 9, [`FrameError::BadTime`] for a date or time
/// that does not exist (month 13, 30 February, hour 24, the all-zero time of a terminal
/// without a fix).
pub(crate) fn time_utc8(bytes: &[u8; 6]) -> Result<UnixMs, FrameError> {
    let text = digits(bytes, "time")?;
    let n: Vec<u32> = bytes
        .iter()
        .map(|b| u32::from(b >> 4) * 10 + u32::from(b & 0x0f))
        .collect();
    let year = 2000 + i32::try_from(n[0]).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, n[1], n[2])
        .and_then(|d| d.and_hms_opt(n[3], n[4], n[5]))
        .map(|t| t.and_utc().timestamp_millis() - UTC8_MS)
        .ok_or(FrameError::BadTime { bcd: text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_keep_leading_zeros_and_refuse_nibbles_above_nine() {
        assert_eq!(
            digits(&[0x01, 0x39, 0x12], "phone").unwrap(),
            "013912".to_string()
        );
        assert_eq!(
            digits(&[0x01, 0x3a], "phone"),
            Err(FrameError::BadBcd {
                field: "phone",
                byte: 0x3a
            })
        );
        assert_eq!(encode("013912"), Some(vec![0x01, 0x39, 0x12]));
        assert_eq!(encode("01391"), None);
        assert_eq!(encode("01a9"), None);
    }

    #[test]
    fn times_are_beijing_time() {
        // 2024-10-01 23:59:59 +08:00 = 2024-10-01T15:59:59Z = 1727798399 s (date -d).
        assert_eq!(
            time_utc8(&[0x24, 0x10, 0x01, 0x23, 0x59, 0x59]).unwrap(),
            1_727_798_399_000
        );
        // New year in Beijing is still the old year in UTC.
        assert_eq!(
            time_utc8(&[0x20, 0x01, 0x01, 0x00, 0x00, 0x00]).unwrap(),
            1_577_836_800_000 - 8 * 3_600_000
        );
    }

    #[test]
    fn impossible_times_are_refused() {
        for bad in [
            [0x24, 0x13, 0x01, 0x00, 0x00, 0x00],
            [0x23, 0x02, 0x29, 0x00, 0x00, 0x00],
            [0x24, 0x01, 0x01, 0x24, 0x00, 0x00],
            [0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        ] {
            assert_eq!(
                time_utc8(&bad).unwrap_err().code(),
                "bad_time",
                "{bad:02x?}"
            );
        }
        assert_eq!(
            time_utc8(&[0x24, 0x1a, 0x01, 0x00, 0x00, 0x00])
                .unwrap_err()
                .code(),
            "bad_bcd"
        );
    }
}
