//! The terminal's messages the door reads (JT/T 808-2019 §8): a frame's body → [`Message`].
//!
//! Decisions:
//! - Text fields of fixed length (maker, model, terminal id) are ASCII by practice; trailing
//!   NUL and space padding is removed, any other padding (some terminals pad with `'0'` on the
//!   left) is kept as sent.
//! - The plate is GBK (粤A12345). A GBK decoder needs a 20,000-entry table, so the plate is
//!   kept as its raw bytes with a lossy text: ASCII as is, each GBK character as U+FFFD
//!   (`"\u{fffd}A12345"`). The other text fields get the same lossy reading.
//! - Registration layout by the header's edition: 2019 (maker 11, model 30, terminal id 30
//!   bytes); 2013 (5, 20, 7); a 2013-header body too short for the 2013 layout (under 37
//!   bytes) is read in the 2011 layout (5, 8, 7), which terminals still send.

use super::frame::{Frame, FrameError, Version};
use super::location::{decode_batch, decode_location, ItemMap, Location, LocationBatch};

/// The message ids of the terminal and platform messages this module knows (消息 ID).
pub mod msg_id {
    /// 0x0001 terminal general response (终端通用应答).
    pub const TERMINAL_RESPONSE: u16 = 0x0001;
    /// 0x0002 heartbeat (终端心跳).
    pub const HEARTBEAT: u16 = 0x0002;
    /// 0x0100 registration (终端注册).
    pub const REGISTRATION: u16 = 0x0100;
    /// 0x0102 authentication (终端鉴权).
    pub const AUTHENTICATION: u16 = 0x0102;
    /// 0x0200 location report (位置信息汇报).
    pub const LOCATION: u16 = 0x0200;
    /// 0x0704 location batch (定位数据批量上传).
    pub const LOCATION_BATCH: u16 = 0x0704;
    /// 0x8001 platform general response (平台通用应答).
    pub const PLATFORM_RESPONSE: u16 = 0x8001;
    /// 0x8100 registration response (终端注册应答).
    pub const REGISTRATION_RESPONSE: u16 = 0x8100;
}

/// A terminal message, decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// 0x0001: the terminal's answer to a platform message.
    TerminalResponse(TerminalResponse),
    /// 0x0002: a heartbeat (its body, empty by the standard, is ignored).
    Heartbeat,
    /// 0x0100: a registration; the platform answers 0x8100 with an authentication code.
    Registration(Registration),
    /// 0x0102: an authentication with the code the platform gave at registration.
    Authentication(Authentication),
    /// 0x0200: a location report.
    Location(Box<Location>),
    /// 0x0704: a batch of locations, one result each.
    LocationBatch(LocationBatch),
    /// Any other message id: not read.
    Other(u16),
}

/// The 0x0001 body: which platform message is answered, and how (5 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminalResponse {
    /// The serial of the platform message answered (应答流水号).
    pub answer_serial: u16,
    /// The id of the platform message answered (应答 ID).
    pub answer_msg_id: u16,
    /// 0 success, 1 failure, 2 bad message, 3 unsupported (结果).
    pub result: u8,
}

/// A GBK text field kept raw (see the module's decisions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plate {
    /// The bytes as sent, trailing NULs removed.
    pub raw: Vec<u8>,
    /// ASCII as is, each GBK character as U+FFFD.
    pub text: String,
}

/// The 0x0100 body (终端注册).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Province id (GB/T 2260 first two digits) (省域 ID).
    pub province: u16,
    /// City or county id (GB/T 2260 last four digits) (市县域 ID).
    pub city: u16,
    /// Maker id: 5 bytes (2013), 11 (2019) (制造商 ID).
    pub maker_id: String,
    /// Terminal model: 20 bytes (2013; 8 in 2011), 30 (2019) (终端型号).
    pub model: String,
    /// Terminal id: 7 bytes (2013), 30 (2019) (终端 ID).
    pub terminal_id: String,
    /// Plate colour (JT/T 697.7; 0: no plate, the "plate" is then the VIN) (车牌颜色).
    pub plate_color: u8,
    /// The plate, GBK (车辆标识).
    pub plate: Plate,
}

/// The 0x0102 body (终端鉴权).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// The authentication code (鉴权码): 2013 the whole body, 2019 length-prefixed.
    pub code: String,
    /// 2019: the terminal's IMEI, 15 bytes.
    pub imei: Option<String>,
    /// 2019: its software version, 20 bytes.
    pub software_version: Option<String>,
}

/// Bytes with trailing NULs and spaces removed.
fn trim_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// GBK bytes read lossily: ASCII as is, a two-byte GBK character (lead 0x81–0xFE, trail
/// 0x40–0xFE but 0x7F) or any other byte above 0x7F as U+FFFD.
fn gbk_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii() {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        out.push(char::REPLACEMENT_CHARACTER);
        let pair = (0x81..=0xfe).contains(&b)
            && bytes
                .get(i + 1)
                .is_some_and(|&t| (0x40..=0xfe).contains(&t) && t != 0x7f);
        i += if pair { 2 } else { 1 };
    }
    out
}

/// A fixed-length text field.
fn text(bytes: &[u8]) -> String {
    gbk_lossy(trim_padding(bytes))
}

/// Splits off the first `n` bytes of `body`, or says what was too short.
fn take<'a>(body: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
    let Some((head, rest)) = body.split_at_checked(n) else {
        return Err(FrameError::Truncated {
            what,
            needed: n,
            got: body.len(),
        });
    };
    *body = rest;
    Ok(head)
}

/// A big-endian u16 of two bytes taken off the body.
fn take_u16(body: &mut &[u8], what: &'static str) -> Result<u16, FrameError> {
    let b = take(body, 2, what)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

/// Reads a 0x0100 body.
fn decode_registration(mut body: &[u8], version: Version) -> Result<Registration, FrameError> {
    let (maker, model, id) = match version {
        Version::V2019 { .. } => (11, 30, 30),
        Version::V2013 if body.len() < 2 + 2 + 5 + 20 + 7 + 1 => (5, 8, 7),
        Version::V2013 => (5, 20, 7),
    };
    let b = &mut body;
    let province = take_u16(b, "registration province")?;
    let city = take_u16(b, "registration city")?;
    let maker_id = text(take(b, maker, "registration maker id")?);
    let model = text(take(b, model, "registration model")?);
    let terminal_id = text(take(b, id, "registration terminal id")?);
    let plate_color = take(b, 1, "registration plate colour")?[0];
    let raw = trim_padding(body).to_vec();
    Ok(Registration {
        province,
        city,
        maker_id,
        model,
        terminal_id,
        plate_color,
        plate: Plate {
            text: gbk_lossy(&raw),
            raw,
        },
    })
}

/// Reads a 0x0102 body.
fn decode_authentication(mut body: &[u8], version: Version) -> Result<Authentication, FrameError> {
    match version {
        Version::V2013 => Ok(Authentication {
            code: text(body),
            imei: None,
            software_version: None,
        }),
        Version::V2019 { .. } => {
            let b = &mut body;
            let len = usize::from(take(b, 1, "authentication code length")?[0]);
            let code = text(take(b, len, "authentication code")?);
            let imei = text(take(b, 15, "authentication IMEI")?);
            let software_version = text(take(b, 20, "authentication software version")?);
            Ok(Authentication {
                code,
                imei: Some(imei),
                software_version: Some(software_version),
            })
        }
    }
}

/// Reads a 0x0001 body.
fn decode_terminal_response(mut body: &[u8]) -> Result<TerminalResponse, FrameError> {
    let b = &mut body;
    Ok(TerminalResponse {
        answer_serial: take_u16(b, "terminal response")?,
        answer_msg_id: take_u16(b, "terminal response")?,
        result: take(b, 1, "terminal response")?[0],
    })
}

/// Reads the body of a message of id `msg_id` in a header of edition `version`.
///
/// # Errors
/// `truncated` when the body is shorter than the message's fields, and the errors of
/// [`decode_location`] for a 0x0200 body (a 0x0704 batch has its items' errors inside).
pub fn decode_body(
    msg_id: u16,
    version: Version,
    body: &[u8],
    map: &ItemMap,
) -> Result<Message, FrameError> {
    Ok(match msg_id {
        msg_id::TERMINAL_RESPONSE => Message::TerminalResponse(decode_terminal_response(body)?),
        msg_id::HEARTBEAT => Message::Heartbeat,
        msg_id::REGISTRATION => Message::Registration(decode_registration(body, version)?),
        msg_id::AUTHENTICATION => Message::Authentication(decode_authentication(body, version)?),
        msg_id::LOCATION => Message::Location(Box::new(decode_location(body, map)?)),
        msg_id::LOCATION_BATCH => Message::LocationBatch(decode_batch(body, map)?),
        other => Message::Other(other),
    })
}

/// Reads a whole message: a frame that is not a sub-package, or the frame a
/// [`Reassembler`](super::Reassembler) put together.
///
/// # Errors
/// `encrypted` (properties bits 10–12 set), `bad_package` for a sub-package of a message of
/// more than one package (reassemble it first), then the errors of [`decode_body`].
pub fn decode(frame: &Frame, map: &ItemMap) -> Result<Message, FrameError> {
    let h = &frame.header;
    if h.encryption != 0 {
        return Err(FrameError::Encrypted { mode: h.encryption });
    }
    if let Some(p) = h.package.filter(|p| p.total != 1 || p.index != 1) {
        return Err(FrameError::BadPackage {
            total: p.total,
            index: p.index,
        });
    }
    decode_body(h.msg_id, h.version, &frame.body, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jt808::{Header, Package};

    fn frame(msg_id: u16, version: Version, body: &[u8]) -> Frame {
        Frame {
            header: Header {
                msg_id,
                version,
                encryption: 0,
                phone: "013912344323".into(),
                serial: 1,
                package: None,
            },
            body: body.to_vec(),
        }
    }

    const V2019: Version = Version::V2019 { protocol: 1 };

    #[test]
    fn gbk_is_kept_raw_and_read_lossily() {
        // 粤 is d4 c1 in GBK.
        assert_eq!(gbk_lossy(b"\xd4\xc1A12345"), "\u{fffd}A12345");
        assert_eq!(gbk_lossy(b"\x80A\xffB\xd4"), "\u{fffd}A\u{fffd}B\u{fffd}");
        assert_eq!(gbk_lossy(b"\xd4\x7f"), "\u{fffd}\u{7f}");
        assert_eq!(text(b"ab \0\0"), "ab");
        assert_eq!(text(b"\0\0"), "");
    }

    #[test]
    fn registration_layouts() {
        let mut b2013 = vec![0, 44, 1, 0x2c];
        b2013.extend(b"MAKER");
        b2013.extend(b"MODEL-20\0\0\0\0\0\0\0\0\0\0\0\0");
        b2013.extend(b"ID00001");
        b2013.push(1);
        b2013.extend(b"\xd4\xc1B12345");
        let Message::Registration(r) =
            decode(&frame(0x0100, Version::V2013, &b2013), &ItemMap::default()).unwrap()
        else {
            panic!("not a registration");
        };
        assert_eq!((r.province, r.city), (44, 300));
        assert_eq!(r.maker_id, "MAKER");
        assert_eq!(r.model, "MODEL-20");
        assert_eq!(r.terminal_id, "ID00001");
        assert_eq!(r.plate_color, 1);
        assert_eq!(r.plate.raw, b"\xd4\xc1B12345".to_vec());
        assert_eq!(r.plate.text, "\u{fffd}B12345");
        // Cut inside the terminal id: truncated.
        let short = frame(0x0100, V2019, &b2013[..30]);
        assert_eq!(
            decode(&short, &ItemMap::default()).unwrap_err(),
            FrameError::Truncated {
                what: "registration model",
                needed: 30,
                got: 15
            }
        );
    }

    #[test]
    fn authentication_editions() {
        let m = decode(
            &frame(0x0102, Version::V2013, b"abc\0"),
            &ItemMap::default(),
        );
        assert_eq!(
            m,
            Ok(Message::Authentication(Authentication {
                code: "abc".into(),
                imei: None,
                software_version: None
            }))
        );
        let mut b = vec![3];
        b.extend(b"abc123456789012345V1.0");
        b.extend([0; 16]);
        let m = decode(&frame(0x0102, V2019, &b), &ItemMap::default());
        assert_eq!(
            m,
            Ok(Message::Authentication(Authentication {
                code: "abc".into(),
                imei: Some("123456789012345".into()),
                software_version: Some("V1.0".into())
            }))
        );
        assert_eq!(
            decode(&frame(0x0102, V2019, &b[..30]), &ItemMap::default())
                .unwrap_err()
                .code(),
            "truncated"
        );
        assert_eq!(
            decode(&frame(0x0102, V2019, &[]), &ItemMap::default())
                .unwrap_err()
                .code(),
            "truncated"
        );
    }

    #[test]
    fn other_messages() {
        let map = ItemMap::default();
        assert_eq!(
            decode(&frame(0x0002, Version::V2013, &[]), &map),
            Ok(Message::Heartbeat)
        );
        assert_eq!(
            decode(&frame(0x0001, Version::V2013, &[0, 9, 0x82, 0, 1]), &map),
            Ok(Message::TerminalResponse(TerminalResponse {
                answer_serial: 9,
                answer_msg_id: 0x8200,
                result: 1
            }))
        );
        assert_eq!(
            decode(&frame(0x0001, Version::V2013, &[0, 9, 0x82, 0]), &map)
                .unwrap_err()
                .code(),
            "truncated"
        );
        assert_eq!(
            decode(&frame(0x0900, Version::V2013, &[1, 2, 3]), &map),
            Ok(Message::Other(0x0900))
        );
    }

    #[test]
    fn encrypted_and_partial_frames_are_refused() {
        let map = ItemMap::default();
        let mut f = frame(0x0002, Version::V2013, &[]);
        f.header.encryption = 1;
        assert_eq!(decode(&f, &map), Err(FrameError::Encrypted { mode: 1 }));
        let mut f = frame(0x0002, Version::V2013, &[]);
        f.header.package = Some(Package { total: 2, index: 1 });
        assert_eq!(decode(&f, &map).unwrap_err().code(), "bad_package");
        f.header.package = Some(Package { total: 1, index: 1 });
        assert_eq!(decode(&f, &map), Ok(Message::Heartbeat));
    }
}
