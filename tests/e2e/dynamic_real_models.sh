#!/usr/bin/env bash
# Dynamic shapes on the real OCR models of ../shared/models/real (issue 19):
# one plan each over a range of widths, run at several widths and compared
# with ONNX Runtime at rtol 1e-3 / atol 1e-4:
#  - ppocr-en-number-mobile-v2.0-rec (CRNN recogniser with BiLSTM; input
#    x [N, 3, 32, W]): profile W in [64, 640]; the reference input (W 320,
#    against ref/ort) and its crop to W 160 and edge padding to W 640
#    (against ONNX Runtime run here);
#  - ppocr-mobile-v2.0-det-ch (DB text detector, x [N, 3, H, W]): profile
#    640 x [320, 960]; the reference input (640x640, against ref/ort) and
#    its crop to 640x320.
# Skips with a message when ../shared or ONNX Runtime is absent.
# Usage: dynamic_real_models.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
REAL=$SRC/../shared/models/real
[ -d "$REAL" ] || REAL=/work/shared/models/real
WORK=$BUILD/test_work/dynamic_real_models
TRT=$BUILD/bin/trtexec_like
mkdir -p "$WORK"
if [ ! -d "$REAL/ppocr-en-number-mobile-v2.0-rec" ]; then
  echo "SKIPPED: ../shared/models/real is absent"; exit 0
fi
source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"
fail=0

# variant <ref x.pb> <out .npy> <width>: the reference input cropped or edge-padded to <width>
variant() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
import numpy as np
import onnx
from onnx import numpy_helper
t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
x = numpy_helper.to_array(t)
w = int(sys.argv[3])
if w <= x.shape[3]:
    y = x[:, :, :, :w]
else:
    y = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, w - x.shape[3])), mode="edge")
np.save(sys.argv[2], np.ascontiguousarray(y))
PY
}

# check <dir> <model file> <output name> <output file name> <profile args> <widths...>
check() {
  local dir=$1 file=$2 out=$3 outfile=$4 prof=$5; shift 5
  local name
  name=$(basename "$dir")
  # shellcheck disable=SC2086
  if ! "$TRT" --onnx="$dir/$file" $prof --shapeBuckets=3 --saveEngine="$WORK/$name.plan" \
       --skipInference >"$WORK/$name.build.log" 2>&1; then
    echo "FAILED $name build:"; cat "$WORK/$name.build.log"; fail=1; return
  fi
  if "$TRT" --loadEngine="$WORK/$name.plan" --loadInputs="x:$dir/ref/inputs/x.pb" \
       --loadRefOutputs="$out:$dir/ref/ort/$outfile.pb" --rtol=1e-3 --atol=1e-4 \
       --iterations=1 --duration=0 --warmUp=0 >"$WORK/$name.ref.log" 2>&1; then
    echo "PASSED $name at the reference shape: $(grep -oE 'input shapes [^;]*; shape bucket [0-9]+' "$WORK/$name.ref.log");" \
      $(grep "output '" "$WORK/$name.ref.log")
  else
    echo "FAILED $name at the reference shape:"; cat "$WORK/$name.ref.log"; fail=1
  fi
  local w
  for w in "$@"; do
    variant "$dir/ref/inputs/x.pb" "$WORK/$name.x$w.npy" "$w"
    rm -rf "$WORK/$name.ort$w"
    node "$SRC/tools/ort_ref/run.js" --model "$dir/$file" --input "x=$WORK/$name.x$w.npy" \
      --outdir "$WORK/$name.ort$w" --threads 2 2>"$WORK/$name.ort$w.log"
    if "$TRT" --loadEngine="$WORK/$name.plan" --loadInputs="x:$WORK/$name.x$w.npy" \
         --loadRefOutputs="$out:$WORK/$name.ort$w/$outfile.npy" --rtol=1e-3 --atol=1e-4 \
         --iterations=1 --duration=0 --warmUp=0 >"$WORK/$name.w$w.log" 2>&1; then
      echo "PASSED $name at width $w: $(grep -oE 'input shapes [^;]*; shape bucket [0-9]+' "$WORK/$name.w$w.log");" \
        $(grep "output '" "$WORK/$name.w$w.log")
    else
      echo "FAILED $name at width $w:"; cat "$WORK/$name.w$w.log"; fail=1
    fi
  done
  rm -f "$WORK/$name.plan"
}

check "$REAL/ppocr-en-number-mobile-v2.0-rec" k_en_number_mobile_v2.0_rec_infer.onnx \
  save_infer_model/scale_0.tmp_1 save_infer_model_scale_0.tmp_1 \
  "--minShapes=x:1x3x32x64 --optShapes=x:1x3x32x320 --maxShapes=x:1x3x32x640" 160 640
check "$REAL/ppocr-mobile-v2.0-det-ch" k_ch_ppocr_mobile_v2.0_det_infer.onnx \
  sigmoid_0.tmp_0 sigmoid_0.tmp_0 \
  "--minShapes=x:1x3x640x320 --optShapes=x:1x3x640x640 --maxShapes=x:1x3x640x960" 320
exit $fail
