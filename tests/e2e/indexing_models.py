#!/usr/bin/env python3
"""Single-node ONNX models of the indexing / Einsum / recurrent family with
seeded weights and inputs, for indexing_vs_onnxruntime.sh: the forms the ONNX
node tests leave out (bidirectional and reverse recurrences with sequence
lengths, initial states, peepholes, clip, non-default activations with
alpha/beta, input_forget, linear_before_reset; float Einsum; scatter
reductions). Each model has one float input "X", saved beside it as
<name>.X.npy.

Usage: indexing_models.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(3)


def f(*shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def model(name, op, attrs, inits, x, outs, opset=14):
    """One `op` node reading X then the initializers (name None = absent)."""
    inputs = ['X'] + [n if n else '' for n, _ in inits]
    node = h.make_node(op, inputs, [o for o, _ in outs], **attrs)
    g = h.make_graph([node], name, [h.make_tensor_value_info('X', T.FLOAT, list(x.shape))],
                     [h.make_tensor_value_info(o, T.FLOAT if t is None else t, s)
                      for o, s, t in [(o, s[0], s[1]) if isinstance(s, tuple) else (o, s, None)
                                      for o, s in outs] if o],
                     [nh.from_array(v, n) for n, v in inits if n])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + '.onnx'))
    np.save(os.path.join(OUT, name + '.X.npy'), x)


S, B, I, H = 5, 3, 4, 6
lens = np.array([5, 3, 1], np.int32)
X = f(S, B, I, scale=1.0)

model('lstm_bidirectional', 'LSTM',
      dict(direction='bidirectional', hidden_size=H, clip=2.5,
           activations=['HardSigmoid', 'Tanh', 'Softsign', 'Sigmoid', 'ScaledTanh', 'Tanh'],
           activation_alpha=[0.3, 0.9], activation_beta=[0.4, 1.1]),
      [('W', f(2, 4 * H, I)), ('R', f(2, 4 * H, H)), ('B', f(2, 8 * H)), ('L', lens),
       ('h0', f(2, B, H)), ('c0', f(2, B, H)), ('P', f(2, 3 * H))], X,
      [('Y', [S, 2, B, H]), ('Yh', [2, B, H]), ('Yc', [2, B, H])])
model('lstm_reverse_input_forget', 'LSTM', dict(direction='reverse', hidden_size=H, input_forget=1),
      [('W', f(1, 4 * H, I)), ('R', f(1, 4 * H, H)), ('B', f(1, 8 * H))], X,
      [('Y', [S, 1, B, H]), ('Yh', [1, B, H]), ('Yc', [1, B, H])])
model('lstm_opset7', 'LSTM', dict(hidden_size=H), [('W', f(1, 4 * H, I)), ('R', f(1, 4 * H, H))],
      X, [('Y', [S, 1, B, H])], opset=7)
model('gru_reverse_linear_before_reset', 'GRU',
      dict(direction='reverse', hidden_size=H, linear_before_reset=1),
      [('W', f(1, 3 * H, I)), ('R', f(1, 3 * H, H)), ('B', f(1, 6 * H)), ('L', lens),
       ('h0', f(1, B, H))], X, [('Y', [S, 1, B, H]), ('Yh', [1, B, H])])
model('gru_bidirectional', 'GRU',
      dict(direction='bidirectional', hidden_size=H, clip=1.5,
           activations=['Sigmoid', 'LeakyRelu', 'HardSigmoid', 'Elu'],
           activation_alpha=[0.2, 0.25, 0.7], activation_beta=[0.45]),
      [('W', f(2, 3 * H, I)), ('R', f(2, 3 * H, H)), ('B', f(2, 6 * H)), ('L', lens)], X,
      [('Y', [S, 2, B, H]), ('Yh', [2, B, H])])
# ONNX Runtime's RNN reads activation_alpha per direction: give both.
model('rnn_bidirectional', 'RNN',
      dict(direction='bidirectional', hidden_size=H, activations=['Relu', 'LeakyRelu'],
           activation_alpha=[0.3, 0.3], activation_beta=[0.0, 0.0]),
      [('W', f(2, H, I)), ('R', f(2, H, H)), ('B', f(2, 2 * H)), ('L', lens), ('h0', f(2, B, H))],
      X, [('Y', [S, 2, B, H]), ('Yh', [2, B, H])])

model('einsum_attention', 'Einsum', dict(equation='bhqd,bhkd->bhqk'), [('K', f(2, 3, 7, 8))],
      f(2, 3, 5, 8), [('Y', [2, 3, 5, 7])], opset=13)
model('einsum_batch_matmul', 'Einsum', dict(equation='bij, bjk -> bik'), [('K', f(4, 6, 3))],
      f(4, 2, 6), [('Y', [4, 2, 3])], opset=13)
model('einsum_transpose', 'Einsum', dict(equation='ij->ji'), [], f(3, 4), [('Y', [4, 3])], opset=13)
model('einsum_batch_diagonal', 'Einsum', dict(equation='...ii->...i'), [], f(2, 4, 4),
      [('Y', [2, 4])], opset=13)
model('einsum_sum', 'Einsum', dict(equation='ij->i'), [], f(3, 5), [('Y', [3])], opset=13)

D = f(2, 3, 4, scale=1.0)
model('gathernd_batch_dims', 'GatherND', dict(batch_dims=1),
      [('I', np.array([[[1, 2], [0, -1]], [[2, 0], [1, 3]]], np.int64))], D, [('Y', [2, 2])],
      opset=13)
model('gather_elements', 'GatherElements', dict(axis=2),
      [('I', np.array([[[3, 0]], [[-1, 1]]], np.int64))], D, [('Y', [2, 1, 2])], opset=13)
model('scatternd_mul', 'ScatterND', dict(reduction='mul'),
      [('I', np.array([[0, 1], [1, 2], [0, 1]], np.int64)), ('U', f(3, 4))], D,
      [('Y', [2, 3, 4])], opset=16)
model('scatter_elements_max', 'ScatterElements', dict(axis=1, reduction='max'),
      [('I', np.array([[[0, 2, 1, 0]], [[1, 1, 2, 0]]], np.int64)), ('U', f(2, 1, 4))], D,
      [('Y', [2, 3, 4])], opset=18)
model('onehot_float_indices', 'OneHot', dict(axis=1),
      [('depth', np.array(5.0, np.float32)), ('V', np.array([-0.5, 2.0], np.float32))],
      np.array([[0.0, 4.0, -1.0], [2.9, 7.0, -5.0]], np.float32), [('Y', [2, 5, 3])], opset=11)
