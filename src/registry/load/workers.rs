//! `workers.csv`: one row per assignment (`worker,name,grid`), checked against the grids that
//! were accepted.

use std::collections::HashSet;
use std::sync::Arc;

use super::{grid_ref, Issues, MAX_ID_BYTES, MAX_NAME_BYTES};
use crate::model::WorkerId;
use crate::registry::{Fault, Place, Registry, Worker};

/// Reads `workers.csv` (`worker,name,grid`, one row per assignment) into the registry.
pub(super) fn read_workers(
    text: &str,
    registry: &mut Registry,
    rejected: &HashSet<String>,
    issues: &mut Issues<'_>,
    warnings: &mut Issues<'_>,
) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            issues.push(Place::Line(1), Fault::BadRow(e.to_string()));
            return;
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(worker_col), Some(grid_col)) = (column("worker"), column("grid")) else {
        let missing = if column("worker").is_none() {
            "worker"
        } else {
            "grid"
        };
        issues.push(Place::Line(1), Fault::MissingColumn(missing.to_string()));
        return;
    };
    let name_col = column("name");
    for (line, record) in super::good_records(&mut reader, issues) {
        let field = |i: usize| record.get(i).unwrap_or("");
        let (worker, grid) = (field(worker_col), field(grid_col));
        let name_len = name_col.map_or(0, |c| field(c).len());
        if worker.len() > MAX_ID_BYTES || grid.len() > MAX_ID_BYTES || name_len > MAX_NAME_BYTES {
            let (what, len, max) = if worker.len() > MAX_ID_BYTES {
                ("worker id", worker.len(), MAX_ID_BYTES)
            } else if grid.len() > MAX_ID_BYTES {
                ("grid code", grid.len(), MAX_ID_BYTES)
            } else {
                ("name", name_len, MAX_NAME_BYTES)
            };
            issues.push(
                Place::Line(line),
                Fault::BadRow(format!("the {what} is {len} bytes long; at most {max}")),
            );
            continue;
        }
        if worker.is_empty() || grid.is_empty() {
            let what = if worker.is_empty() { "worker" } else { "grid" };
            issues.push(
                Place::Line(line),
                Fault::BadRow(format!(
                    "empty {what} field; each row is worker,name,grid ({} fields found)",
                    record.len()
                )),
            );
            continue;
        }
        let grid_id = match grid_ref(registry, rejected, grid) {
            Ok(g) => g,
            Err(fault) => {
                issues.push(Place::Line(line), fault);
                continue;
            }
        };
        let name = name_col.map(field).unwrap_or("");
        let w = match registry.worker_by_id.get(worker) {
            Some(&w) => w,
            None => {
                let id: Arc<str> = Arc::from(worker);
                registry
                    .worker_by_id
                    .insert(id.clone(), registry.workers.len());
                registry.workers.push(Worker {
                    id: WorkerId(id),
                    name: name.to_string(),
                    grids: Vec::new(),
                });
                registry.workers.len() - 1
            }
        };
        let entry = &mut registry.workers[w];
        if entry.grids.contains(&grid_id) {
            warnings.push(
                Place::Line(line),
                Fault::DuplicateAssignment {
                    worker: worker.to_string(),
                    grid: grid.to_string(),
                },
            );
        } else {
            entry.grids.push(grid_id);
        }
    }
}
