#!/usr/bin/env bash
# Runs on the device machine (see pack.sh): unpacks the bundle, then the WebGPU convolution benchmark
# (--full, with the onnxruntime-web WebGPU peer) and the UNet inference / training-step benchmark on
# webgpu, batch 1 and 8. Dawn picks its default backend (Vulkan on the NVIDIA driver). Everything it
# measured lands in $OUT (or out/device without the tool): the two results files, logs, nvidia-smi.
# `--smoke`: a quick rehearsal (S1 and S4, batch 1), e.g. here on a software adapter before asking for the machine.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${OUT:-out/device}"
mkdir -p "$out"
# tar may lack xz there; Python's tarfile reads it too.
tar -xJf .cache/device/bundle.tar.xz -C . 2>/dev/null ||
  python3 -c "import tarfile; tarfile.open('.cache/device/bundle.tar.xz').extractall('.')" || exit 1
export PATH="$PWD/.cache/device/bin:$PATH"
# Dawn needs the Vulkan loader; use the packed one only where the machine has none.
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || export LD_LIBRARY_PATH="$PWD/.cache/device/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  nvidia-smi || true
  node --version
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
} >"$out/machine.txt" 2>&1
rc=0
if [ "${1:-}" = --smoke ]; then conv=(--cases S1,S4); batches=1; else conv=(--full); batches=1,8; fi
timeout 300 node bench/gpu.bench.mjs "${conv[@]}" >"$out/gpu.log" 2>&1 || rc=$?
timeout 200 node bench/unet.bench.mjs --backends=webgpu:1 --batches="$batches" >"$out/unet.log" 2>&1 || rc=$?
cp bench/results/gpu-latest.json bench/results/latest.json "$out/" 2>/dev/null
grep -v '^var \|Warning:' "$out/gpu.log" | tail -n 30
tail -n 5 "$out/unet.log"
exit "$rc"
