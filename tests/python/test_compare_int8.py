"""trtexec_like --compareInt8's report (issue 23) against a NumPy recomputation
on mnist-8: the CLI compares the FP32 and INT8 engines on the first 100 digits
and exports the table (--exportReport: "int8Comparison"); here the same two
engines (the INT8 one from the CLI's calibration cache), every layer output
marked, run on the same digits from Python, and every accumulated SQNR,
cosine, max error, amax, rms and clipped fraction, and the INT8 top-1, is
recomputed with NumPy. The isolated SQNR of the layer reading the exact model
input equals its accumulated one; further down it is not lower."""
import json
import os
import tempfile

import numpy as np

import engine
from conftest import MNIST_IMAGES, run_cli

EVAL = 100


def sqnr_db(ref, test):
    noise = np.sum((ref - test) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(ref ** 2) / noise)


def outputs(plan, images):
    """Every output of `plan` on each digit, stacked: {name: [N, ...] float64}."""
    eng = engine.Runtime.deserialize(plan)
    ctx = eng.create_execution_context()
    name = eng.inputs[0].name
    runs = [ctx.execute({name: images[i:i + 1]}) for i in range(len(images))]
    return {k: np.concatenate([r[k] for r in runs]).astype(np.float64) for k in runs[0]
            if runs[0][k].dtype == np.float32}


def test_compare_int8_report_matches_numpy(mnist):
    model, images, labels = mnist
    with tempfile.TemporaryDirectory() as d:
        cache = os.path.join(d, "m.cache")
        report = os.path.join(d, "r.json")
        out = run_cli("--onnx=" + model, "--compareInt8", "--calibData=" + MNIST_IMAGES,
                      "--calibImages=200", "--preprocess=raw", "--calib=" + cache,
                      "--evalData=" + MNIST_IMAGES, "--evalImages=%d" % EVAL, "--compareTop=0",
                      "--exportReport=" + report)
        assert "Isolated INT8 errors: 3 engine(s)" in out, out
        with open(report) as f:
            doc = json.load(f)
        cmp = doc["int8Comparison"]
        assert cmp["images"] == EVAL and cmp["isolatedError"] is None

        fp32_cfg = engine.BuilderConfig()
        fp32_cfg.mark_all_outputs = True
        int8_cfg = engine.BuilderConfig()
        int8_cfg.mark_all_outputs = True
        int8_cfg.precision = "int8"
        int8_cfg.calibration_cache = cache  # exists: read, not written
        fp32_plan, _ = engine.Builder().build(model, fp32_cfg)
        int8_plan, _ = engine.Builder().build(model, int8_cfg)
    x = images[:EVAL]
    ref, test = outputs(fp32_plan, x), outputs(int8_plan, x)

    rows = cmp["layers"]
    assert len(rows) >= 6
    for row in rows:
        t = row["tensor"]
        a, b = ref[t], test[t]
        assert row["elements"] == a.size, t
        assert row["sqnrDb"] is not None and abs(row["sqnrDb"] - sqnr_db(a, b)) < 1e-3, t
        cos = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
        assert abs(row["cosine"] - cos) < 1e-6, t
        assert abs(row["maxAbsError"] - np.max(np.abs(a - b))) <= 1e-6 * max(1.0, row["maxAbsError"]), t
        assert abs(row["amax"] - np.max(np.abs(a))) <= 1e-6 * row["amax"], t
        assert abs(row["rms"] - np.sqrt(np.mean(a * a))) <= 1e-6 * row["rms"], t
        if row["scale"] is not None:
            q = a / np.float32(row["scale"])
            clipped = np.mean((q >= 127.5) | (q <= -128.5))
            assert abs(row["clippedFraction"] - clipped) < 1e-12, t
            assert abs(row["dynamicRange"] - 127.0 * row["scale"]) <= 1e-6 * row["dynamicRange"], t

    # The engine's top-1 on those digits, as the report's evaluation says.
    out_name = cmp["modelOutput"]
    int8_top1 = 100.0 * np.mean(np.argmax(test[out_name], axis=1) == labels[:EVAL])
    fp32_top1 = 100.0 * np.mean(np.argmax(ref[out_name], axis=1) == labels[:EVAL])
    assert abs(doc["evaluation"]["top1Percent"] - int8_top1) < 1e-9
    assert abs(cmp["accuracy"]["fp32Top1Percent"] - fp32_top1) < 1e-9

    # Isolated errors: the three INT8 compute layers; the first reads the model
    # input (exact), so alone it computes what the engine computes.
    iso = [r for r in rows if r["isolated"] is not None]
    assert [r["int8Type"] for r in iso] == ["Int8Conv", "Int8Conv", "Int8Gemm"]
    assert rows[0]["inputSqnrDb"] is None and rows[0]["isolated"] is not None
    assert abs(iso[0]["isolated"]["sqnrDb"] - iso[0]["sqnrDb"]) < 0.05
    for r in iso[1:]:
        assert r["isolated"]["sqnrDb"] >= r["sqnrDb"] - 0.05, r["tensor"]
    passthrough = [r for r in rows if r["int8Type"] in ("MaxPool", "Reshape")]
    assert passthrough and all(r["isolatedNote"].startswith("pass-through") for r in passthrough)
