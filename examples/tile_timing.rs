//! How long one vector tile of a city-wide grids layer takes: 1,024 grids of 48 vertices
//! each (a 32 × 32 lattice of jittered blocks over ~25 km of Beijing, the grids properties of
//! the layers contract), cut from a `PreparedLayer` at zooms 10, 12, 14 and 16, and the
//! one-shot `encode_tile` (which also reads the collection).
//!
//! Usage: `cargo run --release --no-default-features --example tile_timing`

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use gridbeat::tiles::{encode_tile, PreparedLayer, TileId};
use serde_json::{json, Value};

const N: usize = 32;
const VERTICES: usize = 48;
const WEST: f64 = 116.25;
const SOUTH: f64 = 39.80;
const STEP: f64 = 0.009; // ~770 m east-west, ~1 km north-south

fn grids() -> Value {
    let mut features = Vec::with_capacity(N * N);
    for i in 0..N {
        for j in 0..N {
            let (cx, cy) = (
                WEST + (i as f64 + 0.5) * STEP,
                SOUTH + (j as f64 + 0.5) * STEP,
            );
            let mut ring: Vec<[f64; 2]> = (0..VERTICES)
                .map(|k| {
                    let a = k as f64 / VERTICES as f64 * std::f64::consts::TAU;
                    // A wobbly rounded square: corners near the block's edges.
                    let r = STEP * 0.5 * (1.0 + 0.04 * (5.0 * a + (i * j) as f64).sin());
                    let (c, s) = (a.cos(), a.sin());
                    let q = c.abs().max(s.abs());
                    [cx + r * c / q, cy + r * s / q]
                })
                .collect();
            ring.push(ring[0]);
            features.push(json!({
                "type": "Feature",
                "properties": {
                    "code": format!("1101{i:02}{j:02}"), "name": format!("网格 {i}-{j}"),
                    "parent": format!("1101{i:02}"), "parent_name": "社区",
                    "workers": [format!("w{i}"), format!("w{j}")], "area_m2": 610000.0,
                    "coverage": ((i + j) % 10) as f64 / 10.0, "covered_m2": 300000.0,
                    "attainable": null, "score": 71.5, "patrol_s": 36000
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]}
            }));
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

fn tile_of(lon: f64, lat: f64, z: u8) -> TileId {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    TileId::new(z, x, y).expect("inside the world")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fc = grids();
    let started = Instant::now();
    let prepared = PreparedLayer::from_geojson(&fc)?.with_name("grids");
    println!(
        "prepare: {} grids in {:.2} ms",
        prepared.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let (east, north) = (WEST + N as f64 * STEP, SOUTH + N as f64 * STEP);
    for z in [10u8, 12, 14, 16] {
        // Every tile over the city at this zoom (capped at 400 for z16).
        let (a, b) = (tile_of(WEST, north, z), tile_of(east, SOUTH, z));
        let tiles: Vec<TileId> = (a.x..=b.x)
            .flat_map(|x| (a.y..=b.y).map(move |y| TileId { z, x, y }))
            .take(400)
            .collect();
        let (mut worst, mut total, mut bytes) = (0.0f64, 0.0, 0usize);
        for &t in &tiles {
            let started = Instant::now();
            let tile = prepared.encode(t)?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            worst = worst.max(ms);
            total += ms;
            bytes = bytes.max(tile.map_or(0, |b| b.len()));
        }
        println!(
            "z{z}: {} tiles, mean {:.3} ms, worst {:.3} ms, largest {} bytes",
            tiles.len(),
            total / tiles.len() as f64,
            worst,
            bytes
        );
    }
    let t = tile_of(WEST + 16.0 * STEP, SOUTH + 16.0 * STEP, 14);
    let started = Instant::now();
    let tile = encode_tile("grids", &fc, t)?;
    println!(
        "encode_tile (read + cut) z14 {}/{}/{}: {:.2} ms, {} bytes",
        t.z,
        t.x,
        t.y,
        started.elapsed().as_secs_f64() * 1e3,
        tile.map_or(0, |b| b.len())
    );
    Ok(())
}
