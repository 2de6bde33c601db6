#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, CMake option ENGINE_FUZZ) with clang into
# build-fuzz/ (every library instrumented with ASan + UBSan + coverage) and runs
# each target for a bounded time on a seed corpus generated here:
#   onnx_parser_fuzzer  <- every model.onnx of Debian's libonnx-testdata (node/)
#                          and the generated tiny CNN (models/generate.py);
#   plan_loader_fuzzer  <- plans built from some of those models with
#                          trtexec_like --saveEngine;
# (the first two with two plugins loaded, fuzz/fuzz_plugins.h, and seeded with
# plugin models and plans)
#   request_parser_fuzzer <- JSON requests of the example server (written
#                          here), with the JSON dictionary fuzz/json.dict;
# plus the inputs of tests/data/fuzz_regressions/.
# Two lanes run at the same time (one core each) for FUZZ_SECONDS: the ONNX
# parser fuzzer (the slowest per input) the whole time; the plan loader fuzzer
# for 3/4 of it, then the request parser fuzzer (small: the example server's
# JSON parser) for the last 1/4 (at least 1 s), so the stage takes no longer
# than with two targets.
# Any crash, sanitizer report, leak, out-of-memory or timeout fails the script;
# the input is saved as build-fuzz/artifacts/<target>/crash-* (reproduce:
# build-fuzz/bin/<target> <file>; add it to tests/data/fuzz_regressions/ once
# fixed).
#
# Environment:
#   FUZZ_SECONDS=60      the stage's fuzzing time (seconds; shared as above)
#   FUZZ_BUILD_DIR=build-fuzz
#   TRTEXEC_LIKE=path    tool that builds the seed plans (default: build/bin/trtexec_like
#                        when present, else it is built in FUZZ_BUILD_DIR)
#   ENGINE_SKIP_FUZZ=1   do nothing (exit 0)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${ENGINE_SKIP_FUZZ:-0}" = "1" ]; then
  echo "[fuzz] SKIPPED: ENGINE_SKIP_FUZZ=1"
  exit 0
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
JOBS=$(nproc)

if ! command -v clang++ >/dev/null 2>&1; then
  echo "[fuzz] FAILED: clang++ is not installed (scripts/setup.sh installs clang and libclang-rt-dev)"
  exit 1
fi

start=$(date +%s)
if [ ! -f "$BUILD/build.ninja" ]; then
  # Debug with -O1: assertions on, fast enough to fuzz, quicker to compile than -O2
  # (ENGINE_FUZZ adds the sanitizers and line tables).
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1" -DENGINE_FUZZ=ON -DENGINE_BUILD_TESTS=OFF >/dev/null ||
    { rm -f "$BUILD/build.ninja"; echo "[fuzz] FAILED: configure"; exit 1; }
fi
targets=(onnx_parser_fuzzer plan_loader_fuzzer request_parser_fuzzer)
TOOL=${TRTEXEC_LIKE:-}
if [ -z "$TOOL" ]; then
  if [ -x "$ROOT/build/bin/trtexec_like" ]; then
    TOOL="$ROOT/build/bin/trtexec_like"
  else
    TOOL="$BUILD/bin/trtexec_like"
    targets+=(trtexec_like)
  fi
fi
echo "[fuzz] building ${targets[*]} in $BUILD (clang, ASan+UBSan+libFuzzer)"
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" >"$BUILD/build.log" 2>&1 || {
  tail -50 "$BUILD/build.log"; echo "[fuzz] FAILED: build"; exit 1; }
echo "[fuzz] build: $(( $(date +%s) - start )) s"

# Seed corpora, regenerated every run.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
mkdir -p "$SEEDS/onnx" "$SEEDS/plan" "$SEEDS/request"
TESTDATA=/usr/share/libonnx-testdata/data/node
if [ -d "$TESTDATA" ]; then
  for m in "$TESTDATA"/*/model.onnx; do
    cp "$m" "$SEEDS/onnx/$(basename "$(dirname "$m")").onnx"
  done
fi
if /usr/bin/python3 "$ROOT/models/generate.py" --out "$SEEDS/gen" tiny_cnn >/dev/null 2>&1; then
  cp "$SEEDS/gen/tiny_cnn.onnx" "$SEEDS/onnx/"
fi
# Control-flow models (If on a run-time condition, Loop, Scan: compiled into a
# static graph by the parser, src/parser/control_flow.cc).
if /usr/bin/python3 "$ROOT/tests/e2e/control_flow_models.py" "$SEEDS/cf" >/dev/null 2>&1; then
  cp "$SEEDS"/cf/*.onnx "$SEEDS/onnx/"
fi
plan_models=(conv_with_strides_padding basic_conv_with_padding conv_with_autopad_same relu add
  add_bcast mul sub div gemm_default_vector_bias gemm_all_attributes gemm_transposeB matmul_2d
  matmul_3d maxpool_2d_default maxpool_2d_pads averagepool_2d_pads globalaveragepool
  softmax_example batchnorm_epsilon concat_2d_axis_1 reshape_reordered_all_dims
  transpose_default flatten_axis1 sigmoid clip leakyrelu pad slice gather_0 unsqueeze_axis_0
  squeeze reduce_mean_default_axes_keepdims_example layer_normalization_2d_axis0 tanh
  hardswish prelu_broadcast instancenorm_example lrn sum_example)
for name in "${plan_models[@]}" tiny_cnn; do
  onnx="$SEEDS/onnx/test_$name.onnx"
  [ "$name" = tiny_cnn ] && onnx="$SEEDS/onnx/tiny_cnn.onnx"
  [ -f "$onnx" ] || continue
  "$TOOL" --onnx="$onnx" --saveEngine="$SEEDS/plan/$name.plan" --skipInference \
    >/dev/null 2>&1 || true
done
# Plugin layers (fuzz/fuzz_plugins.h: both fuzzers load the misbehaving test
# plugin and the example ChannelShuffle): a model per misbehaving mode, a
# ChannelShuffle network, and plans of the two that build. A plan records the
# plugin's name and version, not its path, so plans built with the regular
# build's copies load in the fuzzers with their instrumented ones.
if [ "$TOOL" = "$BUILD/bin/trtexec_like" ]; then
  plugin_libs="$BUILD/lib/libfuzz_misbehaving_plugin.so,$BUILD/lib/libfuzz_channel_shuffle.so"
else
  plugin_libs="$(dirname "$(dirname "$TOOL")")/lib/libmisbehaving_plugin.so,$(dirname "$(dirname "$TOOL")")/lib/libchannel_shuffle.so"
fi
/usr/bin/python3 - "$SEEDS/onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
out = sys.argv[1]
def save(nodes, name, shape, inits=(), domain="com.test"):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, shape)], list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(domain, 1)])
    onnx.save(m, f"{out}/{name}.onnx")
for mode in ["ok", "import_error", "infer_error", "wrong_shape", "many_outputs", "prepare_error",
             "run_error", "run_throw", "raw_throw", "bad_cost"]:
    save([helper.make_node("Misbehave", ["X"], ["Y"], name=mode, domain="com.test", mode=mode)],
         f"plugin_misbehave_{mode}", [2, 4])
w = numpy_helper.from_array(np.full((4, 4, 1, 1), 0.25, np.float32), "w")
save([helper.make_node("ChannelShuffle", ["X"], ["s"], name="shuffle", domain="com.example", groups=2),
      helper.make_node("Conv", ["s", "w"], ["Y"], name="conv")], "plugin_channel_shuffle", [1, 4, 3, 3],
     [w], domain="com.example")
PY
if IFS=, read -r a b <<<"$plugin_libs" && [ -f "$a" ] && [ -f "$b" ]; then
  for name in plugin_misbehave_ok plugin_channel_shuffle; do
    "$TOOL" --onnx="$SEEDS/onnx/$name.onnx" --plugins="$plugin_libs" --saveEngine="$SEEDS/plan/$name.plan" \
      --skipInference >/dev/null 2>&1 || echo "[fuzz] note: no seed plan from $name.onnx"
  done
else
  echo "[fuzz] note: $plugin_libs not built: no plugin seed plans (the plugin models are still seeds)"
fi
if [ "$(ls "$SEEDS/plan" | wc -l)" -eq 0 ]; then
  echo "[fuzz] FAILED: no seed plan could be built with $TOOL"
  exit 1
fi
# Inputs that once crashed a target (tests/executor/fuzz_regression_test.cc replays them).
cp "$ROOT"/tests/data/fuzz_regressions/onnx/* "$SEEDS/onnx/" 2>/dev/null || true
cp "$ROOT"/tests/data/fuzz_regressions/plan/* "$SEEDS/plan/" 2>/dev/null || true
# JSON requests: the first byte picks the input signature of
# fuzz/request_parser_fuzzer.cc (0: float 1x3x4x4 'input'; 1: int64, bool,
# uint8; 2: int8, int32, float; 3: a float scalar; 4: an empty float tensor
# and an int64; 5: float16).
request_seed() {  # request_seed NAME SIGNATURE JSON
  { printf "\\$(printf '%03o' "$2")"; printf '%s' "$3"; } >"$SEEDS/request/$1.bin"
}
floats48=$(seq -s, -24 23 | sed 's/,/.5,/g')
request_seed float 0 "{\"inputs\": {\"input\": [$floats48.5]}}"
request_seed mixed 1 '{"inputs": {"a": [1, -2], "b": [true, 0, 1], "c": [0, 255, 3, 4]}}'
request_seed ints 2 '{"inputs": {"x": [-128, 127, 0, 2.0], "y": [-7], "z": [1.5e-3, -0.0]}}'
request_seed scalar 3 '{"inputs": {"s": [3.4028234663852886e38]}}'
request_seed empty 4 '{"inputs": {"e": [], "i": [9223372036854775807]}}'
request_seed half 5 '{"inputs": {"h": [1, 2]}}'
request_seed nonfinite 0 '{"inputs": {"input": [NaN, Infinity, -Infinity, 1e999, "nan"]}}'
request_seed nested 2 '{"inputs": {"x": [[1, 2], {"a": 3}], "y": [null]}}'
# Open Inference Protocol requests (first byte >= 0x80: engine_server's codec;
# 0xc0: two bytes of Inference-Header-Content-Length follow, then JSON and the
# binary tensors).
request_seed oip_json 128 '{"id": "7", "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [[1.5, -2]]}, {"name": "b", "shape": [2], "datatype": "BOOL", "data": [true, false]}], "outputs": [{"name": "y", "parameters": {"binary_data": true}}]}'
request_seed oip_ints 160 '{"inputs": [{"name": "i", "shape": [3], "datatype": "INT64", "data": [9223372036854775807, -1, 0]}, {"name": "u", "shape": [1], "datatype": "UINT8", "data": [255]}], "parameters": {"binary_data_output": true, "timeout": 1000}}'
oip_header='{"inputs": [{"name": "h", "shape": [2], "datatype": "FP16", "parameters": {"binary_data_size": 4}}]}'
{ printf '\300'; printf "\$(printf '%03o' $(( ${#oip_header} % 256 )))\$(printf '%03o' $(( ${#oip_header} / 256 )))";
  printf '%s' "$oip_header"; printf '\000\074\000\300'; } >"$SEEDS/request/oip_binary.bin"
cp "$ROOT"/tests/data/fuzz_regressions/request/* "$SEEDS/request/" 2>/dev/null || true
echo "[fuzz] seeds: $(ls "$SEEDS/onnx" | wc -l) models, $(ls "$SEEDS/plan" | wc -l) plans, $(ls "$SEEDS/request" | wc -l) requests"

# Sanitizers: any report is fatal; leaks are reported by libFuzzer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_target() {  # name seconds max_len seed_dir [libFuzzer flags...]
  local name=$1 seconds=$2 max_len=$3 seeds=$4
  shift 4
  local work="$BUILD/corpus/$name" art="$BUILD/artifacts/$name/"
  rm -rf "$work" "$art"
  mkdir -p "$work" "$art"
  "$BUILD/bin/$name" -max_total_time="$seconds" -max_len="$max_len" -timeout=30 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" "$@" "$work" "$seeds" \
    >"$BUILD/$name.log" 2>&1
}

request_seconds=$(( FUZZ_SECONDS / 4 > 0 ? FUZZ_SECONDS / 4 : 1 ))
plan_seconds=$(( FUZZ_SECONDS - request_seconds > 0 ? FUZZ_SECONDS - request_seconds : 1 ))
echo "[fuzz] running for ${FUZZ_SECONDS} s on two cores: onnx_parser_fuzzer ${FUZZ_SECONDS} s;" \
  "plan_loader_fuzzer ${plan_seconds} s, then request_parser_fuzzer ${request_seconds} s"
rm -f "$BUILD/plan_loader_fuzzer.rc"
run_target onnx_parser_fuzzer "$FUZZ_SECONDS" 16384 "$SEEDS/onnx" & pid_onnx=$!
( rc=0
  run_target plan_loader_fuzzer "$plan_seconds" 32768 "$SEEDS/plan" || rc=$?
  echo "$rc" >"$BUILD/plan_loader_fuzzer.rc"
  run_target request_parser_fuzzer "$request_seconds" 8192 "$SEEDS/request" \
    -dict="$ROOT/fuzz/json.dict" ) & pid_lane=$!
rc_onnx=0; rc_request=0
wait $pid_onnx || rc_onnx=$?
wait $pid_lane || rc_request=$?
rc_plan=$(cat "$BUILD/plan_loader_fuzzer.rc" 2>/dev/null || echo 1)

failed=0
for pair in "onnx_parser_fuzzer:$rc_onnx" "plan_loader_fuzzer:$rc_plan" \
            "request_parser_fuzzer:$rc_request"; do
  name=${pair%%:*}; rc=${pair##*:}
  case $name in
    plan_loader_fuzzer) seconds=$plan_seconds ;;
    request_parser_fuzzer) seconds=$request_seconds ;;
    *) seconds=$FUZZ_SECONDS ;;
  esac
  log="$BUILD/$name.log"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  corpus=$(ls "$BUILD/corpus/$name" | wc -l)
  crashes=$(ls "$BUILD/artifacts/$name" 2>/dev/null | wc -l)
  if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
    echo "[fuzz] $name: PASSED: ${runs:-?} executions in ${seconds} s, coverage ${cov:-?}, ${corpus} new corpus inputs"
  else
    failed=1
    echo "[fuzz] $name: FAILED (exit $rc) after ${runs:-?} executions; inputs in $BUILD/artifacts/$name/:"
    ls "$BUILD/artifacts/$name" | sed 's/^/[fuzz]   /'
    grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|Assertion|SUMMARY' "$log" | head -60 || true
  fi
done
echo "[fuzz] total: $(( $(date +%s) - start )) s"
exit $failed
