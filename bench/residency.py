#!/usr/bin/env python3
"""Cross-layer residency and prefetch (issue 21): modeled latency, DRAM bytes
and energy per preset, before (--noResidency --noPrefetch --noLayerGroups:
every layer reads and writes DRAM, weights load after the previous layer),
with residency and prefetch only (--noLayerGroups), and with layer groups
(the default), with the physical limit max(ideal-memory compute, compulsory
DRAM bytes / bandwidth) of the ungrouped program.

Usage: python3 bench/residency.py [--presets tpu-v1,edge,gemmini]
           [--models resnet50,mobilenetv2] [--precisions int8,fp32]
           [--branch-order]
--models takes generated model names or paths to .onnx files.
--branch-order: instead, the execution order of independent branches
("branch-order", --noBranchOrder = off) off → on, with everything else on:
whether the order changed and why, the peak of live activation bytes, the
modeled latency, DRAM bytes, energy and scratchpad peak occupancy.
INT8 engines are calibrated on CALIB_IMAGES (default 8) ImageNet images of
../shared/datasets/imagenet_sample_450 (cache per model in a temp dir; another
directory by IMAGENET_SAMPLE_DIR, e.g. from a git worktree whose parent has no
shared/); INT8 rows are skipped with a message when it is absent.
Prints one markdown table (README "Keeping data on chip"), then, for each
configuration above 1.15x its physical limit, trtexec_like's account of why
(the bound and capacity figures of the layers / groups furthest above theirs).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin", "trtexec_like")
IMAGES = os.environ.get("IMAGENET_SAMPLE_DIR",
                        os.path.join(ROOT, "..", "shared", "datasets", "imagenet_sample_450"))


def run(args):
    out = subprocess.run([BIN] + args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"trtexec_like {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    text = out.stdout
    def grab(pattern, cast=float):
        m = re.search(pattern, text)
        if not m:
            sys.exit(f"no '{pattern}' in the output of trtexec_like {' '.join(args)}")
        return cast(m.group(1))
    units = {"B": 1, "KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1 << 20}
    def size(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) * units[m.group(2)]
    energy_unit = {"pJ": 1e-9, "nJ": 1e-6, "uJ": 1e-3, "mJ": 1.0, "J": 1e3}
    m = re.search(r"Energy per inference \(modeled\): ([0-9.e+]+) (\w+) \(compute ([0-9.e+]+) \w+, "
                  r"SRAM ([0-9.e+]+) \w+, DRAM ([0-9.e+]+)", text)
    scale = energy_unit[m.group(2)]
    return {
        "ms": grab(r"Device Latency \(modeled\): ([0-9.]+) ms"),
        "read": size(r"DRAM traffic: ([0-9.]+) (\w+) read"),
        "written": size(r"read, ([0-9.]+) (\w+) written"),
        "energy_mj": float(m.group(1)) * scale,
        "dram_mj": float(m.group(5)) * scale,
        "limit_ratio": grab(r"modeled / limit = ([0-9.]+)x"),
        "limit_cycles": grab(r"Physical limit \(modeled\): ([0-9]+) cycles", int),
        "compulsory": size(r"compulsory DRAM ([0-9.]+) (\w+)"),
        "spad": grab(r"peak occupancy scratchpad ([0-9.]+) %"),
        "branch": (re.search(r"\[I\] Branch order: (.*)", text) or [None, ""])[1],
        # trtexec_like's "Above 1.15x the physical limit" block (empty below it).
        "why": [l for l in text.splitlines()
                if l.startswith("Above ") or l.startswith("  sum over layers")
                or re.match(r"  \+[0-9]+ cycles", l)],
    }


def model_path(model):
    if model.endswith(".onnx"):
        return model, os.path.basename(model)[:-5]
    onnx = os.path.join(ROOT, "models", "out", model + ".onnx")
    if not os.path.exists(onnx):
        subprocess.run([sys.executable, os.path.join(ROOT, "models", "generate.py"), model],
                       check=True, capture_output=True)
    return onnx, model


def counters(line):
    return dict((k, v) for k, v in re.findall(r"([a-z_.-]+)=([0-9]+)", line))


def branch_order(a, tmp):
    print("| preset | model | prec | order | segments reordered / cut | peak live MB off → on | "
          "latency ms off → on | DRAM MB (read + written) off → on | energy mJ off → on | "
          "spad peak % off → on |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in a.models.split(","):
        onnx, name = model_path(model)
        for prec in a.precisions.split(","):
            if prec == "int8" and not os.path.isdir(IMAGES):
                print(f"SKIPPED: {IMAGES} absent: no INT8 rows for {name}")
                continue
            for preset in a.presets.split(","):
                extra = []
                if prec == "int8":
                    # One cache per preset: the fusions the cost model accepts
                    # (so the calibrated tensors) may differ between presets.
                    extra = ["--int8", "--calib=" + os.path.join(tmp, f"{name}.{preset}.cache"),
                             "--calibData=" + IMAGES,
                             "--calibImages=" + os.environ.get("CALIB_IMAGES", "8")]
                base = ["--onnx=" + onnx, "--hw=" + preset, "--skipInference"] + extra
                off = run(base + ["--noBranchOrder"])
                on = run(base)
                c = counters(on["branch"])
                verdict = on["branch"].split(" ")[0]
                if verdict == "kept":
                    verdict += " (" + ", ".join(k[5:] for k in c if k.startswith("kept.")) + ")"
                print(f"| {preset} | {name} | {prec} | {verdict} | "
                      f"{c.get('segments.reordered', '0')} / {c.get('segments', '0')} | "
                      f"{int(c.get('peak-live-bytes.before', 0))/1e6:.2f} → "
                      f"{int(c.get('peak-live-bytes.after', 0))/1e6:.2f} | "
                      f"{off['ms']:.3f} → {on['ms']:.3f} | "
                      f"{(off['read'] + off['written'])/1e6:.2f} → "
                      f"{(on['read'] + on['written'])/1e6:.2f} | "
                      f"{off['energy_mj']:.3f} → {on['energy_mj']:.3f} | "
                      f"{off['spad']:.0f} → {on['spad']:.0f} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="tpu-v1,edge,gemmini")
    ap.add_argument("--models", default="resnet50,mobilenetv2")
    ap.add_argument("--precisions", default="int8,fp32")
    ap.add_argument("--branch-order", action="store_true",
                    help="compare --noBranchOrder with the default instead")
    a = ap.parse_args()
    if not os.access(BIN, os.X_OK):
        sys.exit("build first: bash scripts/build.sh")
    tmp = tempfile.mkdtemp()
    if a.branch_order:
        branch_order(a, tmp)
        return
    why = []
    print("| preset | model | prec | latency ms before → residency → groups | "
          "limit ratio residency → groups | "
          "DRAM read MB before → after | written MB before → after | "
          "energy mJ before → after (DRAM) | spad peak % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in a.models.split(","):
        onnx = os.path.join(ROOT, "models", "out", model + ".onnx")
        if not os.path.exists(onnx):
            subprocess.run([sys.executable, os.path.join(ROOT, "models", "generate.py"), model],
                           check=True, capture_output=True)
        for prec in a.precisions.split(","):
            extra = []
            if prec == "int8":
                if not os.path.isdir(IMAGES):
                    print(f"SKIPPED: {IMAGES} absent: no INT8 rows for {model}")
                    continue
                extra = ["--int8", "--calib=" + os.path.join(tmp, model + ".cache"),
                         "--calibData=" + IMAGES,
                         "--calibImages=" + os.environ.get("CALIB_IMAGES", "8")]
            for preset in a.presets.split(","):
                base = ["--onnx=" + onnx, "--hw=" + preset, "--skipInference"] + extra
                before = run(base + ["--noResidency", "--noPrefetch", "--noLayerGroups"])
                resid = run(base + ["--noLayerGroups"])
                after = run(base)
                # The limit of the ungrouped program: a group's recomputed halo
                # rows and per-band fill and drain raise its own ideal-memory
                # compute, which must not make the ratio look better.
                limit = min(resid["limit_cycles"], after["limit_cycles"])
                ratio = after["limit_ratio"] * after["limit_cycles"] / limit
                print(f"| {preset} | {model} | {prec} | {before['ms']:.3f} → {resid['ms']:.3f} → "
                      f"{after['ms']:.3f} | {resid['limit_ratio']:.2f} → {ratio:.2f} | "
                      f"{before['read']/1e6:.1f} → "
                      f"{after['read']/1e6:.1f} | {before['written']/1e6:.2f} → "
                      f"{after['written']/1e6:.2f} | {before['energy_mj']:.2f} → "
                      f"{after['energy_mj']:.2f} ({before['dram_mj']:.2f} → "
                      f"{after['dram_mj']:.2f}) | {after['spad']:.0f} |", flush=True)
                if after["why"]:
                    why.append(f"{preset} {model} {prec}:")
                    why.extend(after["why"][:5])
    if why:
        print("\nWhy above 1.15x the limit (trtexec_like, layer groups on; top layers / groups):")
        print("```")
        print("\n".join(why))
        print("```")


if __name__ == "__main__":
    main()
