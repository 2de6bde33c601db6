#!/usr/bin/python3
"""Closed-loop load through a load balancer with client retries, for
bench/scale_out.sh: C threads send mnist-8 JSON inference requests over
keep-alive connections for D seconds; a request that fails (connection error,
5xx) is retried on a new connection, at most 3 attempts. At --kill-at
seconds, SIGKILL --kill-pid (a replica). Prints a Markdown table: requests
answered 200, retried requests, lost requests (failed 3 times), throughput,
p50/p99 latency (ms, including retries), before and after the kill, then one
line "[load] totals ok=N retried=R lost=L ok_after=A" (tests/e2e/scale_out_haproxy.sh
reads it). Standard library only."""
import argparse
import http.client
import json
import os
import random
import signal
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--kill-pid", type=int, default=0)
    ap.add_argument("--kill-at", type=float, default=4)
    args = ap.parse_args()
    rnd = random.Random(1)
    body = json.dumps({"inputs": [{"name": "Input3", "shape": [1, 1, 28, 28], "datatype": "FP32",
                                   "data": [rnd.uniform(0, 255) for _ in range(784)]}]}).encode()
    headers = {"Content-Type": "application/json"}
    lock = threading.Lock()
    start = time.time()
    kill_time = start + args.kill_at
    stats = {phase: {"ok": 0, "retried": 0, "lost": 0, "lat": []} for phase in ("before", "after")}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        while time.time() < start + args.duration:
            t0 = time.time()
            ok, attempts = False, 0
            while attempts < 3 and not ok:
                attempts += 1
                try:
                    conn.request("POST", "/v2/models/mnist/infer", body, headers)
                    r = conn.getresponse()
                    r.read()
                    ok = r.status == 200
                    if not ok:
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            t1 = time.time()
            phase = "before" if t0 < kill_time else "after"
            with lock:
                s = stats[phase]
                if ok:
                    s["ok"] += 1
                    s["lat"].append(t1 - t0)
                else:
                    s["lost"] += 1
                if attempts > 1:
                    s["retried"] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    if args.kill_pid:
        time.sleep(max(0.0, kill_time - time.time()))
        os.kill(args.kill_pid, signal.SIGKILL)
        print(f"[load] killed replica pid {args.kill_pid} at {time.time() - start:.2f} s")
    for t in threads:
        t.join()
    end = time.time()
    print("| phase | answered 200 | retried | lost | requests/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for phase, span in (("3 replicas", kill_time - start), ("after the kill (2 left)", end - kill_time)):
        s = stats["before" if phase.startswith("3") else "after"]
        lat = sorted(s["lat"])
        p = (lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: 0)
        print(f"| {phase} | {s['ok']} | {s['retried']} | {s['lost']} | {s['ok'] / span:.0f} | "
              f"{p(0.5):.1f} | {p(0.99):.1f} |")
    b, a = stats["before"], stats["after"]
    print(f"[load] totals ok={b['ok'] + a['ok']} retried={b['retried'] + a['retried']} "
          f"lost={b['lost'] + a['lost']} ok_after={a['ok']}")


if __name__ == "__main__":
    main()
