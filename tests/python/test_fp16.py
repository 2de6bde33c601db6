"""FP16 / BF16 engines (issue 20): the host emulation is bit-exact to the
accelerator's arithmetic as src/common/reduced_float.h defines it.

References are computed here in numpy, independently of the engine:
 - fp16 storage rounding: numpy.float16 (IEEE 754 binary16, round to nearest
   even, overflow to inf, gradual underflow);
 - bf16 storage rounding: a bit-level reference on the float32 bits (add
   0x7fff plus the lowest kept bit, truncate; NaN made quiet);
 - the array layers: each product of two storage values computed in float32
   (exact), accumulated in float32 one add at a time in the documented order
   (Conv: input channel, kernel row, kernel column; Gemm: k), then bias,
   activation, rounding to the storage type.
"""
import numpy as np
import pytest

import engine

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def bf16_round(x):
    """float32 -> bfloat16 (RNE) -> float32, on the bits."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    r = np.where(nan, ((u >> 16) | 0x40) & 0xFFFF, r)
    return (r.astype(np.uint32) << 16).view(np.float32)


def storage_round(x, precision):
    x = np.asarray(x, dtype=np.float32)
    if precision == "fp16":
        return x.astype(np.float16).astype(np.float32)
    return bf16_round(x)


def same_bits(a, b):
    """Equal float32 bits, NaN equal to any NaN."""
    a = np.asarray(a, dtype=np.float32).ravel()
    b = np.asarray(b, dtype=np.float32).ravel()
    nan = np.isnan(a) & np.isnan(b)
    return np.all(nan | (a.view(np.uint32) == b.view(np.uint32))), \
        int(np.sum(~nan & (a.view(np.uint32) != b.view(np.uint32))))


def build(model, precision, hw="edge"):
    cfg = engine.BuilderConfig()
    cfg.precision = precision
    cfg.hardware = hw
    plan, result = engine.Builder().build(model.SerializeToString(), cfg)
    return engine.Runtime.deserialize(plan), result, plan


def conv_relu_gemm_model(rng):
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.4).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((10, 8 * 6 * 6)) * 0.05).astype(np.float32)
    b2 = (rng.standard_normal(10) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "conv_relu_gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), (w1, b1, w2, b2)


def reference(x, weights, precision):
    """The accelerator's arithmetic in numpy float32, one rounding per op."""
    w1, b1, w2, b2 = (storage_round(w, precision) for w in weights)
    x = storage_round(x, precision)
    _, c, h, w = x.shape
    xp = np.zeros((1, c, h + 2, w + 2), dtype=np.float32)
    xp[:, :, 1:h + 1, 1:w + 1] = x
    acc = np.zeros((8, h, w), dtype=np.float32)
    for ci in range(c):          # K order: input channel, kernel row, kernel column
        for kh in range(3):
            for kw in range(3):
                prod = (w1[:, ci, kh, kw][:, None, None] * xp[0, ci, kh:kh + h, kw:kw + w])
                acc = (acc + prod.astype(np.float32)).astype(np.float32)
    conv = storage_round(np.maximum(acc + b1[:, None, None], np.float32(0)), precision)
    f = conv.reshape(1, -1)
    acc2 = np.zeros((1, 10), dtype=np.float32)
    for k in range(f.shape[1]):
        acc2 = (acc2 + (f[:, k:k + 1] * w2[:, k][None, :]).astype(np.float32)).astype(np.float32)
    return storage_round(acc2 + b2[None, :], precision)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_conv_relu_gemm_bit_exact(precision):
    rng = np.random.default_rng(20)
    model, weights = conv_relu_gemm_model(rng)
    eng, result, _ = build(model, precision)
    layers = {l["layer"]: l for l in result.layer_precisions}
    assert any(l["precision"] == precision for l in layers.values()), layers
    ctx = eng.create_execution_context()
    for trial in range(4):
        x = (rng.standard_normal((1, 3, 6, 6)) * (1 + 3 * trial)).astype(np.float32)
        y = ctx.execute({"x": x})["y"]
        ref = reference(x, weights, precision)
        ok, diff = same_bits(y, ref)
        assert ok, "%s trial %d: %d of %d outputs differ\nengine %s\nref    %s" % (
            precision, trial, diff, y.size, y.ravel(), ref.ravel())
    # Not trivially FP32: the storage rounding is visible in the outputs.
    assert not same_bits(y, reference(x, weights, "fp16" if precision == "bf16" else "bf16"))[0]


def edge_values():
    """float32 values across the conversion rules: ties, overflow, subnormals, NaN."""
    rng = np.random.default_rng(1)
    special = np.array([0.0, -0.0, 1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e6, np.inf, -np.inf,
                        np.nan, 2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0000001,
                        2.0 ** -26, 3e-8, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -8,
                        1.0 + 3 * 2.0 ** -8, 3.3895e38, 3.4028e38, 1e-40, -1e-45, 2.0 ** -133],
                       dtype=np.float32)
    bits = rng.integers(0, 2 ** 32, size=20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    small = (rng.standard_normal(20000) * 10.0 ** rng.integers(-9, 6, 20000)).astype(np.float32)
    return np.concatenate([special, -special, bits, small]).astype(np.float32)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_conversion_rules_match_reference(precision):
    """A Neg layer in fp16/bf16: y = round(-round(x)) = -round(x) (negation
    is exact), compared bit for bit with numpy's rounding of every value."""
    x = edge_values()
    n = x.size
    graph = helper.make_graph([helper.make_node("Neg", ["x"], ["y"], name="neg")], "neg",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    eng, _, _ = build(model, precision)
    y = eng.create_execution_context().execute({"x": x})["y"]
    with np.errstate(over="ignore"):
        ref = -storage_round(x, precision)
    ok, diff = same_bits(y, ref)
    assert ok, "%d of %d values differ from the %s reference" % (diff, n, precision)
    assert np.array_equal(np.isnan(y), np.isnan(x))  # NaN stays NaN, never infinity
    if precision == "fp16":
        assert np.isinf(y[x == np.float32(65520.0)]).all()       # overflow rule
        assert y[x == np.float32(65519.99)][0] == -65504.0
        assert y[x == np.float32(2.0 ** -24)][0] == -(2.0 ** -24)  # smallest subnormal kept


def test_weights_stored_as_two_bytes_and_modeled_traffic():
    """The fp16 plan stores the weights in 2 bytes (smaller plan) and the
    modeled DRAM traffic of the array layers is about half of FP32's."""
    rng = np.random.default_rng(3)
    model, _ = conv_relu_gemm_model(rng)
    _, _, plan32 = build(model, "fp32")
    eng16, _, plan16 = build(model, "fp16")
    weight_bytes = (8 * 3 * 3 * 3 + 8 + 10 * 288 + 10) * 2
    assert len(plan32) - len(plan16) >= weight_bytes * 0.9, (len(plan32), len(plan16))
    eng32 = engine.Runtime.deserialize(plan32)
    p32, p16 = eng32.device_profile, eng16.device_profile
    d32 = p32["dram_bytes_read"] + p32["dram_bytes_written"]
    d16 = p16["dram_bytes_read"] + p16["dram_bytes_written"]
    assert 0.4 * d32 <= d16 <= 0.6 * d32, (d32, d16)


def test_tpu_v1_lacks_fp16():
    rng = np.random.default_rng(4)
    model, _ = conv_relu_gemm_model(rng)
    with pytest.raises(engine.EngineError, match="tpu-v1.*fp16"):
        build(model, "fp16", hw="tpu-v1")
    with pytest.raises(engine.EngineError, match="tpu-v1.*bf16"):
        build(model, "bf16", hw="tpu-v1")
