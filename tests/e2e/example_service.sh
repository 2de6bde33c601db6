#!/usr/bin/env bash
# The example service (examples/) built against the installed package, as a
# service embedding the engine would be:
#  1. `cmake --install <build> --prefix $TMP/prefix`; the package layout;
#     libengine.so exports the public API and no internal symbol, and every
#     public function and class is marked ENGINE_API;
#  2. examples/ configured and built on its own with CMAKE_PREFIX_PATH=prefix
#     (find_package(engine 0.2), engine::engine);
#  3. a plan of the generated tiny CNN (trtexec_like), and its reference output
#     for a random input (trtexec_like --exportOutput);
#  4. engine_example_server on 127.0.0.1 (a free port), /healthz, /v1/model, a wrong
#     body size (400 naming the expected bytes), a JSON request;
#     non-finite numbers in JSON requests (400 saying why) and in JSON answers
#     (the strings "nan"/"inf"/"-inf", equal to the raw answer, never null);
#  5. engine_client: 2000 requests at concurrency 4 over keep-alive
#     connections, every answer equal to the reference; any error fails;
#  6. saturation: --workers=1 --max-queued=0 and 8 concurrent requests: every
#     answer is 200 (equal to the reference) or 503 with Retry-After, at
#     least one of each; a body over --max-body-bytes gets 413.
# (Hostile connections -- idle, slow-head, slow-body -- are the product
# server's job: engine_server, tested by e2e/engine_server_oip.)
# Usage: example_service.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
PY=/usr/bin/python3
TMP="$(mktemp -d "${TMPDIR:-/tmp}/engine_example_service.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAILED: $*"; exit 1; }

[ -f /usr/include/httplib.h ] || fail "cpp-httplib is missing: install libcpp-httplib-dev (scripts/setup.sh)"

step "install into $TMP/prefix"
cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "cmake --install"; }
LIBDIR="$(dirname "$(find "$TMP/prefix" -name 'engineConfig.cmake' | head -1)")/../.."
for f in include/engine/runtime.h include/engine/export.h; do
  [ -f "$TMP/prefix/$f" ] || fail "$f not installed"
done
for f in cmake/engine/engineConfig.cmake cmake/engine/engineConfigVersion.cmake \
         cmake/engine/engineTargets.cmake libengine.so; do
  [ -e "$LIBDIR/$f" ] || fail "lib/$f not installed"
done
if ls "$LIBDIR"/libengine_*.a >/dev/null 2>&1; then fail "internal static libraries installed"; fi
nm -DC --defined-only "$LIBDIR/libengine.so" | awk '{ $1 = ""; $2 = ""; print substr($0, 3) }' >"$TMP/exports.txt"
leaks="$(grep -E '^(engine::(codegen|exec|hw|ir|kernels|opt|parser|int8|quant)::|(absl|onnx|google|flatbuffers|Eigen)::)' "$TMP/exports.txt" || true)"
if [ -n "$leaks" ]; then echo "$leaks" | head -20; fail "libengine.so exports internal symbols"; fi
for sym in 'engine::Runtime::LoadEngineFile(' 'engine::Builder::BuildFromOnnxFile(' \
           'engine::ExecutionContext::Execute()' 'engine::LoadTensorFile(' 'engine::CompareTensors('; do
  grep -qF "$sym" "$TMP/exports.txt" || fail "libengine.so does not export $sym"
done
echo "libengine.so: $(wc -l <"$TMP/exports.txt") exported symbols, none internal"
# Only ENGINE_API declarations are exported: every namespace-level function and
# class of the public headers must carry it (see include/engine/export.h);
# inline and constexpr functions, defined in the header, need no export.
# plugin.h is the plugin side's header-only interface (compiled into plugins,
# never exported by libengine.so; docs/plugins.md).
unmarked="$(grep -nE '^[A-Za-z_][A-Za-z0-9_:<>, ]*[*&]? +[*&]?[A-Za-z_][A-Za-z0-9_]*\(|^class [A-Za-z_]+[^;]*$' \
  "$SRC"/include/engine/*.h | grep -v ENGINE_API | grep -v '/include/engine/plugin\.h:' \
  | grep -vE '^[^:]+:[0-9]+:(inline|constexpr) ' || true)"
[ -z "$unmarked" ] || { echo "$unmarked"; fail "public declarations without ENGINE_API (not exported by libengine.so)"; }

step "build examples/ against the package"
cmake -S "$SRC/examples" -B "$TMP/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TMP/prefix" >"$TMP/configure.log" 2>&1 || { cat "$TMP/configure.log"; fail "configure examples"; }
grep -q "$TMP/prefix" "$TMP/build/CMakeCache.txt" || fail "engine package not found in the prefix"
cmake --build "$TMP/build" -j2 >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; fail "build examples"; }
grep "engine_DIR" "$TMP/build/CMakeCache.txt"

step "plan and reference output"
$PY "$SRC/models/generate.py" --out "$TMP" tiny_cnn >/dev/null
$PY -c "import numpy as np; np.save('$TMP/input.npy', np.random.default_rng(11).standard_normal((1,3,32,32)).astype(np.float32))"
"$BUILD/bin/trtexec_like" --onnx="$TMP/tiny_cnn.onnx" --saveEngine="$TMP/tiny_cnn.plan" --skipInference \
  >"$TMP/plan.log" 2>&1 || { cat "$TMP/plan.log"; fail "trtexec_like --saveEngine"; }
"$BUILD/bin/trtexec_like" --loadEngine="$TMP/tiny_cnn.plan" --loadInputs="input:$TMP/input.npy" \
  --exportOutput="$TMP/ref" --iterations=1 --duration=0 --warmUp=0 \
  >"$TMP/ref.log" 2>&1 || { cat "$TMP/ref.log"; fail "trtexec_like --exportOutput"; }
REF="$(ls "$TMP"/ref/*.pb | head -1)"

start_server() {  # start_server FLAGS...: sets SERVER_PID and PORT
  # The log exists before the server starts: the background shell opens it
  # only when it gets scheduled, and the loop below may read it first.
  : >"$TMP/server.log"
  "$TMP/build/engine_example_server" "$TMP/tiny_cnn.plan" --host=127.0.0.1 --port=0 "$@" >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 300); do
    PORT="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/server.log" || true)"
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log"; fail "server exited"; }
    sleep 0.1
  done
  [ -n "$PORT" ] || { cat "$TMP/server.log"; fail "server did not start"; }
  cat "$TMP/server.log"
}
step "server"
start_server --workers=8

$PY - "$PORT" "$TMP/input.npy" "$REF" <<'PY' || fail "HTTP checks"
import json, sys, time, urllib.error, urllib.request
import numpy as np
from onnx import TensorProto, numpy_helper

port, inp, ref = sys.argv[1], np.load(sys.argv[2]), sys.argv[3]
base = "http://127.0.0.1:%s" % port
def call(path, body=None, ctype="application/octet-stream"):
    req = urllib.request.Request(base + path, data=body, headers={"Content-Type": ctype} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

for _ in range(100):
    try:
        if call("/healthz")[0] == 200: break
    except OSError:
        pass
    time.sleep(0.1)
else:
    sys.exit("FAILED: /healthz never answered 200")
print("GET /healthz: 200")

status, body = call("/v1/model")
model = json.loads(body)
assert status == 200, status
assert [i["name"] for i in model["inputs"]] == ["input"], model
assert model["inputs"][0]["dtype"] == "float" and model["inputs"][0]["shape"] == [1, 3, 32, 32], model
assert model["inputs"][0]["bytes"] == 12288 and len(model["outputs"]) == 1, model
print("GET /v1/model: 200", json.dumps(model["inputs"]), json.dumps(model["outputs"]))

status, body = call("/v1/infer", b"\0" * 100)
msg = json.loads(body)["error"]
assert status == 400 and "expected 12288 bytes" in msg and "'input'" in msg, (status, body)
print("POST /v1/infer, 100 bytes: %d %s" % (status, msg))

status, body = call("/v1/infer", json.dumps({"inputs": {"nope": [1]}}).encode(), "application/json")
assert status == 400 and "nope" in json.loads(body)["error"], (status, body)
print("POST /v1/infer, unknown input: %d %s" % (status, json.loads(body)["error"]))

expected = numpy_helper.to_array(TensorProto.FromString(open(ref, "rb").read()))
status, body = call("/v1/infer", inp.tobytes())
assert status == 200, (status, body)
got = np.frombuffer(body, dtype=np.float32).reshape(expected.shape)
assert np.array_equal(got, expected), "raw answer differs from trtexec_like's output"
print("POST /v1/infer, raw float32: 200, equal to trtexec_like's output")

status, body = call("/v1/infer", json.dumps({"inputs": {"input": inp.ravel().tolist()}}).encode(), "application/json")
assert status == 200, (status, body)
out = list(json.loads(body)["outputs"].values())[0]
got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
assert np.array_equal(got, expected), "JSON answer differs from trtexec_like's output"
print("POST /v1/infer, JSON: 200, equal to trtexec_like's output")

# Non-finite numbers: refused in requests (400, saying why), spelled out in answers.
n = inp.size
for text, why in (("[" + "Infinity," * (n - 1) + "1]", "NaN and Infinity are not valid JSON"),
                  ("[NaN" + ",1" * (n - 1) + "]", "NaN and Infinity are not valid JSON"),
                  ("[1e999" + ",1" * (n - 1) + "]", "overflows a double"),
                  ("[\"nan\"" + ",1" * (n - 1) + "]", "not a number")):
    status, body = call("/v1/infer", ('{"inputs": {"input": %s}}' % text).encode(), "application/json")
    msg = json.loads(body)["error"]
    assert status == 400 and why in msg and "element 0" in msg, (status, msg)
    print("POST /v1/infer, JSON %s...: %d %s" % (text[:12], status, msg))
big = np.full(inp.shape, 3e38, dtype=np.float32)  # overflows inside the network
status, body = call("/v1/infer", big.tobytes())
assert status == 200, (status, body)
raw = np.frombuffer(body, dtype=np.float32)
assert not np.all(np.isfinite(raw)), "expected a non-finite output for inputs of 3e38"
status, body = call("/v1/infer", json.dumps({"inputs": {"input": big.ravel().tolist()}}).encode(), "application/json")
assert status == 200, (status, body)
data = list(json.loads(body)["outputs"].values())[0]["data"]
assert None not in data, "a non-finite output came back as null"
for got, want in zip(data, raw):
    if np.isfinite(want):
        assert got == want, (got, want)
    else:
        assert got == ("nan" if np.isnan(want) else "inf" if want > 0 else "-inf"), (got, want)
print("POST /v1/infer, JSON with non-finite outputs: 200, %d of %d elements as \"nan\"/\"inf\"/\"-inf\", equal to the raw answer"
      % (sum(isinstance(v, str) for v in data), len(data)))
PY

step "client: 2000 requests at concurrency 4"
"$TMP/build/engine_client" --host=127.0.0.1 --port="$PORT" --requests=2000 --concurrency=4 \
  --warmup=20 --input="$TMP/input.npy" --expect="$REF" | tee "$TMP/client.log" || fail "engine_client reported errors"
grep -q "^errors: 0" "$TMP/client.log" || fail "engine_client reported errors"

stop_server() {
  kill -TERM "$SERVER_PID"
  rc=0; wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  tail -2 "$TMP/server.log"
  [ "$rc" -eq 0 ] || fail "server exited with $rc after SIGTERM"
}
step "stop"
stop_server

step "saturation: --workers=1 --max-queued=0, 8 concurrent requests; a body over --max-body-bytes"
start_server --workers=1 --max-queued=0 --max-body-bytes=20000
$PY - "$PORT" "$TMP/input.npy" "$REF" <<'PY' || { cat "$TMP/server.log"; fail "saturation"; }
import http.client, sys, threading
import numpy as np
from onnx import TensorProto, numpy_helper

port, inp, ref = int(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
expected = numpy_helper.to_array(TensorProto.FromString(open(ref, "rb").read()))
body = inp.tobytes()
answers, lock = [], threading.Lock()
def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(25):
        c.request("POST", "/v1/infer", body, {"Content-Type": "application/octet-stream"})
        r = c.getresponse()
        data = r.read()
        with lock:
            answers.append((r.status, r.getheader("Retry-After"), data))
# Rounds of 8 x 25 requests until both answers were seen (a fast model on an
# idle machine may need more than one round to collide).
for _ in range(20):
    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    if any(a[0] == 200 for a in answers) and any(a[0] == 503 for a in answers):
        break
ok = [a for a in answers if a[0] == 200]
busy = [a for a in answers if a[0] == 503]
assert len(ok) + len(busy) == len(answers), sorted(set(a[0] for a in answers))
for _, _, data in ok:
    assert np.array_equal(np.frombuffer(data, np.float32).reshape(expected.shape), expected)
for _, retry, data in busy:
    assert retry == "1" and b"server busy" in data, (retry, data[:200])
assert ok and busy, (len(ok), len(busy))
print("8 clients, %d requests, 1 worker, no queue: %d answered 200 (equal to the reference), %d answered 503 with Retry-After" % (len(answers), len(ok), len(busy)))
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/v1/infer", b"\0" * 20001, {"Content-Type": "application/octet-stream"})
r = c.getresponse(); r.read()
assert r.status == 413, r.status
print("POST /v1/infer, 20001 bytes over --max-body-bytes=20000: 413")
PY
stop_server
echo "PASSED"
