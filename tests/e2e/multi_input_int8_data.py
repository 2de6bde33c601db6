#!/usr/bin/python3
"""INT8 data for networks with several inputs (issue 18, item 4), from the CLI.

Generates bert_small (models/generate.py: inputs input_ids, attention_mask,
token_type_ids; outputs last_hidden_state, logits) and writes 4 seeded token
sequences in one directory as ONNX TensorProto files named
<sample>_<input>.pb (s000_input_ids.pb, s000_attention_mask.pb, ...), then
asserts that
  - `trtexec_like --int8 --calibData=DIR --compareInt8 --evalData=DIR`
    calibrates on and compares over the 4 samples (every input set per
    batch): the --exportReport comparison has one Int8Attention row per block
    (4), top-1 agreement is counted on `logits` (the class-score output, not
    the first output last_hidden_state) over 4 samples, and the logits'
    cosine is >= 0.99;
  - --evalData in the name:path,name2:path2 form (.npy files, one directory
    per input) runs the engine over the 4 samples;
  - a sample missing one input file, and a file that feeds no input, are
    errors naming the directory, the sample / file and the input.
Takes about 10 s of CPU (22 s wall on the shared, loaded machine). Exit status 0
when all pass.

Usage: multi_input_int8_data.py <source dir> <build dir>
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import numpy_helper

SRC, BUILD = sys.argv[1], sys.argv[2]
WORK = os.path.join(BUILD, "test_work", "multi_input_int8_data")
TRT = os.path.join(BUILD, "bin", "trtexec_like")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
SAMPLES, SEQ, BLOCKS = 4, 128, 4
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args):
    p = subprocess.run([TRT, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
subprocess.run(["/usr/bin/python3", os.path.join(SRC, "models", "generate.py"), "--out", WORK,
                "bert_small"], check=True, stdout=subprocess.DEVNULL)
model = os.path.join(WORK, "bert_small.onnx")

rng = np.random.default_rng(18)
data = os.path.join(WORK, "data")
os.makedirs(data)
per_input = {name: os.path.join(WORK, name) for name in INPUTS}
for d in per_input.values():
    os.makedirs(d)
for i in range(SAMPLES):
    ids = rng.integers(1000, 30522, (1, SEQ)).astype(np.int64)
    ids[0, 0] = 101
    length = int(rng.integers(SEQ // 2, SEQ + 1))
    mask = np.ones((1, SEQ), np.int64)
    mask[0, length:] = 0
    types = np.zeros((1, SEQ), np.int64)
    types[0, length // 2:length] = 1
    for name, a in zip(INPUTS, (ids, mask, types)):
        with open(os.path.join(data, f"s{i:03d}_{name}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, name).SerializeToString())
        np.save(os.path.join(per_input[name], f"s{i:03d}.npy"), a)

# One directory for calibration, --compareInt8 and --evalData.
report = os.path.join(WORK, "report.json")
rc, out = run(f"--onnx={model}", "--int8", f"--calibData={data}", "--compareInt8",
              "--compareIsolated=1", f"--evalData={data}", f"--exportReport={report}")
check(rc == 0 and "&&&& PASSED" in out, "one directory: --int8 --calibData --compareInt8 --evalData runs")
check(f"Calibrating on {SAMPLES} samples of input_ids, attention_mask, token_type_ids" in out,
      "calibration reads every input of every sample")
if rc == 0:
    c = json.load(open(report))["int8Comparison"]
    attention = [r for r in c["layers"] if r.get("int8Type") == "Int8Attention"]
    check(len(attention) == BLOCKS, f"{len(attention)} Int8Attention rows (want {BLOCKS})")
    check(c["modelOutput"] == "logits", f"top-1 agreement on {c['modelOutput']} (want logits)")
    check(c["images"] == SAMPLES, f"{c['images']} samples compared (want {SAMPLES})")
    logits = [r for r in c["layers"] if r["tensor"] == "logits"]
    check(len(logits) == 1 and logits[0]["cosine"] >= 0.99,
          f"logits cosine {logits[0]['cosine'] if logits else None} >= 0.99")
    print(f"     logits: cosine {logits[0]['cosine']:.6f}, SQNR {logits[0]['sqnrDb']:.2f} dB, "
          f"top-1 agreement {c['top1AgreementPercent']:.1f}%")

# --evalData as name:path items (a directory of .npy files per input).
spec = ",".join(f"{n}:{d}" for n, d in per_input.items())
rc, out = run(f"--onnx={model}", "--int8", f"--calibData={data}", f"--evalData={spec}")
check(rc == 0 and f"{SAMPLES} samples run" in out and "=== Evaluation on input_ids: " in out,
      "--evalData=name:path,... evaluates over every input")

# Errors: a sample without one input file; a file that feeds no input.
broken = os.path.join(WORK, "broken")
shutil.copytree(data, broken)
os.remove(os.path.join(broken, "s002_attention_mask.pb"))
rc, out = run(f"--onnx={model}", "--int8", f"--calibData={broken}")
check(rc != 0 and f"dataset {broken}: sample 's002' has no file for input 'attention_mask'" in out,
      "a missing input file is an error naming the directory, sample and input")
rc, out = run(f"--onnx={model}", "--int8", f"--calibData={data}", "--compareInt8",
              f"--evalData={broken}")
check(rc != 0 and "--evalData: dataset" in out and "sample 's002'" in out,
      "--evalData names the missing input file too")
# (a .npy file has no tensor name: its file name must say the input)
shutil.copy(os.path.join(per_input["input_ids"], "s000.npy"), os.path.join(data, "s004_ids.npy"))
rc, out = run(f"--onnx={model}", "--int8", f"--calibData={data}")
check(rc != 0 and "file s004_ids.npy feeds no input" in out, "a file that feeds no input is an error")

print("FAILED: " + "; ".join(failures) if failures else "PASSED")
sys.exit(1 if failures else 0)
