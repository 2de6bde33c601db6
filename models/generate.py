#!/usr/bin/python3
"""Generate standard CNN architectures as ONNX models with seeded synthetic weights.

Run with Debian's interpreter (it has python3-onnx 1.12 + numpy):

    /usr/bin/python3 models/generate.py [--out DIR] [--seed N] [--opset 13] [--force] [names...]

Models: resnet50, mobilenetv2, tiny_cnn (default: all). Writes DIR/<name>.onnx
(default DIR: models/out/, which is gitignored). A model whose file already exists is
skipped unless --force is given.

The graphs follow the layout of a PyTorch (torchvision) export in eval mode *without*
Conv+BN fusion: Conv nodes have no bias and are followed by a separate
BatchNormalization node, node names look like `/layer1/layer1.0/conv1/Conv`, tensor names
like `/layer1/layer1.0/conv1/Conv_output_0`, and initializers like `layer1.0.conv1.weight`.

Weights: conv weights are Kaiming-normal (mode=fan_out, as torchvision); BN gamma ~
U(0.5, 1.5), beta ~ N(0, 0.1). BN running_mean / running_var are *calibrated*: the network
is run once in numpy on a seeded random N(0,1) input batch while it is being built, and
each BN takes the per-channel mean / variance of its input as running statistics, so the
activations stay well scaled (as in a trained network) and the BN stats are not trivial.
The final FC is Kaiming-style normal, rescaled so that the logits have std ~1 on the
calibration batch.
"""

import argparse
import os
import sys
import time
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_OPSET = 11  # Clip with min/max as inputs
MAX_OPSET = onnx.defs.onnx_opset_version()

# Number of random images used to calibrate BN statistics (per model).
CALIB_BATCH = {"resnet50": 2, "mobilenetv2": 4, "tiny_cnn": 16}


# --------------------------------------------------------------------------------------
# numpy reference ops (NHWC layout internally, float32)
# --------------------------------------------------------------------------------------

def _pad_nhwc(x, p, value=0.0):
    if p == 0:
        return x
    return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=value)


def np_conv(x, w, stride, pad, groups):
    """x: [N,H,W,Cin] (NHWC), w: [Cout, Cin/groups, kh, kw] (ONNX layout). Returns NHWC."""
    n, h, wd, cin = x.shape
    cout, cin_g, kh, kw = w.shape
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    if groups == 1:
        if kh == 1 and kw == 1 and pad == 0:
            xs = x[:, ::stride, ::stride, :]
            cols = xs.reshape(-1, cin)
        else:
            xp = _pad_nhwc(x, pad)
            win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
            # win: [N, H', W', Cin, kh, kw]
            win = win[:, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
            cols = win.reshape(n * ho * wo, cin * kh * kw)
        y = cols @ w.reshape(cout, -1).T
        return y.reshape(n, ho, wo, cout).astype(np.float32, copy=False)
    if groups == cin and cin_g == 1 and cout == cin:
        # depthwise
        xp = _pad_nhwc(x, pad)
        y = np.zeros((n, ho, wo, cout), np.float32)
        for i in range(kh):
            for j in range(kw):
                sl = xp[:, i : i + (ho - 1) * stride + 1 : stride, j : j + (wo - 1) * stride + 1 : stride, :]
                y += sl * w[:, 0, i, j]
        return y
    raise NotImplementedError("general grouped conv")


def np_maxpool(x, k, stride, pad):
    n, h, wd, c = x.shape
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    xp = _pad_nhwc(x, pad, value=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))
    win = win[:, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
    return win.max(axis=(4, 5))


# --------------------------------------------------------------------------------------
# graph builder that computes the numpy forward pass alongside
# --------------------------------------------------------------------------------------

def scope_prefix(module_path):
    """PyTorch-export scope string for a module path, e.g.
    'layer1.0.conv1' -> '/layer1/layer1.0/conv1', 'features.1.conv.0.0' ->
    '/features/features.1/conv/conv.0/conv.0.0'. Each level is shown as the tail of the
    qualified name starting at its last non-numeric component."""
    if not module_path:
        return ""
    parts = module_path.split(".")
    out = []
    last_named = 0
    for i, p in enumerate(parts):
        if not p.isdigit():
            last_named = i
        out.append(".".join(parts[last_named : i + 1]))
    return "/" + "/".join(out)


class Builder:
    def __init__(self, rng, opset):
        self.rng = rng
        self.opset = opset
        self.nodes = []
        self.inits = []
        self.init_names = set()
        self.node_names = set()
        self.consts = {}

    # -- helpers ------------------------------------------------------------------------
    def add_init(self, name, arr):
        assert name not in self.init_names, name
        self.init_names.add(name)
        # (np.ascontiguousarray would turn a 0-d scalar into shape [1])
        self.inits.append(numpy_helper.from_array(np.array(arr, order="C"), name))
        return name

    def const_scalar(self, name, value):
        if name not in self.consts:
            self.add_init(name, np.array(value, dtype=np.float32))
            self.consts[name] = name
        return name

    def node(self, op, inputs, scope, call_name=None, output=None, **attrs):
        """Add node `<scope>/<call_name>/<op>` (call_name only for repeated functional calls)."""
        base = scope_prefix(scope)
        if call_name:
            base += "/" + call_name
        name = f"{base}/{op}"
        assert name not in self.node_names, name
        self.node_names.add(name)
        out = output or f"{name}_output_0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    # -- layers (each returns (tensor_name, numpy_value)) ------------------------------------
    def conv(self, module, x, cout, k, stride=1, pad=None, groups=1):
        xn, xv = x
        cin = xv.shape[3]
        if pad is None:
            pad = (k - 1) // 2
        # Kaiming normal, mode=fan_out, nonlinearity=relu (torchvision init):
        # fan_out = out_channels * kh * kw (weight.size(0) * receptive field).
        std = np.sqrt(2.0 / (cout * k * k))
        w = (self.rng.standard_normal((cout, cin // groups, k, k)) * std).astype(np.float32)
        wn = self.add_init(f"{module}.weight", w)
        out = self.node(
            "Conv", [xn, wn], module,
            dilations=[1, 1], group=groups, kernel_shape=[k, k],
            pads=[pad, pad, pad, pad], strides=[stride, stride],
        )
        return out, np_conv(xv, w, stride, pad, groups)

    def bn(self, module, x, gamma_range=(0.5, 1.5)):
        xn, xv = x
        c = xv.shape[3]
        # Calibrated running stats = statistics of this BN's input on the calibration batch.
        mean = xv.mean(axis=(0, 1, 2), dtype=np.float64)
        var = xv.var(axis=(0, 1, 2), dtype=np.float64)
        var = np.maximum(var, 1e-6)
        gamma = self.rng.uniform(gamma_range[0], gamma_range[1], c)
        beta = self.rng.normal(0.0, 0.1, c)
        eps = 1e-5
        names = [
            self.add_init(f"{module}.weight", gamma.astype(np.float32)),
            self.add_init(f"{module}.bias", beta.astype(np.float32)),
            self.add_init(f"{module}.running_mean", mean.astype(np.float32)),
            self.add_init(f"{module}.running_var", var.astype(np.float32)),
        ]
        out = self.node("BatchNormalization", [xn] + names, module, epsilon=eps, momentum=0.9)
        scale = (gamma / np.sqrt(var + eps)).astype(np.float32)
        shift = (beta - mean * gamma / np.sqrt(var + eps)).astype(np.float32)
        return out, xv * scale + shift

    def relu(self, module, x, call_name=None):
        out = self.node("Relu", [x[0]], module, call_name=call_name)
        return out, np.maximum(x[1], 0.0)

    def relu6(self, module, x):
        lo = self.const_scalar("clip_min", 0.0)
        hi = self.const_scalar("clip_max", 6.0)
        out = self.node("Clip", [x[0], lo, hi], module)
        return out, np.clip(x[1], 0.0, 6.0)

    def add(self, scope, a, b, call_name=None):
        out = self.node("Add", [a[0], b[0]], scope, call_name=call_name)
        return out, a[1] + b[1]

    def maxpool(self, module, x, k, stride, pad):
        out = self.node(
            "MaxPool", [x[0]], module,
            ceil_mode=0, dilations=[1, 1], kernel_shape=[k, k],
            pads=[pad, pad, pad, pad], strides=[stride, stride],
        )
        return out, np_maxpool(x[1], k, stride, pad)

    def gap_flatten(self, pool_module, x):
        g = self.node("GlobalAveragePool", [x[0]], pool_module)
        f = self.node("Flatten", [g], "", axis=1)
        return f, x[1].mean(axis=(1, 2))

    def linear(self, module, x, nout, output=None, logit_std=1.0):
        xn, xv = x
        nin = xv.shape[1]
        w = self.rng.standard_normal((nout, nin)) / np.sqrt(nin)
        bound = 1.0 / np.sqrt(nin)
        b = self.rng.uniform(-bound, bound, nout)
        y = xv.astype(np.float64) @ w.T
        # Scale W so that the logits have std ~= logit_std on the calibration batch.
        s = y.std()
        if s > 0:
            w *= logit_std / s
        w = w.astype(np.float32)
        b = b.astype(np.float32)
        wn = self.add_init(f"{module}.weight", w)
        bn = self.add_init(f"{module}.bias", b)
        out = self.node("Gemm", [xn, wn, bn], module, output=output, alpha=1.0, beta=1.0, transB=1)
        return out, xv @ w.T + b

    def softmax(self, scope, x, output=None):
        out = self.node("Softmax", [x[0]], scope, output=output, axis=1)
        e = np.exp(x[1] - x[1].max(axis=1, keepdims=True))
        return out, e / e.sum(axis=1, keepdims=True)

    def finish(self, graph_name, input_shape, output_name, output_shape, doc):
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)
        out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_shape)
        graph = helper.make_graph(self.nodes, graph_name, [inp], [out], initializer=self.inits)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", self.opset)],
            producer_name="engine-models-generate",
            producer_version="1.0",
            doc_string=doc,
        )
        return model


# --------------------------------------------------------------------------------------
# architectures
# --------------------------------------------------------------------------------------

def build_resnet50(b, x):
    """torchvision resnet50 (v1.5: stride on the 3x3 conv of the bottleneck)."""
    x = b.conv("conv1", x, 64, 7, stride=2, pad=3)
    x = b.bn("bn1", x)
    x = b.relu("relu", x)
    x = b.maxpool("maxpool", x, 3, 2, 1)
    inplanes = 64
    for li, (planes, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], 1):
        for bi in range(blocks):
            s = stride if bi == 0 else 1
            m = f"layer{li}.{bi}"
            identity = x
            y = b.conv(f"{m}.conv1", x, planes, 1)
            y = b.bn(f"{m}.bn1", y)
            y = b.relu(f"{m}.relu", y)
            y = b.conv(f"{m}.conv2", y, planes, 3, stride=s, pad=1)
            y = b.bn(f"{m}.bn2", y)
            y = b.relu(m, y, call_name="relu_1")  # self.relu called again -> relu_1
            y = b.conv(f"{m}.conv3", y, planes * 4, 1)
            # smaller gamma on the last BN of the residual branch keeps the residual stream
            # from growing too fast (trained ResNets show the same pattern)
            y = b.bn(f"{m}.bn3", y, gamma_range=(0.2, 0.6))
            if s != 1 or inplanes != planes * 4:
                identity = b.conv(f"{m}.downsample.0", x, planes * 4, 1, stride=s, pad=0)
                identity = b.bn(f"{m}.downsample.1", identity)
            y = b.add(m, y, identity)
            x = b.relu(m, y, call_name="relu_2")
            inplanes = planes * 4
    x = b.gap_flatten("avgpool", x)
    return b.linear("fc", x, 1000, output="output")


def build_mobilenetv2(b, x):
    """torchvision mobilenet_v2 (width 1.0)."""

    def conv_bn_act(module, x, cout, k, stride=1, groups=1):
        x = b.conv(f"{module}.0", x, cout, k, stride=stride, groups=groups)
        x = b.bn(f"{module}.1", x)
        return b.relu6(f"{module}.2", x)

    x = conv_bn_act("features.0", x, 32, 3, stride=2)
    cin = 32
    idx = 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            m = f"features.{idx}"
            hidden = cin * t
            y = x
            j = 0
            if t != 1:
                y = conv_bn_act(f"{m}.conv.{j}", y, hidden, 1)
                j += 1
            y = conv_bn_act(f"{m}.conv.{j}", y, hidden, 3, stride=stride, groups=hidden)
            j += 1
            y = b.conv(f"{m}.conv.{j}", y, c, 1)
            y = b.bn(f"{m}.conv.{j + 1}", y, gamma_range=(0.2, 0.6) if stride == 1 and cin == c else (0.5, 1.5))
            if stride == 1 and cin == c:
                y = b.add(m, x, y)
            x = y
            cin = c
            idx += 1
    x = conv_bn_act(f"features.{idx}", x, 1280, 1)
    # torchvision: nn.functional.adaptive_avg_pool2d(x, (1, 1)) -> GlobalAveragePool;
    # classifier = Dropout(0.2) (identity in eval) + Linear
    g = b.node("GlobalAveragePool", [x[0]], "")
    f = b.node("Flatten", [g], "", axis=1)
    x = (f, x[1].mean(axis=(1, 2)))
    return b.linear("classifier.1", x, 1000, output="output")


def build_tiny_cnn(b, x):
    """conv-bn-relu, maxpool, conv-bn(+identity)-relu, global pool, gemm, softmax."""
    x = b.conv("conv1", x, 16, 3)
    x = b.bn("bn1", x)
    x = b.relu("relu1", x)
    x = b.maxpool("pool", x, 2, 2, 0)
    y = b.conv("conv2", x, 16, 3)
    y = b.bn("bn2", y)
    y = b.add("", y, x)
    x = b.relu("relu2", y)
    x = b.gap_flatten("avgpool", x)
    x = b.linear("fc", x, 10)
    return b.softmax("", x, output="output")


MODELS = {
    # name: (builder, input shape, output shape, description)
    "resnet50": (build_resnet50, [1, 3, 224, 224], [1, 1000],
                 "ResNet-50 v1.5 (torchvision layout), synthetic seeded weights, BN unfused"),
    "mobilenetv2": (build_mobilenetv2, [1, 3, 224, 224], [1, 1000],
                    "MobileNetV2 1.0 (torchvision layout), synthetic seeded weights, BN unfused"),
    "tiny_cnn": (build_tiny_cnn, [1, 3, 32, 32], [1, 10],
                 "tiny residual CNN for fast tests, synthetic seeded weights"),
}


# --------------------------------------------------------------------------------------

def count_params(model):
    """Trainable parameters (initializers other than BN running stats / scalar constants),
    comparable to torchvision's sum(p.numel() for p in model.parameters())."""
    n = 0
    for t in model.graph.initializer:
        if t.name.endswith((".running_mean", ".running_var")) or len(t.dims) == 0:
            continue
        n += int(np.prod(t.dims))
    return n


def describe(path, model, extra=""):
    size = os.path.getsize(path)
    print(f"{path}: {len(model.graph.node)} nodes, {count_params(model):,} params, "
          f"{size / 1e6:.1f} MB{extra}", flush=True)


def generate(name, path, seed, opset):
    build, in_shape, out_shape, doc = MODELS[name]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    calib_shape = [CALIB_BATCH[name]] + in_shape[1:]
    x = rng.standard_normal(calib_shape, dtype=np.float32).transpose(0, 2, 3, 1)  # NCHW -> NHWC
    b = Builder(rng, opset)
    _, y = build(b, ("input", np.ascontiguousarray(x)))
    model = b.finish(name, in_shape, "output", out_shape, f"{doc}; seed={seed}")

    onnx.checker.check_model(model, full_check=False)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(inferred, full_check=True)
    got = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    if got != out_shape:
        raise RuntimeError(f"{name}: inferred output shape {got} != {out_shape}")

    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)
    return model, y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"models to generate: {', '.join(MODELS)} (default: all)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"),
                    help="output directory (default: models/out)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--force", action="store_true", help="regenerate even if the file exists")
    args = ap.parse_args(argv)

    names = args.names or list(MODELS)
    bad = [n for n in names if n not in MODELS]
    if bad:
        ap.error(f"unknown model(s): {', '.join(bad)}; known: {', '.join(MODELS)}")
    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        ap.error(f"--opset must be in [{MIN_OPSET}, {MAX_OPSET}]")
    os.makedirs(args.out, exist_ok=True)

    for name in names:
        path = os.path.join(args.out, f"{name}.onnx")
        if os.path.exists(path) and not args.force:
            describe(path, onnx.load(path), " (exists, skipped; --force to regenerate)")
            continue
        t0 = time.time()
        model, y = generate(name, path, args.seed, args.opset)
        stats = f", calib output mean {y.mean():.3g} std {y.std():.3g}"
        describe(path, model, f", {time.time() - t0:.1f} s{stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
