//! The packed block formats every kernel reads: one block is 32 weights.

/// The block formats, with ggml's layouts (reference README, pitfall 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// f16 d, 16 bytes of nibbles; x = (q − 8)·d. Byte j holds element j (low) and j + 16 (high).
    Q4_0,
    /// f16 d, f16 m, 16 bytes of nibbles; x = q·d + m.
    Q4_1,
    /// f16 d, 32 × i8; x = q·d.
    Q8_0,
}

impl BlockKind {
    pub(crate) const fn bytes(self) -> usize {
        match self {
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q8_0 => 34,
        }
    }
}
