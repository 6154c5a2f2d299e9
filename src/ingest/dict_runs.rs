//! A dictionary-encoded text column of one Parquet row group read as runs of dictionary
//! indices: the worker column, whose value stays the same for thousands of rows. The `parquet`
//! crate's typed reader hands out one `ByteArray` per row (a reference-counted slice of the
//! dictionary, cloned and dropped per row: 15 % of the reader's time on the reference month);
//! here a run of the format's own run-length encoding stays one run.
//!
//! Pages are read with the crate's page reader (which decompresses them); the values of a data
//! page are the RLE/bit-packed hybrid of the Parquet format
//! (<https://parquet.apache.org/docs/file-format/data-pages/encodings/>): a byte of bit width,
//! then runs, each headed by a ULEB128 varint whose low bit says bit-packed (groups of 8 values,
//! `width` bits each, least significant bit first) or repeated (one value in
//! `ceil(width / 8)` little-endian bytes). Anything else (a page that is not
//! dictionary-encoded, a null, a damaged page) is [`Unsupported`]: the caller then reads the
//! column with the crate's typed reader, which also names any damage.

use bytes::Bytes;
use parquet::basic::Encoding;
use parquet::column::page::{Page, PageReader};

/// The column cannot be read as runs here; read it the ordinary way.
#[derive(Debug)]
pub(super) struct Unsupported;

/// The runs of one column chunk, page after page.
pub(super) struct DictRuns {
    pages: Box<dyn PageReader>,
    max_def: i16,
    /// Each dictionary entry's bytes.
    dict: Vec<Bytes>,
    /// The current data page's indices, and how many of its rows are left.
    indices: Hybrid,
    left: usize,
}

impl DictRuns {
    /// Reads a column chunk of at most one level of definition and no repetition.
    pub(super) fn new(pages: Box<dyn PageReader>, max_def: i16) -> DictRuns {
        DictRuns {
            pages,
            max_def,
            dict: Vec::new(),
            indices: Hybrid::default(),
            left: 0,
        }
    }

    /// The bytes of dictionary entry `i` (a run's value is always an entry).
    pub(super) fn entry(&self, i: u32) -> &[u8] {
        self.dict.get(i as usize).map_or(&[], |b| &b[..])
    }

    /// Appends the next `n` rows to `out` as runs: the end of each run (a row of the batch,
    /// exclusive) and its dictionary index. Adjacent runs hold different indices.
    pub(super) fn next(
        &mut self,
        n: usize,
        out: &mut Vec<(usize, u32)>,
    ) -> Result<(), Unsupported> {
        out.clear();
        let mut done = 0;
        while done < n {
            if self.left == 0 {
                self.next_page()?;
                continue;
            }
            let (value, count) = self.indices.next_run(self.left.min(n - done))?;
            if value as usize >= self.dict.len() {
                return Err(Unsupported);
            }
            self.left -= count;
            done += count;
            match out.last_mut() {
                Some(run) if run.1 == value => run.0 = done,
                _ => out.push((done, value)),
            }
        }
        Ok(())
    }

    /// Moves to the next data page (reading a dictionary page on the way).
    fn next_page(&mut self) -> Result<(), Unsupported> {
        loop {
            let page = self.pages.get_next_page().map_err(|_| Unsupported)?;
            match page.ok_or(Unsupported)? {
                Page::DictionaryPage {
                    buf,
                    num_values,
                    encoding,
                    ..
                } => {
                    if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                        return Err(Unsupported);
                    }
                    self.dict = plain_byte_arrays(&buf, num_values as usize)?;
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    ..
                } => {
                    let rows = num_values as usize;
                    let values = if self.max_def > 0 {
                        if def_level_encoding != Encoding::RLE {
                            return Err(Unsupported);
                        }
                        // The levels: a 4-byte length, then the hybrid runs at width 1.
                        let len = u32::from_le_bytes(
                            buf.get(..4)
                                .ok_or(Unsupported)?
                                .try_into()
                                .map_err(|_| Unsupported)?,
                        ) as usize;
                        let levels = buf.slice(4..(4 + len).min(buf.len()));
                        all_defined(levels, rows, self.max_def)?;
                        buf.slice((4 + len).min(buf.len())..)
                    } else {
                        buf
                    };
                    return self.start(encoding, values, rows);
                }
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    num_nulls,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                } => {
                    if num_nulls > 0 || rep_levels_byte_len > 0 {
                        return Err(Unsupported);
                    }
                    let skip = def_levels_byte_len as usize;
                    let values = buf.slice(skip.min(buf.len())..);
                    return self.start(encoding, values, num_values as usize);
                }
            }
        }
    }

    /// Starts reading a data page's `rows` values.
    fn start(&mut self, encoding: Encoding, values: Bytes, rows: usize) -> Result<(), Unsupported> {
        if !matches!(
            encoding,
            Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
        ) || self.dict.is_empty()
        {
            return Err(Unsupported);
        }
        let width = *values.first().ok_or(Unsupported)?;
        self.indices = Hybrid::new(values.slice(1..), width)?;
        self.left = rows;
        Ok(())
    }
}

/// Checks that `rows` definition levels (hybrid runs at width 1) all say "defined".
fn all_defined(levels: Bytes, rows: usize, max_def: i16) -> Result<(), Unsupported> {
    if max_def != 1 {
        return Err(Unsupported);
    }
    let mut hybrid = Hybrid::new(levels, 1)?;
    let mut seen = 0;
    while seen < rows {
        let (level, count) = hybrid.next_run(rows - seen)?;
        if level != 1 {
            return Err(Unsupported);
        }
        seen += count;
    }
    Ok(())
}

/// The values of a PLAIN-encoded BYTE_ARRAY page: a 4-byte little-endian length, then the bytes.
fn plain_byte_arrays(buf: &Bytes, n: usize) -> Result<Vec<Bytes>, Unsupported> {
    let mut out = Vec::with_capacity(n);
    let mut at = 0;
    for _ in 0..n {
        let len = buf.get(at..at + 4).ok_or(Unsupported)?;
        let len = u32::from_le_bytes(len.try_into().map_err(|_| Unsupported)?) as usize;
        let end = (at + 4).checked_add(len).ok_or(Unsupported)?;
        if end > buf.len() {
            return Err(Unsupported);
        }
        out.push(buf.slice(at + 4..end));
        at = end;
    }
    Ok(out)
}

/// A reader of the RLE/bit-packed hybrid encoding.
#[derive(Default)]
struct Hybrid {
    buf: Bytes,
    at: usize,
    width: u8,
    /// What is left of the current run: a repeated value, or bit-packed values.
    repeat: (u32, usize),
    packed: Packed,
}

/// The rest of a bit-packed run.
#[derive(Default)]
struct Packed {
    /// Where its values start (bytes into the buffer), which value is next, how many there are.
    start: usize,
    next: usize,
    count: usize,
}

impl Hybrid {
    fn new(buf: Bytes, width: u8) -> Result<Hybrid, Unsupported> {
        if width > 32 {
            return Err(Unsupported);
        }
        Ok(Hybrid {
            buf,
            at: 0,
            width,
            repeat: (0, 0),
            packed: Packed::default(),
        })
    }

    /// The next run of one value, at most `max` long: the value and its length (≥ 1).
    fn next_run(&mut self, max: usize) -> Result<(u32, usize), Unsupported> {
        if self.repeat.1 == 0 && self.packed.next == self.packed.count {
            self.next_header()?;
        }
        if self.repeat.1 > 0 {
            let count = self.repeat.1.min(max);
            self.repeat.1 -= count;
            return Ok((self.repeat.0, count));
        }
        // Bit-packed: as many equal values in a row as there are, up to `max`.
        let value = self.packed_value(self.packed.next)?;
        let mut count = 1;
        while count < max
            && self.packed.next + count < self.packed.count
            && self.packed_value(self.packed.next + count)? == value
        {
            count += 1;
        }
        self.packed.next += count;
        Ok((value, count))
    }

    /// Value `i` of the current bit-packed run.
    fn packed_value(&self, i: usize) -> Result<u32, Unsupported> {
        let width = usize::from(self.width);
        if width == 0 {
            return Ok(0);
        }
        let bit = i * width;
        let first = self.packed.start + bit / 8;
        let mut word = 0u64;
        for (k, b) in self
            .buf
            .get(first..(first + 5).min(self.buf.len()))
            .ok_or(Unsupported)?
            .iter()
            .enumerate()
        {
            word |= u64::from(*b) << (8 * k);
        }
        let mask = (1u64 << width) - 1;
        Ok(((word >> (bit % 8)) & mask) as u32)
    }

    /// Reads the next run's header.
    fn next_header(&mut self) -> Result<(), Unsupported> {
        let header = self.varint()?;
        let width = usize::from(self.width);
        if header & 1 == 1 {
            let groups = usize::try_from(header >> 1).map_err(|_| Unsupported)?;
            let count = groups.checked_mul(8).ok_or(Unsupported)?;
            let bytes = groups.checked_mul(width).ok_or(Unsupported)?;
            if count == 0 || self.at + bytes > self.buf.len() {
                return Err(Unsupported);
            }
            self.packed = Packed {
                start: self.at,
                next: 0,
                count,
            };
            self.at += bytes;
        } else {
            let count = usize::try_from(header >> 1).map_err(|_| Unsupported)?;
            let bytes = width.div_ceil(8);
            let raw = self.buf.get(self.at..self.at + bytes).ok_or(Unsupported)?;
            let value = raw
                .iter()
                .enumerate()
                .fold(0u32, |v, (k, b)| v | u32::from(*b) << (8 * k));
            if count == 0 {
                return Err(Unsupported);
            }
            self.at += bytes;
            self.repeat = (value, count);
            self.packed = Packed::default();
        }
        Ok(())
    }

    /// An unsigned LEB128 varint.
    fn varint(&mut self) -> Result<u64, Unsupported> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.at).ok_or(Unsupported)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    // Test code: a panic fails the test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn runs(bytes: &[u8], width: u8, n: usize) -> Vec<(u32, usize)> {
        let mut h = Hybrid::new(Bytes::copy_from_slice(bytes), width).unwrap();
        let mut out = Vec::new();
        let mut seen = 0;
        while seen < n {
            let run = h.next_run(n - seen).unwrap();
            seen += run.1;
            out.push(run);
        }
        out
    }

    #[test]
    fn the_format_documents_example_of_bit_packing_reads_back() {
        // The Parquet format's own example (Encodings, "Bit-packed"): 0..=7 at width 3 is
        // 10001000 11000110 11111010, after the header of one group of eight, (1 << 1) | 1.
        let got = runs(&[0x03, 0x88, 0xC6, 0xFA], 3, 8);
        let expected: Vec<(u32, usize)> = (0..8).map(|v| (v, 1)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn repeated_runs_and_equal_packed_values_come_back_as_runs() {
        // 300 times 5 (header 600 = 0xD8 0x04, the value in one byte), then a packed group
        // of 2, 2, 2, 7, 7, 0, 0, 0 at width 4 (pairs, low nibble first), of which 6 are asked for.
        let bytes = [0xD8, 0x04, 0x05, 0x03, 0x22, 0x72, 0x07, 0x00];
        assert_eq!(runs(&bytes, 4, 306), [(5, 300), (2, 3), (7, 2), (0, 1)]);
        // A run is cut at what is asked for, and goes on in the next call.
        let mut h = Hybrid::new(Bytes::copy_from_slice(&bytes), 4).unwrap();
        assert_eq!(h.next_run(100).unwrap(), (5, 100));
        assert_eq!(h.next_run(500).unwrap(), (5, 200));
        assert_eq!(h.next_run(2).unwrap(), (2, 2));
    }

    #[test]
    fn a_truncated_run_is_unsupported_not_a_panic() {
        // A packed run of two groups at width 8 needs 16 bytes; there are 3.
        let mut h = Hybrid::new(Bytes::from_static(&[0x05, 1, 2, 3]), 8).unwrap();
        assert!(h.next_run(10).is_err());
        // A varint that never ends.
        let mut h = Hybrid::new(Bytes::from_static(&[0xFF; 12]), 8).unwrap();
        assert!(h.next_run(10).is_err());
    }
}
