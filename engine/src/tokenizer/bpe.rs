//! Byte-level BPE over one pre-tokenized word.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// The merge table, keyed by the ids of the two symbols it joins.
pub(crate) struct Merges {
    by_pair: HashMap<(u32, u32), Merge>,
}

#[derive(Clone, Copy)]
struct Merge {
    rank: u32,
    joined: u32,
}

/// One symbol of the word being merged, linked to its live neighbours. `None` is a byte with no
/// token of its own: it takes part in no merge and produces no id.
#[derive(Clone, Copy)]
struct Symbol {
    id: Option<u32>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge of the symbols at `left` and `right`, remembered with the ids it was found
/// for: a candidate whose symbols have since changed is stale.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    rank: u32,
    left: usize,
    right: usize,
    ids: (u32, u32),
    joined: u32,
}

impl Merges {
    /// `pairs` in rank order; a pair listed twice keeps its first (best) rank, as in llama.cpp.
    pub(crate) fn new(pairs: impl IntoIterator<Item = (u32, u32, u32)>) -> Self {
        let mut by_pair = HashMap::new();
        for (rank, (left, right, joined)) in (0u32..).zip(pairs) {
            by_pair.entry((left, right)).or_insert(Merge { rank, joined });
        }
        Self { by_pair }
    }

    /// Merge `ids` (one per byte of the word) by repeatedly joining the adjacent pair of lowest
    /// rank, leftmost first, and append the result to `out`. A heap of candidates keeps long
    /// words (a run of thousands of spaces is one word) from going quadratic.
    pub(crate) fn apply(&self, ids: impl IntoIterator<Item = Option<u32>>, out: &mut Vec<u32>) {
        let mut symbols: Vec<Symbol> = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| Symbol { id, prev: i.checked_sub(1), next: Some(i + 1) })
            .collect();
        if let Some(last) = symbols.last_mut() {
            last.next = None;
        }
        let mut heap = BinaryHeap::new();
        for left in 1..symbols.len() {
            self.push_candidate(&symbols, left - 1, left, &mut heap);
        }
        while let Some(Reverse(cand)) = heap.pop() {
            let (l, r) = (symbols[cand.left], symbols[cand.right]);
            if l.next != Some(cand.right) || (l.id, r.id) != (Some(cand.ids.0), Some(cand.ids.1)) {
                continue;
            }
            symbols[cand.left].id = Some(cand.joined);
            symbols[cand.left].next = r.next;
            // Unlinked, so that candidates starting at the absorbed symbol read as stale.
            symbols[cand.right].next = None;
            if let Some(after) = r.next {
                symbols[after].prev = Some(cand.left);
                self.push_candidate(&symbols, cand.left, after, &mut heap);
            }
            if let Some(before) = l.prev {
                self.push_candidate(&symbols, before, cand.left, &mut heap);
            }
        }
        let mut at = (!symbols.is_empty()).then_some(0);
        while let Some(i) = at {
            out.extend(symbols[i].id);
            at = symbols[i].next;
        }
    }

    fn push_candidate(&self, symbols: &[Symbol], left: usize, right: usize, heap: &mut BinaryHeap<Reverse<Candidate>>) {
        let (Some(l), Some(r)) = (symbols[left].id, symbols[right].id) else {
            return;
        };
        let ids = (l, r);
        if let Some(m) = self.by_pair.get(&ids) {
            heap.push(Reverse(Candidate { rank: m.rank, left, right, ids, joined: m.joined }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(merges: &Merges, ids: &[u32]) -> Vec<u32> {
        let mut out = Vec::new();
        merges.apply(ids.iter().map(|&id| Some(id)), &mut out);
        out
    }

    #[test]
    fn lowest_rank_first() {
        // a=0 b=1 c=2; "b c"=3 outranks "a b"=4, so "abc" becomes a+bc, then abc via "a bc"=5.
        let merges = Merges::new([(1, 2, 3), (0, 1, 4), (0, 3, 5)]);
        assert_eq!(run(&merges, &[0, 1, 2]), [5]);
        assert_eq!(run(&merges, &[0, 1]), [4]);
        assert_eq!(run(&merges, &[2, 0]), [2, 0]);
    }

    #[test]
    fn ties_go_leftmost() {
        // "a a"=1: "aaa" is aa+a, not a+aa.
        let merges = Merges::new([(0, 0, 1)]);
        assert_eq!(run(&merges, &[0, 0, 0]), [1, 0]);
        assert_eq!(run(&merges, &[0, 0, 0, 0]), [1, 1]);
    }

    #[test]
    fn stale_candidates_are_skipped() {
        // "a b"=3 first makes "b c"=4 stale; "ab c"=5 must not be shadowed by it.
        let merges = Merges::new([(0, 1, 3), (1, 2, 4), (3, 2, 5)]);
        assert_eq!(run(&merges, &[0, 1, 2]), [5]);
    }

    #[test]
    fn tokenless_bytes_block_merges_and_vanish() {
        let merges = Merges::new([(0, 0, 1)]);
        let mut out = Vec::new();
        merges.apply([Some(0), None, Some(0), Some(0)], &mut out);
        assert_eq!(out, [0, 1]);
    }

    #[test]
    fn empty_and_single() {
        let merges = Merges::new([]);
        assert_eq!(run(&merges, &[]), Vec::<u32>::new());
        assert_eq!(run(&merges, &[7]), [7]);
    }
}
