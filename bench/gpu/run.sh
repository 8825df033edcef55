#!/bin/sh
# The GPU bench, self-contained: WebGPU (Dawn over Vulkan) rows from the lab's engine, then PyTorch
# CUDA rows on the same steps where python3 has torch with CUDA. JSON rows on stdout, notes on stderr.
#
#   sh run.sh                          every shape, SFT and CLO
#   sh run.sh --configs stories260K    any flag of gpu-bench (--configs, --objectives, --batch, --seq, --steps)
#   SWIFTSHADER=1 sh run.sh ...        a software adapter (Chromium's SwiftShader) where no GPU is present
#   NO_TORCH=1 sh run.sh ...           skip the PyTorch rows
#
# Vulkan: the system's libvulkan.so.1 when it has one, else the copy in lib/; the driver (ICD) is the
# loader's to find (/usr/share/vulkan/icd.d, /etc/vulkan/icd.d) or VK_DRIVER_FILES names it.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"

if [ ! -x "$HERE/node" ]; then
  gunzip -c node.gz > node.partial && chmod +x node.partial && mv node.partial node
fi
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node
if [ ! -f "$DAWN" ]; then
  gunzip -c "$DAWN.gz" > "$DAWN.partial" && mv "$DAWN.partial" "$DAWN"
fi
if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
  echo "gpu-bench: using the bundled Vulkan loader (lib/libvulkan.so.1)" >&2
fi
if [ "${SWIFTSHADER:-}" = 1 ]; then
  ICD=/usr/lib/chromium/vk_swiftshader_icd.json
  [ -f "$ICD" ] || { echo "gpu-bench: SWIFTSHADER=1 needs Chromium's $ICD" >&2; exit 2; }
  VK_ICD_FILENAMES=$ICD VK_DRIVER_FILES=$ICD
  LD_LIBRARY_PATH="/usr/lib/chromium:${LD_LIBRARY_PATH:-}"
  export VK_ICD_FILENAMES VK_DRIVER_FILES LD_LIBRARY_PATH
fi
for icd in ${VK_DRIVER_FILES:-} /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
  [ -f "$icd" ] && echo "gpu-bench: Vulkan driver file: $icd" >&2
done

"$HERE/node" gpu-bench.mjs "$@"

if [ "${NO_TORCH:-}" != 1 ] && command -v python3 >/dev/null 2>&1; then
  if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    python3 torch_gpu.py "$@"
  else
    echo "gpu-bench: python3 has no torch with CUDA: no PyTorch rows" >&2
  fi
fi
