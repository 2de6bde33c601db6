"""Errors from Python (issue 22): each a clear engine.EngineError carrying the
engine's message and status code, nothing half-written."""
import os
import tempfile

import numpy as np
import pytest

import engine


def test_bad_model_path():
    missing = os.path.join(tempfile.gettempdir(), "no_such_dir_engine_py", "model.onnx")
    with pytest.raises(engine.EngineError) as e:
        engine.Builder().build(missing)
    assert e.value.code == 5 and e.value.code_name == "NOT_FOUND"
    assert missing in e.value.message
    assert str(e.value).startswith("[NOT_FOUND] ")
    assert isinstance(e.value, RuntimeError)


def test_not_a_model():
    with pytest.raises(engine.EngineError) as e:
        engine.Builder().build(b"this is not an ONNX model")
    assert e.value.code == 3, e.value


def test_not_a_plan():
    with pytest.raises(engine.EngineError) as e:
        engine.Runtime.deserialize(b"not a plan at all, not at all")
    assert e.value.code_name == "INVALID_ARGUMENT", e.value
    with pytest.raises(engine.EngineError) as e:
        engine.Runtime.deserialize("/no/such/file.plan")
    assert e.value.code_name == "NOT_FOUND" and "/no/such/file.plan" in e.value.message


def test_corrupt_plan(conv_plan):
    bad = bytearray(conv_plan)
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(engine.EngineError) as e:
        engine.Runtime.deserialize(bytes(bad))
    assert e.value.code_name == "DATA_LOSS", e.value
    with pytest.raises(engine.EngineError) as e:
        engine.Runtime.deserialize(conv_plan[:len(conv_plan) // 3])
    assert e.value.code_name in ("DATA_LOSS", "INVALID_ARGUMENT"), e.value


def test_wrong_input_shape_dtype_name(conv_plan):
    ctx = engine.Runtime.deserialize(conv_plan).create_execution_context()
    with pytest.raises(engine.EngineError) as e:
        ctx.execute({"x": np.zeros((1, 32, 56, 55), np.float32)})
    assert e.value.code_name == "INVALID_ARGUMENT"
    assert "1x32x56x55" in e.value.message and "1x32x56x56" in e.value.message, e.value.message
    with pytest.raises(engine.EngineError) as e:
        ctx.execute({"x": np.zeros((1, 32, 56, 56), np.float64)})
    assert e.value.code_name == "INVALID_ARGUMENT"
    assert "double" in e.value.message and "float" in e.value.message, e.value.message
    with pytest.raises(engine.EngineError) as e:
        ctx.execute({"x": np.zeros((1, 32, 56, 56), np.complex64)})
    assert e.value.code_name == "INVALID_ARGUMENT" and "complex64" in e.value.message
    with pytest.raises(engine.EngineError) as e:
        ctx.execute({"nope": np.zeros((1, 32, 56, 56), np.float32)})
    assert e.value.code_name == "NOT_FOUND" and "'nope'" in e.value.message, e.value
    assert e.value.message.endswith("inputs are: x"), e.value
    with pytest.raises(TypeError):
        ctx.execute({1: np.zeros((1, 32, 56, 56), np.float32)})
    with pytest.raises(engine.EngineError) as e:
        ctx.threads = 0
    assert e.value.code_name == "INVALID_ARGUMENT"
    # the context still works after the errors
    out = ctx.execute({"x": np.ones((1, 32, 56, 56), np.float32)})
    assert out["y1"].shape == (1, 32, 56, 56) and out["y1"].dtype == np.float32


def test_missing_input_on_a_new_context(conv_plan):
    ctx = engine.Runtime.deserialize(conv_plan).create_execution_context()
    with pytest.raises(engine.EngineError) as e:
        ctx.execute({})
    assert e.value.code_name == "FAILED_PRECONDITION" and "input 'x'" in e.value.message


class Exploding(engine.Calibrator):
    def __init__(self, images, fail_at):
        self.images, self.fail_at, self.calls = images, fail_at, 0

    def get_batch(self):
        self.calls += 1
        if self.calls == self.fail_at:
            raise ValueError("corrupt sample %d in my data pipeline" % self.calls)
        return {"Input3": self.images[self.calls:self.calls + 1]}


def test_calibrator_exception_aborts_the_build_and_writes_nothing(mnist):
    model, images, _ = mnist
    with tempfile.TemporaryDirectory() as d:
        cache = os.path.join(d, "mnist.cache")
        config = engine.BuilderConfig()
        config.precision = "int8"
        config.calibration_cache = cache
        cal = Exploding(images, fail_at=5)
        config.calibrator = cal
        with pytest.raises(engine.EngineError) as e:
            engine.Builder().build(model, config)
        err = e.value
        assert err.code_name == "ABORTED", err
        assert "get_batch" in err.message and "ValueError" in err.message
        assert "corrupt sample 5 in my data pipeline" in err.message
        assert isinstance(err.__cause__, ValueError)
        assert cal.calls == 5  # stopped at the failing batch
        assert os.listdir(d) == []  # no cache, no temporary file


def test_calibrator_bad_batches(mnist):
    model, images, _ = mnist

    class ReturnsList(engine.Calibrator):
        def get_batch(self):
            return [images[:1]]

    class WrongShape(engine.Calibrator):
        def get_batch(self):
            return {"Input3": images[:2]}

    class NotImplemented_(engine.Calibrator):
        pass

    for cal, code, needle in ((ReturnsList(), "INVALID_ARGUMENT", "returned list"),
                              (WrongShape(), None, "2x1x28x28"),
                              (NotImplemented_(), "ABORTED", "NotImplementedError")):
        config = engine.BuilderConfig()
        config.precision = "int8"
        config.calibrator = cal
        with pytest.raises(engine.EngineError) as e:
            engine.Builder().build(model, config)
        assert needle in e.value.message, e.value
        if code:
            assert e.value.code_name == code, e.value
    config = engine.BuilderConfig()
    with pytest.raises(TypeError):
        config.calibrator = object()


def test_numpy_calibrator_mismatch(mnist):
    model, images, _ = mnist
    config = engine.BuilderConfig()
    config.precision = "int8"
    config.calibrator = engine.NumpyCalibrator(images[:10, :, :14, :])
    with pytest.raises(engine.EngineError) as e:
        engine.Builder().build(model, config)
    assert isinstance(e.value.__cause__, ValueError)
    assert "(1, 28, 28)" in e.value.message, e.value


def test_dataset_errors():
    with pytest.raises(engine.EngineError) as e:
        engine.DatasetCalibrator("/tmp", preprocess="resize=banana")
    assert e.value.code_name == "INVALID_ARGUMENT" and "resize" in e.value.message
    with pytest.raises(engine.EngineError) as e:
        engine.load_dataset("/no/such/images", (1, 3, 224, 224))
    assert e.value.code_name == "NOT_FOUND"
