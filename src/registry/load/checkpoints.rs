//! `checkpoints.geojson`: each Point feature checked (code, grid, required visits, position
//! and the swapped-axes test against the grids) and added to the registry.

use std::collections::HashSet;

use geo::Coord;
use serde_json::Value;

use super::grids::swapped_far;
use super::{
    code_property, describe, feature_code, grid_ref, range_fault, read_position, text_property,
    Issues, Reference, MAX_NAME_BYTES,
};
use crate::crs::to_wgs84;
use crate::model::Crs;
use crate::registry::{Checkpoint, Fault, Place, PointPosition, Registry};

/// Reads one checkpoint feature into the registry.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_checkpoint(
    index: usize,
    feature: &Value,
    crs: Crs,
    reference: Option<Reference>,
    registry: &mut Registry,
    rejected: &HashSet<String>,
    issues: &mut Issues<'_>,
    warnings: &mut Issues<'_>,
) {
    let props = super::properties(feature);
    let mut faults = Vec::new();
    let code = feature_code(props, &mut faults);
    let place = Place::Feature {
        index,
        code: code.clone(),
    };
    let grid = match code_property(props.get("grid")) {
        Ok(Some(g)) => match grid_ref(registry, rejected, &g) {
            Ok(id) => Some(id),
            Err(fault) => {
                faults.push(fault);
                None
            }
        },
        _ => {
            faults.push(Fault::BadProperty {
                name: "grid".to_string(),
                problem: "is missing: give the code of the grid the checkpoint is in".to_string(),
            });
            None
        }
    };
    let visits = match props.get("visits_per_month") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|v| u32::try_from(v).ok());
    if visits.is_none() {
        let shown = props
            .get("visits_per_month")
            .map_or("missing".to_string(), describe);
        faults.push(Fault::BadProperty {
            name: "visits_per_month".to_string(),
            problem: format!(
                "is {shown}: give a whole number of required visits per month, e.g. 4"
            ),
        });
    }
    let geometry = feature.get("geometry");
    let position = match geometry.and_then(|g| g.get("type")).and_then(Value::as_str) {
        Some("Point") => match geometry
            .and_then(|g| g.get("coordinates"))
            .and_then(read_position)
        {
            Some(p) => Some(p),
            None => {
                faults.push(Fault::BadGeometry(
                    "the Point's coordinates are not [lon, lat]".to_string(),
                ));
                None
            }
        },
        Some(other) => {
            faults.push(Fault::MissingPoint(format!("a {other} geometry")));
            None
        }
        None => {
            faults.push(Fault::MissingPoint("no geometry".to_string()));
            None
        }
    };
    if let Some(p) = position {
        let fault = range_fault(p)
            .or_else(|| reference.and_then(|r| swapped_far(Coord { x: p[0], y: p[1] }, &r)));
        faults.extend(fault);
    }
    for key in ["name", "kind"] {
        let len = text_property(props, key).len();
        if len > MAX_NAME_BYTES {
            faults.push(Fault::BadProperty {
                name: key.to_string(),
                problem: format!("is {len} bytes long; at most {MAX_NAME_BYTES}"),
            });
        }
    }
    if let Some(code) = &code {
        if let Some(&first) = registry.checkpoint_by_code.get(code) {
            faults.push(Fault::DuplicateCode {
                code: code.clone(),
                first_index: registry.checkpoint_features[first],
            });
        }
    }
    let (Some(code), Some(grid), Some(visits_per_month), Some([x, y]), true) =
        (code, grid, visits, position, faults.is_empty())
    else {
        for fault in faults {
            issues.push(place.clone(), fault);
        }
        return;
    };
    let (lon, lat) = to_wgs84(crs, x, y);
    if registry.index.position(grid, lon, lat) == PointPosition::Outside {
        warnings.push(
            place,
            Fault::CheckpointOutsideGrid(registry.grids[grid as usize].code.to_string()),
        );
    }
    registry
        .checkpoint_by_code
        .insert(code.clone(), registry.checkpoints.len());
    registry.checkpoint_features.push(index);
    registry.checkpoints.push(Checkpoint {
        code,
        name: text_property(props, "name"),
        grid,
        kind: text_property(props, "kind"),
        visits_per_month,
        lon,
        lat,
    });
}
