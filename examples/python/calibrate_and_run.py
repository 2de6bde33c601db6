#!/usr/bin/python3
"""INT8 from Python: a custom calibrator over the ImageNet photos, an INT8
build, and its accuracy against the FP32 engine (issue 22).

Model: SqueezeNet 1.0 (ImageNet, Caffe preprocessing: resize 256, centre crop
224, BGR, 0..255 minus the per-channel mean), from ../shared/models/real.
Photos: ../shared/datasets/imagenet_sample_450 (450 labelled photos,
labels.csv), decoded and preprocessed by the engine (engine.load_dataset, the
same as trtexec_like --evalData --preprocess=caffe).

Prints the FP32 and INT8 builds (layers, precisions, calibration), top-1 of
both engines on the photos, their top-1 agreement, the modeled latency and
energy of one inference on the accelerator, and the host time per image.
About a minute on 2 cores.

Usage (after the README's set-up and build):
  PYTHONPATH=build/python /usr/bin/python3 examples/python/calibrate_and_run.py \
      [--shared ../shared] [--calib 100] [--images 450] [--hw edge]
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import engine  # PYTHONPATH=build/python
except ImportError:  # run from a source tree built by scripts/build.sh
    sys.path.insert(0, os.path.join(HERE, "..", "..", "build", "python"))
    import engine  # noqa: E402

DEFAULT_SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = "models/real/squeezenet1.0-fp16-winml/derived_fp32/SqueezeNet_fp16_as_fp32.onnx"
PHOTOS = "datasets/imagenet_sample_450"


class PhotoCalibrator(engine.Calibrator):
    """Feeds preprocessed photos [S, 3, 224, 224] (float32, NCHW) one engine
    batch at a time, as TensorRT's IInt8EntropyCalibrator2.get_batch does."""

    def __init__(self, photos):
        self.photos = photos
        self.next = 0

    def begin(self, inputs):
        # inputs: the engine inputs; dimension 0 of the shape is the batch size N.
        (self.input,) = inputs
        self.batch = self.input.shape[0]
        print("[calibrator] %d photos, batches of %d for input %s %s" % (
            len(self.photos), self.batch, self.input.name, self.input.shape))

    def batch_count(self):
        return -(-len(self.photos) // self.batch)

    def get_batch(self):
        if self.next >= len(self.photos):
            return None  # done
        batch = self.photos[self.next:self.next + self.batch]
        self.next += self.batch
        if len(batch) < self.batch:  # pad the last batch with its last photo
            batch = np.concatenate([batch, np.repeat(batch[-1:], self.batch - len(batch), 0)])
        return {self.input.name: batch}


def predict(eng, photos):
    """Top-1 class of each photo and the host time per image (ms)."""
    ctx = eng.create_execution_context()
    name, out = eng.inputs[0].name, eng.outputs[0].name
    preds = np.empty(len(photos), dtype=np.int64)
    t = time.perf_counter()
    for i in range(len(photos)):
        preds[i] = int(np.argmax(ctx.execute({name: photos[i:i + 1]})[out]))
    return preds, 1000.0 * (time.perf_counter() - t) / max(1, len(photos))


def describe(tag, eng, result):
    prof = eng.device_profile
    precisions = {}
    for layer in eng.layers:
        precisions[layer["precision"]] = precisions.get(layer["precision"], 0) + 1
    print("%s: %d ONNX nodes -> %d layers %s, plan %d bytes; modeled on %s: %.3f ms, %.1f uJ "
          "per inference" % (tag, result.onnx_nodes, result.engine_layers, precisions,
                             eng.plan_info["plan_bytes"], eng.hardware.name, prof["latency_ms"],
                             prof["energy_pj"] / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=DEFAULT_SHARED, help="the shared data directory")
    ap.add_argument("--calib", type=int, default=100, help="photos used for calibration (the first ones)")
    ap.add_argument("--images", type=int, default=450, help="photos evaluated")
    ap.add_argument("--hw", default="edge", help="hardware spec, e.g. gemmini or edge,clock=1000")
    args = ap.parse_args()

    model = os.path.join(args.shared, MODEL)
    photos_dir = os.path.join(args.shared, PHOTOS)
    for path in (model, photos_dir):
        if not os.path.exists(path):
            print("SKIPPED: %s not found (pass --shared)" % path)
            return 0

    config = engine.BuilderConfig()
    config.hardware = args.hw
    builder = engine.Builder()
    fp32_plan, fp32_result = builder.build(model, config)
    fp32 = engine.Runtime.deserialize(fp32_plan)
    describe("FP32", fp32, fp32_result)

    shape = fp32.inputs[0].shape  # (1, 3, 224, 224)
    t = time.perf_counter()
    photos, labels, names = engine.load_dataset(photos_dir, shape, preprocess="caffe", limit=args.images)
    print("Read %d photos %s float32 in %.1f s (e.g. %s, class %d)" % (
        len(photos), photos.shape[1:], time.perf_counter() - t, names[0], labels[0]))

    config.precision = "int8"
    config.calibrator = PhotoCalibrator(photos[:args.calib])
    int8_plan, int8_result = builder.build(model, config)
    int8 = engine.Runtime.deserialize(int8_plan)
    cal = int8_result.calibration
    print("Calibration (%s): %d batches, %d tensors, %.1f s" % (
        cal["algorithm"], cal["batches"], cal["tensors"], cal["ms"] / 1000))
    kept = [l for l in int8_result.layer_precisions if l["precision"] == "fp32" and l["reason"]]
    for l in kept:
        print("  kept fp32: %s (%s): %s" % (l["layer"], l["type"], l["reason"]))
    describe("INT8", int8, int8_result)

    p32, ms32 = predict(fp32, photos)
    p8, ms8 = predict(int8, photos)
    n = len(photos)
    print("top-1 on %d photos: FP32 %.2f%% (%d), INT8 %.2f%% (%d); agreement INT8 vs FP32 %.2f%%"
          % (n, 100.0 * (p32 == labels).mean(), (p32 == labels).sum(), 100.0 * (p8 == labels).mean(),
             (p8 == labels).sum(), 100.0 * (p8 == p32).mean()))
    print("host time per image: FP32 %.1f ms, INT8 %.1f ms" % (ms32, ms8))
    print("modeled speed-up of INT8 on %s: %.2fx latency, %.2fx less energy" % (
        int8.hardware.name, fp32.device_profile["latency_ms"] / int8.device_profile["latency_ms"],
        fp32.device_profile["energy_pj"] / int8.device_profile["energy_pj"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
