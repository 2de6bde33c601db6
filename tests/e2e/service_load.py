"""Bounded hostile load on engine_server over loopback (tests/e2e/example_service.sh).

Usage: service_load.py PORT INPUT.npy REFERENCE.pb
       service_load.py --flags     (prints the server flags it needs)

The server must run with the limits below (LIMITS, the same flags). The test:
  1. baseline: /healthz 200, one inference equal to the reference; the
     request limits: a Content-Length over --max-body-bytes gets 413 at once
     (nothing of the body sent), a body without Content-Length or chunked
     411, a head over --max-header-bytes=8192 431, an endless request line
     is closed within 1 s; each answer a JSON error naming the limit;
  2. attack: 40 slow-body connections (a POST head announcing 12288 bytes,
     then 1 byte every 0.5 s, never silent for --read-timeout), 5 slow-head
     connections (the request line 1 byte every 0.5 s) and 200 idle
     connections (connect, send nothing): 245 connections against
     --max-connections=64;
  3. while they are open, every 0.25 s for 4 s: GET /healthz on a new
     connection must answer 200 within HEALTHZ_BOUND_S (1 s), and an
     inference must answer 200 (equal to the reference) or 503 with a
     Retry-After header and a JSON error saying the server is busy; at least
     one 503 must be seen (the connection slots are full at first) and at
     least one 200 (slots free up as the timeouts close connections);
  4. the server enforces its limits: every slow-body connection gets 408
     (--body-timeout=3 s) within 3 + 2 s of its head; every slow-head and idle
     connection is closed by the server within 6 s (--header-timeout,
     --idle-timeout, or closed unanswered past --max-pending);
  5. recovery: once the attackers are gone, 50 inferences on one keep-alive
     connection all answer 200 equal to the reference, and /healthz 200.
Exits non-zero with a message on the first failed assertion.
"""
import http.client
import json
import socket
import sys
import threading
import time

import numpy as np
from onnx import TensorProto, numpy_helper

LIMITS = [
    "--workers=2", "--max-queued=2", "--max-connections=64", "--max-pending=32",
    "--idle-timeout=2", "--header-timeout=2", "--read-timeout=1", "--body-timeout=3",
    "--write-timeout=5", "--retry-after=1", "--max-header-bytes=8192",
]
HEALTHZ_BOUND_S = 1.0
SLOW_BODY, SLOW_HEAD, IDLE = 40, 5, 200

if sys.argv[1] == "--flags":  # the server's flags, for the calling script
    print(" ".join(LIMITS))
    sys.exit(0)
port = int(sys.argv[1])
inp = np.load(sys.argv[2])
expected = numpy_helper.to_array(TensorProto.FromString(open(sys.argv[3], "rb").read()))
body = inp.tobytes()


def fail(msg):
    sys.exit("FAILED: " + msg)


def request(method, path, data=None, timeout=5.0):
    """One request on a new connection: (status, headers dict, body, seconds)."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/octet-stream"} if data is not None else {}
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        payload = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload, time.monotonic() - t0
    finally:
        c.close()


def check_inference(status, headers, payload, allow_busy):
    if status == 200:
        got = np.frombuffer(payload, dtype=np.float32).reshape(expected.shape)
        if not np.array_equal(got, expected):
            fail("inference answer differs from the reference")
        return "200"
    if status == 503 and allow_busy:
        if "retry-after" not in headers:
            fail("503 without Retry-After: %r" % (headers,))
        msg = json.loads(payload)["error"]
        if "busy" not in msg:
            fail("503 with an unclear message: %r" % msg)
        return "503"
    fail("inference: HTTP %d %r" % (status, payload[:200]))


# 1. Baseline.
status, _, payload, _ = request("GET", "/healthz")
if status != 200 or payload != b"ok\n":
    fail("baseline /healthz: %d %r" % (status, payload))
check_inference(*request("POST", "/v1/infer", body)[:3], allow_busy=False)
print("baseline: /healthz 200, inference 200")

def raw_exchange(data, timeout=2.0):
    """Sends `data` on a new connection; returns (seconds, what came back before the close)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        pass  # closed while sending: the answer may still be there
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        fail("no answer and no close within %.1f s to %r" % (timeout, data[:60]))
    except OSError:
        pass
    s.close()
    return time.monotonic() - t0, got

def expect_refusal(data, status, words):
    dt, got = raw_exchange(data)
    head, _, payload = got.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 %d" % status):
        fail("expected %d for %r, got %r" % (status, data[:60], got[:120]))
    msg = json.loads(payload)["error"]
    if words not in msg:
        fail("%d without '%s': %r" % (status, words, msg))
    print("  %d in %.3f s: %s" % (status, dt, msg))

print("request limits:")
expect_refusal(b"POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n",
               413, "--max-body-bytes=")
expect_refusal(b"POST /v1/infer HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: 1000000000000\r\n\r\n", 413, "--max-body-bytes=")
expect_refusal(b"POST /v1/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 411, "Content-Length")
expect_refusal(b"POST /v1/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\n", 411, "Transfer-Encoding")
expect_refusal(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
               431, "--max-header-bytes=8192")
dt, got = raw_exchange(b"GET /" + b"a" * 200000)
if got:
    fail("an endless request line got an answer: %r" % got[:80])
print("  endless request line: closed after %.3f s" % dt)

# 2. Attack. Slow bodies first so that they hold connection slots.
def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

head = ("POST /v1/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        "Content-Length: %d\r\n\r\n" % len(body)).encode()
slow_body = []
for _ in range(SLOW_BODY):
    s = connect()
    s.sendall(head)
    slow_body.append((s, time.monotonic()))
slow_head = [connect() for _ in range(SLOW_HEAD)]
idle = [(connect(), time.monotonic()) for _ in range(IDLE)]
print("attack: %d slow-body, %d slow-head and %d idle connections open" % (SLOW_BODY, SLOW_HEAD, IDLE))

stop_dribble = threading.Event()
def dribble():
    line = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    i = 0
    while not stop_dribble.is_set():
        for s, _ in slow_body:
            try:
                s.send(b"\0")
            except OSError:
                pass  # closed by the server: expected
        for s in slow_head:
            try:
                s.send(line[i % len(line):i % len(line) + 1])
            except OSError:
                pass
        i += 1
        stop_dribble.wait(0.5)
dribbler = threading.Thread(target=dribble, daemon=True)
dribbler.start()

# 3. Probes while the attack runs.
time.sleep(0.3)
outcomes, worst = {"200": 0, "503": 0}, 0.0
end = time.monotonic() + 4.0
while time.monotonic() < end:
    try:
        status, _, payload, dt = request("GET", "/healthz", timeout=HEALTHZ_BOUND_S)
    except OSError as e:
        fail("/healthz under load did not answer within %.1f s: %s" % (HEALTHZ_BOUND_S, e))
    if status != 200 or dt > HEALTHZ_BOUND_S:
        fail("/healthz under load: HTTP %d after %.3f s (bound %.1f s)" % (status, dt, HEALTHZ_BOUND_S))
    worst = max(worst, dt)
    outcomes[check_inference(*request("POST", "/v1/infer", body)[:3], allow_busy=True)] += 1
    time.sleep(0.25)
print("under load: /healthz always 200, slowest %.3f s (bound %.1f s); inference: %d x 200, %d x 503 "
      "with Retry-After" % (worst, HEALTHZ_BOUND_S, outcomes["200"], outcomes["503"]))
if outcomes["503"] == 0:
    fail("no 503 while all %d connection slots were held" % 64)
if outcomes["200"] == 0:
    fail("no inference succeeded once the timeouts had freed slots")

# 4. The server's limits cut the attackers.
def read_answer(s, deadline):
    data = b""
    s.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return None
    except OSError:
        pass  # reset: closed
    return data

for s, t0 in slow_body:
    data = read_answer(s, t0 + 3 + 2)
    if data is None:
        fail("a slow-body connection got no answer within --body-timeout + 2 s")
    if not data.startswith(b"HTTP/1.1 408"):
        fail("slow-body connection: expected 408, got %r" % data[:80])
print("slow bodies: %d x 408 within --body-timeout=3 s + 2 s" % SLOW_BODY)
for s, t0 in [(s, 0) for s in slow_head] + idle:
    deadline = (t0 or time.monotonic()) + 6
    data = read_answer(s, deadline)
    if data is None:
        fail("an idle or slow-head connection was still open after 6 s")
print("idle and slow-head connections: all closed by the server within 6 s")
stop_dribble.set()
dribbler.join()
for s, _ in slow_body + idle:
    s.close()
for s in slow_head:
    s.close()

# 5. Recovery.
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for i in range(50):
    c.request("POST", "/v1/infer", body=body, headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    check_inference(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(), allow_busy=False)
c.close()
status, _, _, dt = request("GET", "/healthz")
if status != 200:
    fail("/healthz after the attack: %d" % status)
print("recovered: 50 inferences 200 on one keep-alive connection, /healthz 200 (%.3f s)" % dt)
print("PASSED")
