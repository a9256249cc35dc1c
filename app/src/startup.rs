//! What every wasm entry point runs first.

/// Run the module's static constructors (the `inventory` registrations cubecl's IR makes at
/// startup), once.
///
/// A wasm module nobody calls `__wasm_call_ctors` in is linked "command-style": wasm-ld then
/// makes every exported function call it on entry, and wasm-bindgen's glue calls exports for
/// everything (each externref crossing into JS is `__externref_table_alloc`). In the WebGPU
/// worker that was 52% of its time while generating, with the GPU idle behind it (a V8
/// profile of the worker during a reply). One call from `main` makes the linker see a
/// reactor, and it adds no wrappers.
pub fn run_static_constructors() {
    #[cfg(target_family = "wasm")]
    {
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: the linker's own constructor list, run once at startup before any Rust code
        // reads what it registers.
        unsafe { __wasm_call_ctors() }
    }
}
