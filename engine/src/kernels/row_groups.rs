//! Weight rows repacked sixteen at a time, so that each lane of a 512-bit vector computes one
//! row's output.
//!
//! With the file's layout a decode product reduces every (block, activation row) pair to one
//! number: a multiply-add of 32 i16, an int→float conversion, a scale multiply and an FMA, then
//! a scalar for a Q4_1 block's minimum. That per-pair work, not reading the weights, was what a
//! step cost, and what made Compare's three rows cost twice one. Here lane r of every vector
//! belongs to row r of the group: a block's 32 products are 16 multiply-adds of element pairs
//! against one broadcast activation pair, summed as integers in the lanes, and the scales, the
//! conversion and the minimum are paid once per block for all sixteen rows.
//!
//! One group-block (16 rows' block b) holds the same bytes as the sixteen ggml blocks:
//!
//! ```text
//! Q4_0  d[16] f16 │ quants 256 B                      = 16 × 18
//! Q4_1  d[16] f16 │ m[16] f16 │ quants 256 B          = 16 × 20
//! Q8_0  d[16] f16 │ quants 512 B                      = 16 × 34
//!
//! 4-bit quants: four 64-byte chunks c of 32 u16 lanes; lane 2r + e, nibble s holds row r's
//!               element 2·(4c + s) + e (so shift and mask give pair p = 4c + s of every row)
//! Q8_0 quants:  pair p at bytes 32p..32p + 32: byte 2r + e is row r's element 2p + e
//! ```
//!
//! Groups are stored one after another, each with its blocks in order, so a product streams
//! the matrix front to back.

use super::QK;
use super::block_rows::BlockRows;
use super::blocks::BlockKind;
use super::scalar::quants_at;

/// Rows in a group: one per lane of a 512-bit vector of f32 or i32.
pub(crate) const GROUP: usize = 16;

#[derive(Clone, Debug)]
pub(crate) struct RowGroups {
    kind: BlockKind,
    /// Blocks in a row.
    nb: usize,
    /// [rows / GROUP, nb] group-blocks of `GROUP · kind.bytes()` each.
    bytes: Vec<u8>,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl RowGroups {
    /// `blocks` (ggml rows of `nb` blocks) repacked; the row count must be a multiple of
    /// [`GROUP`].
    pub(crate) fn new(kind: BlockKind, blocks: &BlockRows, rows: usize, nb: usize) -> Self {
        assert!(rows.is_multiple_of(GROUP), "whole groups of {GROUP} rows");
        let size = GROUP * kind.bytes();
        let mut bytes = vec![0u8; rows * nb * kind.bytes()];
        // On threads where there are any: repacking is most of a native load.
        super::parallel::for_each_chunk(&mut bytes, nb * size, |g, group| {
            let rows: [&[u8]; GROUP] = std::array::from_fn(|r| blocks.row(g * GROUP + r));
            for (b, out) in group.chunks_exact_mut(size).enumerate() {
                let at = b * kind.bytes();
                pack(kind, std::array::from_fn(|r| &rows[r][at..at + kind.bytes()]), out);
            }
        });
        Self { kind, nb, bytes }
    }

    pub(crate) fn kind(&self) -> BlockKind {
        self.kind
    }

    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Group `g`'s blocks, one group-block after another.
    pub(crate) fn group(&self, g: usize) -> &[u8] {
        let len = self.nb * GROUP * self.kind.bytes();
        &self.bytes[g * len..(g + 1) * len]
    }

    /// Groups `groups` as one slice.
    pub(crate) fn groups(&self, groups: std::ops::Range<usize>) -> &[u8] {
        let len = self.nb * GROUP * self.kind.bytes();
        &self.bytes[groups.start * len..groups.end * len]
    }

    /// Row `r` in ggml's layout again (the embedding lookup, the reference kernels).
    pub(crate) fn row(&self, r: usize) -> Vec<u8> {
        let (size, bytes) = (GROUP * self.kind.bytes(), self.kind.bytes());
        let mut out = vec![0u8; self.nb * bytes];
        for (b, block) in self.group(r / GROUP).chunks_exact(size).zip(out.chunks_exact_mut(bytes)) {
            unpack(self.kind, b, r % GROUP, block);
        }
        out
    }
}

/// Element i of a 4-bit ggml block: quant byte j holds j (low nibble) and j + 16 (high).
fn nibble(kind: BlockKind, block: &[u8], i: usize) -> u8 {
    let q = block[quants_at(kind) + i % 16];
    if i < 16 { q & 0x0f } else { q >> 4 }
}

/// Where 4-bit element `i` of row `r` lies in a group-block's quants: (byte, shift).
fn nibble_at(r: usize, i: usize) -> (usize, u32) {
    let (p, e) = (i / 2, i % 2);
    let (c, s) = (p / 4, p % 4);
    let lane = 2 * r + e;
    // Lane `lane` of chunk c is the u16 at bytes 2·lane, 2·lane + 1 (little-endian).
    (64 * c + 2 * lane + s / 2, 4 * (s as u32 % 2))
}

/// Sixteen ggml blocks (one per row) into one group-block.
fn pack(kind: BlockKind, blocks: [&[u8]; GROUP], out: &mut [u8]) {
    for (r, block) in blocks.iter().enumerate() {
        out[2 * r..2 * r + 2].copy_from_slice(&block[..2]);
    }
    match kind {
        BlockKind::Q8_0 => {
            let q = &mut out[2 * GROUP..];
            for (r, block) in blocks.iter().enumerate() {
                for i in 0..QK {
                    q[32 * (i / 2) + 2 * r + i % 2] = block[2 + i];
                }
            }
        }
        BlockKind::Q4_0 | BlockKind::Q4_1 => {
            let scales = if kind == BlockKind::Q4_1 {
                for (r, block) in blocks.iter().enumerate() {
                    out[2 * GROUP + 2 * r..2 * GROUP + 2 * r + 2].copy_from_slice(&block[2..4]);
                }
                4 * GROUP
            } else {
                2 * GROUP
            };
            // Lane 2r + e of chunk c: row r's elements 2·(4c + s) + e, nibble s.
            let q = &mut out[scales..];
            for (c, chunk) in q.chunks_exact_mut(64).enumerate() {
                for (lane, word) in chunk.chunks_exact_mut(2).enumerate() {
                    let (block, e) = (blocks[lane / 2], lane % 2);
                    let v = (0..4).fold(0u16, |v, s| v | (nibble(kind, block, 2 * (4 * c + s) + e) as u16) << (4 * s));
                    word.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
}

/// Row `r`'s ggml block out of a group-block.
fn unpack(kind: BlockKind, group: &[u8], r: usize, out: &mut [u8]) {
    out.fill(0);
    out[..2].copy_from_slice(&group[2 * r..2 * r + 2]);
    match kind {
        BlockKind::Q8_0 => {
            let q = &group[2 * GROUP..];
            for i in 0..QK {
                out[2 + i] = q[32 * (i / 2) + 2 * r + i % 2];
            }
        }
        BlockKind::Q4_0 | BlockKind::Q4_1 => {
            let scales = if kind == BlockKind::Q4_1 {
                out[2..4].copy_from_slice(&group[2 * GROUP + 2 * r..2 * GROUP + 2 * r + 2]);
                4 * GROUP
            } else {
                2 * GROUP
            };
            let at = quants_at(kind);
            for i in 0..QK {
                let (byte, shift) = nibble_at(r, i);
                let v = (group[scales + byte] >> shift) & 0x0f;
                out[at + i % 16] |= if i < 16 { v } else { v << 4 };
            }
        }
    }
}
