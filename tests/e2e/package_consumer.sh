#!/usr/bin/env bash
# Consumers of the installed CMake package (issue 23, "Runtime API for
# services"):
#  1. `cmake --install <build> --prefix $TMP/prefix`;
#  2. a consumer that sets CMAKE_CXX_STANDARD 17 and links engine::engine
#     builds: the exported target declares cxx_std_20, so CMake compiles it as
#     C++20 (checked on its compile line);
#  3. the same source compiled by hand with -std=c++17 fails with export.h's
#     clear "need C++20" error, not one about std::span;
#  4. a runtime-only service linked against engine::runtime
#     (libengine_runtime.so) loads a plan of the generated tiny CNN, binds
#     caller-owned input and output buffers (SetTensorAddress), runs Enqueue,
#     and its output equals trtexec_like's; `ldd` of it and of
#     libengine_runtime.so shows no libonnx and no libprotobuf (while
#     libengine.so has them: the check can fail), and the library neither
#     defines nor needs an onnx:: or google::protobuf symbol.
# Usage: package_consumer.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
TMP="$(mktemp -d "${TMPDIR:-/tmp}/engine_package_consumer.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
step() { echo "== $*"; }
fail() { echo "FAILED: $*"; exit 1; }

step "install into $TMP/prefix"
cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "cmake --install"; }

mkdir -p "$TMP/cxx17"
cat >"$TMP/cxx17/main.cc" <<'CC'
#include <cstdio>
#include "engine/runtime.h"
int main(int argc, char** argv) {
  auto engine = engine::Runtime::LoadEngineFile(argc > 1 ? argv[1] : "missing.plan");
  std::printf("%s\n", engine.ok() ? "loaded" : std::string(engine.status().message()).c_str());
  return 0;
}
CC
cat >"$TMP/cxx17/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(cxx17_consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
find_package(engine 0.2 REQUIRED)
add_executable(consumer main.cc)
target_link_libraries(consumer PRIVATE engine::engine)
CM

step "a CMAKE_CXX_STANDARD 17 consumer of engine::engine"
cmake -S "$TMP/cxx17" -B "$TMP/cxx17/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/configure.log" 2>&1 \
  || { cat "$TMP/configure.log"; fail "configure the C++17 consumer"; }
cmake --build "$TMP/cxx17/build" >"$TMP/build17.log" 2>&1 || { cat "$TMP/build17.log"; fail "the C++17 consumer does not build"; }
grep -qE -- '-std=(c|gnu)\+\+(20|2a|23|2b)' "$TMP/cxx17/build/compile_commands.json" \
  || { cat "$TMP/cxx17/build/compile_commands.json"; fail "the consumer was not compiled as C++20"; }
out="$(LD_LIBRARY_PATH="$TMP/prefix/lib" "$TMP/cxx17/build/consumer" "$TMP/missing.plan")"
echo "consumer: $out"
case "$out" in *missing.plan*) ;; *) fail "unexpected consumer output";; esac
echo "builds as C++20: $(grep -oE -- '-std=[a-z+0-9]+' "$TMP/cxx17/build/compile_commands.json" | sort -u | tr '\n' ' ')"

step "the same source compiled by hand with -std=c++17"
if ${CXX:-c++} -std=c++17 -fsyntax-only -I"$TMP/prefix/include" $(pkg-config --cflags absl_status 2>/dev/null || true) \
     "$TMP/cxx17/main.cc" >"$TMP/cxx17.log" 2>&1; then
  fail "compiled as C++17 without an error"
fi
grep -m1 "error" "$TMP/cxx17.log" | grep -q "the engine's headers need C++20" || { head -20 "$TMP/cxx17.log"; fail "the first error is not the clear C++20 one"; }
echo "error: $(grep -m1 -o "the engine's headers need C++20[^\"]*" "$TMP/cxx17.log")"
echo "first of $(grep -c 'error:' "$TMP/cxx17.log") errors"

step "a runtime-only consumer of engine::runtime"
mkdir -p "$TMP/rt"
cat >"$TMP/rt/main.cc" <<'CC'
// Loads a plan, binds caller buffers, enqueues, writes the output raw.
#include <cstdio>
#include <fstream>
#include <vector>
#include "engine/runtime.h"
int main(int argc, char** argv) {
  if (argc != 4) return 2;
  auto engine = engine::Runtime::LoadEngineFile(argv[1]);
  if (!engine.ok()) { std::fprintf(stderr, "%s\n", engine.status().ToString().c_str()); return 1; }
  auto ctx = (*engine)->CreateExecutionContext();
  if (!ctx.ok()) return 1;
  const engine::TensorDesc& in = (*engine)->inputs()[0];
  const engine::TensorDesc& out = (*engine)->outputs()[0];
  std::vector<float> x(in.ByteSize() / 4), y(out.ByteSize() / 4);
  std::ifstream(argv[2], std::ios::binary).read(reinterpret_cast<char*>(x.data()), in.ByteSize());
  for (auto s : {(*ctx)->SetTensorAddress(in.name, x.data(), in.ByteSize()),
                 (*ctx)->SetTensorAddress(out.name, y.data(), out.ByteSize()),
                 (*ctx)->Enqueue().get()}) {
    if (!s.ok()) { std::fprintf(stderr, "%s\n", s.ToString().c_str()); return 1; }
  }
  std::ofstream(argv[3], std::ios::binary).write(reinterpret_cast<const char*>(y.data()), out.ByteSize());
  std::printf("%s -> %s: %zu floats\n", in.name.c_str(), out.name.c_str(), y.size());
  return 0;
}
CC
cat >"$TMP/rt/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(runtime_consumer LANGUAGES CXX)
find_package(engine 0.2 REQUIRED)
add_executable(service main.cc)
target_link_libraries(service PRIVATE engine::runtime)
CM
cmake -S "$TMP/rt" -B "$TMP/rt/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/rt-configure.log" 2>&1 || { cat "$TMP/rt-configure.log"; fail "configure the runtime consumer"; }
cmake --build "$TMP/rt/build" -v >"$TMP/rt-build.log" 2>&1 || { cat "$TMP/rt-build.log"; fail "the runtime consumer does not build"; }
grep -q "libengine_runtime.so" "$TMP/rt-build.log" || fail "not linked against libengine_runtime.so"
if grep -qE "libengine\.so|onnx|protobuf" "$TMP/rt-build.log"; then grep -E "libengine\.so|onnx|protobuf" "$TMP/rt-build.log"; fail "link line names libengine.so, ONNX or Protobuf"; fi
RTLIB="$(ls "$TMP"/prefix/lib*/libengine_runtime.so | head -1)"
LIBDIR="$(dirname "$RTLIB")"
ldd "$TMP/rt/build/service" >"$TMP/ldd-service.txt"
ldd "$RTLIB" >"$TMP/ldd-runtime.txt"
ldd "$LIBDIR/libengine.so" >"$TMP/ldd-engine.txt"
grep -qE "libonnx|libprotobuf" "$TMP/ldd-engine.txt" || fail "libengine.so has no libonnx/libprotobuf: the ldd check proves nothing"
for f in "$TMP/ldd-service.txt" "$TMP/ldd-runtime.txt"; do
  if grep -E "libonnx|libprotobuf|not found" "$f"; then fail "$(basename "$f" .txt): links ONNX or Protobuf, or misses a library"; fi
done
grep -q "libengine_runtime.so" "$TMP/ldd-service.txt" || fail "the service does not load libengine_runtime.so"
nm -DC "$RTLIB" | grep -E " (onnx|google::protobuf)::" | head -5 >"$TMP/nm.txt" || true
[ ! -s "$TMP/nm.txt" ] || { cat "$TMP/nm.txt"; fail "libengine_runtime.so defines or needs ONNX/Protobuf symbols"; }
echo "ldd service: $(grep -oE '^\s*lib[a-z_+0-9.-]+\.so' "$TMP/ldd-service.txt" | tr -d '\t ' | sort | tr '\n' ' ')"
echo "libengine_runtime.so $(stat -c %s "$(readlink -f "$RTLIB")") bytes, libengine.so $(stat -c %s "$(readlink -f "$LIBDIR/libengine.so")") bytes"

PY=/usr/bin/python3
$PY "$SRC/models/generate.py" --out "$TMP" tiny_cnn >/dev/null
$PY -c "import numpy as np; np.random.default_rng(5).standard_normal((1,3,32,32)).astype(np.float32).tofile('$TMP/input.bin'); np.save('$TMP/input.npy', np.fromfile('$TMP/input.bin', np.float32).reshape(1,3,32,32))"
"$BUILD/bin/trtexec_like" --onnx="$TMP/tiny_cnn.onnx" --saveEngine="$TMP/tiny_cnn.plan" --skipInference \
  >"$TMP/plan.log" 2>&1 || { cat "$TMP/plan.log"; fail "trtexec_like --saveEngine"; }
"$BUILD/bin/trtexec_like" --loadEngine="$TMP/tiny_cnn.plan" --loadInputs="input:$TMP/input.npy" \
  --exportOutput="$TMP/ref" --iterations=1 --duration=0 --warmUp=0 >"$TMP/ref.log" 2>&1 \
  || { cat "$TMP/ref.log"; fail "trtexec_like --exportOutput"; }
LD_LIBRARY_PATH="$LIBDIR" "$TMP/rt/build/service" "$TMP/tiny_cnn.plan" "$TMP/input.bin" "$TMP/out.bin" || fail "runtime consumer"
$PY - "$TMP/out.bin" "$(ls "$TMP"/ref/*.pb | head -1)" <<'PY' || fail "runtime consumer output differs from trtexec_like's"
import sys
import numpy as np
from onnx import TensorProto, numpy_helper
want = numpy_helper.to_array(TensorProto.FromString(open(sys.argv[2], "rb").read())).ravel()
got = np.fromfile(sys.argv[1], dtype=np.float32)
assert got.shape == want.shape and np.array_equal(got, want), (got[:4], want[:4])
print("output equal to trtexec_like's (%d floats)" % got.size)
PY
echo "PASSED"
