//! The platform's answers (JT/T 808-2019 §8.2, §8.6): the general response 0x8001 and the
//! registration response 0x8100, framed with a header that mirrors the terminal's (edition,
//! protocol version, phone) and carries the platform's own serial.

use super::frame::{encode_frame, EncodeError, Header};
use super::message::msg_id;

/// The result of a platform general response (0x8001 结果).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseResult {
    /// 0: success / acknowledged.
    Ok = 0,
    /// 1: failure.
    Failure = 1,
    /// 2: the message was wrong (消息有误).
    BadMessage = 2,
    /// 3: not supported.
    Unsupported = 3,
}

/// The result of a registration response (0x8100 结果).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationResult {
    /// 0: registered; the authentication code follows.
    Ok = 0,
    /// 1: the vehicle is already registered.
    VehicleRegistered = 1,
    /// 2: no such vehicle in the platform's database.
    NoSuchVehicle = 2,
    /// 3: the terminal is already registered.
    TerminalRegistered = 3,
    /// 4: no such terminal in the platform's database.
    NoSuchTerminal = 4,
}

/// The header of the platform's answer to a terminal: message `msg_id`, the terminal's
/// edition and phone, the platform's `serial`, plain and in one package.
pub fn reply_header(to: &Header, msg_id: u16, serial: u16) -> Header {
    Header {
        msg_id,
        version: to.version,
        encryption: 0,
        phone: to.phone.clone(),
        serial,
        package: None,
    }
}

/// The frame of a platform general response (0x8001) to the message of header `to`: answer
/// serial, answer message id, result.
///
/// # Errors
/// [`EncodeError::BadPhone`] when `to`'s phone does not fit its edition (never for a header
/// the deframer read).
pub fn general_response(
    to: &Header,
    serial: u16,
    result: ResponseResult,
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::with_capacity(5);
    body.extend(to.serial.to_be_bytes());
    body.extend(to.msg_id.to_be_bytes());
    body.push(result as u8);
    encode_frame(&reply_header(to, msg_id::PLATFORM_RESPONSE, serial), &body)
}

/// The frame of a registration response (0x8100) to the registration of header `to`: answer
/// serial, result, and on success the authentication code (the bytes of `auth_code`; keep it
/// ASCII, the terminal reads GBK).
///
/// # Errors
/// [`EncodeError::BadPhone`] as for [`general_response`]; [`EncodeError::BodyTooLong`] for
/// a code past 1020 bytes.
pub fn registration_response(
    to: &Header,
    serial: u16,
    result: RegistrationResult,
    auth_code: &str,
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::with_capacity(3 + auth_code.len());
    body.extend(to.serial.to_be_bytes());
    body.push(result as u8);
    if result == RegistrationResult::Ok {
        body.extend(auth_code.as_bytes());
    }
    encode_frame(
        &reply_header(to, msg_id::REGISTRATION_RESPONSE, serial),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jt808::{Deframer, Package, Version};

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn general_response_matches_a_published_frame() {
        // go-jt808 protocol/model/parse_test.go, "P0x8001 平台-通用应答":
        // 7e 8001 0005 012345678901 0000 | 7fff 0002 00 | 8e 7e — answer serial 32767,
        // answer id 0x0002, result 0, the platform's serial 0.
        let to = Header {
            msg_id: 0x0002,
            version: Version::V2013,
            encryption: 0,
            phone: "012345678901".into(),
            serial: 0x7fff,
            package: Some(Package { total: 2, index: 2 }),
        };
        let got = general_response(&to, 0, ResponseResult::Ok).unwrap();
        assert_eq!(hex(&got), "7e8001000501234567890100007fff0002008e7e");
    }

    #[test]
    fn registration_response_matches_a_published_frame() {
        // xtream-codec debug-ui codec-utils.ts, BuiltinMessage8100 (2019 header):
        // 7e 8100 400d 01 00000000013912344329 0000 | 006f 00 "ok..ok..ok" | d2 7e.
        let to = Header {
            msg_id: 0x0100,
            version: Version::V2019 { protocol: 1 },
            encryption: 0,
            phone: "00000000013912344329".into(),
            serial: 111,
            package: None,
        };
        let got = registration_response(&to, 0, RegistrationResult::Ok, "ok..ok..ok").unwrap();
        assert_eq!(
            got,
            unhex("7e8100400d01000000000139123443290000006f006f6b2e2e6f6b2e2e6f6bd27e")
        );
        // A refusal carries no code.
        let refused =
            registration_response(&to, 9, RegistrationResult::NoSuchTerminal, "x").unwrap();
        let mut d = Deframer::default();
        d.push(&refused);
        let frame = d.pop().unwrap().unwrap();
        assert_eq!(frame.body, vec![0x00, 0x6f, 0x04]);
        assert_eq!(frame.header, reply_header(&to, 0x8100, 9));
    }
}
