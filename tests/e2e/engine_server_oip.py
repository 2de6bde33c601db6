#!/usr/bin/python3
"""engine_server over the Open Inference Protocol v2 REST API, with a client
the project did not write (Python's urllib / http.client) against a real
server process on loopback.

A model repository in a temporary directory:
  mnist/1      mnist-8 (/work/shared/models/mnist/mnist-8.onnx), not batched,
               2 instances (skipped WITH A MESSAGE when the file is absent)
  dyn/1        a generated Conv-Relu-Flatten-Gemm model with a dynamic batch,
               plan over batch 1..8, dynamic batching (20 ms delay)
  slow/1       the same plan, max_queue_size 1 and a 400 ms batching delay
               (queue full, queue timeout, draining at shutdown)
  corrupt/1    the dyn plan with one byte flipped: reported not ready
Checks: health, server and model metadata, readiness, JSON and binary
inference equal to `trtexec_like --exportOutput` on the same plans, every
error case (400/404/503 with {"error": ...}), batches > 1 formed by
concurrent requests with outputs equal to the reference, /metrics values
consistent with the requests sent, 200 idle + 40 slow-body connections not
stopping /v2/health/ready, load/unload, graceful shutdown draining a request
in flight.

Usage: engine_server_oip.py SOURCE_DIR BUILD_DIR
"""
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SRC, BUILD = sys.argv[1], sys.argv[2]
TRT = os.path.join(BUILD, "bin", "trtexec_like")
SERVER = os.path.join(BUILD, "bin", "engine_server")
MNIST = os.path.join(SRC, "..", "shared", "models", "mnist", "mnist-8.onnx")
if not os.path.exists(MNIST):
    MNIST = "/work/shared/models/mnist/mnist-8.onnx"

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # Debian python3-onnx / python3-numpy
    print(f"SKIPPED: engine_server_oip needs python3-onnx and numpy ({e})")
    sys.exit(0)

FAILURES = []


def check(cond, what):
    if cond:
        print("ok:", what)
    else:
        print("FAILED:", what)
        FAILURES.append(what)


def run(args):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED: {' '.join(args)}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def dyn_model(path):
    """x [N,1,8,8] -> Conv(4, 3x3, pad 1) -> Relu -> Flatten -> Gemm(10) -> y [N,10]."""
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    fw = numpy_helper.from_array((rng.standard_normal((10, 256)) / 16).astype(np.float32), "fw")
    fb = numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "fb")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    g = helper.make_graph(nodes, "dyn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
                          [w, b, fw, fb])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def reference(plan, name, array, work, tag, shapes=None):
    """Outputs of `trtexec_like --loadEngine=plan --exportOutput` for `array`."""
    npy = os.path.join(work, f"{tag}.npy")
    np.save(npy, array)
    out = os.path.join(work, f"ref_{tag}")
    args = [TRT, f"--loadEngine={plan}", f"--loadInputs={name}:{npy}", f"--exportOutput={out}",
            "--iterations=1", "--duration=0", "--warmUp=0"]
    if shapes:
        args.append(f"--shapes={shapes}")
    run(args)
    refs = {}
    for f in sorted(os.listdir(out)):
        if f.endswith(".pb"):
            t = TensorProto()
            with open(os.path.join(out, f), "rb") as fh:
                t.ParseFromString(fh.read())
            refs[t.name] = numpy_helper.to_array(t)
    return refs


class Client:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.port = port

    def call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path):
        return self.call("GET", path)

    def post_json(self, path, obj):
        return self.call("POST", path, json.dumps(obj).encode(),
                         {"Content-Type": "application/json"})


def metric_values(client):
    s, _, body = client.get("/metrics")
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return s, values


def wait_queued(client, model, n, timeout=10.0):
    """Polls engine_queue_size until `model` has `n` requests queued."""
    end = time.time() + timeout
    while time.time() < end:
        if metric_values(client)[1].get(f'engine_queue_size{{model="{model}",version="1"}}') == n:
            return True
        time.sleep(0.005)
    return False


def attack(client, port):
    """200 idle and 40 slow-body connections against --max-connections=64:
    /v2/health/ready on a new connection answers throughout; the server's
    timeouts close every attacker; it serves again afterwards."""
    idle, slow = [], []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port))
        idle.append(s)
    head = (b"POST /v2/models/dyn/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"Content-Type: application/json\r\n\r\n")
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(head)
        slow.append(s)
    stop = threading.Event()

    def trickle():  # one body byte every 0.5 s: never silent for --read-timeout=1
        while not stop.wait(0.5):
            for s in slow:
                try:
                    s.send(b" ")
                except OSError:
                    pass

    feeder = threading.Thread(target=trickle)
    feeder.start()
    latencies = []
    statuses = set()
    for _ in range(12):
        t0 = time.time()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/v2/health/ready")
            r = conn.getresponse()
            r.read()
            statuses.add(r.status)
            conn.close()
        except OSError as e:
            statuses.add(type(e).__name__)
        latencies.append(time.time() - t0)
        time.sleep(0.25)
    check(statuses == {200} and max(latencies) < 1.0,
          f"/v2/health/ready under 200 idle + 40 slow-body connections: statuses {statuses}, "
          f"max {1000 * max(latencies):.1f} ms, median {1000 * sorted(latencies)[6]:.1f} ms")
    # Every attacker is answered (408 for slow bodies past --body-timeout=3,
    # 503 past the connection limit) or closed by the server.
    deadline = time.time() + 10
    open_left = 0
    for s in slow + idle:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            while s.recv(4096):
                pass
        except socket.timeout:
            open_left += 1
        except OSError:
            pass
    stop.set()
    feeder.join()
    for s in slow + idle:
        s.close()
    check(open_left == 0, f"the server's timeouts closed all 240 attacking connections "
          f"({open_left} still open after 10 s)")
    check(client.get("/v2/health/ready")[0] == 200, "ready again after the attack")


def infer_json(name, array):
    return {"inputs": [{"name": name, "shape": list(array.shape), "datatype": "FP32",
                        "data": array.flatten().tolist()}]}


def main():
    work = tempfile.mkdtemp(prefix="engine_server_oip.")
    server = None
    try:
        repo = os.path.join(work, "repo")
        have_mnist = os.path.exists(MNIST)
        if have_mnist:
            os.makedirs(os.path.join(repo, "mnist", "1"))
            run([TRT, f"--onnx={MNIST}", f"--saveEngine={repo}/mnist/1/model.plan",
                 "--skipInference"])
            with open(os.path.join(repo, "mnist", "config.json"), "w") as f:
                json.dump({"instance_count": 2, "threads": 1}, f)
        else:
            print(f"SKIPPED (mnist part): {MNIST} is absent (/work/shared not mounted)")
        onnx_path = os.path.join(work, "dyn.onnx")
        dyn_model(onnx_path)
        dyn_plan = os.path.join(work, "dyn.plan")
        run([TRT, f"--onnx={onnx_path}", "--minShapes=x:1x1x8x8", "--optShapes=x:4x1x8x8",
             "--maxShapes=x:8x1x8x8", "--shapeBuckets=3", f"--saveEngine={dyn_plan}",
             "--skipInference"])
        for name, config in [
                ("dyn", {"max_batch_size": 8, "instance_count": 1, "threads": 1,
                         "dynamic_batching": {"max_queue_delay_us": 20000}}),
                ("slow", {"max_batch_size": 8, "max_queue_size": 1, "threads": 1,
                          "dynamic_batching": {"max_queue_delay_us": 400000}}),
                ("corrupt", {"max_batch_size": 8})]:
            os.makedirs(os.path.join(repo, name, "1"))
            shutil.copy(dyn_plan, os.path.join(repo, name, "1", "model.plan"))
            with open(os.path.join(repo, name, "config.json"), "w") as f:
                json.dump(config, f)
        with open(os.path.join(repo, "corrupt", "1", "model.plan"), "r+b") as f:
            f.seek(os.path.getsize(dyn_plan) // 2)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0x5A]))

        rng = np.random.default_rng(7)
        x8 = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
        ref8 = reference(dyn_plan, "x", x8, work, "dyn8", "x:8x1x8x8")["y"]
        x3 = x8[:3].copy()
        ref3 = reference(dyn_plan, "x", x3, work, "dyn3", "x:3x1x8x8")["y"]
        if have_mnist:
            digit = rng.uniform(0, 255, (1, 1, 28, 28)).astype(np.float32)
            mnist_ref = reference(f"{repo}/mnist/1/model.plan", "Input3", digit, work, "mnist")
            (mnist_out, mnist_ref), = mnist_ref.items()

        log = open(os.path.join(work, "server.log"), "w+")
        server = subprocess.Popen([SERVER, f"--model-repository={repo}", "--port=0",
                                   "--max-connections=64", "--max-pending=32", "--idle-timeout=2",
                                   "--header-timeout=2", "--read-timeout=1", "--body-timeout=3"],
                                  stdout=log, stderr=subprocess.STDOUT)
        port = None
        for _ in range(300):
            log.seek(0)
            text = log.read()
            if "listening on http://127.0.0.1:" in text:
                port = int(text.split("listening on http://127.0.0.1:")[1].split()[0])
                break
            if server.poll() is not None:
                sys.exit("FAILED: server exited:\n" + text)
            time.sleep(0.1)
        if port is None:
            sys.exit("FAILED: server did not start")
        print(text)
        c = Client(port)

        # Health and metadata.
        check(c.get("/v2/health/live")[0] == 200, "GET /v2/health/live 200")
        check(c.get("/v2/health/ready")[0] == 200, "GET /v2/health/ready 200 (not strict)")
        s, _, body = c.get("/v2")
        meta = json.loads(body)
        check(s == 200 and meta["name"] == "engine_server" and
              "binary_tensor_data" in meta["extensions"], f"GET /v2 {meta}")
        s, _, body = c.get("/v2/models/dyn")
        meta = json.loads(body)
        check(s == 200 and meta["inputs"] == [{"name": "x", "datatype": "FP32",
                                               "shape": [-1, 1, 8, 8]}] and
              meta["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [-1, 10]}] and
              meta["versions"] == ["1"], f"GET /v2/models/dyn {meta}")
        check(c.get("/v2/models/dyn/versions/1")[0] == 200, "GET /v2/models/dyn/versions/1 200")
        check(c.get("/v2/models/dyn/ready")[0] == 200, "dyn ready")
        check(c.get("/v2/models/dyn/versions/1/ready")[0] == 200, "dyn version 1 ready")

        def error(resp, status, text):
            s, headers, body = resp
            try:
                msg = json.loads(body)["error"]
            except (ValueError, KeyError, TypeError):
                msg = None
            ok = s == status and isinstance(msg, str) and text in msg
            check(ok, f"{status} with error containing {text!r}: got {s} {body[:300]!r}")
            return headers

        # The corrupt plan is loaded as not ready, never crashing the server.
        error(c.get("/v2/models/corrupt/ready"), 400, "not ready")
        error(c.get("/v2/models/corrupt"), 400, "DATA_LOSS")
        error(c.post_json("/v2/models/corrupt/infer", infer_json("x", x3)), 400, "not ready")
        s, _, body = c.call("POST", "/v2/repository/index")
        index = {(m["name"], m["version"]): m for m in json.loads(body)}
        check(index[("corrupt", "1")]["state"] == "UNAVAILABLE" and
              index[("dyn", "1")]["state"] == "READY", f"repository index {index}")
        error(c.get("/v2/models/nope"), 404, "unknown model 'nope'")
        error(c.get("/v2/models/dyn/versions/7"), 404, "has no version '7'")
        error(c.get("/v2/models/nope/ready"), 404, "unknown model")
        error(c.get("/v2/nothing"), 404, "no endpoint")
        error(c.post_json("/v2/models/nope/infer", infer_json("x", x3)), 404, "unknown model")

        # JSON and binary inference equal to trtexec_like --exportOutput.
        s, headers, body = c.post_json("/v2/models/dyn/infer", {**infer_json("x", x3), "id": "a1"})
        ans = json.loads(body)
        out = ans["outputs"][0]
        y = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
        check(s == 200 and ans["id"] == "a1" and ans["model_name"] == "dyn" and
              out["datatype"] == "FP32" and out["shape"] == [3, 10] and np.array_equal(y, ref3),
              f"dyn JSON batch 3 equals trtexec_like --exportOutput (max diff "
              f"{np.abs(y - ref3).max() if y.shape == ref3.shape else 'shape'})")
        dyn_ok, dyn_inferences, dyn_bad = 1, 3, 0

        header = json.dumps({"inputs": [{"name": "x", "shape": [3, 1, 8, 8], "datatype": "FP32",
                                         "parameters": {"binary_data_size": x3.nbytes}}],
                             "parameters": {"binary_data_output": True}}).encode()
        s, headers, body = c.call("POST", "/v2/models/dyn/infer", header + x3.tobytes(),
                                  {"Inference-Header-Content-Length": str(len(header)),
                                   "Content-Type": "application/octet-stream"})
        hl = int(headers.get("Inference-Header-Content-Length", -1))
        ans = json.loads(body[:hl]) if hl > 0 else {}
        y = np.frombuffer(body[hl:], dtype=np.float32).reshape(3, 10) if hl > 0 else None
        check(s == 200 and ans["outputs"][0]["parameters"]["binary_data_size"] == 120 and
              y is not None and np.array_equal(y, ref3),
              "dyn binary in/out equals trtexec_like --exportOutput")
        dyn_ok, dyn_inferences = dyn_ok + 1, dyn_inferences + 3

        mnist_ok = mnist_bad = 0
        if have_mnist:
            s, _, body = c.get("/v2/models/mnist")
            meta = json.loads(body)
            check(s == 200 and meta["inputs"] == [{"name": "Input3", "datatype": "FP32",
                                                   "shape": [1, 1, 28, 28]}],
                  f"GET /v2/models/mnist {meta}")
            s, _, body = c.post_json("/v2/models/mnist/infer", infer_json("Input3", digit))
            out = json.loads(body)["outputs"][0]
            y = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
            check(s == 200 and out["name"] == mnist_out and np.array_equal(y, mnist_ref),
                  "mnist JSON equals trtexec_like --exportOutput")
            header = json.dumps({"inputs": [{"name": "Input3", "shape": [1, 1, 28, 28],
                                             "datatype": "FP32",
                                             "parameters": {"binary_data_size": digit.nbytes}}],
                                 "outputs": [{"name": mnist_out,
                                              "parameters": {"binary_data": True}}]}).encode()
            s, headers, body = c.call("POST", "/v2/models/mnist/versions/1/infer",
                                      header + digit.tobytes(),
                                      {"Inference-Header-Content-Length": str(len(header))})
            hl = int(headers.get("Inference-Header-Content-Length", -1))
            y = np.frombuffer(body[hl:], dtype=np.float32).reshape(mnist_ref.shape)
            check(s == 200 and np.array_equal(y, mnist_ref),
                  "mnist binary equals trtexec_like --exportOutput")
            mnist_ok += 2
            # Errors against a non-batched model.
            error(c.post_json("/v2/models/mnist/infer", infer_json("Input3", digit[:, :, :27])),
                  400, "expects [1,1,28,28]")
            mnist_bad += 1

        # Every error case of an inference request (each a 400 with {"error"}).
        bad = [
            (b"{not json", "not valid JSON", {}),
            (json.dumps({"inputs": [{"name": "z", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                     "data": [0.0] * 64}]}).encode(), "has no input 'z'", {}),
            (json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 8, 8], "datatype": "INT32",
                                     "data": [0] * 64}]}).encode(), "expects FP32", {}),
            (json.dumps(infer_json("x", x8[:1, :, :4])).encode(), "expects [-1,1,8,8]", {}),
            (json.dumps(infer_json("x", np.zeros((9, 1, 8, 8), np.float32))).encode(),
             "takes batches of 1 to 8", {}),
            (json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                     "data": [0.0] * 63}]}).encode(), "has 63 elements", {}),
            (json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                     "data": [0.0] * 64}], "outputs": [{"name": "q"}]}).encode(),
             "has no output 'q'", {}),
            (header, "is not a byte count", {"Inference-Header-Content-Length": "12x"}),
            (header, "larger than the request body",
             {"Inference-Header-Content-Length": str(len(header) + 5)}),
            (json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 255}}]}).encode() +
             b"\0" * 255, "binary_data_size 255 but FP32 [1,1,8,8] is 256 bytes", "HL"),
            (b"[" * 5000, "nests deeper", {}),
        ]
        for body, text, headers in bad:
            if headers == "HL":
                headers = {"Inference-Header-Content-Length": str(len(body) - 255)}
            error(c.call("POST", "/v2/models/dyn/infer", body, headers), 400, text)
            dyn_bad += 1

        # Concurrency: 24 batch-1 requests from 12 threads; batches > 1 form and
        # every answer equals its row of the batch-8 reference.
        answers, lock = [], threading.Lock()

        def worker(k):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for j in range(2):
                row = (k + j) % 8
                body = json.dumps(infer_json("x", x8[row:row + 1])).encode()
                conn.request("POST", "/v2/models/dyn/infer", body,
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                with lock:
                    answers.append((row, r.status, r.getheader("X-Batch-Size"), data))
            conn.close()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        # Health answers while the workers are busy.
        t0 = time.time()
        s = c.get("/v2/health/ready")[0]
        check(s == 200 and time.time() - t0 < 1.0,
              f"/v2/health/ready during load: {s} in {1000 * (time.time() - t0):.1f} ms")
        for t in threads:
            t.join()
        batches = [int(b) for _, s, b, _ in answers if s == 200]
        equal = all(s == 200 and np.allclose(
            np.array(json.loads(d)["outputs"][0]["data"], np.float32), ref8[row],
            rtol=1e-5, atol=1e-5) for row, s, _, d in answers)
        check(len(batches) == 24 and equal, "24 concurrent answers, each equal to its reference row")
        check(max(batches) > 1, f"dynamic batching formed batches > 1 (sizes {sorted(batches)})")
        dyn_ok, dyn_inferences = dyn_ok + 24, dyn_inferences + 24

        # Queue timeout, then a full queue (slow: max_queue_size 1, 400 ms delay).
        one = json.dumps(infer_json("x", x8[:1])).encode()
        timed = {**infer_json("x", x8[:1]), "parameters": {"timeout": 1000}}
        h = error(c.post_json("/v2/models/slow/infer", timed), 503, "timed out")
        check(h.get("Retry-After") == "1", "503 has Retry-After")
        held = []
        t = threading.Thread(target=lambda: held.append(c.call("POST", "/v2/models/slow/infer", one)))
        t.start()
        check(wait_queued(c, "slow", 1), "engine_queue_size of slow reaches 1")
        error(c.call("POST", "/v2/models/slow/infer", one), 503, "queue full")
        t.join()
        check(held and held[0][0] == 200, "the queued request is answered after the delay")

        # Metrics consistent with the requests sent.
        s, headers, _ = c.get("/metrics")
        _, metrics = metric_values(c)

        def m(family, model, extra=""):
            return metrics.get(f'{family}{{model="{model}",version="1"{extra}}}')

        check(s == 200 and headers.get("Content-Type", "").startswith("text/plain"), "GET /metrics")
        check(m("engine_request_success_total", "dyn") == dyn_ok,
              f"dyn successes {m('engine_request_success_total', 'dyn')} == {dyn_ok}")
        bad_requests = m("engine_request_failure_total", "dyn", ',reason="bad_request"')
        check(bad_requests == dyn_bad, f"dyn bad requests {bad_requests} == {dyn_bad}")
        check(m("engine_inference_count_total", "dyn") == dyn_inferences and
              m("engine_batch_size_sum", "dyn") == dyn_inferences,
              f"dyn inferences {m('engine_inference_count_total', 'dyn')} == {dyn_inferences}")
        executions = m("engine_execution_count_total", "dyn")
        check(m("engine_batch_size_count", "dyn") == executions and executions < dyn_ok and
              m("engine_batch_size_bucket", "dyn", ',le="1"') < executions,
              f"dyn batch histogram: {executions:.0f} executions for {dyn_ok} requests")
        check(m("engine_request_failure_total", "slow", ',reason="timeout"') == 1 and
              m("engine_request_failure_total", "slow", ',reason="queue_full"') == 1 and
              m("engine_request_success_total", "slow") == 1, "slow: 1 timeout, 1 queue full, 1 ok")
        check(m("engine_modeled_device_time_us_per_inference", "dyn") > 0 and
              m("engine_modeled_energy_uj_per_inference", "dyn") > 0 and
              m("engine_queue_duration_us_total", "dyn") > 0 and
              m("engine_compute_duration_us_total", "dyn") > 0,
              "modeled device time and energy per inference, queue and compute time > 0")
        if have_mnist:
            check(m("engine_request_success_total", "mnist") == mnist_ok and
                  m("engine_request_failure_total", "mnist", ',reason="bad_request"') == mnist_bad,
                  "mnist success/failure counts")

        # Connection handling: idle and slow clients do not stop health checks.
        attack(c, port)

        # Repository API: unload, load, failures.
        check(c.call("POST", "/v2/repository/models/dyn/unload")[0] == 200, "unload dyn")
        error(c.get("/v2/models/dyn"), 404, "unknown model")
        error(c.call("POST", "/v2/repository/models/dyn/unload"), 404, "not loaded")
        check(c.call("POST", "/v2/repository/models/dyn/load")[0] == 200, "load dyn")
        check(c.get("/v2/models/dyn/ready")[0] == 200, "dyn ready after load")
        error(c.call("POST", "/v2/repository/models/corrupt/load"), 400, "no version is ready")
        error(c.call("POST", "/v2/repository/models/nope/load"), 404, "no model directory")

        # Graceful shutdown: a request held 400 ms in the slow queue completes.
        held = []
        t = threading.Thread(target=lambda: held.append(c.call("POST", "/v2/models/slow/infer", one)))
        t.start()
        check(wait_queued(c, "slow", 1), "a request is queued before SIGTERM")
        server.send_signal(signal.SIGTERM)
        t.join()
        code = server.wait(timeout=30)
        check(held and held[0][0] == 200, f"request in flight at SIGTERM answered "
              f"{held[0][0] if held else None}")
        check(code == 0, f"server exited {code} after SIGTERM")
        server = None
        log.seek(0)
        print(log.read()[-600:])
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) FAILED")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
