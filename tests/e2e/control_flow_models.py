#!/usr/bin/env python3
"""Control-flow models (If, Loop, Scan) for control_flow_vs_onnxruntime.sh,
the forms the ONNX node tests leave out, compiled by the parser into a static
graph (src/parser/control_flow.h):

  if_runtime_{true,false}  If on a bool graph input (both branches + Where),
                           branches reading outer tensors and declaring no shapes;
  loop_for_cond            Loop, constant trip count 4 and condition true, the
                           body passing the condition through: two carried
                           values (one using the iteration number) and a scan
                           output, at opset 13;
  loop_for_const_cond      Loop with a trip count, no condition input and a
                           constant true condition out of the body (as
                           PyTorch exports a for loop);
  loop_shape_trip_count    Loop whose trip count is Shape -> Gather of the input
                           (a PyTorch for loop over x.size(0)), the iteration
                           number used as a Gather index;
  loop_opset11             Loop at opset 11 (Unsqueeze/Squeeze axes as attributes);
  scan_axes_reverse        Scan (opset 13): scan axis 1, one reverse input, an
                           output stacked on axis 1 in reverse order and one on
                           axis -1;
  scan_opset8_batch        Scan at opset 8 (sequence_lens absent, batch axis 0,
                           batch 2, a reverse direction);
  loop_with_if             a Loop whose body holds an If on a graph input.

Each model's inputs are saved as <name>.<input>.npy; <name>.inputs lists
"input=path" per line.

Usage: control_flow_models.py OUT_DIR
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
rng = np.random.default_rng(17)


def vi(name, elem=T.FLOAT, shape=None):
    return h.make_tensor_value_info(name, elem, shape)


def save(name, graph, inputs, opset=13):
    m = h.make_model(graph, opset_imports=[h.make_opsetid('', opset)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + '.onnx'))
    lines = []
    for key, value in inputs.items():
        path = os.path.join(OUT, f'{name}.{key}.npy')
        np.save(path, value)
        lines.append(f'{key}={path}')
    with open(os.path.join(OUT, name + '.inputs'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def const(name, value):
    return h.make_node('Constant', [], [name], value=nh.from_array(np.asarray(value), name))


x23 = rng.standard_normal((2, 3)).astype(np.float32)

# If on a run-time condition; the branches read the outer X.
then_g = h.make_graph([h.make_node('Relu', ['X'], ['t']), const('two', np.float32(2)),
                       h.make_node('Mul', ['t', 'two'], ['then_out'])],
                      'then', [], [vi('then_out')])
else_g = h.make_graph([h.make_node('Sigmoid', ['X'], ['s']), const('one', np.float32(1)),
                       h.make_node('Add', ['s', 'one'], ['else_out'])],
                      'else', [], [vi('else_out')])
for flag in (True, False):
    g = h.make_graph([h.make_node('If', ['cond'], ['Y'], then_branch=then_g, else_branch=else_g)],
                     'if_runtime', [vi('X', shape=[2, 3]), vi('cond', T.BOOL, [])],
                     [vi('Y', shape=[2, 3])])
    save(f'if_runtime_{str(flag).lower()}', g, {'X': x23, 'cond': np.array(flag)})


def loop_body(opset):
    """iteration i, cond, y, acc -> cond, y * 0.5 + X + i, acc + y, scan y."""
    nodes = [h.make_node('Identity', ['cond_in'], ['cond_out']),
             h.make_node('Cast', ['i'], ['i_f'], to=T.FLOAT),
             const('half', np.float32(0.5)),
             h.make_node('Mul', ['y_in', 'half'], ['y_half']),
             h.make_node('Add', ['y_half', 'X'], ['y_x']),
             h.make_node('Add', ['y_x', 'i_f'], ['y_out']),
             h.make_node('Add', ['acc_in', 'y_in'], ['acc_out']),
             h.make_node('Identity', ['y_out'], ['scan_y'])]
    return h.make_graph(nodes, 'body', [vi('i', T.INT64, []), vi('cond_in', T.BOOL, []),
                                        vi('y_in', shape=[2, 3]), vi('acc_in', shape=[2, 3])],
                        [vi('cond_out', T.BOOL, []), vi('y_out', shape=[2, 3]),
                         vi('acc_out', shape=[2, 3]), vi('scan_y', shape=[2, 3])])


for name, opset in (('loop_for_cond', 13), ('loop_opset11', 11)):
    g = h.make_graph([const('M', np.int64(4)), const('C', np.array(True)),
                      h.make_node('Loop', ['M', 'C', 'X', 'X'], ['Y', 'ACC', 'SCAN'],
                                  body=loop_body(opset))],
                     name, [vi('X', shape=[2, 3])],
                     [vi('Y', shape=[2, 3]), vi('ACC', shape=[2, 3]), vi('SCAN', shape=[4, 2, 3])])
    save(name, g, {'X': x23}, opset)

# A for loop as PyTorch exports it: no condition input, a constant true
# condition out of the body.
body = h.make_graph([const('keep_going', np.array(True)),
                     h.make_node('Cast', ['i'], ['i_f'], to=T.FLOAT),
                     h.make_node('Add', ['v_in', 'i_f'], ['v_out'])],
                    'body', [vi('i', T.INT64, []), vi('cond_in', T.BOOL, []), vi('v_in', shape=[2, 3])],
                    [vi('keep_going', T.BOOL, []), vi('v_out', shape=[2, 3])])
g = h.make_graph([const('M', np.int64(3)), h.make_node('Loop', ['M', '', 'X'], ['Y'], body=body)],
                 'loop_for_const_cond', [vi('X', shape=[2, 3])], [vi('Y', shape=[2, 3])])
save('loop_for_const_cond', g, {'X': x23})

# for i in range(x.size(0)): v += x[i], as PyTorch exports it: the trip count
# computed from the input's shape (Shape -> Gather), the iteration number
# used as an index.
body = h.make_graph([h.make_node('Identity', ['cond_in'], ['cond_out']),
                     h.make_node('Gather', ['X', 'i'], ['row'], axis=0),
                     h.make_node('Add', ['v_in', 'row'], ['v_out'])],
                    'body', [vi('i', T.INT64, []), vi('cond_in', T.BOOL, []), vi('v_in', shape=[3])],
                    [vi('cond_out', T.BOOL, []), vi('v_out', shape=[3])])
g = h.make_graph([h.make_node('Shape', ['X'], ['shape']), const('zero', np.int64(0)),
                  h.make_node('Gather', ['shape', 'zero'], ['M'], axis=0),
                  const('C', np.array(True)), const('v0', np.zeros(3, np.float32)),
                  h.make_node('Loop', ['M', 'C', 'v0'], ['Y'], body=body)],
                 'loop_shape_trip_count', [vi('X', shape=[5, 3])], [vi('Y', shape=[3])])
save('loop_shape_trip_count', g, {'X': rng.standard_normal((5, 3)).astype(np.float32)})

# Scan (opset 13): X [2, 5, 3] scanned along axis 1 (reversed), W [5, 2] along axis 0.
# W holds one value per step and row: [2] -> [2, 1] to scale the rows.
body = h.make_graph([h.make_node('Add', ['sum_in', 'x_t'], ['sum_out']),
                     const('ax', np.array([1], np.int64)),
                     h.make_node('Unsqueeze', ['w_t', 'ax'], ['w_col']),
                     h.make_node('Mul', ['sum_out', 'w_col'], ['y1']),
                     h.make_node('ReduceSum', ['x_t'], ['y2'], keepdims=0)],
                    'body', [vi('sum_in', shape=[2, 3]), vi('x_t', shape=[2, 3]), vi('w_t', shape=[2])],
                    [vi('sum_out', shape=[2, 3]), vi('y1', shape=[2, 3]), vi('y2', shape=[])])
g = h.make_graph([h.make_node('Scan', ['S0', 'X', 'W'], ['S', 'Y1', 'Y2'], body=body, num_scan_inputs=2,
                              scan_input_axes=[1, 0], scan_input_directions=[1, 0],
                              scan_output_axes=[1, -1], scan_output_directions=[1, 0])],
                 'scan_axes_reverse',
                 [vi('S0', shape=[2, 3]), vi('X', shape=[2, 5, 3]), vi('W', shape=[5, 2])],
                 [vi('S', shape=[2, 3]), vi('Y1', shape=[2, 5, 3]), vi('Y2', shape=[5])])
save('scan_axes_reverse', g, {'S0': rng.standard_normal((2, 3)).astype(np.float32),
                              'X': rng.standard_normal((2, 5, 3)).astype(np.float32),
                              'W': rng.standard_normal((5, 2)).astype(np.float32)})

# Scan at opset 8: batch axis 0 (batch 2), sequence axis 1, a reverse input.
body = h.make_graph([h.make_node('Add', ['sum_in', 'next'], ['sum_out']),
                     h.make_node('Mul', ['sum_out', 'next'], ['prod'])],
                    'body', [vi('sum_in', shape=[3]), vi('next', shape=[3])],
                    [vi('sum_out', shape=[3]), vi('prod', shape=[3])])
g = h.make_graph([h.make_node('Scan', ['', 'S0', 'X'], ['S', 'P'], body=body, num_scan_inputs=1,
                              directions=[1])],
                 'scan_opset8_batch', [vi('S0', shape=[2, 3]), vi('X', shape=[2, 4, 3])],
                 [vi('S', shape=[2, 3]), vi('P', shape=[2, 4, 3])])
save('scan_opset8_batch', g, {'S0': rng.standard_normal((2, 3)).astype(np.float32),
                              'X': rng.standard_normal((2, 4, 3)).astype(np.float32)}, opset=8)

# A Loop whose body holds an If on a graph input.
inner_then = h.make_graph([h.make_node('Add', ['v_in', 'X'], ['a'])], 'then', [], [vi('a')])
inner_else = h.make_graph([h.make_node('Sub', ['v_in', 'X'], ['b'])], 'else', [], [vi('b')])
body = h.make_graph([h.make_node('Identity', ['cond_in'], ['cond_out']),
                     h.make_node('If', ['flag'], ['v_if'], then_branch=inner_then, else_branch=inner_else),
                     h.make_node('Tanh', ['v_if'], ['v_out'])],
                    'body', [vi('i', T.INT64, []), vi('cond_in', T.BOOL, []), vi('v_in', shape=[2, 3])],
                    [vi('cond_out', T.BOOL, []), vi('v_out', shape=[2, 3])])
g = h.make_graph([const('M', np.int64(3)), const('C', np.array(True)),
                  h.make_node('Loop', ['M', 'C', 'X'], ['Y'], body=body)],
                 'loop_with_if', [vi('X', shape=[2, 3]), vi('flag', T.BOOL, [])], [vi('Y', shape=[2, 3])])
save('loop_with_if', g, {'X': x23, 'flag': np.array(False)})
