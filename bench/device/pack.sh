#!/usr/bin/env bash
# Packs what the device machine needs for the WebGPU figures (`run` tool; an NVIDIA GPU with a Vulkan
# driver, no Node.js, no network) into .cache/device/bundle.tar.xz (git-ignored): this Node binary,
# dist/ (the built library), and of node_modules only the `webgpu` package with its Linux x64 Dawn
# binary and the three files of onnxruntime-web's WebGPU build, plus Debian's Vulkan loader
# (libvulkan1, used there only if the machine lacks one). The device tool carries at most 64 MiB.
# Then: run(command="bash bench/device/run.sh", carry=[".cache/device"], timeout_s=540).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
npm run build --silent >/dev/null 2>&1 || npm run build # dist must match the sources (quiet unless it fails)
out=.cache/device
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/.cache/device/bin" "$stage/node_modules/webgpu/dist/linux-x64" "$stage/node_modules/onnxruntime-web/dist"
cp "$(command -v node)" "$stage/.cache/device/bin/node"
cp -r dist "$stage/dist"
cp node_modules/webgpu/{package.json,index.js} "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
cp node_modules/onnxruntime-web/package.json "$stage/node_modules/onnxruntime-web/"
cp node_modules/onnxruntime-web/dist/{ort.webgpu.bundle.min.mjs,ort-wasm-simd-threaded.asyncify.mjs,ort-wasm-simd-threaded.asyncify.wasm} "$stage/node_modules/onnxruntime-web/dist/"
mkdir -p "$stage/.cache/device/vulkan"
(cd "$stage" && apt-get download libvulkan1 >/dev/null 2>&1 && dpkg-deb -x libvulkan1_*.deb vk && rm libvulkan1_*.deb) ||
  echo "device: could not fetch libvulkan1 (the device machine's own Vulkan loader will be needed)" >&2
if [ -d "$stage/vk" ]; then cp -L "$stage"/vk/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$stage/.cache/device/vulkan/"; rm -rf "$stage/vk"; fi
rm -rf "$out"
mkdir -p "$out"
XZ_OPT="-6 -T0" tar -C "$stage" -cJf "$out/bundle.tar.xz" .
size=$(stat -c %s "$out/bundle.tar.xz")
echo "device: $out/bundle.tar.xz $((size / 1048576)) MiB ($(node --version), dist, webgpu linux-x64, onnxruntime-web webgpu)"
[ "$size" -lt $((60 * 1048576)) ] || { echo "device: the bundle exceeds 60 MiB; the device tool carries 64 MiB in all" >&2; exit 1; }
