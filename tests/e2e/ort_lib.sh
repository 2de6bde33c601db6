# Sourced by the tests/e2e/*.sh scripts that compare with ONNX Runtime.
#
# require_ort <source dir> <work dir>: sets up the reference runtime (npm
# onnxruntime-node through tools/ort_ref/setup.sh, log in <work dir>/ort_setup.log)
# and checks that /usr/bin/python3 has onnx and numpy (the scripts write their
# models and inputs with them); when any is missing, prints "SKIPPED: ..." with
# the reason and exits the calling script with status 0 (the message stays in
# the test's log: the comparison is skipped, never silently).
require_ort() {
  local src=$1 work=$2
  if ! command -v node >/dev/null 2>&1 || ! bash "$src/tools/ort_ref/setup.sh" >"$work/ort_setup.log" 2>&1; then
    echo "SKIPPED: ONNX Runtime (npm onnxruntime-node) is not available:"
    cat "$work/ort_setup.log" 2>/dev/null || true
    exit 0
  fi
  if ! /usr/bin/python3 -c "import onnx, numpy" 2>/dev/null; then
    echo "SKIPPED: /usr/bin/python3 lacks onnx or numpy (python3-onnx, python3-numpy: scripts/setup.sh)"
    exit 0
  fi
}

# compare_models_with_ort <source dir> <build dir> <model dir> <rtol> <atol> [trtexec_like flags...]
#
# For every <model dir>/<m>.onnx: its inputs are the lines "name=path.npy" of
# <m>.inputs, or else X=<m>.X.npy; ONNX Runtime (tools/ort_ref/run.js) writes
# its outputs to <model dir>/<m>.ort/, and trtexec_like runs the model on the
# same inputs and compares every output (--loadRefOutputs) within rtol/atol.
# With ORT_COMPARE_VIA_PLAN=1 the engine is first built and saved
# (--saveEngine), then the saved plan is loaded and run. With
# ORT_COMPARE_NOTE=<regex>, the first match of it in the engine's log is
# appended to the PASSED line. Prints "PASSED <m>: ..." or "FAILED <m>:" with
# the logs; returns 1 when any model fails or the directory has no model.
compare_models_with_ort() {
  local src=$1 build=$2 dir=$3 rtol=$4 atol=$5
  shift 5
  local fail=0 count=0 onnx_file m line engine_inputs refs ref note
  local -a ort_inputs
  for onnx_file in "$dir"/*.onnx; do
    [ -e "$onnx_file" ] || continue
    m=$(basename "$onnx_file" .onnx)
    count=$((count + 1))
    ort_inputs=()
    engine_inputs=""
    if [ -f "$dir/$m.inputs" ]; then
      while IFS= read -r line; do
        [ -n "$line" ] || continue
        ort_inputs+=(--input "$line")
        engine_inputs="$engine_inputs${engine_inputs:+,}${line/=/:}"
      done <"$dir/$m.inputs"
    else
      ort_inputs=(--input "X=$dir/$m.X.npy")
      engine_inputs="X:$dir/$m.X.npy"
    fi
    if ! node "$src/tools/ort_ref/run.js" --model "$onnx_file" "${ort_inputs[@]}" \
         --outdir "$dir/$m.ort" 2>"$dir/$m.ort.log"; then
      echo "FAILED $m: ONNX Runtime did not run it:"; cat "$dir/$m.ort.log"
      fail=1
      continue
    fi
    refs=""
    for ref in "$dir/$m.ort"/*.npy; do
      case "$(basename "$ref")" in input_*) continue ;; esac
      refs="$refs${refs:+,}$(basename "$ref" .npy):$ref"
    done
    local -a model_flags=(--onnx="$onnx_file")
    if [ "${ORT_COMPARE_VIA_PLAN:-0}" = 1 ]; then
      if ! "$build/bin/trtexec_like" --onnx="$onnx_file" --saveEngine="$dir/$m.plan" \
           --skipInference "$@" >"$dir/$m.build.log" 2>&1; then
        echo "FAILED $m: the build failed:"; cat "$dir/$m.build.log"
        fail=1
        continue
      fi
      model_flags=(--loadEngine="$dir/$m.plan")
    fi
    if "$build/bin/trtexec_like" "${model_flags[@]}" --loadInputs="$engine_inputs" \
         --loadRefOutputs="$refs" --rtol="$rtol" --atol="$atol" "$@" \
         --iterations=1 --duration=0 --warmUp=0 >"$dir/$m.run.log" 2>&1; then
      note=""
      if [ -n "${ORT_COMPARE_NOTE:-}" ]; then
        note="; $(grep -o -E "$ORT_COMPARE_NOTE" "$dir/$m.run.log" | head -1 || true)"
      fi
      echo "PASSED $m: $(grep -c "PASSED output" "$dir/$m.run.log") outputs within rtol $rtol / atol $atol$note"
    else
      echo "FAILED $m:"; cat "$dir/$m.run.log"
      fail=1
    fi
  done
  echo "$count models compared with ONNX Runtime"
  [ "$count" -gt 0 ] || { echo "FAILED: no models in $dir"; return 1; }
  return $fail
}
