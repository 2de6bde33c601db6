#!/usr/bin/python3
"""ResNet-50 with a dynamic batch (docs/dynamic_shapes.md): one plan over batch
1..8, its modeled device latency per batch (the covering shape bucket's
program) and host throughput vs batch size, plus what the buckets cost.

Builds models/generate.py's resnet50_dynamic once with --minShapes=1 /
--optShapes=4 / --maxShapes=8 (x3x224x224) and --shapeBuckets, then runs the
plan with --loadEngine --shapes=input:Bx3x224x224 for each batch B
(--iterations N, --threads T): "Dynamic shapes: ... shape bucket ... modeled
latency" and "Host Latency ... median". For the batches that are not a bucket
it also builds a fixed-shape engine at exactly that batch (--shapes,
--skipInference) and prints its modeled latency: how far the bucket's program
is from an exact-shape compile. Last, plan size and build time of the dynamic
plan against one fixed-shape plan.
Prints a Markdown table (the README's).

Usage: bench/dynamic_batch.py [--batches 1,2,3,4,8] [--buckets 5] [--iterations 5] [--threads N]
Environment: TRTEXEC_LIKE (default build/bin/trtexec_like).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRT = os.environ.get("TRTEXEC_LIKE", os.path.join(ROOT, "build", "bin", "trtexec_like"))


def run(args):
    p = subprocess.run([TRT] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"trtexec_like {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", default="1,2,3,4,8")
    ap.add_argument("--buckets", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "models", "generate.py"), "--out",
                        os.path.join(ROOT, "models", "out"), "resnet50_dynamic"], check=True,
                       capture_output=True)
        model = os.path.join(ROOT, "models", "out", "resnet50_dynamic.onnx")
        plan = os.path.join(work, "dyn.plan")
        t0 = time.time()
        run([f"--onnx={model}", "--minShapes=input:1x3x224x224", "--optShapes=input:4x3x224x224",
             "--maxShapes=input:8x3x224x224", f"--shapeBuckets={args.buckets}",
             f"--saveEngine={plan}", "--skipInference"])
        dyn_build_s = time.time() - t0
        fixed_plan = os.path.join(work, "fixed.plan")
        t0 = time.time()
        fixed_out = run([f"--onnx={model}", "--shapes=input:8x3x224x224",
                         f"--saveEngine={fixed_plan}", "--skipInference"])
        fixed_build_s = time.time() - t0
        print(f"Machine: {os.cpu_count()} CPUs; host threads {args.threads}; "
              f"median of {args.iterations} iterations")
        print()
        print("| batch | shape bucket | modeled latency (bucket) | modeled latency (exact-shape compile) "
              "| modeled images/s | host median | host images/s |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for b in batches:
            out = run([f"--loadEngine={plan}", f"--shapes=input:{b}x3x224x224",
                       f"--iterations={args.iterations}", "--duration=0", "--warmUp=0",
                       f"--threads={args.threads}"])
            m = re.search(r"shape bucket (\d+) \(input:(\d+)x[^)]*\): modeled latency ([0-9.]+) ms", out)
            host = re.search(r"^Host Latency: .*median = ([0-9.e+-]+) ms", out, re.M)
            bucket_batch, modeled = int(m.group(2)), float(m.group(3))
            if bucket_batch == b:
                exact = modeled
            else:
                e = run([f"--onnx={model}", f"--shapes=input:{b}x3x224x224", "--skipInference"])
                exact = float(re.search(r"Device Latency \(modeled\): ([0-9.]+) ms", e).group(1))
            host_ms = float(host.group(1))
            print(f"| {b} | {bucket_batch} | {modeled:.3f} ms | {exact:.3f} ms | "
                  f"{1000.0 * b / modeled:.0f} | {host_ms:.1f} ms | {1000.0 * b / host_ms:.1f} |")
        print()
        print(f"Plan: dynamic (1..8, {args.buckets} buckets) {os.path.getsize(plan) / 1e6:.1f} MB, "
              f"built in {dyn_build_s:.1f} s; fixed-shape at batch 8 "
              f"{os.path.getsize(fixed_plan) / 1e6:.1f} MB, built in {fixed_build_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
