#!/usr/bin/env python3
"""Detector-style graphs with data-dependent output shapes, for
data_dependent_vs_onnxruntime.sh, each with two input sets (a, b) that give
different numbers of detections / non-zeros:

- detector_nms: boxes [1, N, 4] and scores [1, 1, N] -> NonMaxSuppression
  (max 2^62 boxes per class: clamped to N, iou 0.5, score 0.3) -> Gather of
  the box index column -> Gather of the selected boxes [n, 4] -> Mul by 2
  (an elementwise consumer) -> output; the selected indices are an output
  too.
- nonzero_gather: NonZero of X [4, 6] -> Transpose [n, 2] -> Cast to float ->
  output; and Gather(X flattened, the flat index) through Reshape.
- topk_runtime_k: TopK of X [2, 10] with K an input -> values and indices.

Usage: data_dependent_models.py OUT_DIR
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
rng = np.random.default_rng(19)


def save(name, nodes, inputs, outputs, inits, sets, opset=13):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + '.onnx'))
    for tag, tensors in sets.items():
        for n, v in tensors.items():
            np.save(os.path.join(OUT, f'{name}.{tag}.{n}.npy'), v)


# --- detector_nms
N = 40


def boxes_scores(clusters, seed):
    r = np.random.default_rng(seed)
    centers = r.uniform(0.1, 0.9, (clusters, 2))
    b = []
    for i in range(N):
        c = centers[i % clusters] + r.normal(0, 0.01, 2)
        w, hgt = r.uniform(0.05, 0.1, 2)
        b.append([c[1] - hgt / 2, c[0] - w / 2, c[1] + hgt / 2, c[0] + w / 2])
    s = r.uniform(0.0, 1.0, (1, 1, N)).astype(np.float32)
    return np.array(b, np.float32)[None], s


ba, sa = boxes_scores(3, 1)   # 3 clusters: few detections
bb, sb = boxes_scores(12, 2)  # 12 clusters: more
save('detector_nms',
     [h.make_node('NonMaxSuppression', ['boxes', 'scores', 'max_out', 'iou', 'score_th'],
                  ['selected']),
      h.make_node('Gather', ['selected', 'col2'], ['box_idx'], axis=1),
      h.make_node('Squeeze', ['boxes', 'axis0'], ['boxes2d']),
      h.make_node('Gather', ['boxes2d', 'box_idx'], ['picked'], axis=0),
      h.make_node('Mul', ['picked', 'two'], ['detections'])],
     [h.make_tensor_value_info('boxes', T.FLOAT, [1, N, 4]),
      h.make_tensor_value_info('scores', T.FLOAT, [1, 1, N])],
     [h.make_tensor_value_info('detections', T.FLOAT, ['n', 4]),
      h.make_tensor_value_info('selected', T.INT64, ['n', 3])],
     [nh.from_array(np.array([2**62], np.int64), 'max_out'),
      nh.from_array(np.array([0.5], np.float32), 'iou'),
      nh.from_array(np.array([0.3], np.float32), 'score_th'),
      nh.from_array(np.array(2, np.int64), 'col2'),
      nh.from_array(np.array([0], np.int64), 'axis0'),
      nh.from_array(np.array(2.0, np.float32), 'two')],
     {'a': {'boxes': ba, 'scores': sa}, 'b': {'boxes': bb, 'scores': sb}})

# --- nonzero_gather
xa = (rng.uniform(0, 1, (4, 6)) > 0.8).astype(np.float32) * rng.uniform(1, 2, (4, 6)).astype(np.float32)
xb = (rng.uniform(0, 1, (4, 6)) > 0.3).astype(np.float32) * rng.uniform(1, 2, (4, 6)).astype(np.float32)
save('nonzero_gather',
     [h.make_node('NonZero', ['X'], ['nz']),
      h.make_node('Transpose', ['nz'], ['coords'], perm=[1, 0]),
      h.make_node('Cast', ['coords'], ['coords_f'], to=T.FLOAT),
      h.make_node('Gather', ['nz', 'zero'], ['rows'], axis=0),
      h.make_node('Gather', ['X', 'rows'], ['xrows'], axis=0),
      h.make_node('Neg', ['xrows'], ['neg_rows'])],
     [h.make_tensor_value_info('X', T.FLOAT, [4, 6])],
     [h.make_tensor_value_info('coords_f', T.FLOAT, ['nz', 2]),
      h.make_tensor_value_info('neg_rows', T.FLOAT, ['nz', 6])],
     [nh.from_array(np.array(0, np.int64), 'zero')],
     {'a': {'X': xa}, 'b': {'X': xb}})

# --- topk_runtime_k
x = rng.standard_normal((2, 10)).astype(np.float32)
save('topk_runtime_k',
     [h.make_node('TopK', ['X', 'K'], ['values', 'indices'], axis=1, largest=1)],
     [h.make_tensor_value_info('X', T.FLOAT, [2, 10]),
      h.make_tensor_value_info('K', T.INT64, [1])],
     [h.make_tensor_value_info('values', T.FLOAT, [2, 'k']),
      h.make_tensor_value_info('indices', T.INT64, [2, 'k'])],
     [],
     {'a': {'X': x, 'K': np.array([3], np.int64)}, 'b': {'X': x, 'K': np.array([7], np.int64)}})
