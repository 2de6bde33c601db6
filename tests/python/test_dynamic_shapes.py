"""Dynamic shapes from Python (issue 19, docs/dynamic_shapes.md): BuilderConfig.profiles,
ExecutionContext.set_input_shape / get_tensor_shape / device_profile, execute() at several
shapes of one plan, and the out-of-profile error."""
import os
import tempfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import engine


def chain_model(path):
    """x [N, 6] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [2, 3])) -> Relu -> y."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "idx"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "tail"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"], name="reshape"),
        helper.make_node("Relu", ["r"], ["y"], name="relu"),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "idx"),
             numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "tail")]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 3])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def test_one_plan_at_several_batches():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "chain.onnx")
        chain_model(path)
        config = engine.BuilderConfig()
        config.profiles = [{"min": {"x": [1, 6]}, "opt": {"x": [2, 6]}, "max": {"x": [8, 6]}}]
        config.shape_buckets = 3
        plan, _ = engine.Builder().build(path, config)
    eng = engine.Runtime.deserialize(plan)
    assert eng.profiles == [{"x": ([1, 6], [2, 6], [8, 6])}]
    ctx = eng.create_execution_context()
    for n in (3, 8, 1):
        ctx.set_input_shape("x", [n, 6])
        assert ctx.get_tensor_shape("y") == [n, 2, 3]
        x = np.random.default_rng(n).standard_normal((n, 6)).astype(np.float32)
        y = ctx.execute({"x": x})["y"]
        assert y.shape == (n, 2, 3)
        np.testing.assert_array_equal(y, np.maximum(x, 0).reshape(n, 2, 3))
        profile, bucket = ctx.device_profile()
        assert bucket >= 0 and profile["total_cycles"] > 0
    with pytest.raises(engine.EngineError) as e:
        ctx.set_input_shape("x", [9, 6])
    assert e.value.code_name == "INVALID_ARGUMENT"
    assert "outside every optimization profile" in e.value.message and "max 8x6" in e.value.message
