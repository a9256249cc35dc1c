//! Splitting a matrix product's weight rows across threads (native builds with the `threads`
//! feature; wasm32 has one thread).

/// Rows per run of work when threads should share a product of `rows` weight rows by `cols`
/// over `n` activation rows; None when one thread should do it all.
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
fn rows_per_run(rows: usize, n: usize, cols: usize, align: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    // Below ~64k multiply-adds a thread hand-off costs more than it saves.
    (threads > 1 && rows * cols * n >= 1 << 16).then(|| rows.div_ceil(threads * 4).max(8).next_multiple_of(align))
}

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
    if let Some(per) = rows_per_run(rows, n, cols, 1) {
        use rayon::prelude::*;
        out.par_chunks_mut(per * n).enumerate().for_each(|(i, chunk)| f(i * per, chunk));
        return;
    }
    let _ = (n, rows, cols);
    f(0, out);
}

/// Call `f(first_row, rows)` over runs of weight rows that together cover `0..rows`, split as
/// [`for_row_chunks`] splits, each run but the last a multiple of `align` rows; for products
/// that write their own disjoint outputs.
pub(crate) fn for_row_ranges(rows: usize, n: usize, cols: usize, align: usize, f: impl Fn(usize, usize) + Sync) {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    if let Some(per) = rows_per_run(rows, n, cols, align) {
        use rayon::prelude::*;
        (0..rows.div_ceil(per)).into_par_iter().for_each(|i| f(i * per, per.min(rows - i * per)));
        return;
    }
    let _ = (n, cols, align);
    f(0, rows);
}

/// `f(i, chunk)` for each `chunk`-long piece i of `data`, spread over the threads where there
/// are any.
pub(crate) fn for_each_chunk<T: Send>(data: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    if rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        data.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
        return;
    }
    data.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// `f(0), …, f(n − 1)`, spread over the threads where there are any.
pub(crate) fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    if rayon::current_num_threads() > 1 && n > 1 {
        use rayon::prelude::*;
        return (0..n).into_par_iter().map(f).collect();
    }
    (0..n).map(f).collect()
}

/// `(a(), b())`, the two on different threads where there are any.
pub(crate) fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    if rayon::current_num_threads() > 1 {
        return rayon::join(a, b);
    }
    (a(), b())
}

/// Run `f` on one of the pool's threads, so that the products inside it split their rows
/// between that thread and the others without waking the caller: called from outside the
/// pool, every product would block the caller on a latch and wake it again when done (a
/// futex round trip ~120 times a token, a sixth of a decode step on two cores).
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
pub(crate) fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match rayon::current_thread_index() {
        Some(_) => f(),
        None => rayon::scope(|_| f()),
    }
}

#[cfg(not(all(feature = "threads", not(target_arch = "wasm32"))))]
pub(crate) fn on_pool<R>(f: impl FnOnce() -> R) -> R {
    f()
}
