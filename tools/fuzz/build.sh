#!/bin/bash
# Builds the fuzz targets (targets/*.swift) with libFuzzer and AddressSanitizer into
# .build/fuzz/: each entk module a target needs is compiled once, instrumented, as one object
# (whole-module), then each target links its harness against them. Kept out of `swift build`:
# SwiftPM cannot give an executable libFuzzer's main, and instrumenting every module would slow
# the normal build.
#
# Usage: tools/fuzz/build.sh [TARGET...]   (default: every target)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_BUILD:-$root/.build/fuzz}
mkdir -p "$out/modules" "$out/maps"
swiftc=${SWIFTC:-swiftc}
sanitize=(-sanitize=fuzzer,address)
blas_include=$(pkg-config --cflags-only-I openblas 2>/dev/null || true)
blas_libs=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

# Module maps for the C targets, which SwiftPM would synthesise.
cat > "$out/maps/CEntkABI.modulemap" <<MAP
module CEntkABI { header "$root/Sources/CEntkABI/include/entk_backend.h" export * }
MAP
cat > "$out/maps/COnnxProto.modulemap" <<MAP
module COnnxProto { header "$root/Plugins/ONNX/COnnxProto/include/onnx.pb-c.h" link "protobuf-c" export * }
MAP
cat > "$out/maps/CDenseProjection.modulemap" <<MAP
module CDenseProjection { header "$root/Sources/CDenseProjection/include/dense_projection.h" export * }
MAP
common=(
  "${sanitize[@]}" -O -g -parse-as-library -enable-testing -suppress-warnings -I "$out/modules" -I "$root/Sources/COpenBLAS"
  -I "$root/Sources/CZlib"
  -Xcc -fmodule-map-file="$out/maps/CEntkABI.modulemap" -Xcc -fmodule-map-file="$out/maps/COnnxProto.modulemap"
  -Xcc -fmodule-map-file="$out/maps/CDenseProjection.modulemap"
)
for flag in $blas_include; do common+=(-Xcc "$flag"); done

# module name, source folder
modules=(
  "ArrayIO Sources/ArrayIO" "BackendLoader Sources/BackendLoader" "Kernels Sources/Kernels"
  "Surrogate Sources/Surrogate" "Faithfulness Sources/Faithfulness" "Attribution Sources/Attribution"
  "Evaluation Sources/Evaluation"
  "Reporter Sources/Reporter" "ONNXBackend Plugins/ONNX/ONNXBackend" "SwiftNetBackend Plugins/SwiftNet"
)

# Rebuilds a module when any of its sources is newer than its object.
build_module() {
  local name=$1 folder=$2
  local object="$out/modules/$name.o"
  local sources
  mapfile -t sources < <(find "$root/$folder" -name '*.swift' | sort)
  if [[ -f $object ]] && [[ -z $(find "$root/$folder" -name '*.swift' -newer "$object") ]]; then return; fi
  echo "fuzz: compiling $name" >&2
  "$swiftc" "${common[@]}" -wmo -c -module-name "$name" -emit-module \
    -emit-module-path "$out/modules/$name.swiftmodule" -o "$object" "${sources[@]}" 2>&1 |
    { grep -v "Cannot export local symbol" || true; }
  [[ -f $object ]]
}

# The C parts: protobuf-c's generated ONNX code (instrumented like the Swift code).
onnx_c="$out/modules/onnx.pb-c.o"
if [[ ! -f $onnx_c || $root/Plugins/ONNX/COnnxProto/onnx.pb-c.c -nt $onnx_c ]]; then
  clang -fsanitize=fuzzer-no-link,address -O1 -g -c -I "$root/Plugins/ONNX/COnnxProto/include" \
    "$root/Plugins/ONNX/COnnxProto/onnx.pb-c.c" -o "$onnx_c"
fi

# The Gaussian projection's vectorised Box–Muller (Kernels links it).
dense_projection_c="$out/modules/dense_projection.o"
if [[ ! -f $dense_projection_c || $root/Sources/CDenseProjection/dense_projection.c -nt $dense_projection_c ]]; then
  clang -fsanitize=fuzzer-no-link,address -O1 -g -c -I "$root/Sources/CDenseProjection/include" \
    "$root/Sources/CDenseProjection/dense_projection.c" -o "$dense_projection_c"
fi

for entry in "${modules[@]}"; do build_module $entry; done

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for file in "$root"/tools/fuzz/targets/*.swift; do targets+=("$(basename "$file" .swift)"); done
fi
for target in "${targets[@]}"; do
  echo "fuzz: linking fuzz-$target" >&2
  # Each target names the modules it links on a "// modules:" line (backends define the same
  # entry symbol, so they cannot all be linked together).
  objects=()
  for module in $(sed -n 's|^// modules: ||p' "$root/tools/fuzz/targets/$target.swift"); do
    objects+=("$out/modules/$module.o")
    [[ $module == ONNXBackend ]] && objects+=("$onnx_c")
    [[ $module == Kernels ]] && objects+=("$dense_projection_c")
  done
  "$swiftc" "${common[@]}" "$root/tools/fuzz/FuzzInput.swift" "$root/tools/fuzz/targets/$target.swift" \
    "${objects[@]}" $blas_libs -lprotobuf-c -lz -o "$out/fuzz-$target" 2>&1 | { grep -v "Cannot export local symbol" || true; }
  [[ -x $out/fuzz-$target ]]
done
