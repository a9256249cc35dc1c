//! Splitting a matrix product's weight rows across threads (native builds with the `threads`
//! feature; wasm32 has one thread).

/// Call `f(first_row, chunk)` over `out` = [rows, n] in runs of whole rows, in parallel where
/// there are threads and enough work to pay for waking them.
pub(crate) fn for_row_chunks(
    out: &mut [f32],
    n: usize,
    rows: usize,
    cols: usize,
    f: impl Fn(usize, &mut [f32]) + Sync,
) {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        // Below ~64k multiply-adds a thread hand-off costs more than it saves.
        if threads > 1 && rows * cols * n >= 1 << 16 {
            let per = rows.div_ceil(threads * 4).max(8);
            out.par_chunks_mut(per * n).enumerate().for_each(|(i, chunk)| f(i * per, chunk));
            return;
        }
    }
    let _ = (n, rows, cols);
    f(0, out);
}

/// Call `f(first_row, rows)` over runs of weight rows that together cover `0..rows`, in
/// parallel as [`for_row_chunks`] does; for products that write their own disjoint outputs.
pub(crate) fn for_row_ranges(rows: usize, n: usize, cols: usize, f: impl Fn(usize, usize) + Sync) {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        if threads > 1 && rows * cols * n >= 1 << 16 {
            let per = rows.div_ceil(threads * 4).max(8);
            (0..rows.div_ceil(per)).into_par_iter().for_each(|i| f(i * per, per.min(rows - i * per)));
            return;
        }
    }
    let _ = (n, cols);
    f(0, rows);
}
