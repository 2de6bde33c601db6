#!/usr/bin/python3
"""Top-1 of the two real ImageNet classifiers against ONNX Runtime (issue 17).

On the 450 labelled photos of ../shared/datasets/imagenet_sample_450 (read in
place), for SqueezeNet 1.0 (fp16 weights and I/O, Caffe preprocessing) and
ShuffleNet v2 QDQ (int8, torchvision preprocessing):

 1. the engine's top-1: trtexec_like --evalData (its own JPEG decoding and
    --preprocess), default build (FP32 for SqueezeNet; the QDQ model is an
    INT8 engine by explicit quantization, with the model's scales);
 2. ONNX Runtime's top-1 on the very same tensors: dump_dataset writes the
    samples exactly as --evalData reads them, tools/ort_ref/run.js --stacked
    runs them in one session, at ORT's default optimization level and with
    graph optimizations disabled (the nodes as written).

Asserted, for each model:
 - |engine - ORT_STATED| <= 0.5 points: issue 17's criterion. ORT_STATED is
   ONNX Runtime 1.20.1's figure in ../shared/models/real/SOURCES.md ("ONNX
   Runtime check"), measured on PIL-decoded images (SqueezeNet: 60.89 %,
   274/450, which ORT reproduces exactly on PIL 9.4-decoded tensors;
   ShuffleNet: 78.44 %, 353/450, where PIL 9.4 decoding gives ORT 77.56 %,
   349/450: this QDQ model's top-1 moves by a few images with the JPEG
   decoder and the arithmetic).
 - |engine - ORT as written (opt-level disabled), same tensors| <= 0.5.
ORT at its default level on the same tensors is printed, not asserted, for
the QDQ model: there ORT fuses DequantizeLinear -> Conv -> QuantizeLinear into
integer QLinearConv kernels, whose exact int32 arithmetic rounds pre-quantized
values within ~1e-6 of a .5 tie differently from the float32 Conv that ONNX's
QDQ semantics (and ORT itself with optimizations off) compute; the one-step
differences propagate and flip a few predictions. On the engine-decoded
tensors ORT's own two levels differ by 0.67 points (351 vs 348 of 450), more
than the 0.5 bound, and the engine equals ORT's unoptimized run on all 450
predictions. For SqueezeNet the default-level figure is asserted as well.

Skipped (exit 0, "SKIPPED: ...") when ../shared is absent; without node /
onnxruntime-node only the stated figures are checked. About 1.5 minutes on 2
cores.

Usage: imagenet_top1.py <trtexec_like> <dump_dataset> <source_dir> <shared_dir> <work_dir>
"""
import os
import re
import subprocess
import sys

import numpy as np

TOLERANCE = 0.5  # points of top-1 accuracy

MODELS = [
    # name, model path under models/real, preprocess, ORT's stated top-1 (SOURCES.md),
    # input dtype ORT takes, assert ORT's default level too
    ("squeezenet1.0-fp16-winml", "squeezenet1.0-fp16-winml/SqueezeNet_fp16.onnx",
     "caffe", 60.89, np.float16, True),
    ("shufflenet-v2-12-qdq", "shufflenet-v2-12-qdq/shufflenet-v2-12-qdq.onnx",
     "imagenet", 78.44, np.float32, False),
]


def run(cmd, log):
    with open(log, "w") as fh:
        r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
    with open(log) as fh:
        text = fh.read()
    return r.returncode, text


def ort_available(ort_runner):
    try:
        r = subprocess.run(["node", "-e", "require('onnxruntime-node')"],
                           cwd=os.path.dirname(ort_runner), capture_output=True, text=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    lines = [l for l in r.stderr.splitlines() if l.startswith("Error")]
    return r.returncode == 0, lines[0] if lines else r.stderr.strip()[-200:]


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    trtexec, dumper, src, shared, work = sys.argv[1:6]
    data = os.path.join(shared, "datasets", "imagenet_sample_450")
    labels = os.path.join(data, "labels.csv")
    root = os.path.join(shared, "models", "real")
    if not os.path.isfile(labels) or not os.path.isdir(root):
        print("SKIPPED: %s or %s is absent (the real models and photos live in ../shared)"
              % (labels, root))
        return 0
    ort_runner = os.path.join(src, "tools", "ort_ref", "run.js")
    have_ort, why = ort_available(ort_runner)
    if not have_ort:
        print("NOTE: ONNX Runtime (node, onnxruntime-node) is not available (%s; run "
              "tools/ort_ref/setup.sh or set NODE_PATH): checking against the stated figures "
              "only" % why)
    os.makedirs(work, exist_ok=True)

    failures = []
    print("%-26s %9s %12s %14s %12s" % ("model", "engine", "ORT stated", "ORT (same in)",
                                         "ORT as written"))
    for name, rel, pp, stated, ort_dtype, assert_default in MODELS:
        model = os.path.join(root, rel)
        wd = os.path.join(work, name)
        os.makedirs(wd, exist_ok=True)

        # 1. The engine, through the user's path.
        cmd = [trtexec, "--onnx=" + model, "--evalData=" + data, "--evalLabels=" + labels,
               "--preprocess=" + pp, "--iterations=1", "--warmUp=0", "--duration=0"]
        rc, out = run(cmd, os.path.join(wd, "engine.log"))
        m = re.search(r"top-1 accuracy: ([0-9.]+)% \((\d+) images\)", out)
        if rc != 0 or not m or int(m.group(2)) != 450:
            failures.append("%s: engine evaluation failed (%s):\n%s" % (name, " ".join(cmd),
                                                                        out[-2000:]))
            continue
        engine_top1 = float(m.group(1))
        if not have_ort:
            print("%-26s %8.2f%% %11.2f%% %13s %14s" % (name, engine_top1, stated, "-", "-"))
            if abs(engine_top1 - stated) > TOLERANCE + 1e-9:
                failures.append("%s: engine top-1 %.2f%% is %.2f points from ORT's stated "
                                "figure %.2f%% (bound %.1f)"
                                % (name, engine_top1, abs(engine_top1 - stated), stated,
                                   TOLERANCE))
            continue

        # 2. ONNX Runtime on the same tensors.
        stack = os.path.join(wd, "inputs.npy")
        names = os.path.join(wd, "names.txt")
        rc, out = run([dumper, data, pp, "3", "224", "224", stack, names],
                      os.path.join(wd, "dump.log"))
        if rc != 0:
            failures.append("%s: dump_dataset failed:\n%s" % (name, out[-2000:]))
            continue
        with open(names) as fh:
            label = np.array([int(line.split()[-1]) for line in fh if line.strip()])
        if ort_dtype != np.float32:
            np.save(stack, np.load(stack).astype(ort_dtype))
        input_name = "data_0" if pp == "caffe" else "input"
        ort_top1 = {}
        for level in ("all", "disabled"):
            outdir = os.path.join(wd, "ort_" + level)
            rc, out = run(["node", ort_runner, "--model", model, "--input",
                           "%s=%s" % (input_name, stack), "--outdir", outdir, "--stacked",
                           "--opt-level", level, "--threads", "2"],
                          os.path.join(wd, "ort_%s.log" % level))
            npys = [f for f in os.listdir(outdir) if f.endswith(".npy")] if rc == 0 else []
            if len(npys) != 1:
                failures.append("%s: ONNX Runtime (%s) failed:\n%s" % (name, level, out[-2000:]))
                break
            logits = np.load(os.path.join(outdir, npys[0])).astype(np.float32)
            pred = logits.reshape(len(label), -1).argmax(axis=1)
            ort_top1[level] = 100.0 * float((pred == label).sum()) / len(label)
        if len(ort_top1) != 2:
            continue

        print("%-26s %8.2f%% %11.2f%% %13.2f%% %11.2f%%" % (
            name, engine_top1, stated, ort_top1["all"], ort_top1["disabled"]))
        checks = [("ORT's stated figure (SOURCES.md)", stated),
                  ("ORT as written (opt-level disabled) on the same tensors",
                   ort_top1["disabled"])]
        if assert_default:
            checks.append(("ORT (default level) on the same tensors", ort_top1["all"]))
        for what, ref in checks:
            if abs(engine_top1 - ref) > TOLERANCE + 1e-9:
                failures.append("%s: engine top-1 %.2f%% is %.2f points from %s %.2f%% (bound %.1f)"
                                % (name, engine_top1, abs(engine_top1 - ref), what, ref,
                                   TOLERANCE))

    for f in failures:
        print("FAIL " + f)
    if failures:
        return 1
    print("PASS: both classifiers within %.1f points of ONNX Runtime's top-1%s"
          % (TOLERANCE, "" if have_ort else " (stated figures only)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
