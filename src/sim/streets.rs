//! Streets: the walkable graph of a grid ([`StreetGraph`]), streets read from a GeoJSON file
//! ([`Streets`]) and cut to each grid, and the graph helpers the city and the walker share.

use std::collections::HashMap;
use std::path::Path;

use geo::{Contains, Distance, Euclidean, Point, Polygon};

/// The walkable streets of one grid: an undirected graph in the local metric frame.
#[derive(Clone, Debug, Default)]
pub struct StreetGraph {
    /// Node positions, metres.
    pub nodes_m: Vec<[f64; 2]>,
    /// For each node, its neighbours as (node, edge index).
    pub adj: Vec<Vec<(u32, u32)>>,
    /// Number of edges.
    pub n_edges: usize,
    /// The centroid of the grid polygon, metres (stays are offset towards it).
    pub centroid_m: [f64; 2],
}

/// Why a streets file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StreetsError {
    /// The file could not be read.
    #[error("cannot read streets file {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is not GeoJSON.
    #[error("streets file {file} is not GeoJSON: {reason}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message.
        reason: String,
    },
    /// A feature is not a LineString or MultiLineString.
    #[error("streets file {file}, feature {feature}: expected a LineString or MultiLineString, found {found}")]
    NotALine {
        /// The file.
        file: String,
        /// The feature's index (and id when it has one).
        feature: String,
        /// The geometry type found.
        found: String,
    },
    /// A coordinate is not a finite lon/lat in range.
    #[error(
        "streets file {file}, feature {feature}: coordinate {coord:?} is not a lon/lat in range"
    )]
    BadCoordinate {
        /// The file.
        file: String,
        /// The feature's index (and id when it has one).
        feature: String,
        /// The offending position.
        coord: Vec<f64>,
    },
    /// The file holds no line with two distinct points.
    #[error("streets file {file} holds no street (no LineString with two distinct points)")]
    Empty {
        /// The file.
        file: String,
    },
    /// The streets span too small an area for even one grid.
    #[error("streets file {file} spans {width_m:.0} m × {height_m:.0} m, too small for a grid (at least 300 m × 300 m)")]
    TooSmall {
        /// The file.
        file: String,
        /// Width of the extent, metres.
        width_m: f64,
        /// Height of the extent, metres.
        height_m: f64,
    },
}

/// Streets read from a GeoJSON file, noded by shared (snapped) vertices.
#[derive(Clone, Debug)]
pub struct Streets {
    /// Where the streets came from (the file name), for error messages.
    pub source: String,
    /// Node positions in lon/lat, degrees.
    pub nodes_lonlat: Vec<[f64; 2]>,
    /// Edges between node indices.
    pub edges: Vec<(u32, u32)>,
}

impl Streets {
    /// Reads LineStrings and MultiLineStrings from a GeoJSON file; vertices closer than 1e-7°
    /// become one node.
    ///
    /// # Errors
    /// [`StreetsError`] naming the file and, where it applies, the feature at fault.
    pub fn from_geojson_file(path: &Path) -> Result<Streets, StreetsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| StreetsError::Read {
            file: file.clone(),
            source,
        })?;
        Streets::from_geojson_str(&text, &file)
    }

    /// Reads streets from GeoJSON text; `file` names the source in errors.
    ///
    /// # Errors
    /// [`StreetsError`] naming the file and, where it applies, the feature at fault.
    pub fn from_geojson_str(text: &str, file: &str) -> Result<Streets, StreetsError> {
        use geojson::{GeoJson, GeometryValue};
        let gj: GeoJson = text
            .parse()
            .map_err(|e: geojson::Error| StreetsError::Parse {
                file: file.to_string(),
                reason: e.to_string(),
            })?;
        let mut geometries: Vec<(String, Option<geojson::Geometry>)> = Vec::new();
        match gj {
            GeoJson::FeatureCollection(fc) => {
                for (i, f) in fc.features.into_iter().enumerate() {
                    let name = match &f.id {
                        Some(geojson::feature::Id::String(s)) => format!("#{i} (id {s})"),
                        Some(geojson::feature::Id::Number(n)) => format!("#{i} (id {n})"),
                        None => format!("#{i}"),
                    };
                    geometries.push((name, f.geometry));
                }
            }
            GeoJson::Feature(f) => geometries.push(("#0".into(), f.geometry)),
            GeoJson::Geometry(g) => geometries.push(("#0".into(), Some(g))),
        }
        let mut index: HashMap<(i64, i64), u32> = HashMap::new();
        let mut nodes_lonlat = Vec::new();
        let mut edges = Vec::new();
        for (feature, geom) in geometries {
            let Some(geom) = geom else { continue };
            let lines: Vec<Vec<Vec<f64>>> = match geom.value {
                GeometryValue::LineString { coordinates } => vec![coordinates
                    .into_iter()
                    .map(|p| p.as_slice().to_vec())
                    .collect()],
                GeometryValue::MultiLineString { coordinates } => coordinates
                    .into_iter()
                    .map(|l| l.into_iter().map(|p| p.as_slice().to_vec()).collect())
                    .collect(),
                other => {
                    return Err(StreetsError::NotALine {
                        file: file.to_string(),
                        feature,
                        found: other.type_name().to_string(),
                    })
                }
            };
            for line in lines {
                let mut prev: Option<u32> = None;
                for pos in line {
                    let ok = pos.len() >= 2
                        && pos[0].is_finite()
                        && pos[1].is_finite()
                        && (-180.0..=180.0).contains(&pos[0])
                        && (-90.0..=90.0).contains(&pos[1]);
                    if !ok {
                        return Err(StreetsError::BadCoordinate {
                            file: file.to_string(),
                            feature,
                            coord: pos,
                        });
                    }
                    let key = ((pos[0] * 1e7).round() as i64, (pos[1] * 1e7).round() as i64);
                    let id = *index.entry(key).or_insert_with(|| {
                        nodes_lonlat.push([key.0 as f64 / 1e7, key.1 as f64 / 1e7]);
                        (nodes_lonlat.len() - 1) as u32
                    });
                    if let Some(p) = prev {
                        if p != id {
                            edges.push((p.min(id), p.max(id)));
                        }
                    }
                    prev = Some(id);
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        if edges.is_empty() {
            return Err(StreetsError::Empty {
                file: file.to_string(),
            });
        }
        Ok(Streets {
            source: file.to_string(),
            nodes_lonlat,
            edges,
        })
    }
}

/// The streets of a file inside one grid polygon (both ends inside or on its boundary).
pub(super) fn file_graph(
    nodes_m: &[[f64; 2]],
    edges: &[(u32, u32)],
    poly: &Polygon<f64>,
) -> StreetGraph {
    let bb = geo::BoundingRect::bounding_rect(poly);
    let inside = |p: [f64; 2]| -> bool {
        let Some(bb) = bb else { return false };
        if p[0] < bb.min().x - 1.0
            || p[0] > bb.max().x + 1.0
            || p[1] < bb.min().y - 1.0
            || p[1] > bb.max().y + 1.0
        {
            return false;
        }
        let pt = Point::new(p[0], p[1]);
        poly.contains(&pt) || Euclidean.distance(&pt, poly) < 0.5
    };
    let mut local: HashMap<u32, u32> = HashMap::new();
    let mut nodes = Vec::new();
    let mut local_edges = Vec::new();
    for &(a, b) in edges {
        let (pa, pb) = (nodes_m[a as usize], nodes_m[b as usize]);
        if inside(pa) && inside(pb) {
            let mut id = |v: u32, p: [f64; 2]| {
                *local.entry(v).or_insert_with(|| {
                    nodes.push(p);
                    (nodes.len() - 1) as u32
                })
            };
            let la = id(a, pa);
            let lb = id(b, pb);
            local_edges.push((la, lb));
        }
    }
    largest_component(&nodes, &local_edges)
}

/// Keeps the largest connected component of a graph, renumbered.
pub(super) fn largest_component(nodes: &[[f64; 2]], edges: &[(u32, u32)]) -> StreetGraph {
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
    for &(a, b) in edges {
        adj[a as usize].push(b);
        adj[b as usize].push(a);
    }
    let mut comp = vec![usize::MAX; nodes.len()];
    let mut best = (0usize, 0usize);
    let mut n_comp = 0;
    for s in 0..nodes.len() {
        if comp[s] != usize::MAX || adj[s].is_empty() {
            continue;
        }
        let mut stack = vec![s];
        comp[s] = n_comp;
        let mut size = 0;
        while let Some(u) = stack.pop() {
            size += 1;
            for &v in &adj[u] {
                if comp[v as usize] == usize::MAX {
                    comp[v as usize] = n_comp;
                    stack.push(v as usize);
                }
            }
        }
        if size > best.1 {
            best = (n_comp, size);
        }
        n_comp += 1;
    }
    let mut renum = vec![u32::MAX; nodes.len()];
    let mut g = StreetGraph::default();
    for (v, p) in nodes.iter().enumerate() {
        if comp[v] == best.0 && !adj[v].is_empty() {
            renum[v] = g.nodes_m.len() as u32;
            g.nodes_m.push(*p);
        }
    }
    g.adj = vec![Vec::new(); g.nodes_m.len()];
    for &(a, b) in edges {
        let (ra, rb) = (renum[a as usize], renum[b as usize]);
        if ra != u32::MAX && rb != u32::MAX {
            let e = g.n_edges as u32;
            g.adj[ra as usize].push((rb, e));
            g.adj[rb as usize].push((ra, e));
            g.n_edges += 1;
        }
    }
    if g.nodes_m.is_empty() {
        // No street at all: one node, so that a worker still has somewhere to stand.
        g.nodes_m.push(nodes.first().copied().unwrap_or([0.0, 0.0]));
        g.adj.push(Vec::new());
    }
    g
}

/// `p` moved `dist_m` towards `target` (or not at all when they coincide).
pub(crate) fn offset_towards(p: [f64; 2], target: [f64; 2], dist_m: f64) -> [f64; 2] {
    let (dx, dy) = (target[0] - p[0], target[1] - p[1]);
    let len = dx.hypot(dy);
    if len < 1e-9 {
        return p;
    }
    let d = dist_m.min(len * 0.5);
    [p[0] + dx / len * d, p[1] + dy / len * d]
}

/// The index of the graph node nearest to `p`.
pub(crate) fn nearest_node(g: &StreetGraph, p: [f64; 2]) -> usize {
    let mut best = (0, f64::MAX);
    for (i, n) in g.nodes_m.iter().enumerate() {
        let d = (n[0] - p[0]).hypot(n[1] - p[1]);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streets_errors_name_the_file_and_feature() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[24.9,60.1],[24.91,60.1]]}},
            {"type":"Feature","id":"way/7","properties":{},"geometry":{"type":"Point","coordinates":[24.9,60.1]}}]}"#;
        let e = Streets::from_geojson_str(text, "x.geojson").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("x.geojson") && msg.contains("way/7"), "{msg}");
        let bad = r#"{"type":"LineString","coordinates":[[24.9,60.1],[200,60.1]]}"#;
        let e = Streets::from_geojson_str(bad, "y.geojson").unwrap_err();
        assert!(matches!(e, StreetsError::BadCoordinate { .. }), "{e}");
        let e = Streets::from_geojson_str("{", "z.geojson").unwrap_err();
        assert!(e.to_string().contains("z.geojson"));
    }

    #[test]
    fn shared_vertices_snap_into_one_node() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[24.9,60.1],[24.91,60.1]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[24.91000000001,60.1],[24.91,60.11]]}}]}"#;
        let s = Streets::from_geojson_str(text, "t").unwrap();
        assert_eq!(s.nodes_lonlat.len(), 3);
        assert_eq!(s.edges.len(), 2);
    }
}
