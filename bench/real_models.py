#!/usr/bin/python3
"""The real trained models (../shared/models/real): what they are made of, host
speed against ONNX Runtime, and modeled latency on each accelerator preset.

For every model folder (and squeezenet's derived_fp32 variant), on its
reference input ref/inputs/*.pb (dynamic dimensions pinned to that input's
shape, as tests/e2e/real_models.py does):
  - ops: the distinct ONNX op types of the model (default domain unless
    prefixed), and nodes -> layers after the engine's optimizer (the
    builder's "N ONNX nodes -> M layers" line);
  - host: the engine's FP32 median latency (trtexec_like --loadEngine
    --iterations=N, "Host Latency ... median") and ONNX Runtime's median on
    the same input at the same intra-op thread count (tools/ort_ref/run.js,
    graph optimization 'all'), in the same run, alternating, and the ratio
    engine / ORT (< 1: the engine is faster);
  - modeled: the device latency of the FP32 engine on each preset
    (edge, gemmini, tpu-v1; "Device Latency (modeled)"), one build per preset.
Prints a Markdown table (the README's) and one line per model that fails to
build or run, with the first error.

Usage: bench/real_models.py [--threads N] [--iterations N] [--repeat N] [--only a,b] [--no-host]
Environment: TRTEXEC_LIKE (default build/bin/trtexec_like).
Needs a build (bash scripts/build.sh) and onnxruntime-node (tools/ort_ref/setup.sh,
run here when missing). Exits 0 with a SKIPPED line when ../shared is absent.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
PRESETS = ["edge", "gemmini", "tpu-v1"]


def model_dirs(root):
    out = []
    for d in sorted(glob.glob(os.path.join(root, "*"))):
        if not os.path.isdir(d):
            continue
        out.append(d)
        derived = os.path.join(d, "derived_fp32")
        if os.path.isdir(derived):
            out.append(derived)
    return out


def op_types(model_path):
    m = onnx.load(model_path, load_external_data=False)
    ops = set()
    for n in m.graph.node:
        dom = "" if n.domain in ("", "ai.onnx") else n.domain + "."
        ops.add(dom + n.op_type)
    return sorted(ops)


def run(cmd, timeout=1800, cwd=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout


def first_error(text):
    lines = [l for l in text.splitlines() if "[E]" in l or "FAILED" in l]
    return (lines[0] if lines else text.strip().splitlines()[-1] if text.strip() else "no output")[:200]


def median(text):
    m = re.search(r"^Host Latency: .*median = ([0-9.e+-]+) ms", text, re.M)
    return float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1,
                    help="measurements per side, alternating; the best median is kept")
    ap.add_argument("--only", default="", help="comma-separated model folder names (default: all)")
    ap.add_argument("--no-host", action="store_true",
                    help="modeled figures only: skip the host timing of both runtimes")
    args = ap.parse_args()
    only = set(x for x in args.only.split(",") if x)
    trtexec = os.environ.get("TRTEXEC_LIKE", os.path.join(ROOT, "build", "bin", "trtexec_like"))
    root = os.path.join(SHARED, "models", "real")
    if not os.path.isdir(root):
        print("SKIPPED: %s is absent (the real models live in ../shared)" % root)
        return 0
    if not os.access(trtexec, os.X_OK):
        print("build first: bash scripts/build.sh", file=sys.stderr)
        return 1
    subprocess.run(["bash", os.path.join(ROOT, "tools", "ort_ref", "setup.sh")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print("Machine: %d CPUs, %s; %d intra-op thread(s) on both sides, median of %d runs, best of %d"
          % (os.cpu_count(), cpu, args.threads, args.iterations, args.repeat))
    print()
    header = ("| model | ONNX ops | nodes → layers | host engine (ms) | host ORT (ms) | engine/ORT | "
              + " | ".join("%s (ms, modeled)" % p for p in PRESETS) + " |")
    print(header)
    print("|" + "---|" * (6 + len(PRESETS)))
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in model_dirs(root):
            name = os.path.relpath(d, root)
            if only and name not in only:
                continue
            onnx_files = sorted(glob.glob(os.path.join(d, "*.onnx")))
            ref_dir = os.path.join(d, "ref", "inputs")
            if not onnx_files or not os.path.isdir(ref_dir):
                continue
            model = onnx_files[0]
            ours_inputs, ort_inputs, shapes = [], [], []
            for i, f in enumerate(sorted(glob.glob(os.path.join(ref_dir, "*.pb")))):
                t = onnx.TensorProto()
                with open(f, "rb") as fh:
                    t.ParseFromString(fh.read())
                npy = os.path.join(tmp, "%s_in%d.npy" % (name.replace("/", "_"), i))
                np.save(npy, numpy_helper.to_array(t))
                ours_inputs.append("%s:%s" % (t.name, f))
                ort_inputs += ["--input", "%s=%s" % (t.name, npy)]
                if t.dims:
                    shapes.append("%s:%s" % (t.name, "x".join(str(x) for x in t.dims)))
            common = ["--onnx=" + model]
            if shapes:
                common.append("--shapes=" + ",".join(shapes))
            ops = op_types(model)
            plan = os.path.join(tmp, name.replace("/", "_") + ".plan")
            modeled, layers = {}, "-"
            for preset in PRESETS:
                cmd = [trtexec] + common + ["--hw=" + preset, "--skipInference"]
                if preset == "edge":
                    cmd.append("--saveEngine=" + plan)
                rc, out = run(cmd)
                if rc != 0:
                    modeled[preset] = "FAILED"
                    problems.append("%s (%s build): %s" % (name, preset, first_error(out)))
                    continue
                m = re.search(r"Device Latency \(modeled\): ([0-9.]+) ms", out)
                modeled[preset] = m.group(1) if m else "?"
                n = re.search(r"(\d+) ONNX nodes -> (\d+) layers", out)
                if n and preset == "edge":
                    layers = "%s → %s" % (n.group(1), n.group(2))
            ours = ort = None
            if os.path.exists(plan) and not args.no_host:
                for _ in range(args.repeat):
                    rc, out = run([trtexec, "--loadEngine=" + plan,
                                   "--loadInputs=" + ",".join(ours_inputs),
                                   "--threads=%d" % args.threads,
                                   "--iterations=%d" % args.iterations, "--duration=0",
                                   "--warmUp=200"])
                    v = median(out) if rc == 0 else None
                    if v is None:
                        problems.append("%s (host run): %s" % (name, first_error(out)))
                    elif ours is None or v < ours:
                        ours = v
                    rc, out = run(["node", "run.js", "--model", model] + ort_inputs +
                                  ["--outdir", os.path.join(tmp, "ort"), "--threads",
                                   str(args.threads), "--iterations", str(args.iterations),
                                   "--warmup", "5"], cwd=os.path.join(ROOT, "tools", "ort_ref"))
                    m = re.search(r'"median_ms":([0-9.e+-]+)', out)
                    if m is None:
                        problems.append("%s (ORT): %s" % (name, out.strip().splitlines()[-1][:200]
                                                          if out.strip() else "no output"))
                    elif ort is None or float(m.group(1)) < ort:
                        ort = float(m.group(1))
            fmt = lambda v: "%.2f" % v if v is not None else "-"
            ratio = "%.2f" % (ours / ort) if ours and ort else "-"
            print("| %s | %d: %s | %s | %s | %s | %s | %s |" % (
                name, len(ops), ", ".join(ops), layers, fmt(ours), fmt(ort), ratio,
                " | ".join(modeled.get(p, "-") for p in PRESETS)))
            sys.stdout.flush()
    print()
    print("Host: FP32 engine vs ONNX Runtime (onnxruntime-node), same input, same thread count, "
          "same run. Modeled: FP32 engine, one inference, per preset (not a host measurement).")
    for p in problems:
        print("PROBLEM " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
