"""Shared fixtures of the Python API tests (run by CTest as python/pytest).

Environment (set by python/CMakeLists.txt): PYTHONPATH=build/python,
ENGINE_SHARED_DIR (../shared), ENGINE_TRTEXEC (build/bin/trtexec_like).
Tests that need ../shared skip with "SKIPPED: <reason>" (pytest -rs prints it).
"""
import gzip
import os
import subprocess

import numpy as np
import pytest

import engine

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("ENGINE_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
SHARED = os.environ.get("ENGINE_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
TRTEXEC = os.environ.get("ENGINE_TRTEXEC", os.path.join(SOURCE_DIR, "build", "bin", "trtexec_like"))

MNIST_MODEL = os.path.join(SHARED, "models", "mnist", "mnist-8.onnx")
MNIST_IMAGES = os.path.join(SHARED, "datasets", "mnist_test", "t10k-images-idx3-ubyte.gz")
MNIST_LABELS = os.path.join(SHARED, "datasets", "mnist_test", "t10k-labels-idx1-ubyte.gz")


def require(path, what):
    if not os.path.exists(path):
        pytest.skip("SKIPPED: %s not found (%s); ../shared is absent" % (what, path))


def read_idx(path, magic):
    """An IDX file (http://yann.lecun.com/exdb/mnist/ format), gzip'd, as uint8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert int.from_bytes(data[0:4], "big") == magic
    if magic == 2051:
        n, rows, cols = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, dtype=np.uint8, offset=8)[:n]


@pytest.fixture(scope="session")
def mnist():
    """(model path, images float32 [10000, 1, 28, 28] raw 0..255, labels int [10000])."""
    require(MNIST_MODEL, "mnist-8.onnx")
    require(MNIST_IMAGES, "the MNIST test images")
    require(MNIST_LABELS, "the MNIST test labels")
    images = read_idx(MNIST_IMAGES, 2051).astype(np.float32).reshape(-1, 1, 28, 28)
    labels = read_idx(MNIST_LABELS, 2049).astype(np.int64)
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    return MNIST_MODEL, images, labels


def conv_model_bytes():
    """A generated CNN heavy enough (~60 M MACs per inference) that the time is
    spent in the engine, not in Python: 2 x (3x3 Conv 32->32 + Relu) on
    [1, 32, 56, 56], seeded weights."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(22)
    inits, nodes, prev = [], [], "x"
    for k in range(2):
        w = (rng.standard_normal((32, 32, 3, 3)) * 0.06).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "w%d" % k))
        nodes.append(helper.make_node("Conv", [prev, "w%d" % k], ["c%d" % k], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", ["c%d" % k], ["y%d" % k]))
        prev = "y%d" % k
    graph = helper.make_graph(nodes, "conv2", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 56, 56])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 32, 56, 56])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return model.SerializeToString()


@pytest.fixture(scope="session")
def conv_plan():
    """The plan of conv_model_bytes() (input "x" float32 [1, 32, 56, 56], output "y1");
    needs only python3-onnx, not ../shared."""
    plan, _ = engine.Builder().build(conv_model_bytes())
    return plan


@pytest.fixture(scope="session")
def fp32_plan(mnist):
    plan, result = engine.Builder().build(mnist[0])
    return plan


def run_cli(*args):
    if not os.path.exists(TRTEXEC):
        pytest.skip("SKIPPED: trtexec_like not built (%s)" % TRTEXEC)
    r = subprocess.run([TRTEXEC, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout
    return r.stdout


def same_engine(plan_a, plan_b):
    """Whether two plans hold the same engine: equal payloads (PlanInfo's
    payload_crc32), whatever provenance their headers record (a plan built from
    bytes has no file name; one rebuilt from a calibration cache names no
    calibration set)."""
    a = engine.Runtime.deserialize(plan_a).plan_info
    b = engine.Runtime.deserialize(plan_b).plan_info
    return a["payload_crc32"] == b["payload_crc32"] and a["plan_bytes"] > 0
