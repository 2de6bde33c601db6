#!/usr/bin/env python3
"""Writes a corpus of structured mutations of the ONNX node tests for
onnx_parser_fuzzer, to find, all at once, the crash classes the random fuzzer
finds one at a time: ONNX 1.12's shape inference functions and version
adapters that index an input's dims without checking its rank or that they
are known (RNNShapeInference1, Gemm before opset 7, the Gemm 6->7 adapter;
src/parser/onnx_parser.cc CheckedSchemaRegistry and CheckGemmConvertible).

For every model.onnx of Debian's libonnx-testdata node/ tests, every input
with a shape, and the model's own default-domain opset plus each of
1, 5, 6, 7, 9, 10, 11, 12, 13 below it (ONNX shape inference and the version
converter run on models older than the engine's target opset):
  - the input's rank changed to 0, 1, 2 and rank + 1 (dims kept or padded);
  - its last dim 0, every dim 2^40, every dim -3.
Models with the same set of op types and the same mutation are written once.

Usage:
  /usr/bin/python3 fuzz/mutate_node_tests.py OUT_DIR
  build-fuzz/bin/onnx_parser_fuzzer -runs=0 -rss_limit_mb=4096 OUT_DIR
(scripts/run_fuzz.sh builds build-fuzz/.) libFuzzer stops at the first crash
and names the input; fix it, add the input to tests/data/fuzz_regressions/onnx/
and run again. Found by this on 2026-12-07: 7 inputs, two Gemm bugs.
"""
import copy
import glob
import os
import sys

import onnx

TESTDATA = "/usr/share/libonnx-testdata/data/node"
OLDER_OPSETS = (1, 5, 6, 7, 9, 10, 11, 12, 13)


def default_opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return None


def mutations(dims):
    """(tag, new dims) pairs for an input of shape `dims`."""
    for r in sorted({0, 1, 2, len(dims) + 1} - {len(dims)}):
        yield "r%d" % r, (dims + [2] * 8)[:r] if r <= len(dims) else dims + [1] * (r - len(dims))
    if dims:
        yield "zero", dims[:-1] + [0]
        yield "huge", [1 << 40] * len(dims)
        yield "neg", [-3] * len(dims)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if not os.path.isdir(TESTDATA):
        sys.exit("SKIPPED: %s not found (Debian package libonnx-testdata)" % TESTDATA)
    seen, written = set(), 0
    for path in sorted(glob.glob(os.path.join(TESTDATA, "*", "model.onnx"))):
        name = os.path.basename(os.path.dirname(path))
        try:
            model = onnx.load(path)
        except Exception:  # noqa: BLE001 - a test model the library cannot read
            continue
        own = default_opset(model)
        if own is None:
            continue
        ops = tuple(sorted({n.op_type for n in model.graph.node}))
        opsets = sorted({own} | {v for v in OLDER_OPSETS if v < own})
        for i, inp in enumerate(model.graph.input):
            tt = inp.type.tensor_type
            if not inp.type.HasField("tensor_type") or not tt.HasField("shape"):
                continue
            dims = [d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim]
            for tag, new_dims in mutations(dims):
                for opset in opsets:
                    key = (ops, i, tag, opset)
                    if key in seen:
                        continue
                    seen.add(key)
                    m = copy.deepcopy(model)
                    for o in m.opset_import:
                        if o.domain in ("", "ai.onnx"):
                            o.version = opset
                    shape = m.graph.input[i].type.tensor_type.shape
                    del shape.dim[:]
                    for d in new_dims:
                        shape.dim.add().dim_value = d
                    with open(os.path.join(out, "%s__in%d_%s_op%d.onnx" % (name, i, tag, opset)),
                              "wb") as f:
                        f.write(m.SerializeToString())
                    written += 1
    print("%d models written to %s" % (written, out))


if __name__ == "__main__":
    main()
