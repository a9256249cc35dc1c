//! Rows of packed blocks, left where the file put them.

use std::ops::Range;

use crate::gguf::SharedBytes;

/// A matrix's rows of packed blocks as runs of whole rows in shared buffers: one run for a
/// matrix as the file stores it, one per part for matrices fused after loading (q, k and v lie
/// apart in a GGUF file). Kernels read each run in place, so neither loading nor fusing copies
/// a weight.
#[derive(Clone, Debug)]
pub(crate) struct BlockRows {
    /// Bytes of one row (its blocks, scales included).
    row_bytes: usize,
    runs: Vec<Run>,
}

#[derive(Clone, Debug)]
struct Run {
    buf: SharedBytes,
    /// Where the run's rows lie in `buf`.
    range: Range<usize>,
}

impl BlockRows {
    /// `rows` rows of `row_bytes` each at `range` of `buf` (the caller checked it holds them).
    pub(crate) fn new(buf: SharedBytes, range: Range<usize>, row_bytes: usize) -> Self {
        debug_assert!(row_bytes > 0 && range.len().is_multiple_of(row_bytes) && range.end <= buf.len());
        Self { row_bytes, runs: vec![Run { buf, range }] }
    }

    /// The rows of every part, one after another (no bytes move).
    pub(crate) fn concat<'p>(parts: impl IntoIterator<Item = &'p BlockRows>) -> Self {
        let mut parts = parts.into_iter().peekable();
        let row_bytes = parts.peek().map_or(0, |p| p.row_bytes);
        let runs = parts.flat_map(|p| p.runs.iter().cloned()).collect();
        Self { row_bytes, runs }
    }

    /// The same rows in one buffer of their own, so that they no longer keep the file alive.
    pub(crate) fn detached(&self) -> Self {
        let bytes: Vec<u8> = self.runs.iter().flat_map(|r| r.bytes().iter().copied()).collect();
        let len = bytes.len();
        Self::new(SharedBytes::from(bytes), 0..len, self.row_bytes)
    }

    /// Bytes held, scales included.
    pub(crate) fn len_bytes(&self) -> usize {
        self.runs.iter().map(|r| r.range.len()).sum()
    }

    /// Row `r`'s blocks.
    pub(crate) fn row(&self, r: usize) -> &[u8] {
        let (first, bytes) = self.runs(r..r + 1).next().expect("row in range");
        debug_assert_eq!(first, r);
        bytes
    }

    /// Every row's blocks, in order, as the contiguous runs they are stored in.
    pub(crate) fn all(&self) -> impl Iterator<Item = &[u8]> {
        self.runs.iter().map(Run::bytes)
    }

    /// Rows `rows` as contiguous pieces: (index of the piece's first row, its bytes). A kernel
    /// runs once per piece, so a chunk of rows may cross from one fused part into the next.
    pub(crate) fn runs(&self, rows: Range<usize>) -> impl Iterator<Item = (usize, &[u8])> {
        let mut first = 0;
        self.runs.iter().filter_map(move |run| {
            let n = run.range.len() / self.row_bytes;
            let (lo, hi) = (first.max(rows.start), (first + n).min(rows.end));
            let piece = (lo < hi).then(|| {
                let at = run.range.start + (lo - first) * self.row_bytes;
                (lo, &run.buf[at..at + (hi - lo) * self.row_bytes])
            });
            first += n;
            piece
        })
    }
}

impl Run {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}
