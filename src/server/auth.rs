//! Accounts and scopes (DESIGN.md §7): bearer tokens from the config, kept only as SHA-256
//! hashes; a role (`device`, `viewer`, `admin`) and a unit whose subtree is the scope.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::http::HeaderMap;

use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::{AppState, Engine};
use crate::config::TokenConfig;
use crate::registry::Registry;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// May post pings for its workers, and read nothing.
    Device,
    /// Reads within its scope.
    Viewer,
    /// Reads, posts pings for any worker and changes the registry, within its scope.
    Admin,
}

impl Role {
    /// The role's name in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Device => "device",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    /// The role of a config name.
    ///
    /// # Errors
    /// When the name is not a role.
    pub fn parse(name: &str) -> Result<Role, String> {
        match name {
            "device" => Ok(Role::Device),
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "role {other:?} is not a role: expected device, viewer or admin"
            )),
        }
    }
}

/// The caller of a request, once its token is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (for logs), or `open` on a server without tokens.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The unit whose subtree it may see; `None` = everything.
    pub unit: Option<String>,
    /// Device tokens: the workers it may post for.
    pub workers: Vec<String>,
}

impl Caller {
    /// The caller of a server without tokens: everything is allowed.
    pub fn open() -> Caller {
        Caller {
            name: "open".into(),
            role: Role::Admin,
            unit: None,
            workers: Vec::new(),
        }
    }

    /// Fails with 403 unless the caller may read.
    ///
    /// # Errors
    /// `forbidden` for device tokens.
    pub fn require_read(&self) -> Result<(), ApiError> {
        if self.role == Role::Device {
            return Err(ApiError::DeviceCannotRead);
        }
        Ok(())
    }

    /// Fails with 403 unless the caller is an admin of the whole registry.
    ///
    /// # Errors
    /// `forbidden` otherwise.
    pub fn require_registry_admin(&self, registry: &Registry) -> Result<(), ApiError> {
        let whole = match &self.unit {
            None => true,
            // A token scoped to the only root unit covers everything.
            Some(u) => {
                let roots: Vec<&str> = registry
                    .units
                    .iter()
                    .filter(|x| x.parent.is_none())
                    .map(|x| x.code.as_str())
                    .collect();
                roots == [u.as_str()]
            }
        };
        if self.role != Role::Admin || !whole {
            return Err(ApiError::NotRegistryAdmin);
        }
        Ok(())
    }
}

/// One request's view of the service: its caller, authenticated once (the bearer token, the
/// rate limit), and one snapshot of the engine that serves the whole request. A registry
/// upload landing mid-request swaps the service's engine, never this one, so an answer is
/// made from one registry from start to end (issue 15, defect 9).
#[derive(Clone)]
pub struct Session {
    /// Who asks.
    pub caller: Caller,
    /// The engine (registry and parameters) the request is served with.
    pub engine: Arc<Engine>,
}

impl Session {
    /// The session of a request whose caller is known: the engine of the moment.
    pub fn new(state: &AppState, caller: Caller) -> Session {
        Session {
            caller,
            engine: state.engine(),
        }
    }

    /// The caller's scope over this request's registry.
    pub fn scope(&self) -> Scope {
        Scope::of(&self.caller, &self.engine.assessor.registry)
    }

    /// The session of a caller allowed to read, and its scope.
    ///
    /// # Errors
    /// `forbidden` for device tokens.
    pub fn reader(&self) -> Result<Scope, ApiError> {
        self.caller.require_read()?;
        Ok(self.scope())
    }
}

/// The bearer token of a request, if it sends one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The one authentication of the service: the caller of a request from its bearer token,
/// else a device protocol's own token (the OsmAnd `token` parameter, the OwnTracks Basic-auth
/// password), rate-limited per token. The extractors ([`Session`], and the device protocols'
/// in [`super::ingest`]) call it; no handler does.
///
/// # Errors
/// 401 for a missing or unknown token, 429 over the rate.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    protocol_token: Option<&str>,
) -> Result<Caller, ApiError> {
    let caller = state.tokens.caller(bearer(headers).or(protocol_token))?;
    if !state.tokens.is_empty() {
        if let Err(not_until) = state.limiter.check_key(&caller.name) {
            let wait_s = not_until
                .wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ))
                .as_secs()
                + 1;
            return Err(ApiError::RateLimited {
                token: caller.name,
                wait_s,
            });
        }
    }
    Ok(caller)
}

/// A request's session from its bearer token, before its query or body is looked at (a bad
/// request without a token is a 401, not a 400).
impl axum::extract::FromRequestParts<Arc<AppState>> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Session, ApiError> {
        let caller = authenticate(state, &parts.headers, None)?;
        Ok(Session::new(state, caller))
    }
}

/// A session where a token is optional (`/api/v1/config.json`): none when the server has
/// tokens and the request sends no `Authorization`; a token sent is checked like any.
impl axum::extract::OptionalFromRequestParts<Arc<AppState>> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Option<Session>, ApiError> {
        if !state.tokens.is_empty()
            && !parts
                .headers
                .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(None);
        }
        let caller = authenticate(state, &parts.headers, None)?;
        Ok(Some(Session::new(state, caller)))
    }
}

/// The hex SHA-256 of a token, as the config stores it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token: 32 bytes from the OS generator, URL-safe hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("gb_{}", hex::encode(bytes))
}

/// The configured tokens, by hash.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Caller>,
}

impl Tokens {
    /// Reads the config's tokens.
    ///
    /// # Errors
    /// A message naming the token whose role, hash or name is bad.
    pub fn from_config(tokens: &[TokenConfig]) -> Result<Tokens, String> {
        let mut by_hash = HashMap::new();
        let mut names = BTreeSet::new();
        for t in tokens {
            let role = Role::parse(&t.role).map_err(|e| format!("[[tokens]] {}: {e}", t.name))?;
            let hash = t.sha256.trim().to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "[[tokens]] {}: sha256 must be 64 hex digits (use `gridbeat token new`)",
                    t.name
                ));
            }
            if !names.insert(t.name.clone()) {
                return Err(format!("[[tokens]] {}: the name is used twice", t.name));
            }
            if role == Role::Device && t.workers.is_empty() {
                return Err(format!(
                    "[[tokens]] {}: a device token needs workers = [\"…\"]",
                    t.name
                ));
            }
            by_hash.insert(
                hash,
                Caller {
                    name: t.name.clone(),
                    role,
                    unit: t.unit.clone(),
                    workers: t.workers.clone(),
                },
            );
        }
        Ok(Tokens { by_hash })
    }

    /// Whether no token is configured (the server is open, on loopback only).
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The caller holding `token`.
    ///
    /// # Errors
    /// `unauthorized` when no token is given or it is unknown (on a server with tokens).
    pub fn caller(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        if self.is_empty() {
            return Ok(Caller::open());
        }
        let token = token.ok_or(ApiError::MissingToken)?;
        self.by_hash
            .get(&token_hash(token))
            .cloned()
            .ok_or(ApiError::UnknownToken)
    }
}

/// What a caller may see of the registry: the units, grids and workers of its subtree.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Unit codes in scope (`None` = all).
    units: Option<BTreeSet<String>>,
    /// Workers in scope (`None` = all).
    workers: Option<BTreeSet<String>>,
}

impl Scope {
    /// The scope of a caller over a registry.
    pub fn of(caller: &Caller, registry: &Registry) -> Scope {
        Scope::of_unit(caller.unit.as_deref(), registry)
    }

    /// The subtree of a unit (`None`: everything); an unknown unit is an empty scope.
    pub fn of_unit(unit: Option<&str>, registry: &Registry) -> Scope {
        let Some(unit) = unit else {
            return Scope {
                units: None,
                workers: None,
            };
        };
        let Some(root) = registry.unit_index(unit) else {
            return Scope {
                units: Some(BTreeSet::new()),
                workers: Some(BTreeSet::new()),
            };
        };
        let units: BTreeSet<String> = registry
            .units
            .iter()
            .enumerate()
            .filter(|&(i, _)| registry.is_within(i, root))
            .map(|(_, u)| u.code.as_str().to_string())
            .collect();
        let workers = registry
            .workers
            .iter()
            .filter(|w| {
                w.grids.iter().any(|g| {
                    registry
                        .grid(*g)
                        .is_some_and(|g| units.contains(g.code.as_str()))
                })
            })
            .map(|w| w.id.as_str().to_string())
            .collect();
        Scope {
            units: Some(units),
            workers: Some(workers),
        }
    }

    /// Whether a unit is in scope.
    pub fn has_unit(&self, code: &str) -> bool {
        self.units.as_ref().is_none_or(|u| u.contains(code))
    }

    /// Whether a worker is in scope.
    pub fn has_worker(&self, id: &str) -> bool {
        self.workers.as_ref().is_none_or(|w| w.contains(id))
    }

    /// Whether the id pings are stored under is in scope: a vehicle of `fleet` when its unit
    /// is, else a worker.
    pub fn has_subject(&self, fleet: &crate::registry::Fleet, id: &str) -> bool {
        match fleet.vehicle(id) {
            Some(v) => self.has_unit(&v.unit.0),
            None => self.has_worker(id),
        }
    }

    /// Whether the scope is everything.
    pub fn is_everything(&self) -> bool {
        self.units.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_of_test_is_the_one_in_design_md() {
        // DESIGN.md §7's example starts with 9f86d08…, the SHA-256 of "test".
        assert!(token_hash("test").starts_with("9f86d08"));
    }

    #[test]
    fn tokens_are_looked_up_by_hash_and_bad_entries_are_named() {
        let cfg = |role: &str, hash: String| TokenConfig {
            name: "furong".into(),
            sha256: hash,
            role: role.into(),
            unit: Some("430102".into()),
            workers: vec![],
        };
        let t = Tokens::from_config(&[cfg("viewer", token_hash("secret"))]).unwrap();
        let c = t.caller(Some("secret")).unwrap();
        assert_eq!((c.role, c.unit.as_deref()), (Role::Viewer, Some("430102")));
        assert_eq!(t.caller(Some("other")).unwrap_err().code(), "unauthorized");
        assert_eq!(t.caller(None).unwrap_err().code(), "unauthorized");
        let err = Tokens::from_config(&[cfg("boss", token_hash("x"))]).unwrap_err();
        assert!(err.contains("furong") && err.contains("boss"), "{err}");
        let err = Tokens::from_config(&[cfg("viewer", "abc".into())]).unwrap_err();
        assert!(err.contains("64 hex"), "{err}");
        let err = Tokens::from_config(&[cfg("device", token_hash("x"))]).unwrap_err();
        assert!(err.contains("workers"), "{err}");
    }

    #[test]
    fn fresh_tokens_differ() {
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 3 + 64);
    }
}
