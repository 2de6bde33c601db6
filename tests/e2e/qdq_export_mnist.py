#!/usr/bin/python3
"""--exportQdq of the calibrated mnist-8 runs in ONNX Runtime (issue 20, part 5).

 1. trtexec_like builds mnist-8 as an INT8 engine calibrated on the first 1,000
    MNIST test digits (--calibData, --preprocess=raw, entropy), writes its
    quantization as a QDQ ONNX model (--exportQdq) and evaluates the INT8
    engine on the 10,000 test digits (--evalData/--evalLabels): top-1 E.
 2. The exported QDQ model built again by the engine (explicit quantization,
    no --int8): the round trip must give the same number of int8 layers and
    the same top-1 as E (the same INT8 layers: tests/e2e/
    explicit_quantization_test.cc checks them layer by layer).
 3. ONNX Runtime (tools/ort_ref/run.js, default optimization level, 2
    threads) runs the exported model on the very tensors the engine read
    (dump_dataset): top-1 O. Asserted: |O - E| <= 0.1 points.

Skipped (exit 0, "SKIPPED: ...") when ../shared is absent; without node /
onnxruntime-node only steps 1-2 run (with a NOTE). About 30 s on 2 cores.

Usage: qdq_export_mnist.py <trtexec_like> <dump_dataset> <source_dir> <shared_dir> <work_dir>
"""
import gzip
import os
import re
import subprocess
import sys

import numpy as np

TOLERANCE = 0.1  # points of top-1 accuracy


def run(cmd, log):
    with open(log, "w") as fh:
        r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
    with open(log) as fh:
        return r.returncode, fh.read()


def top1_of(text):
    m = re.search(r"top-1 accuracy: ([0-9.]+)% \((\d+) images\)", text)
    return (float(m.group(1)), int(m.group(2))) if m else (None, 0)


def int8_layers_of(text):
    m = re.search(r"Layer precisions: (\d+) int8, (\d+) fp32", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    trtexec, dumper, src, shared, work = sys.argv[1:6]
    model = os.path.join(shared, "models", "mnist", "mnist-8.onnx")
    images = os.path.join(shared, "datasets", "mnist_test", "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(shared, "datasets", "mnist_test", "t10k-labels-idx1-ubyte.gz")
    if not all(os.path.isfile(p) for p in (model, images, labels)):
        print("SKIPPED: mnist-8 or the MNIST test set is absent under %s" % shared)
        return 0
    os.makedirs(work, exist_ok=True)
    qdq = os.path.join(work, "mnist-8.qdq.onnx")
    calib = os.path.join(work, "mnist-8.calib")
    if os.path.exists(calib):
        os.remove(calib)
    failures = []

    # 1. Calibrated INT8 engine, export, evaluation.
    rc, out = run([trtexec, "--onnx=" + model, "--int8", "--calibData=" + images,
                   "--calibImages=1000", "--preprocess=raw", "--exportQdq=" + qdq,
                   "--evalData=" + images, "--evalLabels=" + labels, "--iterations=1",
                   "--warmUp=0", "--duration=0"], os.path.join(work, "int8.log"))
    engine_top1, n = top1_of(out)
    if rc != 0 or engine_top1 is None or n != 10000 or not os.path.isfile(qdq):
        print("FAIL INT8 build/export/evaluation:\n" + out[-3000:])
        return 1
    int8_counts = int8_layers_of(out)

    # 2. Round trip: the exported model as explicit quantization.
    rc, out = run([trtexec, "--onnx=" + qdq, "--evalData=" + images, "--evalLabels=" + labels,
                   "--preprocess=raw", "--iterations=1", "--warmUp=0", "--duration=0"],
                  os.path.join(work, "roundtrip.log"))
    rt_top1, n = top1_of(out)
    if rc != 0 or rt_top1 is None or n != 10000:
        failures.append("round trip build/evaluation failed:\n" + out[-3000:])
    else:
        rt_counts = int8_layers_of(out)
        if rt_counts != int8_counts:
            failures.append("round trip layer precisions %s differ from the INT8 build's %s"
                            % (rt_counts, int8_counts))
        if rt_top1 != engine_top1:
            failures.append("round trip top-1 %.2f%% differs from the INT8 engine's %.2f%%"
                            % (rt_top1, engine_top1))

    # 3. ONNX Runtime on the exported model.
    ort_runner = os.path.join(src, "tools", "ort_ref", "run.js")
    r = subprocess.run(["node", "-e", "require('onnxruntime-node')"],
                       cwd=os.path.dirname(ort_runner), capture_output=True, text=True)
    ort_top1 = None
    if r.returncode != 0:
        print("NOTE: ONNX Runtime (node, onnxruntime-node) is not available: the exported model "
              "is not run in ORT (run tools/ort_ref/setup.sh or set NODE_PATH)")
    else:
        stack = os.path.join(work, "inputs.npy")
        names = os.path.join(work, "names.txt")
        rc, out = run([dumper, images, "raw", "1", "28", "28", stack, names],
                      os.path.join(work, "dump.log"))
        outdir = os.path.join(work, "ort")
        if rc == 0:
            rc, out = run(["node", ort_runner, "--model", qdq, "--input", "Input3=" + stack,
                           "--outdir", outdir, "--stacked", "--threads", "2"],
                          os.path.join(work, "ort.log"))
        npys = [f for f in os.listdir(outdir) if f.endswith(".npy")] if rc == 0 else []
        if len(npys) != 1:
            failures.append("ONNX Runtime on the exported model failed:\n" + out[-3000:])
        else:
            with gzip.open(labels, "rb") as fh:
                label = np.frombuffer(fh.read()[8:], dtype=np.uint8).astype(np.int64)
            logits = np.load(os.path.join(outdir, npys[0])).reshape(len(label), -1)
            ort_top1 = 100.0 * float((logits.argmax(axis=1) == label).sum()) / len(label)
            if abs(ort_top1 - engine_top1) > TOLERANCE + 1e-9:
                failures.append("ORT top-1 %.2f%% on the exported model is %.2f points from "
                                "the INT8 engine's %.2f%% (bound %.1f)"
                                % (ort_top1, abs(ort_top1 - engine_top1), engine_top1, TOLERANCE))
    print("mnist-8 INT8 engine top-1 %.2f%%, round trip (explicit) %s, ORT on the QDQ export %s"
          % (engine_top1, "-" if rt_top1 is None else "%.2f%%" % rt_top1,
             "-" if ort_top1 is None else "%.2f%%" % ort_top1))
    for f in failures:
        print("FAIL " + f)
    if failures:
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
