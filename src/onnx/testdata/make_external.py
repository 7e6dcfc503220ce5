"""Makes tiny-external.onnx (+ tiny-external.onnx.data): a model whose weights are ONNX external data.

Run with Debian's python3-onnx (1.12): /usr/bin/python3 src/onnx/testdata/make_external.py
The graph is y = Relu(x @ W + b) * c with x: float32[batch, 4], W: float32[4, 3] = 0.1·(0..11) row-major,
b: float32[3] = [1, -2, 3] (both external) and c = 2 from a Constant node (inline), so tests can check values.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
w = numpy_helper.from_array((np.arange(12, dtype=np.float32) * 0.1).reshape(4, 3), "W")
b = numpy_helper.from_array(np.array([1, -2, 3], dtype=np.float32), "b")
nodes = [
    helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
    helper.make_node("Add", ["xw", "b"], ["xwb"], name="add"),
    helper.make_node("Relu", ["xwb"], ["r"], name="relu"),
    helper.make_node("Constant", [], ["c"], name="two", value=numpy_helper.from_array(np.array(2, dtype=np.float32))),
    helper.make_node("Mul", ["r", "c"], ["y"], name="mul"),
]
graph = helper.make_graph(
    nodes,
    "tiny_external",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
    initializer=[w, b],
)
model = helper.make_model(graph, producer_name="make_external.py", opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save_model(
    model,
    os.path.join(here, "tiny-external.onnx"),
    save_as_external_data=True,
    all_tensors_to_one_file=True,
    location="tiny-external.onnx.data",
    size_threshold=0,
)
