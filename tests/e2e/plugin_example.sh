#!/usr/bin/env bash
# Custom operators through the plugin API (issue 25, docs/plugins.md):
#  1. `cmake --install` this build; the example plugin (examples/plugins/,
#     com.example::ClippedSwish) builds from the installed package alone
#     (find_package(engine), engine::plugin_api) and links no engine library;
#  2. a model with a custom-domain node (made here with onnx.helper) builds and
#     runs with `--plugins=` (output equal to a NumPy reference, atol 1e-5), and
#     its plugin layer has modeled cycles, DRAM bytes and energy
#     (--dumpProfile, --exportProfile);
#  3. without the plugin the build fails with a clear error naming the node;
#  4. the saved plan loads in a fresh process with --dynamicPlugins (trtexec's
#     name) and is refused without it (the error names the plugin, version);
#  5. Python: engine.load_plugin, BuilderConfig.plugins, a run equal to NumPy;
#     the second example plugin (com.example::ChannelShuffle, INT8 pass-through)
#     runs as an int8 layer in an INT8 engine, bit-equal to the ONNX spelling;
#  6. the misbehaving plugin (tests/plugins/): every mode (error, throw, wrong
#     shape, bad cost, ...) fails with exit code 1 and a message naming the
#     plugin and the node, never a crash (exit code >= 128).
#  7. a plugin layer on the systolic array (plugin ABI 2, tests/plugins/
#     array_plugin.cc): its modeled cycles, bytes and energy equal those of a
#     built-in MatMul of the same shapes; output equal to NumPy.
# Usage: plugin_example.sh <source dir> <build dir> <misbehaving plugin .so> <array plugin .so>
set -euo pipefail
SRC=$1
BUILD=$2
BAD=$3
ARRAY=$4
TMP="$(mktemp -d "${TMPDIR:-/tmp}/engine_plugin_example.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
step() { echo "== $*"; }
fail() { echo "FAILED: $*"; exit 1; }
PY=/usr/bin/python3
TRT="$BUILD/bin/trtexec_like"

step "install into $TMP/prefix"
cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "cmake --install"; }
[ -f "$TMP/prefix/include/engine/plugin.h" ] || fail "plugin.h is not installed"

step "build examples/plugins against the installed package"
cmake -S "$SRC/examples/plugins" -B "$TMP/plug" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/plug-configure.log" 2>&1 || { cat "$TMP/plug-configure.log"; fail "configure examples/plugins"; }
cmake --build "$TMP/plug" -v >"$TMP/plug-build.log" 2>&1 || { cat "$TMP/plug-build.log"; fail "examples/plugins does not build"; }
LIB="$TMP/plug/libclipped_swish.so"
[ -f "$LIB" ] || fail "no $LIB"
grep -q -- "-I$TMP/prefix/include\|-isystem $TMP/prefix/include" "$TMP/plug-build.log" || fail "not compiled against the installed headers"
if grep -qE "libengine|$SRC/include" "$TMP/plug-build.log"; then fail "the plugin build used the source tree or links an engine library"; fi
nm -D --defined-only "$LIB" | grep -q " T engine_plugin_get$" || fail "no exported engine_plugin_get"
echo "exported: $(nm -D --defined-only "$LIB" | grep -c ' T ') text symbol(s); NEEDED: $(readelf -d "$LIB" | grep -o 'Shared library: \[[^]]*\]' | tr '\n' ' ')"

step "a model with a com.example::ClippedSwish node"
$PY - "$TMP" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
out = sys.argv[1]
two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
bias = numpy_helper.from_array(np.linspace(-1, 1, 8, dtype=np.float32), "bias")
nodes = [
    helper.make_node("Mul", ["X", "two"], ["x2"], name="scale"),
    helper.make_node("ClippedSwish", ["x2"], ["s"], name="my_swish", domain="com.example",
                     beta=1.5, lo=-0.25, hi=3.0),
    helper.make_node("Add", ["s", "bias"], ["Y"], name="shift"),
]
g = helper.make_graph(nodes, "clipped_swish_model",
                      [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3, 8, 8])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3, 8, 8])],
                      [two, bias])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                        helper.make_opsetid("com.example", 1)])
onnx.save(m, f"{out}/swish.onnx")
x = np.random.default_rng(25).standard_normal((2, 3, 8, 8)).astype(np.float32) * 3
np.save(f"{out}/x.npy", x)
# NumPy reference (float64, then float32)
v = 2.0 * x.astype(np.float64)
s = v / (1.0 + np.exp(-1.5 * v))
y = np.clip(s, -0.25, 3.0) + np.linspace(-1, 1, 8)
np.save(f"{out}/ref.npy", y.astype(np.float32))
PY

compare() {  # compare <exported dir> <label>
  $PY - "$1" "$TMP/ref.npy" "$2" <<'PY'
import sys, glob
import numpy as np
from onnx import TensorProto, numpy_helper
got = numpy_helper.to_array(TensorProto.FromString(open(glob.glob(sys.argv[1] + "/*.pb")[0], "rb").read()))
want = np.load(sys.argv[2])
err = float(np.max(np.abs(got.astype(np.float64) - want)))
assert got.shape == want.shape, (got.shape, want.shape)
assert err <= 1e-5, f"{sys.argv[3]}: max |engine - numpy| = {err}"
print(f"{sys.argv[3]}: output equals the NumPy reference (max abs error {err:.2e} <= 1e-5, {got.size} values)")
PY
}

step "build and run with --plugins"
"$TRT" --onnx="$TMP/swish.onnx" --plugins="$LIB" --saveEngine="$TMP/swish.plan" \
  --loadInputs="X:$TMP/x.npy" --exportOutput="$TMP/out1" --iterations=1 --duration=0 --warmUp=0 \
  --dumpProfile --exportProfile="$TMP/profile.json" >"$TMP/run1.log" 2>&1 || { cat "$TMP/run1.log"; fail "build+run with the plugin"; }
compare "$TMP/out1" "built with --plugins" || fail "wrong output"
row="$(grep -E ' vector .* my_swish$' "$TMP/run1.log" | head -1)"
[ -n "$row" ] || { cat "$TMP/run1.log"; fail "no my_swish row in --dumpProfile"; }
echo "dumpProfile: $row"
$PY - "$TMP/profile.json" <<'PY' || fail "the plugin layer has no modeled cost"
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r.get("name") == "my_swish"]
assert len(rows) == 1, rows
r = rows[0]
assert r["type"] == "ClippedSwish" and r["unit"] == "vector", r
assert r["cycles"] > 0 and r["computeCycles"] > 0, r
# Reads its input (384 floats) and writes its output once: 1536 bytes each
# way, through DRAM or kept on chip by residency (then counted as saved).
moved = r["dramBytesRead"] + r["dramBytesWritten"] + r.get("residencyBytesSaved", 0)
assert moved == 3072, r
assert r["energyPj"] > 0 and r["energyComputePj"] > 0, r
assert r["energyDramPj"] > 0 or r.get("residencyBytesSaved", 0) > 0, r
print("modeled: %d cycles (%d compute), DRAM %d B read / %d B written, %d B kept on chip, %.1f pJ (compute %.1f)" % (
    r["cycles"], r["computeCycles"], r["dramBytesRead"], r["dramBytesWritten"],
    r.get("residencyBytesSaved", 0), r["energyPj"], r["energyComputePj"]))
PY

step "build without the plugin: a clear error"
set +e
"$TRT" --onnx="$TMP/swish.onnx" --skipInference >"$TMP/noplugin.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$TMP/noplugin.log"; fail "expected exit code 1, got $rc"; }
grep -q "my_swish" "$TMP/noplugin.log" && grep -q "com.example" "$TMP/noplugin.log" \
  || { cat "$TMP/noplugin.log"; fail "the error does not name the node and domain"; }
echo "error: $(grep -m1 -E "my_swish" "$TMP/noplugin.log")"

step "the saved plan in a fresh process, with --dynamicPlugins and without"
"$TRT" --loadEngine="$TMP/swish.plan" --dynamicPlugins="$LIB" --loadInputs="X:$TMP/x.npy" \
  --exportOutput="$TMP/out2" --iterations=1 --duration=0 --warmUp=0 >"$TMP/run2.log" 2>&1 \
  || { cat "$TMP/run2.log"; fail "load the plan with --dynamicPlugins"; }
compare "$TMP/out2" "plan loaded with --dynamicPlugins" || fail "wrong output from the loaded plan"
set +e
"$TRT" --loadEngine="$TMP/swish.plan" --iterations=1 --duration=0 --warmUp=0 >"$TMP/noplugin2.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$TMP/noplugin2.log"; fail "loading without the plugin: expected exit code 1, got $rc"; }
grep -q "plugin 'example_activations' version 1.0.0, which is not loaded" "$TMP/noplugin2.log" \
  || { cat "$TMP/noplugin2.log"; fail "the refusal does not name the plugin and version"; }
echo "error: $(grep -m1 -o "the plan needs plugin[^;]*" "$TMP/noplugin2.log")"

step "Python: engine.load_plugin and BuilderConfig.plugins"
PYTHONPATH="$BUILD/python" $PY - "$TMP" "$LIB" <<'PY' || fail "Python plugin API"
import sys
import numpy as np
import engine
tmp, lib = sys.argv[1], sys.argv[2]
try:
    engine.Builder().build(f"{tmp}/swish.onnx", engine.BuilderConfig())
    raise SystemExit("built without the plugin")
except engine.EngineError as e:
    assert "my_swish" in str(e), e
info = engine.load_plugin(lib)
assert info["name"] == "example_activations" and info["version"] == "1.0.0", info
assert info["ops"] == ["com.example::ClippedSwish"], info
assert engine.loaded_plugins()[0]["name"] == "example_activations"
cfg = engine.BuilderConfig()
cfg.plugins = [lib]  # already loaded: a no-op
plan = engine.Builder().build(f"{tmp}/swish.onnx", cfg)[0]
eng = engine.Runtime.deserialize(plan)
y = eng.create_execution_context().execute({"X": np.load(f"{tmp}/x.npy")})["Y"]
err = float(np.max(np.abs(y.astype(np.float64) - np.load(f"{tmp}/ref.npy"))))
assert err <= 1e-5, err
print(f"python: load_plugin {info}; output equals NumPy (max abs error {err:.2e})")
PY

step "INT8 pass-through: com.example::ChannelShuffle runs on int8 data"
SHUF="$TMP/plug/libchannel_shuffle.so"
[ -f "$SHUF" ] || fail "no $SHUF"
PYTHONPATH="$BUILD/python" $PY - "$TMP" "$SHUF" <<'PY' || fail "INT8 pass-through plugin"
# Conv -> Relu -> shuffle -> Conv, the shuffle once as the plugin and once as
# the Reshape -> Transpose -> Reshape that exporters emit. Calibrated on the
# same samples, the two INT8 engines carry the shuffle at the first Conv's
# output scale (a pass-through keeps its input's scale), so their outputs are
# equal bit for bit, and the plugin layer is an int8 layer.
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import engine
tmp, lib = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(2025)
w1 = numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32), "w1")
w2 = numpy_helper.from_array((rng.standard_normal((4, 8, 1, 1)) * 0.3).astype(np.float32), "w2")
def model(plugin):
    head = [helper.make_node("Conv", ["X", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"], name="relu1")]
    inits = [w1, w2]
    if plugin:
        mid = [helper.make_node("ChannelShuffle", ["r1"], ["s"], name="shuffle", domain="com.example", groups=2)]
    else:
        inits += [numpy_helper.from_array(np.array([1, 2, 4, 6, 6], np.int64), "split_shape"),
                  numpy_helper.from_array(np.array([1, 8, 6, 6], np.int64), "flat_shape")]
        mid = [helper.make_node("Reshape", ["r1", "split_shape"], ["g"], name="split"),
               helper.make_node("Transpose", ["g"], ["t"], name="swap", perm=[0, 2, 1, 3, 4]),
               helper.make_node("Reshape", ["t", "flat_shape"], ["s"], name="merge")]
    tail = [helper.make_node("Conv", ["s", "w2"], ["Y"], name="conv2")]
    g = helper.make_graph(head + mid + tail, "shuffle_net",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 6, 6])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4, 6, 6])], inits)
    imports = [helper.make_opsetid("", 13)] + ([helper.make_opsetid("com.example", 1)] if plugin else [])
    path = f"{tmp}/shuffle_{'plugin' if plugin else 'onnx'}.onnx"
    onnx.save(helper.make_model(g, opset_imports=imports), path)
    return path
info = engine.load_plugin(lib)
assert info["name"] == "example_layout" and info["ops"] == ["com.example::ChannelShuffle"], info
samples = rng.standard_normal((16, 3, 6, 6)).astype(np.float32)
x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
def run(path, precision):
    cfg = engine.BuilderConfig()
    cfg.precision = precision
    if precision == "int8":
        cfg.calibrator = engine.NumpyCalibrator(samples)
    plan, built = engine.Builder().build(path, cfg)
    y = engine.Runtime.deserialize(plan).create_execution_context().execute({"X": x})["Y"]
    return y, built
y32, _ = run(model(True), "fp32")
y32_onnx, _ = run(model(False), "fp32")
assert np.array_equal(y32, y32_onnx), float(np.max(np.abs(y32 - y32_onnx)))
y8, built = run(model(True), "int8")
y8_onnx, _ = run(model(False), "int8")
rows = [r for r in built.layer_precisions if r["layer"] == "shuffle"]
assert len(rows) == 1 and rows[0]["precision"] == "int8", built.layer_precisions
assert np.array_equal(y8, y8_onnx), f"INT8 plugin vs ONNX shuffle: max diff {float(np.max(np.abs(y8 - y8_onnx)))}"
sqnr = 10 * np.log10(np.sum(y32.astype(np.float64) ** 2) / np.sum((y8.astype(np.float64) - y32) ** 2))
assert sqnr >= 25, sqnr
print(f"INT8 engine with the plugin: shuffle layer {rows[0]['precision']}, output equal bit for bit to the "
      f"Reshape/Transpose/Reshape engine, SQNR vs FP32 {sqnr:.1f} dB (>= 25 dB)")
PY

step "plugin ABI 2: a plugin layer on the systolic array is costed as the built-in product"
$PY - "$TMP" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
tmp = sys.argv[1]
rng = np.random.default_rng(7)
w = rng.standard_normal((96, 80)).astype(np.float32)
x = rng.standard_normal((64, 96)).astype(np.float32)
np.save(f"{tmp}/mm_x.npy", x)
np.save(f"{tmp}/mm_ref.npy", (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32))
for name, node, extra in [("plugin", helper.make_node("PluginMatMul", ["X", "W"], ["Y"], name="mm", domain="com.test"),
                           [helper.make_opsetid("com.test", 1)]),
                          ("onnx", helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm"), [])]:
    g = helper.make_graph([node], "mm", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [64, 96])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [64, 80])],
                          [numpy_helper.from_array(w, "W")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)] + extra), f"{tmp}/mm_{name}.onnx")
PY
for name in plugin onnx; do
  "$TRT" --onnx="$TMP/mm_$name.onnx" --plugins="$ARRAY" --loadInputs="X:$TMP/mm_x.npy" \
    --exportOutput="$TMP/mm_out_$name" --exportProfile="$TMP/mm_profile_$name.json" \
    --iterations=1 --duration=0 --warmUp=0 >"$TMP/mm_$name.log" 2>&1 || { cat "$TMP/mm_$name.log"; fail "array plugin: $name"; }
done
$PY - "$TMP" <<'PY' || fail "the array plugin layer is not costed as the built-in MatMul"
import glob, json, sys
import numpy as np
from onnx import TensorProto, numpy_helper
tmp = sys.argv[1]
got = numpy_helper.to_array(TensorProto.FromString(open(glob.glob(f"{tmp}/mm_out_plugin/*.pb")[0], "rb").read()))
err = float(np.max(np.abs(got.astype(np.float64) - np.load(f"{tmp}/mm_ref.npy"))))
assert err <= 1e-4, err
rows = {n: [r for r in json.load(open(f"{tmp}/mm_profile_{n}.json")) if r.get("cycles", 0) > 0] for n in ("plugin", "onnx")}
assert len(rows["plugin"]) == 1 and len(rows["onnx"]) == 1, rows
p, o = rows["plugin"][0], rows["onnx"][0]
assert p["type"] == "PluginMatMul" and p["unit"] == "array", p
keys = ["unit", "cycles", "computeCycles", "dramBytesRead", "dramBytesWritten", "energyPj", "dataflow"]
diff = {k: (p.get(k), o.get(k)) for k in keys if p.get(k) != o.get(k)}
assert not diff, f"plugin vs MatMul differ: {diff}"
print(f"array plugin: {p['cycles']} cycles ({p.get('dataflow')}), DRAM {p['dramBytesRead']} B read / "
      f"{p['dramBytesWritten']} B written, {p['energyPj']:.0f} pJ: equal to the built-in MatMul; "
      f"output vs NumPy max abs error {err:.1e}")
PY

step "a misbehaving plugin is contained"
$PY - "$TMP" <<'PY'
import sys
import onnx
from onnx import TensorProto, helper
for mode in ["ok", "import_error", "infer_error", "wrong_shape", "many_outputs", "prepare_error",
             "run_error", "run_throw", "raw_throw", "bad_cost"]:
    node = helper.make_node("Misbehave", ["X"], ["Y"], name=f"bad_{mode}", domain="com.test", mode=mode)
    g = helper.make_graph([node], "bad", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.test", 1)])
    onnx.save(m, f"{sys.argv[1]}/bad_{mode}.onnx")
PY
"$TRT" --onnx="$TMP/bad_ok.onnx" --plugins="$BAD" --iterations=1 --duration=0 --warmUp=0 >"$TMP/bad_ok.log" 2>&1 \
  || { cat "$TMP/bad_ok.log"; fail "the misbehaving plugin's 'ok' mode should run"; }
for mode in import_error infer_error wrong_shape many_outputs prepare_error run_error run_throw raw_throw bad_cost; do
  set +e
  "$TRT" --onnx="$TMP/bad_$mode.onnx" --plugins="$BAD" --iterations=1 --duration=0 --warmUp=0 >"$TMP/bad_$mode.log" 2>&1
  rc=$?
  set -e
  [ $rc -eq 1 ] || { cat "$TMP/bad_$mode.log"; fail "$mode: expected exit code 1 (a clear error), got $rc"; }
  grep -q "plugin 'misbehaving'" "$TMP/bad_$mode.log" && grep -q "bad_$mode" "$TMP/bad_$mode.log" \
    || { cat "$TMP/bad_$mode.log"; fail "$mode: the error does not name the plugin and the node"; }
  echo "$mode: $(grep -m1 "plugin 'misbehaving'" "$TMP/bad_$mode.log" | cut -c1-220)"
done
# A kernel that cannot be prepared stops the build itself (the builder prepares
# plugin kernels as the runtime will), so no plan is written that no runtime
# loads (found by the parser fuzzer, which loads this plugin).
set +e
"$TRT" --onnx="$TMP/bad_prepare_error.onnx" --plugins="$BAD" --skipInference \
  --saveEngine="$TMP/bad_prepare_error.plan" >"$TMP/bad_prepare_build.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$TMP/bad_prepare_build.log"; fail "prepare_error: the build should fail, got $rc"; }
[ ! -e "$TMP/bad_prepare_error.plan" ] || fail "prepare_error: a plan was written"
grep -q "plugin layer.*bad_prepare_error" "$TMP/bad_prepare_build.log" \
  || { cat "$TMP/bad_prepare_build.log"; fail "prepare_error: the build error does not name the layer"; }
echo "prepare_error at build time: $(grep -m1 "plugin layer" "$TMP/bad_prepare_build.log" | cut -c1-220)"
echo "PASSED"
