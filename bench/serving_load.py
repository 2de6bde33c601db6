#!/usr/bin/python3
"""Closed-loop load on an engine_server model over the Open Inference
Protocol (binary tensor extension, keep-alive connections): C client threads
each send a request, wait for the answer, repeat, for D seconds after a short
warm-up. Prints one Markdown table row: concurrency, requests, errors,
throughput (inferences/s), p50 / p99 latency (ms), and the histogram of the
execution batch sizes the server reported (X-Batch-Size header), and the
modeled accelerator throughput of those executions: inferences per second of
summed modeled device time, from the server's /metrics
(engine_modeled_device_time_us_total and engine_inference_count_total of the
model, read when the measured window opens and after it closes), so a batch
whose device program amortizes the array's fill and drain shows there.

Usage: serving_load.py PORT MODEL INPUT SHAPE (e.g. 1x3x224x224) --concurrency C
       [--duration 5] [--label TEXT]
Standard library only (http.client); input data random float32.
"""
import argparse
import collections
import http.client
import json
import os
import threading
import time


def modeled(port, model):
    """(modeled device us, inferences) summed over the model's executions so far."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    us = inf = 0.0
    label = f'model="{model}"'
    for line in text.splitlines():
        if label not in line:
            continue
        if line.startswith("engine_modeled_device_time_us_total{"):
            us += float(line.rsplit(" ", 1)[1])
        elif line.startswith("engine_inference_count_total{"):
            inf += float(line.rsplit(" ", 1)[1])
    return us, inf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("shape")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    shape = [int(d) for d in args.shape.split("x")]
    n = 1
    for d in shape:
        n *= d
    data = os.urandom(4 * n)
    # Random bytes may be NaN/Inf as float32: clear each float's top exponent bit.
    data = bytes(b & 0xBF if i % 4 == 3 else b for i, b in enumerate(data))
    header = json.dumps({"inputs": [{"name": args.input, "shape": shape, "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(data)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    body = header + data
    headers = {"Inference-Header-Content-Length": str(len(header)),
               "Content-Type": "application/octet-stream"}
    path = f"/v2/models/{args.model}/infer"
    lock = threading.Lock()
    latencies, batches, errors = [], collections.Counter(), collections.Counter()
    start = time.time()
    measure_from = start + args.warmup
    stop_at = measure_from + args.duration

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
        while True:
            t0 = time.time()
            if t0 >= stop_at:
                break
            try:
                conn.request("POST", path, body, headers)
                r = conn.getresponse()
                r.read()
                status, batch = r.status, r.getheader("X-Batch-Size")
            except (OSError, http.client.HTTPException) as e:
                status, batch = type(e).__name__, None
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
            t1 = time.time()
            if t0 < measure_from:
                continue
            with lock:
                if status == 200:
                    latencies.append(t1 - t0)
                    batches[int(batch)] += 1
                else:
                    errors[status] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, measure_from - time.time()))
    us0, inf0 = modeled(args.port, args.model)
    for t in threads:
        t.join()
    us1, inf1 = modeled(args.port, args.model)
    device = f"{1e6 * (inf1 - inf0) / (us1 - us0):.1f}" if us1 > us0 else "-"
    elapsed = max(time.time(), stop_at) - measure_from
    latencies.sort()

    def pct(p):
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0

    # Executions of each batch size: each answer reports its execution's batch,
    # so an execution of batch b appears in b answers (batch-1 requests).
    hist = " ".join(f"{b}:{round(c / b)}" for b, c in sorted(batches.items()))
    inferences = len(latencies) * shape[0]
    print(f"| {args.label} | {args.concurrency} | {len(latencies)} | "
          f"{sum(errors.values())}{' ' + str(dict(errors)) if errors else ''} | "
          f"{inferences / elapsed:.1f} | {pct(0.50):.1f} | {pct(0.99):.1f} | {hist} | {device} |",
          flush=True)


if __name__ == "__main__":
    main()
