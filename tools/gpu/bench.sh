#!/usr/bin/env bash
# Tiller's speed on a machine with a real GPU, in a few minutes: native burn-wgpu on Vulkan runs
# the same cubecl kernels as the browser's WebGPU. Prints one `tiller bench --json` line per run.
#
# Here (the build machine), once:
#   cargo build --release -p tiller-cli && strip -o target/gpu-bench/tiller target/release/tiller
#   # Vulkan loaders for a bare NVIDIA machine, as Debian packages (amd64):
#   mkdir -p target/gpu-bench/gl && (cd target/gpu-bench/gl && apt-get download libvulkan1)
# There (the GPU machine), with target/gpu-bench carried along:
#   bash tools/gpu/bench.sh
# The model file stays here when it cannot travel: the runs use `--random-weights`, a GGUF of
# SmolLM2-135M-Instruct's exact shapes and tensor types written by the engine's GGUF writer
# (throughput does not depend on the values). With models/SmolLM2-135M-Instruct.Q4_1.gguf present,
# the real model runs too.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=target/gpu-bench
TILLER=$B/tiller
[ -x "$TILLER" ] || { echo "gpu-bench: $TILLER is missing; build it first (see the top of this script)"; exit 1; }

# Vulkan loader from the carried .deb files, unless the machine has one.
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$B"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# The NVIDIA driver's Vulkan ICD, where the container keeps it outside the usual place.
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
done
echo "date: $(date -u +%F)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"

run() { echo "== tiller bench $*"; timeout 240 "$TILLER" bench --json "$@" || echo "(failed or timed out: exit $?)"; }
run --backend wgpu --random-weights --prompt-tokens 64 --gen-tokens 128 --repeats 2
run --backend flex --random-weights --prompt-tokens 64 --gen-tokens 64 --repeats 1
if [ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
  run --backend wgpu --prompt-tokens 64 --gen-tokens 128 --repeats 2
fi
