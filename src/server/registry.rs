//! The registry of the service: its files (the grid registry's four and the fleet's two) kept in the store, loaded into the engine, and
//! replaced whole by `PUT /api/v1/registry/{file}` (or `gridbeat registry load`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::auth::Session;
use super::error::ApiError;
use super::{AppState, Engine};
use crate::config::Config;
use crate::registry::{Affected, Fleet, LoadOptions, Registry, RegistryFile, Source};
use crate::store::Store;

/// The files of a registry, as text.
#[derive(Clone, Debug, Default)]
pub struct Files {
    /// `grids.geojson`.
    pub grids: Option<String>,
    /// `workers.csv`.
    pub workers: Option<String>,
    /// `checkpoints.geojson`.
    pub checkpoints: Option<String>,
    /// `devices.csv`.
    pub devices: Option<String>,
    /// `vehicles.csv`.
    pub vehicles: Option<String>,
    /// `routes.geojson`.
    pub routes: Option<String>,
}

impl Files {
    /// The stored files.
    ///
    /// # Errors
    /// On a store failure.
    pub fn from_store(store: &dyn Store) -> Result<Files, crate::store::StoreError> {
        Ok(Files {
            grids: store.registry_file(RegistryFile::Grids)?,
            workers: store.registry_file(RegistryFile::Workers)?,
            checkpoints: store.registry_file(RegistryFile::Checkpoints)?,
            devices: store.registry_file(RegistryFile::Devices)?,
            vehicles: store.registry_file(RegistryFile::Vehicles)?,
            routes: store.registry_file(RegistryFile::Routes)?,
        })
    }

    /// The same files with one replaced.
    pub fn with(&self, file: RegistryFile, content: String) -> Files {
        let mut f = self.clone();
        *match file {
            RegistryFile::Grids => &mut f.grids,
            RegistryFile::Workers => &mut f.workers,
            RegistryFile::Checkpoints => &mut f.checkpoints,
            RegistryFile::Devices => &mut f.devices,
            RegistryFile::Vehicles => &mut f.vehicles,
            RegistryFile::Routes => &mut f.routes,
        } = Some(content);
        f
    }
}

/// A registry loaded from its files.
pub struct Loaded {
    /// Units, grids, workers and checkpoints.
    pub registry: Registry,
    /// Device id → the worker or vehicle it reports for (`devices.csv`).
    pub devices: HashMap<String, String>,
    /// Vehicles and routes.
    pub fleet: Fleet,
}

/// Loads a registry, its fleet and its device map from the files, validating them all.
///
/// # Errors
/// Every fault, each naming its file and feature or line.
pub fn load(files: &Files) -> Result<Loaded, Vec<String>> {
    let registry = match &files.grids {
        None => {
            if files.workers.is_some() || files.checkpoints.is_some() {
                return Err(vec![
                    "grids.geojson: load the grids before workers and checkpoints".into(),
                ]);
            }
            Registry::default()
        }
        Some(grids) => Registry::from_sources(
            Source::new("grids.geojson", grids),
            files
                .workers
                .as_deref()
                .map(|t| Source::new("workers.csv", t)),
            files
                .checkpoints
                .as_deref()
                .map(|t| Source::new("checkpoints.geojson", t)),
            &LoadOptions {
                crs: None,
                keep_going: false,
            },
        )
        .map_err(|e| e.issues.iter().map(ToString::to_string).collect::<Vec<_>>())?,
    };
    if files.routes.is_some() && files.vehicles.is_none() {
        return Err(vec![
            "routes.geojson: load vehicles.csv before the routes that name them".into(),
        ]);
    }
    let fleet = Fleet::from_sources(
        files
            .vehicles
            .as_deref()
            .map(|t| Source::new("vehicles.csv", t)),
        files
            .routes
            .as_deref()
            .map(|t| Source::new("routes.geojson", t)),
        &registry,
        None,
    )
    .map_err(|e| e.issues.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let devices = match &files.devices {
        Some(text) => parse_devices(text, &registry, &fleet)?,
        None => HashMap::new(),
    };
    Ok(Loaded {
        registry,
        devices,
        fleet,
    })
}

/// Reads `devices.csv` (`device,worker[,vehicle]`, DESIGN.md §5.2): each device reports for
/// the worker, or, with the worker empty, for the vehicle.
///
/// # Errors
/// Every bad line: a missing header, an empty field, a device listed twice, a worker or
/// vehicle the registry does not know.
pub fn parse_devices(
    text: &str,
    registry: &Registry,
    fleet: &Fleet,
) -> Result<HashMap<String, String>, Vec<String>> {
    let mut faults = Vec::new();
    let mut map = HashMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![format!("devices.csv: cannot read the header: {e}")]),
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(d), Some(w)) = (col("device"), col("worker")) else {
        return Err(vec![format!(
            "devices.csv line 1: the header must name the columns device,worker (found {})",
            headers.iter().collect::<Vec<_>>().join(",")
        )]);
    };
    let v = col("vehicle");
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                faults.push(format!("devices.csv line {line}: {e}"));
                continue;
            }
        };
        let device = rec.get(d).unwrap_or("");
        let worker = rec.get(w).unwrap_or("");
        let vehicle = v.and_then(|v| rec.get(v)).unwrap_or("");
        let max = crate::ingest::row::MAX_ID_BYTES;
        if device.len() > max || worker.len() > max {
            faults.push(format!(
                "devices.csv line {line}: a device or worker id of {} bytes; at most {max}",
                device.len().max(worker.len())
            ));
            continue;
        }
        if device.is_empty() || worker.is_empty() == vehicle.is_empty() {
            faults.push(format!(
                "devices.csv line {line}: give the device and either its worker or (with the worker empty) its vehicle"
            ));
            continue;
        }
        if !vehicle.is_empty() {
            if fleet.vehicle(vehicle).is_none() {
                faults.push(format!(
                    "devices.csv line {line}: vehicle {vehicle:?} is not in vehicles.csv"
                ));
            } else if map
                .insert(device.to_string(), vehicle.to_string())
                .is_some()
            {
                faults.push(format!(
                    "devices.csv line {line}: device {device:?} is listed twice"
                ));
            }
            continue;
        }
        if !registry.workers.is_empty() && registry.worker(worker).is_none() {
            faults.push(format!(
                "devices.csv line {line}: worker {worker:?} is not in workers.csv"
            ));
            continue;
        }
        if map.insert(device.to_string(), worker.to_string()).is_some() {
            faults.push(format!(
                "devices.csv line {line}: device {device:?} is listed twice"
            ));
        }
    }
    if faults.is_empty() {
        Ok(map)
    } else {
        Err(faults)
    }
}

/// The engine of the registry stored in `store`.
///
/// # Errors
/// When the stored registry no longer loads (the message lists the faults).
pub fn engine_from_store(
    store: &dyn Store,
    config: &Config,
    generation: u64,
) -> anyhow::Result<Engine> {
    let files = Files::from_store(store)?;
    let loaded = load(&files).map_err(|faults| {
        anyhow::anyhow!(
            "the registry stored in the data directory does not load:\n  {}",
            faults.join("\n  ")
        )
    })?;
    Ok(Engine::new(loaded, super::params_of(config), generation))
}

/// Validates and stores a new file, swaps the engine, and marks what it affects dirty.
///
/// # Errors
/// The faults of the new registry (nothing changed), or a store failure.
pub async fn replace(
    state: &AppState,
    file: RegistryFile,
    content: String,
) -> Result<Affected, ApiError> {
    let _guard = state.registry_lock.lock().await;
    let store = Arc::clone(&state.store);
    let files = {
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || Files::from_store(store.as_ref())).await??
    };
    let next = files.with(file, content.clone());
    let config = state.config.clone();
    let generation = state.next_generation();
    let built = tokio::task::spawn_blocking(move || -> Result<Engine, Vec<String>> {
        Ok(Engine::new(
            load(&next)?,
            super::params_of(&config),
            generation,
        ))
    })
    .await?;
    let engine = built.map_err(|faults| ApiError::InvalidRegistry { file, faults })?;
    let affected = match file {
        // New vehicles or routes change the route figures of every vehicle of either fleet.
        RegistryFile::Vehicles | RegistryFile::Routes => {
            let old = state.engine();
            let mut ids: Vec<String> = old
                .fleet
                .vehicles
                .iter()
                .chain(&engine.fleet.vehicles)
                .map(|v| v.id.to_string())
                .collect();
            ids.sort();
            ids.dedup();
            if ids.is_empty() {
                Affected::Nothing
            } else {
                Affected::Workers(ids)
            }
        }
        _ => crate::registry::affected(
            &state.engine().assessor.registry,
            &engine.assessor.registry,
            file,
        ),
    };
    let basis = serde_json::to_string(&engine.assessor.basis).map_err(ApiError::internal)?;
    {
        let store = Arc::clone(&store);
        let affected = affected.clone();
        let version =
            tokio::task::spawn_blocking(move || -> Result<u64, crate::store::StoreError> {
                store.put_registry_file(file, &content, &affected)?;
                store.set_meta("basis", &basis)?;
                Ok(store.registry_version())
            })
            .await??;
        state.saw_registry(version);
    }
    state.set_engine(engine);
    state.wake.notify_one();
    Ok(affected)
}

/// The path of a registry file.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path for the OpenAPI document
pub struct FilePath {
    /// The file (another name is `404 not_found`).
    #[param(schema_with = super::openapi::registry_file)]
    file: String,
}

/// `GET /api/v1/registry/{file}`: the current file.
#[utoipa::path(get, path = "/api/v1/registry/{file}", tag = "registry", security(("bearer" = [])),
    params(FilePath),
    responses((status = 200, description = "the file's content", content((serde_json::Value = "application/geo+json"), (String = "text/csv")))))]
pub async fn get_file(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    session
        .caller
        .require_registry_admin(&session.engine.assessor.registry)?;
    let file = parse_file(&name)?;
    let store = Arc::clone(&state.store);
    let content = tokio::task::spawn_blocking(move || store.registry_file(file))
        .await??
        .ok_or(ApiError::RegistryFileNotLoaded(name))?;
    Ok(([(header::CONTENT_TYPE, file.media_type())], content).into_response())
}

/// `PUT /api/v1/registry/{file}`: replace a file; validated whole.
#[utoipa::path(put, path = "/api/v1/registry/{file}", tag = "registry", security(("bearer" = [])),
    params(FilePath),
    request_body(content = String, description = "the file's content (gzip allowed), at most `[server] max_registry_bytes` (64 MiB)", content_type = "text/plain"),
    responses((status = 200, description = "replaced; what it affects is being recomputed", body = serde_json::Value)))]
pub async fn put_file(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    session
        .caller
        .require_registry_admin(&session.engine.assessor.registry)?;
    let file = parse_file(&name)?;
    let limit = usize::try_from(state.config.server.max_registry_bytes).unwrap_or(usize::MAX);
    let body = super::ingest::read_body(&state, &headers, body, limit).await?;
    let content = String::from_utf8(body.to_vec()).map_err(|_| ApiError::NotUtf8(name))?;
    let affected = replace(&state, file, content).await?;
    let marked = match &affected {
        Affected::Nothing => serde_json::json!("nothing"),
        Affected::Everything => serde_json::json!("everything"),
        Affected::Workers(w) => serde_json::json!({"workers": w}),
    };
    Ok(
        axum::Json(serde_json::json!({"replaced": file.as_str(), "recompute": marked}))
            .into_response(),
    )
}

fn parse_file(name: &str) -> Result<RegistryFile, ApiError> {
    RegistryFile::parse(name).ok_or_else(|| ApiError::NoRegistryFile(name.to_string()))
}
