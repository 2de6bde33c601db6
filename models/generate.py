#!/usr/bin/python3
"""Generate standard CNN architectures as ONNX models with seeded synthetic weights.

Run with Debian's interpreter (it has python3-onnx 1.12 + numpy):

    /usr/bin/python3 models/generate.py [--out DIR] [--seed N] [--opset 13] [--force] [names...]

Models: resnet50, mobilenetv2, tiny_cnn, yolov5n (detector), unet (segmentation),
bert_small, bert_base, vit_tiny, vit_b16 (transformers, see TRANSFORMERS),
resnet50_dynamic, bert_small_dynamic (dynamic axes, see DYNAMIC)
(default: all). Writes DIR/<name>.onnx
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
CALIB_BATCH = {"resnet50": 2, "mobilenetv2": 4, "tiny_cnn": 16, "yolov5n": 1, "unet": 1}


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
    def conv(self, module, x, cout, k, stride=1, pad=None, groups=1, bias=None, std=None):
        """Conv without bias (followed by BN), or with `bias` (a [cout] array: a head)."""
        xn, xv = x
        cin = xv.shape[3]
        if pad is None:
            pad = (k - 1) // 2
        # Kaiming normal, mode=fan_out, nonlinearity=relu (torchvision init):
        # fan_out = out_channels * kh * kw (weight.size(0) * receptive field).
        if std is None:
            std = np.sqrt(2.0 / (cout * k * k))
        w = (self.rng.standard_normal((cout, cin // groups, k, k)) * std).astype(np.float32)
        inputs = [xn, self.add_init(f"{module}.weight", w)]
        if bias is not None:
            bias = np.asarray(bias, np.float32)
            inputs.append(self.add_init(f"{module}.bias", bias))
        out = self.node(
            "Conv", inputs, module,
            dilations=[1, 1], group=groups, kernel_shape=[k, k],
            pads=[pad, pad, pad, pad], strides=[stride, stride],
        )
        y = np_conv(xv, w, stride, pad, groups)
        return out, y + bias if bias is not None else y

    def conv_transpose2x(self, module, x, cout):
        """ConvTranspose kernel 2, stride 2, with bias (U-Net's up-convolution)."""
        xn, xv = x
        n, h, wd, cin = xv.shape
        std = np.sqrt(2.0 / (cin * 4))
        w = (self.rng.standard_normal((cin, cout, 2, 2)) * std).astype(np.float32)
        b = self.rng.uniform(-0.05, 0.05, cout).astype(np.float32)
        inputs = [xn, self.add_init(f"{module}.weight", w), self.add_init(f"{module}.bias", b)]
        out = self.node("ConvTranspose", inputs, module, dilations=[1, 1], group=1,
                        kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2])
        # y[n, 2i+a, 2j+b, o] = sum_c x[n, i, j, c] * w[c, o, a, b] + bias[o]
        y = np.einsum("nijc,coab->niajbo", xv, w).reshape(n, 2 * h, 2 * wd, cout) + b
        return out, y.astype(np.float32)

    def silu(self, module, x):
        """SiLU as PyTorch exports nn.SiLU: x * Sigmoid(x)."""
        s = self.node("Sigmoid", [x[0]], module)
        out = self.node("Mul", [x[0], s], module)
        return out, (x[1] / (1.0 + np.exp(-x[1]))).astype(np.float32)

    def concat(self, scope, xs, call_name=None):
        """Concat along channels (axis 1 in NCHW; NHWC axis 3 in numpy)."""
        out = self.node("Concat", [x[0] for x in xs], scope, call_name=call_name, axis=1)
        return out, np.concatenate([x[1] for x in xs], axis=3)

    def upsample2x(self, module, x):
        """nn.Upsample(scale_factor=2, mode='nearest') as exported: Resize."""
        scales = self.add_init(f"{module}.scales", np.array([1, 1, 2, 2], np.float32))
        out = self.node("Resize", [x[0], "", scales], module, mode="nearest",
                        coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        return out, x[1].repeat(2, axis=1).repeat(2, axis=2)

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


def build_yolov5n(b, x):
    """Ultralytics YOLOv5n v6.0 (depth 0.33, width 0.25) at 640x640, 80 classes, with the
    export's Detect decode: per level a 1x1 conv to 3 x 85, view [1, 3, 85, ny, nx],
    permute to [1, 3, ny, nx, 85], Sigmoid, Split (2, 2, 81), xy = (2 s - 0.5 + grid) *
    stride, wh = (2 s)^2 * anchor, Concat, view [1, 3 ny nx, 85]; the three levels
    concatenated into [1, 25200, 85]."""

    def conv(module, x, cout, k, stride=1, pad=None):
        x = b.conv(f"{module}.conv", x, cout, k, stride=stride, pad=pad)
        x = b.bn(f"{module}.bn", x)
        return b.silu(f"{module}.act", x)

    def c3(module, x, cout, n, shortcut=True):
        c_ = cout // 2
        y1 = conv(f"{module}.cv1", x, c_, 1)
        for i in range(n):
            m = f"{module}.m.{i}"
            t = conv(f"{m}.cv2", conv(f"{m}.cv1", y1, c_, 1), c_, 3)
            y1 = b.add(m, y1, t) if shortcut else t
        y2 = conv(f"{module}.cv2", x, c_, 1)
        return conv(f"{module}.cv3", b.concat(module, [y1, y2]), cout, 1)

    def sppf(module, x, cout):
        c_ = x[1].shape[3] // 2
        x = conv(f"{module}.cv1", x, c_, 1)
        ys = [x]
        for i in range(3):
            ys.append(b.maxpool(f"{module}.m", ys[-1], 5, 1, 2) if i == 0 else
                      (b.node("MaxPool", [ys[-1][0]], module, call_name=f"m_{i}", ceil_mode=0,
                              dilations=[1, 1], kernel_shape=[5, 5], pads=[2, 2, 2, 2],
                              strides=[1, 1]),
                       np_maxpool(ys[-1][1], 5, 1, 2)))
        return conv(f"{module}.cv2", b.concat(module, ys), cout, 1)

    x0 = conv("model.0", x, 16, 6, stride=2, pad=2)
    x1 = conv("model.1", x0, 32, 3, stride=2)
    x2 = c3("model.2", x1, 32, 1)
    x3 = conv("model.3", x2, 64, 3, stride=2)
    x4 = c3("model.4", x3, 64, 2)
    x5 = conv("model.5", x4, 128, 3, stride=2)
    x6 = c3("model.6", x5, 128, 3)
    x7 = conv("model.7", x6, 256, 3, stride=2)
    x8 = c3("model.8", x7, 256, 1)
    x9 = sppf("model.9", x8, 256)
    x10 = conv("model.10", x9, 128, 1)
    x13 = c3("model.13", b.concat("model.12", [b.upsample2x("model.11", x10), x6]), 128, 1, False)
    x14 = conv("model.14", x13, 64, 1)
    x17 = c3("model.17", b.concat("model.16", [b.upsample2x("model.15", x14), x4]), 64, 1, False)
    x18 = conv("model.18", x17, 64, 3, stride=2)
    x20 = c3("model.20", b.concat("model.19", [x18, x14]), 128, 1, False)
    x21 = conv("model.21", x20, 128, 3, stride=2)
    x23 = c3("model.23", b.concat("model.22", [x21, x10]), 256, 1, False)

    nc, na = 80, 3
    no = nc + 5
    anchors = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
    levels = []
    for i, (feat, stride) in enumerate([(x17, 8), (x20, 16), (x23, 32)]):
        m = f"model.24.m.{i}"
        # YOLOv5's bias prior: objectness log(8 / (640 / stride)^2), classes log(0.6 / (nc - 0.99)).
        bias = np.zeros((na, no), np.float32)
        bias[:, 4] = np.log(8 / (640 / stride) ** 2)
        bias[:, 5:] = np.log(0.6 / (nc - 0.99))
        p = b.conv(m, feat, na * no, 1, pad=0, bias=bias.reshape(-1), std=0.01)
        _, ny, nx, _ = p[1].shape
        scope = "model.24"
        call = f"level{i}"
        shape1 = b.add_init(f"{m}.shape1", np.array([1, na, no, ny, nx], np.int64))
        r = b.node("Reshape", [p[0], shape1], scope, call_name=call)
        t = b.node("Transpose", [r], scope, call_name=call, perm=[0, 1, 3, 4, 2])
        sg = b.node("Sigmoid", [t], scope, call_name=call)
        v = p[1].transpose(0, 3, 1, 2).reshape(-1, na, no, ny, nx).transpose(0, 1, 3, 4, 2)
        v = 1.0 / (1.0 + np.exp(-v))
        split = b.add_init(f"{m}.split", np.array([2, 2, no - 4], np.int64))
        name = f"{scope_prefix(scope)}/{call}/Split"
        outs = [f"{name}_output_{k}" for k in range(3)]
        b.nodes.append(helper.make_node("Split", [sg, split], outs, name=name, axis=4))
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        grid = (np.stack((xx, yy), 2).reshape(1, 1, ny, nx, 2) - 0.5).astype(np.float32)
        anchor = (np.array(anchors[i], np.float32).reshape(1, na, 1, 1, 2))
        two = b.const_scalar("two", 2.0)
        xy = b.node("Mul", [outs[0], two], scope, call_name=f"{call}/xy")
        xy = b.node("Add", [xy, b.add_init(f"{m}.grid", grid)], scope, call_name=f"{call}/xy")
        xy = b.node("Mul", [xy, b.const_scalar(f"stride{stride}", float(stride))], scope,
                    call_name=f"{call}/xy_1")
        wh = b.node("Mul", [outs[1], two], scope, call_name=f"{call}/wh")
        wh = b.node("Pow", [wh, two], scope, call_name=f"{call}/wh")
        wh = b.node("Mul", [wh, b.add_init(f"{m}.anchor_grid", anchor)], scope, call_name=f"{call}/wh_1")
        cat = b.node("Concat", [xy, wh, outs[2]], scope, call_name=call, axis=4)
        shape2 = b.add_init(f"{m}.shape2", np.array([1, na * ny * nx, no], np.int64))
        flat = b.node("Reshape", [cat, shape2], scope, call_name=f"{call}_1")
        vxy = (v[..., 0:2] * 2 + grid) * stride
        vwh = (v[..., 2:4] * 2) ** 2 * anchor
        val = np.concatenate([vxy, vwh, v[..., 4:]], axis=4).reshape(v.shape[0], -1, no)
        levels.append((flat, val.astype(np.float32)))
    out = b.node("Concat", [l[0] for l in levels], "model.24", output="output", axis=1)
    return out, np.concatenate([l[1] for l in levels], axis=1)


def build_unet(b, x):
    """U-Net (Ronneberger et al. 2015) for semantic segmentation at 256x256, 21 classes
    (PASCAL VOC's count): four levels of two 3x3 Conv-BN-ReLU (32, 64, 128, 256
    channels), MaxPool 2 down, ConvTranspose 2x2 stride 2 up with the skip
    concatenated, and a 1x1 Conv head giving per-pixel logits [1, 21, 256, 256]."""

    def double_conv(module, x, cout):
        for i in (0, 3):
            x = b.conv(f"{module}.double_conv.{i}", x, cout, 3)
            x = b.bn(f"{module}.double_conv.{i + 1}", x)
            x = b.relu(f"{module}.double_conv.{i + 2}", x)
        return x

    skips = []
    for i, c in enumerate([32, 64, 128]):
        x = double_conv(f"down{i}", x, c)
        skips.append(x)
        x = b.maxpool(f"pool{i}", x, 2, 2, 0)
    x = double_conv("bottleneck", x, 256)
    for i, c in enumerate([128, 64, 32]):
        x = b.conv_transpose2x(f"up{i}.up", x, c)
        x = b.concat(f"up{i}", [skips[-1 - i], x])
        x = double_conv(f"up{i}.conv", x, c)
    nc = 21
    bound = 1.0 / np.sqrt(32)
    head = b.conv("head", x, nc, 1, pad=0, bias=b.rng.uniform(-bound, bound, nc), std=bound)
    out = b.node("Identity", [head[0]], "", output="output")
    return out, head[1].transpose(0, 3, 1, 2)


MODELS = {
    # name: (builder, input shape, output shape, description)
    "resnet50": (build_resnet50, [1, 3, 224, 224], [1, 1000],
                 "ResNet-50 v1.5 (torchvision layout), synthetic seeded weights, BN unfused"),
    "mobilenetv2": (build_mobilenetv2, [1, 3, 224, 224], [1, 1000],
                    "MobileNetV2 1.0 (torchvision layout), synthetic seeded weights, BN unfused"),
    "tiny_cnn": (build_tiny_cnn, [1, 3, 32, 32], [1, 10],
                 "tiny residual CNN for fast tests, synthetic seeded weights"),
    "yolov5n": (build_yolov5n, [1, 3, 640, 640], [1, 25200, 85],
                "YOLOv5n v6.0 detector (Ultralytics layout, Detect decode in the graph), "
                "synthetic seeded weights, BN unfused"),
    "unet": (build_unet, [1, 3, 256, 256], [1, 21, 256, 256],
             "U-Net segmentation (4 levels, ConvTranspose up-sampling, 21 classes), "
             "synthetic seeded weights, BN unfused"),
}



# --------------------------------------------------------------------------------------
# transformers (BERT, ViT) as PyTorch's ONNX exporter emits them (issue 18)
# --------------------------------------------------------------------------------------
#
# Static shapes (batch 1), so every Reshape takes a constant shape initializer (the
# exporter's Shape/Gather/Concat chains appear only with dynamic axes). The graphs are
# the eval-mode export of HuggingFace BertForSequenceClassification / ViTForImageClassification
# at opset 13..17: LayerNorm decomposed (opset < 17 has no LayerNormalization; the exporter
# emits ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta), GELU
# in its exact Erf form (Div sqrt2, Erf, Add 1, Mul x, Mul 0.5), Linear on a 3-D input as
# MatMul by the transposed weight then Add(bias, product), dropout removed. No numpy
# reference is computed for these: tests compare the engine with ONNX Runtime.

# name: (layers, hidden, heads, intermediate, seq or (image, patch), vocab or classes, eps)
TRANSFORMERS = {
    "bert_small": dict(kind="bert", layers=4, hidden=256, heads=4, inter=1024, seq=128,
                       vocab=30522, labels=2, eps=1e-12,
                       doc="BERT-small encoder (4 layers, hidden 256, 4 heads, seq 128, "
                           "vocab 30522) + pooler + 2-way classifier"),
    "bert_base": dict(kind="bert", layers=12, hidden=768, heads=12, inter=3072, seq=128,
                      vocab=30522, labels=2, eps=1e-12,
                      doc="BERT-base encoder (12 layers, hidden 768, 12 heads, seq 128, "
                          "vocab 30522) + pooler + 2-way classifier"),
    "vit_tiny": dict(kind="vit", layers=4, hidden=192, heads=3, inter=768, image=224, patch=16,
                     classes=1000, eps=1e-12,
                     doc="ViT-Tiny/16 (4 layers, hidden 192, 3 heads, 224x224) + classifier"),
    "vit_b16": dict(kind="vit", layers=12, hidden=768, heads=12, inter=3072, image=224,
                    patch=16, classes=1000, eps=1e-12,
                    doc="ViT-B/16 (12 layers, hidden 768, 12 heads, 224x224) + classifier"),
}


class TransformerBuilder(Builder):
    """Builder for the transformer graphs: weights only (no numpy reference values)."""

    def const(self, name, arr):
        """A named constant initializer (shared by name)."""
        if name not in self.consts:
            self.add_init(name, arr)
            self.consts[name] = name
        return name

    def scalar(self, value):
        """A float32 scalar constant named after its value (as the exporter's onnx::Div_123)."""
        return self.const(f"const_{value!r}", np.array(value, np.float32))

    def reduce_mean(self, x, scope, call_name):
        if self.opset >= 18:
            axes = self.const("const_axes_last", np.array([-1], np.int64))
            return self.node("ReduceMean", [x, axes], scope, call_name=call_name, keepdims=1)
        return self.node("ReduceMean", [x], scope, call_name=call_name, axes=[-1], keepdims=1)

    def layer_norm(self, module, x, width, eps):
        """torch.nn.LayerNorm over the last axis, decomposed as the opset < 17 exporter does."""
        gamma = self.rng.uniform(0.5, 1.5, width).astype(np.float32)
        beta = self.rng.normal(0.0, 0.1, width).astype(np.float32)
        m = self.reduce_mean(x, module, "mean")
        d = self.node("Sub", [x, m], module)
        p = self.node("Pow", [d, self.scalar(2.0)], module)
        v = self.reduce_mean(p, module, "var")
        a = self.node("Add", [v, self.scalar(eps)], module)
        s = self.node("Sqrt", [a], module)
        n = self.node("Div", [d, s], module)
        y = self.node("Mul", [n, self.add_init(f"{module}.weight", gamma)], module)
        return self.node("Add", [y, self.add_init(f"{module}.bias", beta)], module, call_name="beta")

    def dense(self, module, x, nin, nout):
        """nn.Linear on a [B, S, nin] input: MatMul(x, W^T) then Add(bias, product)."""
        bound = 1.0 / np.sqrt(nin)
        w = self.rng.uniform(-bound, bound, (nin, nout)).astype(np.float32) * np.float32(np.sqrt(3.0))
        b = self.rng.uniform(-bound, bound, nout).astype(np.float32)
        mm = self.node("MatMul", [x, self.add_init(f"onnx::MatMul_{module}", w)], module)
        return self.node("Add", [self.add_init(f"{module}.bias", b), mm], module)

    def gemm(self, module, x, nin, nout):
        """nn.Linear on a [B, nin] input: Gemm with transB."""
        bound = 1.0 / np.sqrt(nin)
        w = (self.rng.uniform(-bound, bound, (nout, nin)) * np.sqrt(3.0)).astype(np.float32)
        b = self.rng.uniform(-bound, bound, nout).astype(np.float32)
        return self.node("Gemm", [x, self.add_init(f"{module}.weight", w),
                                  self.add_init(f"{module}.bias", b)],
                         module, alpha=1.0, beta=1.0, transB=1)

    def gelu(self, module, x):
        """nn.GELU() (exact): x * 0.5 * (1 + erf(x / sqrt(2))) as exported."""
        d = self.node("Div", [x, self.scalar(1.4142135381698608)], module)
        e = self.node("Erf", [d], module)
        a = self.node("Add", [e, self.scalar(1.0)], module)
        m = self.node("Mul", [x, a], module)
        return self.node("Mul", [m, self.scalar(0.5)], module, call_name="half")

    def shape_of(self, x, axes, tail, scope):
        """The exporter's chain for a shape built from x.size(): Shape(x), Gather each of
        `axes`, Unsqueeze, Concat with the constant `tail` (dynamic-axis exports)."""
        self.chains = getattr(self, "chains", 0) + 1
        call = f"shape_{self.chains}"
        sh = self.node("Shape", [x], scope, call_name=call)
        parts = []
        for a in axes:
            g = self.node("Gather", [sh, self.const(f"const_index_{a}", np.array(a, np.int64))],
                          scope, call_name=f"{call}_{a}", axis=0)
            parts.append(self.node("Unsqueeze", [g, self.const("const_axes_0", np.array([0], np.int64))],
                                   scope, call_name=f"{call}_{a}"))
        parts.append(self.const("const_tail_" + "x".join(str(t) for t in tail), np.array(tail, np.int64)))
        return self.node("Concat", parts, scope, call_name=call, axis=0)

    def shape(self, dims):
        return self.const("const_shape_" + "x".join(str(d) for d in dims), np.array(dims, np.int64))

    def attention(self, sm, out_module, x, seq, hidden, heads, mask):
        """HF BertSelfAttention / ViTSelfAttention (scope `sm`) and the output dense
        `out_module` (no residual). `mask`: the additive [1, 1, 1, seq] mask or None."""
        d = hidden // heads
        dynamic = getattr(self, "dynamic", False)
        heads_shape = None if dynamic else self.shape([1, seq, heads, d])

        def project(name):
            p = self.dense(f"{sm}.{name}", x, hidden, hidden)
            hs = self.shape_of(p, [0, 1], [heads, d], f"{sm}.{name}") if dynamic else heads_shape
            r = self.node("Reshape", [p, hs], f"{sm}.{name}", call_name="split")
            return self.node("Transpose", [r], f"{sm}.{name}", call_name="heads", perm=[0, 2, 1, 3])

        q, k, v = project("query"), project("key"), project("value")
        kt = self.node("Transpose", [k], sm, call_name="key_t", perm=[0, 1, 3, 2])
        s = self.node("MatMul", [q, kt], sm, call_name="scores")
        s = self.node("Div", [s, self.scalar(float(np.float32(np.sqrt(d))))], sm)
        if mask is not None:
            s = self.node("Add", [s, mask], sm, call_name="mask")
        p = self.node("Softmax", [s], sm, axis=-1)
        c = self.node("MatMul", [p, v], sm, call_name="context")
        c = self.node("Transpose", [c], sm, call_name="merge", perm=[0, 2, 1, 3])
        ms = self.shape_of(c, [0, 1], [hidden], sm) if dynamic else self.shape([1, seq, hidden])
        c = self.node("Reshape", [c, ms], sm, call_name="merge")
        return self.dense(out_module, c, hidden, hidden)

    def finish_multi(self, graph_name, inputs, outputs, doc):
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, initializer=self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 producer_name="engine-models-generate", producer_version="1.0",
                                 doc_string=doc)


def build_bert(b, c):
    """BertForSequenceClassification (HF layout, post-LN), eval mode."""
    S, H, L = c["seq"], c["hidden"], c["layers"]
    std = 0.02 * 25  # embeddings: larger than BERT's 0.02 so the sum is not LayerNorm-dominated by one table
    emb = lambda n, rows: b.add_init(f"bert.embeddings.{n}.weight",
                                     (b.rng.standard_normal((rows, H)) * std).astype(np.float32))
    we = b.node("Gather", [emb("word_embeddings", c["vocab"]), "input_ids"], "bert.embeddings.word_embeddings")
    te = b.node("Gather", [emb("token_type_embeddings", 2), "token_type_ids"],
                "bert.embeddings.token_type_embeddings")
    x = b.node("Add", [we, te], "bert.embeddings")
    if getattr(b, "dynamic", False):
        # self.position_ids[:, :seq_length] with seq_length = input_ids.size(1)
        all_ids = b.add_init("bert.embeddings.position_ids", np.arange(512, dtype=np.int64)[None, :])
        sh = b.node("Shape", ["input_ids"], "bert.embeddings")
        n = b.node("Gather", [sh, b.const("const_index_1", np.array(1, np.int64))], "bert.embeddings", axis=0)
        n = b.node("Unsqueeze", [n, b.const("const_axes_0", np.array([0], np.int64))], "bert.embeddings")
        pos_ids = b.node("Slice", [all_ids, b.const("const_starts_0", np.array([0], np.int64)), n,
                                   b.const("const_axes_1", np.array([1], np.int64))], "bert.embeddings")
    else:
        pos_ids = b.add_init("bert.embeddings.position_ids", np.arange(S, dtype=np.int64)[None, :])
    pe = b.node("Gather", [emb("position_embeddings", 512), pos_ids], "bert.embeddings.position_embeddings")
    x = b.node("Add", [x, pe], "bert.embeddings", call_name="pos")
    x = b.layer_norm("bert.embeddings.LayerNorm", x, H, c["eps"])
    # extended_attention_mask = (1.0 - mask[:, None, None, :].float()) * -10000.0
    one_axes = b.const("const_axes_1", np.array([1], np.int64))
    two_axes = b.const("const_axes_2", np.array([2], np.int64))
    m = b.node("Unsqueeze", ["attention_mask", one_axes], "bert")
    m = b.node("Unsqueeze", [m, two_axes], "bert", call_name="second")
    m = b.node("Cast", [m], "bert", to=TensorProto.FLOAT)
    m = b.node("Sub", [b.scalar(1.0), m], "bert")
    mask = b.node("Mul", [m, b.scalar(-10000.0)], "bert")
    for i in range(L):
        lm = f"bert.encoder.layer.{i}"
        a = b.attention(f"{lm}.attention.self", f"{lm}.attention.output.dense", x, S, H, c["heads"], mask)
        x = b.node("Add", [a, x], f"{lm}.attention.output", call_name="residual")
        x = b.layer_norm(f"{lm}.attention.output.LayerNorm", x, H, c["eps"])
        h = b.dense(f"{lm}.intermediate.dense", x, H, c["inter"])
        h = b.gelu(f"{lm}.intermediate.intermediate_act_fn", h)
        h = b.dense(f"{lm}.output.dense", h, c["inter"], H)
        x = b.node("Add", [h, x], f"{lm}.output", call_name="residual")
        x = b.layer_norm(f"{lm}.output.LayerNorm", x, H, c["eps"])
    hidden = b.node("Identity", [x], "", output="last_hidden_state")
    first = b.node("Gather", [hidden, b.const("const_index_0", np.array(0, np.int64))], "bert.pooler", axis=1)
    p = b.gemm("bert.pooler.dense", first, H, H)
    p = b.node("Tanh", [p], "bert.pooler.activation")
    b.node("Gemm", [p, b.add_init("classifier.weight",
                                                (b.rng.standard_normal((c["labels"], H)) * 0.2).astype(np.float32)),
                                 b.add_init("classifier.bias", np.zeros(c["labels"], np.float32))],
                        "classifier", output="logits", alpha=1.0, beta=1.0, transB=1)
    B, S = ("batch", "sequence") if getattr(b, "dynamic", False) else (1, S)
    ints = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, [B, S])
    return ([ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
            [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [B, S, H]),
             helper.make_tensor_value_info("logits", TensorProto.FLOAT, [B, c["labels"]])])


def build_vit(b, c):
    """ViTForImageClassification (HF layout, pre-LN), eval mode."""
    H, P, I = c["hidden"], c["patch"], c["image"]
    n = (I // P) ** 2
    S = n + 1
    std = np.sqrt(1.0 / (3 * P * P))
    w = (b.rng.standard_normal((H, 3, P, P)) * std).astype(np.float32)
    bias = b.rng.uniform(-0.05, 0.05, H).astype(np.float32)
    pm = "vit.embeddings.patch_embeddings.projection"
    x = b.node("Conv", ["pixel_values", b.add_init(f"{pm}.weight", w), b.add_init(f"{pm}.bias", bias)],
               pm, dilations=[1, 1], group=1, kernel_shape=[P, P], pads=[0, 0, 0, 0], strides=[P, P])
    x = b.node("Reshape", [x, b.shape([1, H, n])], "vit.embeddings.patch_embeddings")
    x = b.node("Transpose", [x], "vit.embeddings.patch_embeddings", perm=[0, 2, 1])
    cls = b.add_init("vit.embeddings.cls_token", (b.rng.standard_normal((1, 1, H)) * 0.02).astype(np.float32))
    cls = b.node("Expand", [cls, b.shape([1, 1, H])], "vit.embeddings")
    x = b.node("Concat", [cls, x], "vit.embeddings", axis=1)
    pos = b.add_init("vit.embeddings.position_embeddings",
                     (b.rng.standard_normal((1, S, H)) * 0.02).astype(np.float32))
    x = b.node("Add", [x, pos], "vit.embeddings")
    for i in range(c["layers"]):
        lm = f"vit.encoder.layer.{i}"
        h = b.layer_norm(f"{lm}.layernorm_before", x, H, c["eps"])
        h = b.attention(f"{lm}.attention.attention", f"{lm}.attention.output.dense", h, S, H, c["heads"], None)
        x = b.node("Add", [h, x], lm, call_name="residual_attention")
        h = b.layer_norm(f"{lm}.layernorm_after", x, H, c["eps"])
        h = b.dense(f"{lm}.intermediate.dense", h, H, c["inter"])
        h = b.gelu(f"{lm}.intermediate.intermediate_act_fn", h)
        h = b.dense(f"{lm}.output.dense", h, c["inter"], H)
        x = b.node("Add", [h, x], lm, call_name="residual_mlp")
    x = b.layer_norm("vit.layernorm", x, H, c["eps"])
    first = b.node("Gather", [x, b.const("const_index_0", np.array(0, np.int64))], "classifier", axis=1)
    b.node("Gemm", [first, b.add_init("classifier.weight",
                                      (b.rng.standard_normal((c["classes"], H)) / np.sqrt(H)).astype(np.float32)),
                    b.add_init("classifier.bias", np.zeros(c["classes"], np.float32))],
           "classifier", output="logits", alpha=1.0, beta=1.0, transB=1)
    return ([helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, I, I])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, c["classes"]])])


def generate_transformer(name, path, seed, opset, dynamic=False):
    """Builds, checks (shape inference, full checker) and saves transformer `name`;
    `dynamic`: batch and sequence axes symbolic, shapes from Shape/Gather/Concat chains."""
    c = TRANSFORMERS[name]
    b = TransformerBuilder(np.random.default_rng([seed, zlib.crc32(name.encode())]), opset)
    b.dynamic = dynamic
    inputs, outputs = (build_bert if c["kind"] == "bert" else build_vit)(b, c)
    model = b.finish_multi(name, inputs, outputs, f"{c['doc']}; seed={seed}; opset={opset}")
    onnx.checker.check_model(model, full_check=False)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    for want, got in zip(outputs, inferred.graph.output):
        if got.type.tensor_type.shape != want.type.tensor_type.shape:
            raise RuntimeError(f"{name}: output {got.name} inferred {got.type}")
    save_atomically(model, path)
    return model

# --------------------------------------------------------------------------------------
# dynamic axes (issue 19): the same weights as the static model (same name, same seed),
# exported with symbolic dimensions
# --------------------------------------------------------------------------------------

DYNAMIC = {
    "resnet50_dynamic": ("resnet50", "ResNet-50 with a dynamic batch axis ('batch')"),
    "bert_small_dynamic": ("bert_small", "BERT-small with dynamic batch and sequence axes "
                           "(Shape/Gather/Unsqueeze/Concat chains for the head reshapes, "
                           "position ids sliced to the sequence length)"),
}


def generate_dynamic(name, path, seed, opset):
    base, doc = DYNAMIC[name]
    if base in TRANSFORMERS:
        # the static model's seed: same weights
        c = TRANSFORMERS[base]
        b = TransformerBuilder(np.random.default_rng([seed, zlib.crc32(base.encode())]), opset)
        b.dynamic = True
        inputs, outputs = build_bert(b, c)
        model = b.finish_multi(name, inputs, outputs, f"{doc}; seed={seed}; opset={opset}")
    else:
        tmp_static = path + ".static.tmp"
        model, _ = generate(base, tmp_static, seed, opset)
        os.remove(tmp_static)
        for v in list(model.graph.input) + list(model.graph.output):
            v.type.tensor_type.shape.dim[0].dim_param = "batch"
        model.doc_string = f"{doc}; seed={seed}"
    check_model_shapes(model)
    save_atomically(model, path)
    return model


# --------------------------------------------------------------------------------------
# explicitly quantized (QDQ) transformers (issue 18): the float model with QuantizeLinear /
# DequantizeLinear inserted as ONNX Runtime's quantize_static (QuantFormat.QDQ) does for
# BERT's MatMuls, with symmetric int8 activations (ActivationSymmetric, zero point 0) and
# per-channel int8 weights: every MatMul input gets a Q/DQ pair (an activation, one scale
# per tensor: amax / 127 over float runs on seeded random token sequences) or a
# DequantizeLinear of int8 weights (one scale per output column, max|w| / 127). The
# attention products Q.K^T and P.V thus have Q/DQ on both activation operands. The
# pooler / classifier Gemms, biases, LayerNorm, GELU and the mask stay float.
# --------------------------------------------------------------------------------------

QDQ = {
    "bert_small_qdq": ("bert_small", "BERT-small with ONNX Runtime-style QDQ on every MatMul "
                       "(int8 symmetric per-tensor activations, per-channel int8 weights)"),
}
QDQ_CALIB_SAMPLES = 8


def _erf(x):
    """erf in float64 (Abramowitz & Stegun 7.1.26 is too coarse for scales: math.erf)."""
    import math
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def numpy_run(model, feeds, want):
    """Runs the float graph of `model` in NumPy (the ops the transformer builders emit)
    and returns {name: value} for the tensors in `want`. For calibration only."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for n in model.graph.node:
        x = [env[i] if i else None for i in n.input]
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        op = n.op_type
        if op in ("Add", "Sub", "Mul", "Div", "Pow"):
            y = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
                 "Pow": np.power}[op](x[0], x[1])
        elif op == "MatMul":
            y = np.matmul(x[0], x[1])
        elif op == "Gemm":
            bm = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (x[0] @ bm) + a.get("beta", 1.0) * x[2]
        elif op == "Transpose":
            y = np.transpose(x[0], a["perm"])
        elif op == "Reshape":
            y = np.reshape(x[0], x[1])
        elif op == "ReduceMean":
            axes = tuple(a["axes"]) if "axes" in a else tuple(x[1])
            y = np.mean(x[0], axis=axes, keepdims=bool(a.get("keepdims", 1)))
        elif op == "Sqrt":
            y = np.sqrt(x[0])
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Erf":
            y = _erf(x[0])
        elif op == "Gather":
            y = np.take(x[0], x[1], axis=a.get("axis", 0))
        elif op == "Unsqueeze":
            y = x[0]
            for ax in sorted(a["axes"] if "axes" in a else x[1]):
                y = np.expand_dims(y, int(ax))
        elif op == "Cast":
            y = x[0].astype(np.float32)
        elif op == "Identity":
            y = x[0]
        elif op == "Softmax":
            e = np.exp(x[0] - x[0].max(axis=a.get("axis", -1), keepdims=True))
            y = e / e.sum(axis=a.get("axis", -1), keepdims=True)
        else:
            raise RuntimeError(f"numpy_run: op {op} not supported")
        if isinstance(y, np.ndarray) and y.dtype == np.float64:
            y = y.astype(np.float32)
        env[n.output[0]] = y
    return {w: env[w] for w in want}


def bert_calibration_samples(rng, n, seq, vocab):
    """Random token sequences as tests/e2e/transformers_int8_vs_onnxruntime.py makes them."""
    out = []
    for _ in range(n):
        ids = rng.integers(1000, vocab, (1, seq)).astype(np.int64)
        ids[0, 0] = 101
        length = int(rng.integers(seq // 2, seq + 1))
        mask = np.ones((1, seq), np.int64)
        mask[0, length:] = 0
        ids[0, length - 1] = 102
        types = np.zeros((1, seq), np.int64)
        types[0, length // 2:length] = 1
        out.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    return out


def insert_qdq(model, amax):
    """QDQ on every MatMul input of `model` (in place): activations a Q/DQ pair at
    amax[name] / 127 (one pair per tensor, shared by its MatMul readers), constant weights
    [K, N] replaced by DequantizeLinear(int8, per-column scale, axis 1)."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    new_inits, qdq_of, weight_dq = [], {}, {}
    nodes = []
    for n in g.node:
        if n.op_type == "MatMul":
            for i, name in enumerate(n.input):
                if name in inits:
                    if name not in weight_dq:
                        w = numpy_helper.to_array(inits[name]).astype(np.float32)
                        s = np.maximum(np.abs(w).max(axis=0), 1e-12).astype(np.float32) / np.float32(127)
                        q = np.clip(np.rint(w / s), -127, 127).astype(np.int8)
                        qn, sn, zn = name + "_quantized", name + "_scale", name + "_zero_point"
                        new_inits += [numpy_helper.from_array(q, qn), numpy_helper.from_array(s, sn),
                                      numpy_helper.from_array(np.zeros(s.shape, np.int8), zn)]
                        weight_dq[name] = name + "_DequantizeLinear_Output"
                        nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [weight_dq[name]],
                                                      name=name + "_DequantizeLinear", axis=1))
                    n.input[i] = weight_dq[name]
                else:
                    if name not in qdq_of:
                        s = np.float32(max(float(amax[name]), 1e-8) / 127.0)
                        sn, zn = name + "_scale", name + "_zero_point"
                        new_inits += [numpy_helper.from_array(np.array(s, np.float32), sn),
                                      numpy_helper.from_array(np.array(0, np.int8), zn)]
                        ql, dq = name + "_QuantizeLinear_Output", name + "_DequantizeLinear_Output"
                        nodes.append(helper.make_node("QuantizeLinear", [name, sn, zn], [ql],
                                                      name=name + "_QuantizeLinear"))
                        nodes.append(helper.make_node("DequantizeLinear", [ql, sn, zn], [dq],
                                                      name=name + "_DequantizeLinear"))
                        qdq_of[name] = dq
                    n.input[i] = qdq_of[name]
        nodes.append(n)
    # Topological order: each Q/DQ right after its input's producer (weights: first).
    produced = {i.name for i in g.input} | set(inits) | {t.name for t in new_inits}
    ordered, pending = [], list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all((not i) or i in produced for i in n.input):
                ordered.append(n)
                produced.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise RuntimeError("insert_qdq: graph is not a DAG")
        pending = rest
    del g.node[:]
    g.node.extend(ordered)
    used = {i for n in ordered for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    return len(qdq_of), len(weight_dq)


def generate_qdq(name, path, seed, opset):
    base, doc = QDQ[name]
    c = TRANSFORMERS[base]
    b = TransformerBuilder(np.random.default_rng([seed, zlib.crc32(base.encode())]), opset)
    inputs, outputs = build_bert(b, c)
    model = b.finish_multi(name, inputs, outputs, "")
    acts = sorted({i for n in model.graph.node if n.op_type == "MatMul" for i in n.input}
                  - {t.name for t in model.graph.initializer})
    amax = {a: 0.0 for a in acts}
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    for feeds in bert_calibration_samples(rng, QDQ_CALIB_SAMPLES, c["seq"], c["vocab"]):
        for a, v in numpy_run(model, feeds, acts).items():
            amax[a] = max(amax[a], float(np.abs(v).max()))
    pairs, weights = insert_qdq(model, amax)
    model.doc_string = (f"{doc}; {pairs} activation Q/DQ pairs, {weights} quantized weights; "
                        f"scales from {QDQ_CALIB_SAMPLES} float runs; seed={seed}; opset={opset}")
    check_model_shapes(model)
    save_atomically(model, path)
    return model


def check_model_shapes(model):
    """onnx.checker (without the full check) and strict shape inference with type checks:
    raises on a malformed generated model."""
    onnx.checker.check_model(model, full_check=False)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def save_atomically(model, path):
    """Writes `model` to path + ".tmp", then renames it over `path`: a reader never sees a
    half-written model."""
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)


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

    save_atomically(model, path)
    return model, y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*",
                    help=f"models to generate: {', '.join(list(MODELS) + list(TRANSFORMERS) + list(DYNAMIC) + list(QDQ))} (default: all)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"),
                    help="output directory (default: models/out)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--force", action="store_true", help="regenerate even if the file exists")
    args = ap.parse_args(argv)

    known = list(MODELS) + list(TRANSFORMERS) + list(DYNAMIC) + list(QDQ)
    names = args.names or known
    bad = [n for n in names if n not in known]
    if bad:
        ap.error(f"unknown model(s): {', '.join(bad)}; known: {', '.join(known)}")
    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        ap.error(f"--opset must be in [{MIN_OPSET}, {MAX_OPSET}]")
    os.makedirs(args.out, exist_ok=True)

    for name in names:
        path = os.path.join(args.out, f"{name}.onnx")
        if os.path.exists(path) and not args.force:
            describe(path, onnx.load(path), " (exists, skipped; --force to regenerate)")
            continue
        t0 = time.time()
        if name in DYNAMIC:
            model, stats = generate_dynamic(name, path, args.seed, args.opset), ""
        elif name in QDQ:
            model, stats = generate_qdq(name, path, args.seed, args.opset), ""
        elif name in TRANSFORMERS:
            model, stats = generate_transformer(name, path, args.seed, args.opset), ""
        else:
            model, y = generate(name, path, args.seed, args.opset)
            stats = f", calib output mean {y.mean():.3g} std {y.std():.3g}"
        describe(path, model, f", {time.time() - t0:.1f} s{stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
