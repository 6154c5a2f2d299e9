//! Entity tags: the one tag of a body and the one `If-None-Match` test, shared by the map
//! page's assets (`page.rs`) and the layers and tiles (`layers.rs`).

use axum::http::{header, HeaderMap};
use sha2::Digest;

/// A strong entity tag of a body: the first 16 bytes of its SHA-256 in hex, quoted.
pub fn tag_of(body: &[u8]) -> String {
    let digest = sha2::Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether the request's `If-None-Match` names this tag: any of its header lines, any
/// comma-separated entry, `*`, and a weak `W/` entry compared weakly (RFC 9110 §13.1.2).
pub fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == tag
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::IF_NONE_MATCH, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn tag_is_quoted_and_changes_with_the_body() {
        let a = tag_of(b"a");
        assert_eq!(a.len(), 34);
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert_ne!(a, tag_of(b"b"));
    }

    #[test]
    fn if_none_match_lists_star_and_weak_entries() {
        let tag = tag_of(b"x");
        assert!(!not_modified(&HeaderMap::new(), &tag));
        assert!(not_modified(&with(&["*"]), &tag));
        let listed: &'static str = Box::leak(format!("\"other\", {tag}").into_boxed_str());
        assert!(not_modified(&with(&[listed]), &tag));
        let weak: &'static str = Box::leak(format!("W/{tag}").into_boxed_str());
        assert!(not_modified(&with(&["\"other\"", weak]), &tag));
        assert!(!not_modified(&with(&["\"other\""]), &tag));
    }
}
