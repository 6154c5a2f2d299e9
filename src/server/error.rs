//! The HTTP errors of DESIGN.md §5.4: `{"code": "snake_case_code", "message": "what to fix"}`
//! with the right status; a 5xx says only "internal error" and the cause goes to the log with
//! the request id.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code clients match on.
    pub code: String,
    /// What is wrong and what to fix.
    pub message: String,
}

/// An error answer.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The message for the client.
    pub message: String,
    /// Seconds to wait (429).
    pub retry_after: Option<u64>,
    /// Faults of a registry upload (422), each naming its feature or line.
    pub faults: Vec<String>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            faults: Vec::new(),
        }
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500: the cause is logged, the client sees "internal error".
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// A full disk is 507 `insufficient_storage`; a store that cannot be written (read-only,
    /// I/O error) or is damaged, or is shutting down, is 503 `store_unavailable`; both with
    /// `Retry-After` and JSON. The store logs these conditions once while they last; any other
    /// failure is a logged 500.
    fn from(e: crate::store::StoreError) -> ApiError {
        use crate::store::StoreError as E;
        let mut err = match &e {
            E::Full { .. } => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                "the server's disk is full: nothing of this request was stored; send it again later",
            ),
            E::Unwritable { .. } | E::Corrupt { .. } | E::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the server's store cannot be written now: nothing of this request was stored; send it again later",
            ),
            _ => return ApiError::internal(e),
        };
        err.retry_after = Some(30);
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // A last bound on what an answer can echo: each message is cut (the values inside it
        // are cut where they are quoted already).
        let mut body = serde_json::json!({"code": self.code, "message": cut(&self.message, 1024)});
        if !self.faults.is_empty() {
            let faults: Vec<String> = self.faults.iter().map(|f| cut(f, 512)).collect();
            body["faults"] = serde_json::json!(faults);
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}

/// `text` cut to `max` characters and `…`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The answers every operation that needs a token can give besides its own (DESIGN.md §5.4):
/// listed in the OpenAPI document of each such operation.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // a description for the OpenAPI document, never built
pub enum TokenAnswers {
    /// `unauthorized`: no token, or one the server does not know. Checked before the request's
    /// parameters and body, so a bad request without a token is a 401, not a 400.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `rate_limited`: the token is over its rate; `Retry-After` says when to try again.
    #[response(status = 429)]
    RateLimited(ErrorBody),
}
