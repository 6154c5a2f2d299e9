//! One grid's sample lattice: the cell approximation of DESIGN.md §4.6.
//!
//! Each grid gets a [`LocalFrame`] at the centre of its bounding box and a lattice of sample
//! points at spacing `s` (a quarter of `cell_size_m`, so each 10 m cell is sampled at 4 × 4
//! points) over that box. A sample stands for the `s × s` square around it: the grid's inside
//! is the set of samples whose centre is inside the polygon, and the covered area is the set
//! of samples whose centre is within the radius of the track. The share is the ratio of the two
//! counts; the error is that of counting lattice points in a region, about `s` times the
//! region's boundary length with signs that mostly cancel, and is measured against GEOS
//! buffers in `tests/it/coverage_golden.rs`.
//!
//! Covering a step A→B rasterises its capsule (every point within `r` of the segment) row by
//! row: the capsule is convex, so on one row it is one interval, the hull of the intervals cut
//! by the two end discs and by the band beside the segment. Each interval sets a run of bits
//! with whole-word operations; no per-sample distance is ever computed.

use geo::{BoundingRect, MapCoords, MultiPolygon};

use crate::geodesy::LocalFrame;

/// Direction components smaller than this are treated as zero when intersecting a row with
/// the band of a step (the other component is then ±1).
const AXIS_EPS: f64 = 1e-12;

/// The sample lattice of one grid and which samples are inside it.
#[derive(Clone, Debug)]
pub struct GridRaster {
    /// The grid's local metric frame (origin at the centre of its bounding box).
    pub frame: LocalFrame,
    /// East coordinate of the lattice's west edge, metres in `frame`.
    pub x0: f64,
    /// North coordinate of the lattice's south edge, metres in `frame`.
    pub y0: f64,
    /// Distance between neighbouring samples, metres.
    pub spacing_m: f64,
    /// `1 / spacing_m`, computed once (the same value each covering call computed before).
    inv_spacing: f64,
    /// Samples per row.
    pub nx: usize,
    /// Rows.
    pub ny: usize,
    /// Words per row of every bitset over this lattice.
    pub words_per_row: usize,
    /// Samples whose centre is inside the polygon (even-odd over all rings).
    inside: Vec<u64>,
    /// The number of inside samples.
    inside_count: u64,
    /// The polygon in `frame`, metres.
    pub polygon_m: MultiPolygon<f64>,
}

impl GridRaster {
    /// Rasterises a grid polygon (lon/lat degrees) at sample spacing `spacing_m`.
    pub fn new(polygon: &MultiPolygon<f64>, spacing_m: f64) -> GridRaster {
        let (min, max) = match polygon.bounding_rect() {
            Some(r) => (r.min(), r.max()),
            None => (geo::Coord { x: 0.0, y: 0.0 }, geo::Coord { x: 0.0, y: 0.0 }),
        };
        let frame = LocalFrame::new(0.5 * (min.x + max.x), 0.5 * (min.y + max.y));
        let (x0, y0) = frame.project(min.x, min.y);
        let (x1, y1) = frame.project(max.x, max.y);
        let nx = (((x1 - x0) / spacing_m).ceil() as usize).max(1);
        let ny = (((y1 - y0) / spacing_m).ceil() as usize).max(1);
        let words_per_row = nx.div_ceil(64);
        let polygon_m = polygon.map_coords(|c| {
            let (x, y) = frame.project(c.x, c.y);
            geo::Coord { x, y }
        });
        let mut raster = GridRaster {
            frame,
            x0,
            y0,
            spacing_m,
            inv_spacing: 1.0 / spacing_m,
            nx,
            ny,
            words_per_row,
            inside: vec![0; words_per_row * ny],
            inside_count: 0,
            polygon_m,
        };
        raster.fill_inside();
        raster
    }

    /// Scanline fill: on each row, the crossings of every ring edge with the row's centre line,
    /// sorted, pair up into inside intervals (even-odd, so holes and multipolygon parts need no
    /// special case).
    fn fill_inside(&mut self) {
        let mut edges: Vec<[f64; 4]> = Vec::new();
        for poly in &self.polygon_m {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                edges.extend(
                    ring.lines()
                        .map(|l| [l.start.x, l.start.y, l.end.x, l.end.y]),
                );
            }
        }
        let mut crossings: Vec<f64> = Vec::new();
        let mut inside = std::mem::take(&mut self.inside);
        for j in 0..self.ny {
            let yc = self.row_y(j);
            crossings.clear();
            for &[ax, ay, bx, by] in &edges {
                // Half-open in y so a vertex on the line is counted once.
                if (ay <= yc) != (by <= yc) {
                    crossings.push(ax + (yc - ay) * (bx - ax) / (by - ay));
                }
            }
            crossings.sort_by(f64::total_cmp);
            let row = &mut inside[j * self.words_per_row..(j + 1) * self.words_per_row];
            for pair in crossings.chunks_exact(2) {
                if let Some((i0, i1)) = self.columns(pair[0], pair[1]) {
                    set_bits(row, i0, i1);
                }
            }
        }
        self.inside_count = inside.iter().map(|w| u64::from(w.count_ones())).sum();
        self.inside = inside;
    }

    /// North coordinate of row `j`'s sample centres, metres.
    #[inline(always)]
    fn row_y(&self, j: usize) -> f64 {
        self.y0 + (j as f64 + 0.5) * self.spacing_m
    }

    /// The columns whose sample centres lie in `[xl, xr]`, clamped to the lattice; `None` when
    /// there are none.
    #[inline]
    fn columns(&self, xl: f64, xr: f64) -> Option<(usize, usize)> {
        let a = ((xl - self.x0) / self.spacing_m - 0.5).ceil().max(0.0);
        let b = ((xr - self.x0) / self.spacing_m - 0.5)
            .floor()
            .min(self.nx as f64 - 1.0);
        (a <= b).then_some((a as usize, b as usize))
    }

    /// The length of every bitset over this lattice, words.
    pub fn len_words(&self) -> usize {
        self.inside.len()
    }

    /// The inside samples as a bitset.
    pub fn inside(&self) -> &[u64] {
        &self.inside
    }

    /// The number of inside samples.
    pub fn inside_count(&self) -> u64 {
        self.inside_count
    }

    /// The number of inside samples that `words` has set.
    pub fn covered_count(&self, words: &[u64]) -> u64 {
        self.inside
            .iter()
            .zip(words)
            .map(|(a, b)| u64::from((a & b).count_ones()))
            .sum()
    }

    /// True when the capsule of radius `r` around A→B (metres in `frame`) may meet the lattice.
    #[inline]
    pub fn may_touch(&self, a: (f64, f64), b: (f64, f64), r: f64) -> bool {
        let (x1, y1) = self.lattice_end();
        a.0.min(b.0) - r <= x1
            && a.0.max(b.0) + r >= self.x0
            && a.1.min(b.1) - r <= y1
            && a.1.max(b.1) + r >= self.y0
    }

    /// The east and north coordinates of the lattice's far edges, metres in `frame`.
    #[inline]
    fn lattice_end(&self) -> (f64, f64) {
        (
            self.x0 + self.nx as f64 * self.spacing_m,
            self.y0 + self.ny as f64 * self.spacing_m,
        )
    }

    /// [`GridRaster::may_touch`] for radius `r` as bounds in degrees, so that a step is tested
    /// without projecting it: see [`Reach`].
    pub(crate) fn reach(&self, r: f64) -> Reach {
        let (x1, y1) = self.lattice_end();
        let f = &self.frame;
        let x = |lon: f64| f.project(lon, f.lat0).0;
        let y = |lat: f64| f.project(f.lon0, lat).1;
        // Where each bound is, nearly: the exact bound is found from there.
        let (lon_lo, lat_lo) = f.unproject(self.x0 - r, self.y0 - r);
        let (lon_hi, lat_hi) = f.unproject(x1 + r, y1 + r);
        Reach {
            lon_lo: first_true(lon_lo, |lon| x(lon) + r >= self.x0),
            lon_hi: last_true(lon_hi, |lon| x(lon) - r <= x1),
            lat_lo: first_true(lat_lo, |lat| y(lat) + r >= self.y0),
            lat_hi: last_true(lat_hi, |lat| y(lat) - r <= y1),
        }
    }

    /// Sets in `words` every sample within `r` metres of the segment A→B (a disc when A = B);
    /// A and B are metres in `frame`.
    ///
    /// With `start_disc` false the disc around A is left out: along a polyline it is the end
    /// disc of the previous step, already set (a step that missed this lattice has a disc at
    /// its end that misses it too), so each row needs one square root instead of two, and the
    /// rows that only that disc reaches are skipped.
    ///
    /// The rows go in chunks of whole vectors: every row's span is computed without a branch
    /// (the disc chord and the band's interval as selects, rounded by one instruction where the
    /// processor has it, by comparison where not), then merged into the spans waiting on those
    /// rows without a branch (see [`RowSpans`]); only a waiting span that a new one displaces is
    /// OR-ed into the mask, a word at a time.
    ///
    /// Where the processor has AVX-512 or AVX2 the same code runs compiled for it (eight or four
    /// rows per vector instead of two): the same IEEE operations in the same order (Rust never
    /// fuses a multiply and an add), so the same bits.
    pub fn cover_capsule(
        &self,
        a: (f64, f64),
        b: (f64, f64),
        r: f64,
        start_disc: bool,
        words: &mut [u64],
    ) {
        let mut pending = RowSpans::new(self.ny);
        let mut steps = Steps::default();
        steps.push(a, b, start_disc);
        self.cover_steps_into(&mut steps, r, &mut pending, words);
        self.flush(&mut pending, words);
    }

    /// [`GridRaster::cover_capsule`] for a batch of steps along a track, in order, and empties
    /// the batch. Each row's span is merged into the span waiting on that row in `pending` when
    /// the two overlap or touch (the next step's span nearly always does), and only a span that
    /// does not touch it sets the waiting one's bits in `words` and takes its place. The mask is
    /// whole after [`GridRaster::flush`].
    ///
    /// The bands of the batch (a square root and seven divisions per step) are computed a
    /// vector of steps at a time before the steps' rows are; each step is then the same
    /// operations on the same values as alone, so the same bits.
    pub(crate) fn cover_steps_into(
        &self,
        steps: &mut Steps,
        r: f64,
        pending: &mut RowSpans,
        words: &mut [u64],
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the processor has just been found to support AVX-512F.
                unsafe { self.cover_steps_avx512(steps, r, pending, words) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has just been found to support AVX2.
                unsafe { self.cover_steps_avx2(steps, r, pending, words) };
                return;
            }
        }
        self.cover_steps_portable::<ROUND_IN_HARDWARE>(steps, r, pending, words);
    }

    /// Sets in `words` the spans waiting in `pending`, and empties it.
    pub(crate) fn flush(&self, pending: &mut RowSpans, words: &mut [u64]) {
        let wpr = self.words_per_row;
        for (j, (lo, hi)) in pending.lo.iter_mut().zip(&mut pending.hi).enumerate() {
            if *lo <= *hi {
                set_bits_at(words, j * wpr, *lo as usize, *hi as usize);
            }
            (*lo, *hi) = (f64::INFINITY, f64::NEG_INFINITY);
        }
    }

    /// [`GridRaster::cover_steps_into`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn cover_steps_avx2(
        &self,
        steps: &mut Steps,
        r: f64,
        pending: &mut RowSpans,
        words: &mut [u64],
    ) {
        // AVX2 implies SSE4.1: rounding is one instruction.
        self.cover_steps_portable::<true>(steps, r, pending, words);
    }

    /// [`GridRaster::cover_steps_into`] compiled for AVX-512: eight rows (or steps) per vector,
    /// and 32 vector registers, so the chunk's coefficients stay in registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn cover_steps_avx512(
        &self,
        steps: &mut Steps,
        r: f64,
        pending: &mut RowSpans,
        words: &mut [u64],
    ) {
        self.cover_steps_portable::<true>(steps, r, pending, words);
    }

    /// [`GridRaster::cover_steps_into`] for any processor (inlined into each compiled
    /// variant); `ROUND` where the variant's processor rounds to whole numbers in one
    /// instruction (see [`ceil_f64`]).
    #[inline(always)]
    fn cover_steps_portable<const ROUND: bool>(
        &self,
        steps: &mut Steps,
        r: f64,
        pending: &mut RowSpans,
        words: &mut [u64],
    ) {
        // Every slot's band, a whole vector of steps at a time (the slots past `len` hold
        // whatever came before and are not used).
        let bands = Bands::new(steps, r);
        for i in 0..steps.len {
            let step = Capsule {
                a: (steps.ax[i], steps.ay[i]),
                b: (steps.bx[i], steps.by[i]),
                r,
                start_disc: steps.start[i],
            };
            self.cover_capsule_portable::<ROUND>(step, &bands.get(i), pending, words);
        }
        steps.len = 0;
    }

    /// One step of [`GridRaster::cover_steps_portable`], with its band (`point` when A = B).
    #[inline(always)]
    fn cover_capsule_portable<const ROUND: bool>(
        &self,
        step: Capsule,
        band: &Band,
        pending: &mut RowSpans,
        words: &mut [u64],
    ) {
        let Capsule {
            a,
            b,
            r,
            start_disc,
        } = step;
        let inv_s = self.inv_spacing;
        let draw_a = start_disc || band.point;
        // The rows reached: both discs' (or B's and the band's when A's disc is left out).
        let (y_lo, y_hi) = if draw_a {
            (a.1.min(b.1) - r, a.1.max(b.1) + r)
        } else {
            (
                (b.1 - r).min(a.1 + band.h_lo),
                (b.1 + r).max(a.1 + band.h_hi),
            )
        };
        let j0 = ceil_to_i64((y_lo - self.y0) * inv_s - 0.5).max(0);
        let j1 = floor_to_i64((y_hi - self.y0) * inv_s - 0.5).min(self.ny as i64 - 1);
        if j0 > j1 {
            return;
        }
        let rows = (j0 as usize, j1 as usize);
        // Two copies of the rows' loop: the disc around A is drawn only by a run's first step,
        // and a square root computed and then not used still costs its time.
        if draw_a {
            self.cover_rows::<true, ROUND>(step, band, rows, pending, words);
        } else {
            self.cover_rows::<false, ROUND>(step, band, rows, pending, words);
        }
    }

    /// The rows `j0..=j1` of [`GridRaster::cover_capsule_portable`]'s step, with the disc
    /// around A when `DRAW_A`.
    #[inline(always)]
    fn cover_rows<const DRAW_A: bool, const ROUND: bool>(
        &self,
        step: Capsule,
        band: &Band,
        (j0, j1): (usize, usize),
        pending: &mut RowSpans,
        words: &mut [u64],
    ) {
        let Capsule { a, b, r, .. } = step;
        let &Band {
            h_lo,
            h_hi,
            p0,
            p1,
            pk,
            q0,
            q1,
            qk,
            ..
        } = band;
        let inv_s = self.inv_spacing;
        let r2 = r * r;
        let last_col = self.nx as f64 - 1.0;
        let nx1 = self.nx as f64 + 1.0;
        let wpr = self.words_per_row;
        let mut c0s = [0.0f64; ROW_CHUNK];
        let mut c1s = [0.0f64; ROW_CHUNK];
        let mut j = j0;
        while j <= j1 {
            let n = (j1 + 1 - j).min(ROW_CHUNK);
            // Whole vectors of rows, those past `j1` made empty: no scalar tail.
            let vectors = n.div_ceil(LANES);
            let jf = j as f64;
            for v in 0..vectors {
                for (l, &lane) in LANE_INDEX.iter().enumerate() {
                    let k = v * LANES + l;
                    // (j + k + 0.5)·s + y0 as `row_y` computes it: j + k is exact in f64.
                    let yc = self.y0 + ((jf + (v * LANES) as f64 + lane) + 0.5) * self.spacing_m;
                    // The disc chords: an empty chord is the empty interval (+∞, −∞).
                    let hb = yc - b.1;
                    let d2 = r2 - hb * hb;
                    let w = d2.max(0.0).sqrt();
                    let chord = d2 >= 0.0;
                    let mut lo = if chord { b.0 - w } else { f64::INFINITY };
                    let mut hi = if chord { b.0 + w } else { f64::NEG_INFINITY };
                    let h = yc - a.1;
                    if DRAW_A {
                        let d2 = r2 - h * h;
                        let w = d2.max(0.0).sqrt();
                        let chord = d2 >= 0.0;
                        lo = if chord { min(lo, a.0 - w) } else { lo };
                        hi = if chord { max(hi, a.0 + w) } else { hi };
                    }
                    let t_lo = max(p0 + pk * h, q0 + qk * h);
                    let t_hi = min(p1 + pk * h, q1 + qk * h);
                    let in_band = h >= h_lo && h <= h_hi && t_lo <= t_hi;
                    lo = if in_band { min(lo, a.0 + t_lo) } else { lo };
                    hi = if in_band { max(hi, a.0 + t_hi) } else { hi };
                    // The first and last columns, as whole numbers in f64: clamped into the
                    // lattice (an empty span stays empty), rounded in the vector registers (a
                    // column of −0 is 0: only the values are compared and converted).
                    let c0 = min((lo - self.x0) * inv_s - 0.5, nx1);
                    let c1 = max((hi - self.x0) * inv_s - 0.5, -2.0);
                    let (c0, c1) = if ROUND {
                        (c0.ceil(), c1.floor())
                    } else {
                        (ceil_f64(c0), floor_f64(c1))
                    };
                    let c0 = max(c0, 0.0);
                    let c1 = min(c1, last_col);
                    let past = k >= n;
                    c0s[k] = if past { f64::INFINITY } else { c0 };
                    c1s[k] = if past { f64::NEG_INFINITY } else { c1 };
                }
            }
            // Each span joins the one waiting on its row when they overlap or touch, or takes
            // its place; the rows whose waiting span is displaced are marked, and only those
            // set bits (a span lies within its row: 0 ≤ c0 ≤ c1 ≤ nx − 1).
            let rows = vectors * LANES;
            // A whole chunk is copied (the spans are padded by one): a copy of a fixed length
            // is a few vector moves, where one of `rows` would be a call to `memcpy`.
            let waiting_lo = &mut pending.lo[j..j + ROW_CHUNK];
            let waiting_hi = &mut pending.hi[j..j + ROW_CHUNK];
            let mut old_lo = [0.0f64; ROW_CHUNK];
            let mut old_hi = [0.0f64; ROW_CHUNK];
            old_lo.copy_from_slice(waiting_lo);
            old_hi.copy_from_slice(waiting_hi);
            let mut displaced = 0u32;
            for k in 0..rows {
                let (c0, c1, w0, w1) = (c0s[k], c1s[k], old_lo[k], old_hi[k]);
                let some = c0 <= c1;
                let touch = c0 <= w1 + 1.0 && c1 + 1.0 >= w0;
                displaced |= u32::from(some && !touch && w0 <= w1) << k;
                waiting_lo[k] = if some {
                    if touch {
                        min(w0, c0)
                    } else {
                        c0
                    }
                } else {
                    w0
                };
                waiting_hi[k] = if some {
                    if touch {
                        max(w1, c1)
                    } else {
                        c1
                    }
                } else {
                    w1
                };
            }
            while displaced != 0 {
                let k = displaced.trailing_zeros() as usize;
                displaced &= displaced - 1;
                set_bits_at(words, (j + k) * wpr, old_lo[k] as usize, old_hi[k] as usize);
            }
            j += n;
        }
    }
}

/// One step to cover: every point within `r` metres of the segment A→B (A and B in the
/// raster's frame, metres); with `start_disc` false the disc around A is left out (see
/// [`GridRaster::cover_capsule`]).
#[derive(Clone, Copy, Debug)]
struct Capsule {
    /// The start, metres.
    pub a: (f64, f64),
    /// The end, metres.
    pub b: (f64, f64),
    /// The radius, metres.
    pub r: f64,
    /// Whether the disc around A is drawn.
    pub start_disc: bool,
}

/// The degrees at which a step starts to reach a lattice: a step whose positions span
/// `lo..=hi` (lon, lat) reaches it, as [`GridRaster::may_touch`] decides for its projected
/// ends, exactly when `lo.0 ≤ lon_hi`, `hi.0 ≥ lon_lo`, `lo.1 ≤ lat_hi` and `hi.1 ≥ lat_lo`.
///
/// The projection `(lon − lon0)·mx` is a rounded subtraction and a rounded product by a
/// positive number, each monotone; so is adding or subtracting `r`. Each of `may_touch`'s four
/// comparisons therefore holds on one side of a single longitude or latitude, and the smaller
/// (larger) projected end is the projection of the smaller (larger) degree. The bounds are
/// those `f64` values, found exactly (ulp by ulp from the unrounded value), so the test in
/// degrees decides as the test in metres, bit for bit, without projecting the step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reach {
    /// The smallest longitude whose east end reaches the lattice's west edge.
    pub lon_lo: f64,
    /// The largest longitude whose west end reaches the lattice's east edge.
    pub lon_hi: f64,
    /// The smallest latitude reaching the south edge.
    pub lat_lo: f64,
    /// The largest latitude reaching the north edge.
    pub lat_hi: f64,
}

impl Reach {
    /// Whether a step whose positions span `lo..=hi` (degrees) may meet the lattice.
    #[inline(always)]
    pub fn meets(&self, lo: (f64, f64), hi: (f64, f64)) -> bool {
        lo.0 <= self.lon_hi && hi.0 >= self.lon_lo && lo.1 <= self.lat_hi && hi.1 >= self.lat_lo
    }
}

/// The largest `f64` at which `holds` is true, for a predicate that is true up to some value
/// and false beyond it, starting from a value near that boundary.
fn last_true(near: f64, holds: impl Fn(f64) -> bool) -> f64 {
    if near.is_nan() {
        // A NaN radius: every comparison with the bound is false, as in `may_touch`.
        return near;
    }
    let mut v = near;
    while !holds(v) {
        v = v.next_down();
    }
    while holds(v.next_up()) {
        v = v.next_up();
    }
    v
}

/// The smallest `f64` at which `holds` is true, for a predicate that is false up to some
/// value and true beyond it, starting from a value near that boundary.
fn first_true(near: f64, holds: impl Fn(f64) -> bool) -> f64 {
    last_true(near, |v| !holds(v)).next_up()
}

/// The spans of a lattice's rows not yet set in a mask. Along a track each step's span on a
/// row nearly always overlaps the span the step before left there (steps of about 10 m
/// beside a radius of 30 m), so the two become one interval and its bits are set once: when a
/// span arrives that does not touch it, or at [`GridRaster::flush`]. The union of integer
/// intervals that overlap or touch is their hull, so the bits are those of setting every span.
#[derive(Clone, Debug)]
pub(crate) struct RowSpans {
    /// Per row, the first column waiting (a whole number; +∞ if none), then [`ROW_CHUNK`]
    /// rows of padding that stay empty, so that the last rows are read a whole chunk at a time.
    lo: Vec<f64>,
    /// Per row, the last column waiting (−∞ if none), padded likewise.
    hi: Vec<f64>,
}

impl RowSpans {
    /// Nothing waiting, for a lattice of `rows` rows.
    pub(crate) fn new(rows: usize) -> RowSpans {
        RowSpans {
            lo: vec![f64::INFINITY; rows + ROW_CHUNK],
            hi: vec![f64::NEG_INFINITY; rows + ROW_CHUNK],
        }
    }
}

/// Rows whose spans [`GridRaster::cover_capsule`] computes before merging them (a `u32` marks
/// the displaced ones).
const ROW_CHUNK: usize = 32;

/// Rows computed as one unit: one AVX-512 vector, two AVX2 vectors; a chunk is a whole number
/// of them.
const LANES: usize = 8;

/// 0, 1, …, 7 as `f64`: a row's number is the chunk's first plus its lane, both exact.
const LANE_INDEX: [f64; LANES] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];

/// The smaller of two numbers that are never NaN (a plain compare, no NaN handling).
#[inline(always)]
fn min(x: f64, y: f64) -> f64 {
    if y < x {
        y
    } else {
        x
    }
}

/// The larger of two numbers that are never NaN.
#[inline(always)]
fn max(x: f64, y: f64) -> f64 {
    if y > x {
        y
    } else {
        x
    }
}

/// Steps to be covered in one lattice, in order, waiting to be covered as a batch (see
/// [`GridRaster::cover_steps_into`]): their ends in the raster's frame, metres, an array per
/// coordinate so that their bands are computed a vector of steps at a time.
#[derive(Clone, Debug, Default)]
pub(crate) struct Steps {
    ax: [f64; STEP_BATCH],
    ay: [f64; STEP_BATCH],
    bx: [f64; STEP_BATCH],
    by: [f64; STEP_BATCH],
    /// Whether the step draws the disc around its start.
    start: [bool; STEP_BATCH],
    /// The steps waiting: the first `len` slots.
    len: usize,
}

/// Steps covered as one batch.
const STEP_BATCH: usize = 16;

impl Steps {
    /// Adds the step A→B (with the disc around A when `start_disc`); true when the batch is
    /// then full, and must be covered before the next step is added.
    #[inline]
    pub(crate) fn push(&mut self, a: (f64, f64), b: (f64, f64), start_disc: bool) -> bool {
        let i = self.len;
        (self.ax[i], self.ay[i], self.bx[i], self.by[i]) = (a.0, a.1, b.0, b.1);
        self.start[i] = start_disc;
        self.len = i + 1;
        self.len == STEP_BATCH
    }

    /// Whether no step is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The band beside a step A→B: the points A + (t, h) with 0 ≤ t·ux + h·uy ≤ |AB| and
/// |t·uy − h·ux| ≤ r. On the row at height h (relative to A) it is the interval
/// `max(p0 + pk·h, q0 + qk·h) ≤ t ≤ min(p1 + pk·h, q1 + qk·h)`, for h in `h_lo..=h_hi`; a step
/// of no length (`point`) has none: an empty height range.
#[derive(Clone, Copy, Debug)]
struct Band {
    h_lo: f64,
    h_hi: f64,
    p0: f64,
    p1: f64,
    pk: f64,
    q0: f64,
    q1: f64,
    qk: f64,
    /// A = B: no band (and the disc around A is drawn).
    point: bool,
}

impl Band {
    /// The band of a step with offsets (dx, dy). Without a branch (each case a select), so
    /// that a batch's bands are computed a vector of steps at a time.
    #[inline(always)]
    fn new(dx: f64, dy: f64, r: f64) -> Band {
        let len = (dx * dx + dy * dy).sqrt();
        let point = len <= 0.0;
        let (ux, uy) = (dx / len, dy / len);
        // The band is the rectangle A ± r·n, B ± r·n with n = (−uy, ux): its height range.
        let h_lo = dy.min(0.0) - r * ux.abs();
        let h_hi = dy.max(0.0) + r * ux.abs();
        // Along the step: t·ux ∈ [−h·uy, len − h·uy]; vacuous in t when ux ≈ 0 (the height
        // range then carries the constraint).
        let along = ux.abs() > AXIS_EPS;
        let e1 = len / ux;
        let p0 = if along {
            0.0f64.min(e1)
        } else {
            f64::NEG_INFINITY
        };
        let p1 = if along { 0.0f64.max(e1) } else { f64::INFINITY };
        let pk = if along { -uy / ux } else { 0.0 };
        // Across: t·uy ∈ [h·ux − r, h·ux + r]; vacuous when uy ≈ 0 likewise.
        let across = uy.abs() > AXIS_EPS;
        let (e0, e1) = (-r / uy, r / uy);
        let q0 = if across {
            e0.min(e1)
        } else {
            f64::NEG_INFINITY
        };
        let q1 = if across { e0.max(e1) } else { f64::INFINITY };
        let qk = if across { ux / uy } else { 0.0 };
        let or_none = |v: f64, none: f64| if point { none } else { v };
        Band {
            h_lo: or_none(h_lo, f64::INFINITY),
            h_hi: or_none(h_hi, f64::NEG_INFINITY),
            p0: or_none(p0, 0.0),
            p1: or_none(p1, 0.0),
            pk: or_none(pk, 0.0),
            q0: or_none(q0, 0.0),
            q1: or_none(q1, 0.0),
            qk: or_none(qk, 0.0),
            point,
        }
    }
}

/// The bands of a batch of [`Steps`], an array per field.
struct Bands {
    h_lo: [f64; STEP_BATCH],
    h_hi: [f64; STEP_BATCH],
    p0: [f64; STEP_BATCH],
    p1: [f64; STEP_BATCH],
    pk: [f64; STEP_BATCH],
    q0: [f64; STEP_BATCH],
    q1: [f64; STEP_BATCH],
    qk: [f64; STEP_BATCH],
    point: [bool; STEP_BATCH],
}

impl Bands {
    /// The band of every slot of `steps` (also the unused ones: a whole number of vectors).
    #[inline(always)]
    fn new(steps: &Steps, r: f64) -> Bands {
        let mut out = Bands {
            h_lo: [0.0; STEP_BATCH],
            h_hi: [0.0; STEP_BATCH],
            p0: [0.0; STEP_BATCH],
            p1: [0.0; STEP_BATCH],
            pk: [0.0; STEP_BATCH],
            q0: [0.0; STEP_BATCH],
            q1: [0.0; STEP_BATCH],
            qk: [0.0; STEP_BATCH],
            point: [false; STEP_BATCH],
        };
        for i in 0..STEP_BATCH {
            let b = Band::new(steps.bx[i] - steps.ax[i], steps.by[i] - steps.ay[i], r);
            out.h_lo[i] = b.h_lo;
            out.h_hi[i] = b.h_hi;
            out.p0[i] = b.p0;
            out.p1[i] = b.p1;
            out.pk[i] = b.pk;
            out.q0[i] = b.q0;
            out.q1[i] = b.q1;
            out.qk[i] = b.qk;
            out.point[i] = b.point;
        }
        out
    }

    /// The band of slot `i`.
    #[inline(always)]
    fn get(&self, i: usize) -> Band {
        Band {
            h_lo: self.h_lo[i],
            h_hi: self.h_hi[i],
            p0: self.p0[i],
            p1: self.p1[i],
            pk: self.pk[i],
            q0: self.q0[i],
            q1: self.q1[i],
            qk: self.qk[i],
            point: self.point[i],
        }
    }
}

/// ⌈v⌉ as an integer, saturating; without SSE4.1 `f64::ceil` is a library call, and this sits
/// in the innermost loop.
#[inline]
fn ceil_to_i64(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) < v {
        t.saturating_add(1)
    } else {
        t
    }
}

/// Whether the variant compiled for any processor rounds with `f64::ceil`/`f64::floor`: an
/// instruction with SSE4.1 or on other architectures, a library call on x86-64 without it.
const ROUND_IN_HARDWARE: bool = cfg!(any(target_feature = "sse4.1", not(target_arch = "x86_64")));

/// 1.5 · 2⁵²: adding and subtracting it rounds an f64 below 2⁵¹ in magnitude to a whole
/// number (to nearest, ties to even), in two additions the compiler keeps in vector registers.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// ⌈v⌉ for |v| < 2⁵¹ (and −∞ stays −∞), without a branch: a rounding up that depends on each
/// row's fraction is a coin toss for the branch predictor, and without SSE4.1 `f64::ceil` is
/// a library call.
#[inline(always)]
fn ceil_f64(v: f64) -> f64 {
    let r = (v + ROUNDER) - ROUNDER;
    let r = if v.is_finite() { r } else { v };
    if r < v {
        r + 1.0
    } else {
        r
    }
}

/// ⌊v⌋ for |v| < 2⁵¹ (and +∞ stays +∞), without a branch (see [`ceil_f64`]).
#[inline(always)]
fn floor_f64(v: f64) -> f64 {
    let r = (v + ROUNDER) - ROUNDER;
    let r = if v.is_finite() { r } else { v };
    if r > v {
        r - 1.0
    } else {
        r
    }
}

/// ⌊v⌋ as an integer, saturating (see [`ceil_to_i64`]).
#[inline]
fn floor_to_i64(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) > v {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// Sets bits `i0..=i1` of a row. Most runs span one or two words; those are written without
/// a branch on which.
#[inline(always)]
fn set_bits(row: &mut [u64], i0: usize, i1: usize) {
    set_bits_at(row, 0, i0, i1);
}

/// Sets bits `i0..=i1` of the row that starts at word `base` of `words`.
#[inline(always)]
fn set_bits_at(words: &mut [u64], base: usize, i0: usize, i1: usize) {
    let (w0, w1) = (base + i0 / 64, base + i1 / 64);
    let first = !0u64 << (i0 % 64);
    let last = !0u64 >> (63 - i1 % 64);
    let same = w0 == w1;
    let m0 = first & if same { last } else { !0 };
    let m1 = last & if same { first } else { !0 };
    words[w0] |= m0;
    words[w1] |= m1;
    if w1 > w0 + 1 {
        for w in &mut words[w0 + 1..w1] {
            *w = !0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_in_f64_agrees_with_ceil_and_floor() {
        let halves = (-40..40).map(|k| f64::from(k) * 0.5);
        let odd = [
            -0.0,
            1e-300,
            0.499_999_999_999_999_9,
            2.500_000_000_000_000_4,
            1e15 + 0.5,
        ];
        for v in halves.chain(odd).chain([f64::INFINITY, f64::NEG_INFINITY]) {
            for v in [v, -v, v + 0.25, v - 1e-9] {
                assert_eq!(ceil_f64(v), v.ceil(), "ceil {v}");
                assert_eq!(floor_f64(v), v.floor(), "floor {v}");
            }
        }
    }

    #[test]
    fn rounding_saturates() {
        assert_eq!(ceil_to_i64(f64::INFINITY), i64::MAX);
        assert_eq!(floor_to_i64(f64::NEG_INFINITY), i64::MIN);
        assert_eq!((ceil_to_i64(-1.5), floor_to_i64(-1.5)), (-1, -2));
        assert_eq!((ceil_to_i64(2.0), floor_to_i64(2.0)), (2, 2));
    }

    #[test]
    fn set_bits_spans_words() {
        let mut row = [0u64; 3];
        set_bits(&mut row, 3, 3);
        assert_eq!(row, [8, 0, 0]);
        set_bits(&mut row, 60, 130);
        assert_eq!(row[0], 8 | (0xF << 60));
        assert_eq!(row[1], !0);
        assert_eq!(row[2], 0b111);
    }

    /// A brute-force check of the row intervals: every sample's bit equals its distance test.
    #[test]
    fn capsule_rows_match_point_distances() {
        let raster = rect_raster((112.98, 28.2), 60.0, 50.0);
        let cases = [
            ((-20.0, -10.0), (35.0, 22.0), 12.0),
            ((0.0, 0.0), (0.0, 0.0), 9.0),
            ((-70.0, 3.0), (70.0, 3.0), 7.5),
            ((5.0, -80.0), (5.0, 80.0), 4.0),
            ((-30.0, 40.0), (-29.0, -45.0), 30.0),
        ];
        for (a, b, r) in cases {
            let mut words = vec![0; raster.len_words()];
            raster.cover_capsule(a, b, r, true, &mut words);
            for j in 0..raster.ny {
                for i in 0..raster.nx {
                    let p = (raster.x0 + (i as f64 + 0.5) * 2.5, raster.row_y(j));
                    let d = dist_to_segment(p, a, b);
                    let bit = words[j * raster.words_per_row + i / 64] >> (i % 64) & 1 == 1;
                    if (d - r).abs() > 1e-9 {
                        assert_eq!(bit, d <= r, "sample ({i},{j}) at {d} m from {a:?}→{b:?}");
                    }
                }
            }
        }
    }

    /// Along a polyline only the first step draws its start disc; the union is still exact.
    #[test]
    fn a_chain_of_steps_matches_distances_to_the_polyline() {
        let raster = rect_raster((24.94, 60.17), 60.0, 50.0);
        let line = [
            (-40.0, -30.0),
            (-5.0, 10.0),
            (-5.0, 10.0),
            (30.0, 12.0),
            (20.0, -40.0),
        ];
        let r = 11.0;
        let mut words = vec![0; raster.len_words()];
        for (k, w) in line.windows(2).enumerate() {
            raster.cover_capsule(w[0], w[1], r, k == 0, &mut words);
        }
        for j in 0..raster.ny {
            for i in 0..raster.nx {
                let p = (raster.x0 + (i as f64 + 0.5) * 2.5, raster.row_y(j));
                let d = line
                    .windows(2)
                    .map(|w| dist_to_segment(p, w[0], w[1]))
                    .fold(f64::INFINITY, f64::min);
                let bit = words[j * raster.words_per_row + i / 64] >> (i % 64) & 1 == 1;
                if (d - r).abs() > 1e-9 {
                    assert_eq!(bit, d <= r, "sample ({i},{j}) at {d} m");
                }
            }
        }
    }

    /// A rectangular grid `±half_w` × `±half_h` metres around `centre` (lon, lat), sampled
    /// every 2.5 m.
    fn rect_raster(centre: (f64, f64), half_w: f64, half_h: f64) -> GridRaster {
        let f = LocalFrame::new(centre.0, centre.1);
        let (lon0, lat0) = f.unproject(-half_w, -half_h);
        let (lon1, lat1) = f.unproject(half_w, half_h);
        let poly: MultiPolygon<f64> = geo::Rect::new(
            geo::Coord { x: lon0, y: lat0 },
            geo::Coord { x: lon1, y: lat1 },
        )
        .to_polygon()
        .into();
        GridRaster::new(&poly, 2.5)
    }

    /// The row loop as it was before the spans were computed in chunks (2026-11-22): one
    /// branchy pass, every row of both discs. The chunked loop must set the same bits.
    fn reference_capsule(
        g: &GridRaster,
        a: (f64, f64),
        b: (f64, f64),
        r: f64,
        start_disc: bool,
        words: &mut [u64],
    ) {
        let inv_s = 1.0 / g.spacing_m;
        let j0 = ceil_to_i64((a.1.min(b.1) - r - g.y0) * inv_s - 0.5).max(0);
        let j1 = floor_to_i64((a.1.max(b.1) + r - g.y0) * inv_s - 0.5).min(g.ny as i64 - 1);
        if j0 > j1 {
            return;
        }
        let r2 = r * r;
        let band = Band::new(b.0 - a.0, b.1 - a.1, r);
        let draw_a = start_disc || band.point;
        let wpr = g.words_per_row;
        for j in j0 as usize..=j1 as usize {
            let yc = g.row_y(j);
            let hb = yc - b.1;
            let d2 = r2 - hb * hb;
            let w = d2.max(0.0).sqrt();
            let (mut lo, mut hi) = if d2 >= 0.0 {
                (b.0 - w, b.0 + w)
            } else {
                (f64::INFINITY, f64::NEG_INFINITY)
            };
            let h = yc - a.1;
            if draw_a {
                let d2 = r2 - h * h;
                let w = d2.max(0.0).sqrt();
                if d2 >= 0.0 {
                    lo = lo.min(a.0 - w);
                    hi = hi.max(a.0 + w);
                }
            }
            if !band.point && h >= band.h_lo && h <= band.h_hi {
                let t_lo = (band.p0 + band.pk * h).max(band.q0 + band.qk * h);
                let t_hi = (band.p1 + band.pk * h).min(band.q1 + band.qk * h);
                if t_lo <= t_hi {
                    lo = lo.min(a.0 + t_lo);
                    hi = hi.max(a.0 + t_hi);
                }
            }
            let i0 = ceil_to_i64((lo - g.x0) * inv_s - 0.5).max(0);
            let i1 = floor_to_i64((hi - g.x0) * inv_s - 0.5).min(g.nx as i64 - 1);
            if i0 <= i1 {
                set_bits(&mut words[j * wpr..(j + 1) * wpr], i0 as usize, i1 as usize);
            }
        }
    }

    /// One variant's walk: the batch being filled, the spans waiting and the mask.
    struct Along {
        steps: Steps,
        pending: RowSpans,
        words: Vec<u64>,
    }

    impl Along {
        fn new(raster: &GridRaster) -> Along {
            Along {
                steps: Steps::default(),
                pending: RowSpans::new(raster.ny),
                words: vec![0; raster.len_words()],
            }
        }

        /// Covers the batch with `variant`.
        fn cover(&mut self, variant: impl FnOnce(&mut Steps, &mut RowSpans, &mut [u64])) {
            variant(&mut self.steps, &mut self.pending, &mut self.words);
            assert!(self.steps.is_empty(), "a covered batch is emptied");
        }

        /// The mask once the waiting spans are set.
        fn finish(mut self, raster: &GridRaster) -> Vec<u64> {
            raster.flush(&mut self.pending, &mut self.words);
            self.words
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Walks of random steps (short, long, axis-parallel, repeated points) over a lattice
        /// that they cross in and out of: the chunked rows set exactly the reference's bits,
        /// as compiled for any processor, for AVX2 and as dispatched (AVX-512 where there is
        /// one), step by step and with the spans waiting along the whole walk.
        #[test]
        fn chunked_rows_set_the_reference_bits(
            start in (-150.0f64..150.0, -150.0f64..150.0),
            steps in proptest::collection::vec(
                (0u8..6, -60.0f64..60.0, -60.0f64..60.0), 1..40),
            r in 0.5f64..45.0,
        ) {
            let raster = rect_raster((112.98, 28.2), 100.0, 80.0);
            let (mut new, mut old) = (vec![0; raster.len_words()], vec![0; raster.len_words()]);
            // Each variant along the whole walk: batches of steps (a walk of up to 40 steps
            // fills and covers several) and the spans waiting between them.
            let mut portable = Along::new(&raster);
            let mut avx2 = Along::new(&raster);
            let mut dispatched = Along::new(&raster);
            let mut p = start;
            for (k, (kind, dx, dy)) in steps.into_iter().enumerate() {
                let q = match kind {
                    0 => p,                      // a repeated point
                    1 => (p.0 + dx, p.1),        // along a row
                    2 => (p.0, p.1 + dy),        // along a column
                    3 => (p.0 + dx * 4.0, p.1 + dy * 4.0), // a long step
                    _ => (p.0 + dx * 0.2, p.1 + dy * 0.2), // a walking step
                };
                // One step alone, as dispatched.
                raster.cover_capsule(p, q, r, k == 0, &mut new);
                if portable.steps.push(p, q, k == 0) {
                    portable.cover(|s, pending, words| {
                        raster.cover_steps_portable::<false>(s, r, pending, words);
                    });
                }
                // The AVX2 variant too where the dispatch picks AVX-512.
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") && avx2.steps.push(p, q, k == 0) {
                    // SAFETY: the processor has just been found to support AVX2.
                    avx2.cover(|s, pending, words| unsafe {
                        raster.cover_steps_avx2(s, r, pending, words);
                    });
                }
                if dispatched.steps.push(p, q, k == 0) {
                    dispatched.cover(|s, pending, words| {
                        raster.cover_steps_into(s, r, pending, words);
                    });
                }
                reference_capsule(&raster, p, q, r, k == 0, &mut old);
                p = q;
            }
            portable.cover(|s, pending, words| {
                raster.cover_steps_portable::<false>(s, r, pending, words);
            });
            proptest::prop_assert_eq!(&portable.finish(&raster), &old);
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has just been found to support AVX2.
                avx2.cover(|s, pending, words| unsafe {
                    raster.cover_steps_avx2(s, r, pending, words);
                });
                proptest::prop_assert_eq!(&avx2.finish(&raster), &old);
            }
            dispatched.cover(|s, pending, words| raster.cover_steps_into(s, r, pending, words));
            proptest::prop_assert_eq!(&dispatched.finish(&raster), &old);
            proptest::prop_assert_eq!(new, old);
        }
    }

    fn dist_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let l2 = dx * dx + dy * dy;
        let t = if l2 == 0.0 {
            0.0
        } else {
            (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l2).clamp(0.0, 1.0)
        };
        let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
        (qx * qx + qy * qy).sqrt()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The reach in degrees decides as `may_touch` on the projected ends, for steps whose
        /// degrees sit on a bound, one or a few ulps beside it, or anywhere near the lattice;
        /// grids at any latitude, of any size, at any radius.
        #[test]
        fn the_reach_in_degrees_is_may_touch(
            centre in (-179.0f64..179.0, -80.0f64..80.0),
            half in (1.0f64..900.0, 1.0f64..900.0),
            r in 0.0f64..120.0,
            // Which bound each end's coordinate is taken from (or none), and how many ulps off.
            picks in proptest::collection::vec((0u8..5, -3i32..=3, -1.0f64..1.0), 4),
        ) {
            let raster = rect_raster(centre, half.0, half.1);
            let reach = raster.reach(r);
            let f = raster.frame;
            let span = (half.0 + r + 50.0, half.1 + r + 50.0);
            let coordinate = |(pick, ulps, t): (u8, i32, f64), lon: bool| {
                let (lo, hi, c, s) = if lon {
                    (reach.lon_lo, reach.lon_hi, f.lon0, f.unproject(span.0, 0.0).0 - f.lon0)
                } else {
                    (reach.lat_lo, reach.lat_hi, f.lat0, f.unproject(0.0, span.1).1 - f.lat0)
                };
                let mut v = match pick {
                    0 => lo,
                    1 => hi,
                    _ => c + t * s,
                };
                for _ in 0..ulps.unsigned_abs() {
                    v = if ulps > 0 { v.next_up() } else { v.next_down() };
                }
                v
            };
            let a = (coordinate(picks[0], true), coordinate(picks[1], false));
            let b = (coordinate(picks[2], true), coordinate(picks[3], false));
            let (lo, hi) = ((a.0.min(b.0), a.1.min(b.1)), (a.0.max(b.0), a.1.max(b.1)));
            let expected = raster.may_touch(f.project(a.0, a.1), f.project(b.0, b.1), r);
            proptest::prop_assert_eq!(reach.meets(lo, hi), expected);
        }
    }

    #[test]
    fn inside_counts_a_square_with_a_hole() {
        let f = LocalFrame::new(24.94, 60.17);
        let ring = |h: f64| -> geo::LineString<f64> {
            [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
                .into_iter()
                .map(|(x, y)| {
                    let (lon, lat) = f.unproject(x, y);
                    geo::Coord { x: lon, y: lat }
                })
                .collect()
        };
        let poly: MultiPolygon<f64> = geo::Polygon::new(ring(50.0), vec![ring(20.0)]).into();
        let raster = GridRaster::new(&poly, 2.5);
        let area = raster.inside_count() as f64 * 2.5 * 2.5;
        assert!((area - (10_000.0 - 1_600.0)).abs() < 60.0, "area {area}");
    }
}
