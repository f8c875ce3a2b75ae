#!/usr/bin/env bash
# Builds Tessera's CUDA library from the sources beside this script:
#   OUT/libtessera_cuda.so       the CUDA build: nvcc for sm_90a, the CUDA runtime linked statically (it finds
#                                libcuda.so.1 at run time, so it loads on machines without a driver); only where
#                                nvcc is on the PATH (or $NVCC names it)
#   OUT/libtessera_cuda_host.so  the host build of the same kernels, for tests without a GPU (host_emulation.h)
# Usage: build.sh OUT [host|cuda|all]   (default all). A library newer than every source is left as it is.
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT [host|cuda|all]}"
which="${2:-all}"
mkdir -p "$out"

kernels=(errors embedding elementwise rmsnorm linear qkv rope kv_cache attention moe sampling fill)
shared=()
for k in "${kernels[@]}"; do shared+=("$src/$k.cu"); done

fresh() {  # fresh LIB: LIB exists and no source is newer
  [ -f "$1" ] && [ -z "$(find "$src" -type f -newer "$1" -print -quit)" ]
}

if [ "$which" != cuda ]; then
  lib="$out/libtessera_cuda_host.so"
  if ! fresh "$lib"; then
    echo "cuda: host build of the kernels -> $lib"
    ${CXX:-g++} -std=c++20 -O2 -g -fPIC -shared -pthread -Wall -Wextra -Wno-unknown-pragmas -Wno-unused-parameter \
      -I"$src" -x c++ "${shared[@]}" -x none "$src/host_runtime.cpp" "$src/host_emulation.cpp" -o "$lib.tmp"
    mv "$lib.tmp" "$lib"
  fi
fi

if [ "$which" != host ]; then
  nvcc="${NVCC:-$(command -v nvcc || true)}"
  if [ -z "$nvcc" ]; then
    echo "cuda: nvcc is not on the PATH; the CUDA library is not built (the host build is)"
  else
    lib="$out/libtessera_cuda.so"
    if ! fresh "$lib"; then
      echo "cuda: nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') for sm_90a -> $lib"
      # sm_90a machine code for Hopper, and compute_90 PTX that newer GPUs' drivers compile at load
      "$nvcc" -std=c++17 -O3 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a \
        -gencode arch=compute_90,code=compute_90 -cudart static -lineinfo \
        -Xcompiler -Wall -I"$src" "${shared[@]}" "$src/device_runtime.cu" -o "$lib.tmp"
      mv "$lib.tmp" "$lib"
    fi
  fi
fi
