#!/usr/bin/python3
"""Build one model for several accelerator presets and plot the modeled
latency and energy of every layer (issue 22).

For each hardware spec (default: the presets edge, gemmini, tpu-v1) the model
is built (FP32; --int8 calibrates on the ImageNet photos with the engine's
DatasetCalibrator), the plan is loaded and its modeled device profile read
(Engine.device_profile: per layer cycles, time in ms at the preset's clock,
energy in pJ). Prints one line per preset (latency, energy, utilization) and
saves a PNG with two panels: per-layer latency (ms) and per-layer energy (uJ),
one bar per preset, layers in execution order.

Usage (after the README's set-up and build):
  PYTHONPATH=build/python /usr/bin/python3 examples/python/compare_hw.py \
      [--model M.onnx] [--hw edge --hw gemmini ...] [--int8] [--out compare_hw.png]
Default model: SqueezeNet 1.0 from ../shared (mnist-8 when only it is there).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import engine  # PYTHONPATH=build/python
except ImportError:  # run from a source tree built by scripts/build.sh
    sys.path.insert(0, os.path.join(HERE, "..", "..", "build", "python"))
    import engine  # noqa: E402

DEFAULT_SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared"))
CANDIDATES = ["models/real/squeezenet1.0-fp16-winml/derived_fp32/SqueezeNet_fp16_as_fp32.onnx",
              "models/mnist/mnist-8.onnx"]


def short(name, n=28):
    """A layer name short enough for an axis label (fused layers join names with ' + ')."""
    name = name.split(" + ")[0]
    return name if len(name) <= n else name[:n - 1] + "~"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="ONNX model (default: SqueezeNet or mnist-8 from --shared)")
    ap.add_argument("--shared", default=DEFAULT_SHARED)
    ap.add_argument("--hw", action="append", help="hardware spec, repeatable (default: every preset)")
    ap.add_argument("--int8", action="store_true", help="INT8, calibrated on 50 ImageNet photos")
    ap.add_argument("--out", default="compare_hw.png", help="PNG written (default compare_hw.png)")
    args = ap.parse_args()

    model = args.model
    if model is None:
        found = [os.path.join(args.shared, c) for c in CANDIDATES
                 if os.path.exists(os.path.join(args.shared, c))]
        if not found:
            print("SKIPPED: no model found under %s (pass --model or --shared)" % args.shared)
            return 0
        model = found[0]
    specs = args.hw or engine.hardware_presets()

    builder = engine.Builder()
    profiles = []
    for spec in specs:
        config = engine.BuilderConfig()
        config.hardware = spec
        if args.int8:
            photos = os.path.join(args.shared, "datasets/imagenet_sample_450")
            config.precision = "int8"
            config.calibrator = engine.DatasetCalibrator(photos, preprocess="caffe", limit=50)
        plan, _ = builder.build(model, config)
        eng = engine.Runtime.deserialize(plan)
        prof = eng.device_profile
        profiles.append((eng.hardware.name, prof))
        print("%-8s %8.3f ms %10.1f uJ  utilization %5.1f%%  %d layers  | %s" % (
            eng.hardware.name, prof["latency_ms"], prof["energy_pj"] / 1e6,
            100 * prof["utilization"], len(prof["layers"]), eng.hardware.summary))

    # Layers that do device work (views take no time), in execution order of the first build.
    names = [l["name"] for l in profiles[0][1]["layers"] if l["unit"] != "view"]
    fig, (ax_t, ax_e) = plt.subplots(2, 1, figsize=(max(10, 0.28 * len(names) + 3), 8), sharex=True)
    width = 0.8 / len(profiles)
    x = np.arange(len(names))
    for k, (hw, prof) in enumerate(profiles):
        by_name = {l["name"]: l for l in prof["layers"]}
        t = [by_name[n]["time_ms"] if n in by_name else 0.0 for n in names]
        e = [by_name[n]["energy_pj"] / 1e6 if n in by_name else 0.0 for n in names]
        label = "%s (%.2f ms, %.0f uJ)" % (hw, prof["latency_ms"], prof["energy_pj"] / 1e6)
        ax_t.bar(x + k * width, t, width, label=label)
        ax_e.bar(x + k * width, e, width, label=label)
    ax_t.set_ylabel("modeled latency per layer (ms)")
    ax_e.set_ylabel("modeled energy per layer (uJ)")
    ax_t.set_yscale("log")
    ax_e.set_yscale("log")
    ax_t.legend(fontsize=8)
    ax_t.set_title("%s (%s): per-layer latency and energy on the modeled accelerators" % (
        os.path.basename(model), "int8" if args.int8 else "fp32"))
    ax_e.set_xticks(x + 0.4 - width / 2)
    ax_e.set_xticklabels([short(n) for n in names], rotation=90, fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print("wrote %s (%d layers x %d presets)" % (args.out, len(names), len(profiles)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
