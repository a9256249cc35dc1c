//! The GPU kernels on this machine's Vulkan adapter (lavapipe without a GPU).

#[test]
fn packed_gpu_kernels_match_the_f32_product() {
    #[cfg(feature = "wgpu")]
    match crate::wgpu() {
        Ok(gpu) => {
            let worst = pollster::block_on(crate::common::gpu_kernels::worst_relative_error(&gpu));
            println!("packed GPU kernels vs the f32 product: worst error {worst:.2e} of the largest output");
        }
        Err(e) => println!("GPU kernel test did not run: no wgpu adapter ({e})"),
    }
    #[cfg(not(feature = "wgpu"))]
    println!("GPU kernel test did not run: built without the `wgpu` feature");
}

#[test]
fn gpu_small_ops_match_the_host_ops() {
    #[cfg(feature = "wgpu")]
    match crate::wgpu() {
        Ok(gpu) => {
            let worst = pollster::block_on(crate::common::gpu_kernels::small_ops_worst_error(&gpu));
            println!("GPU RMSNorm, SwiGLU and attention vs the host's: worst |Δ| {worst:.2e}");
        }
        Err(e) => println!("GPU small-ops test did not run: no wgpu adapter ({e})"),
    }
    #[cfg(not(feature = "wgpu"))]
    println!("GPU small-ops test did not run: built without the `wgpu` feature");
}
