"""Single-op ONNX models of the reductions, search and normalization ops, with
seeded float32 inputs, for reduce_norm_vs_onnxruntime.sh. They cover the forms
the ONNX backend test data of this machine lacks (CumSum in float32,
GroupNormalization 18 and 21, LpNormalization, LpPool, GlobalLpPool, opset-18
reductions with axes inputs, LayerNormalization's three outputs, TopK
smallest, ArgMin with ties and select_last_index).

Usage: reduce_norm_models.py <out dir>; writes <name>.onnx and <name>.X.npy.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

out = sys.argv[1]
rng = np.random.default_rng(3)


def model(name, op, xshape, yshapes, opset, attrs=None, consts=(), ydtypes=None, x=None):
    """One `op` node reading input X and the constants c0, c1, ...; outputs Y0, Y1, ..."""
    inits = [nh.from_array(v, f"c{i}") for i, v in enumerate(consts)]
    ins = ["X"] + [f"c{i}" for i in range(len(consts))]
    outs = [f"Y{i}" for i in range(len(yshapes))]
    ydtypes = ydtypes or [T.FLOAT] * len(outs)
    node = h.make_node(op, ins, outs, **(attrs or {}))
    g = h.make_graph([node], name, [h.make_tensor_value_info("X", T.FLOAT, xshape)],
                     [h.make_tensor_value_info(o, ydtypes[i], yshapes[i]) for i, o in enumerate(outs)],
                     inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="reduce_norm_models")
    m.ir_version = 8
    onnx.save(m, f"{out}/{name}.onnx")
    if x is None:
        x = rng.standard_normal(xshape)
    np.save(f"{out}/{name}.X.npy", np.asarray(x, dtype=np.float32))


def i64(*v):
    return np.array(v, dtype=np.int64)


def f32(shape):
    return rng.standard_normal(shape).astype(np.float32)


model("cumsum_excl_rev", "CumSum", [3, 5, 4], [[3, 5, 4]], 14, {"exclusive": 1, "reverse": 1}, [i64(1)])
model("cumsum_axis0", "CumSum", [6, 7], [[6, 7]], 14, {}, [np.array(0, dtype=np.int32)])
model("groupnorm18", "GroupNormalization", [2, 6, 3, 5], [[2, 6, 3, 5]], 18,
      {"num_groups": 3, "epsilon": 1e-3}, [f32(3), f32(3)])
model("groupnorm21", "GroupNormalization", [2, 6, 3, 5], [[2, 6, 3, 5]], 21, {"num_groups": 2},
      [f32(6), f32(6)])
model("lpnorm_p1_axis1", "LpNormalization", [2, 5, 3], [[2, 5, 3]], 13, {"axis": 1, "p": 1})
model("lpnorm_p2", "LpNormalization", [4, 9], [[4, 9]], 13)
model("lppool_p3", "LpPool", [1, 3, 9, 8], [[1, 3, 5, 4]], 11,
      {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 0], "p": 3})
model("lppool_same", "LpPool", [2, 2, 7], [[2, 2, 4]], 11,
      {"kernel_shape": [3], "strides": [2], "auto_pad": "SAME_UPPER"})
model("globallppool_p3", "GlobalLpPool", [2, 3, 4, 5], [[2, 3, 1, 1]], 13, {"p": 3})
model("topk_smallest", "TopK", [3, 11, 2], [[3, 4, 2], [3, 4, 2]], 13, {"axis": 1, "largest": 0},
      [i64(4)], ydtypes=[T.FLOAT, T.INT64])
model("reduce_lse18", "ReduceLogSumExp", [3, 4, 5], [[3, 1, 5]], 18, {}, [i64(-2)])
model("reduce_l2_13", "ReduceL2", [3, 4, 5], [[4]], 13, {"axes": [0, 2], "keepdims": 0})
model("reduce_mean18_multi", "ReduceMean", [2, 3, 4, 5], [[1, 3, 1, 5]], 18, {}, [i64(0, 2)])
model("reduce_sum13_noop", "ReduceSum", [2, 3], [[2, 3]], 13, {"noop_with_empty_axes": 1},
      [np.zeros(0, dtype=np.int64)])
model("reduce_prod13", "ReduceProd", [2, 3, 4], [[2, 1, 4]], 13, {"axes": [1]})
model("layernorm_axis1", "LayerNormalization", [2, 3, 4], [[2, 3, 4], [2, 1, 1], [2, 1, 1]], 17,
      {"axis": 1, "epsilon": 1e-4}, [f32((3, 4)), f32((3, 4))])
model("mvn_axes1", "MeanVarianceNormalization", [2, 4, 3], [[2, 4, 3]], 13, {"axes": [1]})
model("instancenorm", "InstanceNormalization", [2, 4, 5, 6], [[2, 4, 5, 6]], 13, {"epsilon": 1e-3},
      [f32(4), f32(4)])
model("argmin_last", "ArgMin", [4, 6], [[4, 1]], 13, {"axis": 1, "select_last_index": 1},
      ydtypes=[T.INT64], x=np.round(rng.standard_normal((4, 6))))
