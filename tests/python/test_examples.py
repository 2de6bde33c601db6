"""The Python examples run (on a reduced workload) and print / save what the
README says: examples/python/calibrate_and_run.py and compare_hw.py."""
import os
import re
import subprocess
import sys
import tempfile

import pytest

from conftest import SHARED, SOURCE_DIR, require

EXAMPLES = os.path.join(SOURCE_DIR, "examples", "python")


def run(script, *args, cwd=None):
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                       env=dict(os.environ, MPLBACKEND="Agg"))
    assert r.returncode == 0, r.stdout
    return r.stdout


def test_calibrate_and_run():
    require(os.path.join(SHARED, "models", "real", "squeezenet1.0-fp16-winml"), "SqueezeNet")
    require(os.path.join(SHARED, "datasets", "imagenet_sample_450"), "the ImageNet photos")
    out = run("calibrate_and_run.py", "--shared", SHARED, "--calib", "10", "--images", "40")
    print(out)
    assert "Read 40 photos (3, 224, 224) float32" in out
    assert "[calibrator] 10 photos, batches of 1 for input data_0 (1, 3, 224, 224)" in out
    assert "Calibration (entropy): 10 batches" in out
    assert re.search(r"INT8: 70 ONNX nodes -> \d+ layers \{'int8': \d+", out)
    m = re.search(r"top-1 on 40 photos: FP32 ([0-9.]+)% \((\d+)\), INT8 ([0-9.]+)% \((\d+)\); "
                  r"agreement INT8 vs FP32 ([0-9.]+)%", out)
    assert m, out
    assert int(m.group(2)) >= 15 and int(m.group(4)) >= 15  # ~60% top-1 on the sample
    assert float(m.group(5)) >= 75
    assert re.search(r"modeled speed-up of INT8 on edge: [0-9.]+x latency", out)


def test_compare_hw_writes_a_png():
    model = os.path.join(SHARED, "models", "mnist", "mnist-8.onnx")
    require(model, "mnist-8.onnx")
    with tempfile.TemporaryDirectory() as d:
        png = os.path.join(d, "hw.png")
        out = run("compare_hw.py", "--model", model, "--hw", "edge", "--hw", "gemmini,clock=500",
                  "--out", png)
        print(out)
        lines = [l for l in out.splitlines() if re.match(r"^(edge|gemmini) +[0-9.]+ ms", l)]
        assert len(lines) == 2, out
        assert "500 MHz" in lines[1]
        assert re.search(r"wrote .*hw\.png \(\d+ layers x 2 presets\)", out)
        with open(png, "rb") as f:
            head = f.read(8)
        assert head == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(png) > 10000
