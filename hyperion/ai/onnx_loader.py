"""ONNX -> ``FloatGraph`` for sequential classifiers.

Supported operators (one chain, each node consuming the previous output):
Gemm (alpha = beta = 1), MatMul (+ Add), Conv (group 1, dilation 1, explicit
pads), Relu, MaxPool / AveragePool (no padding), Flatten, Reshape to
``[N, -1]``, Softmax / ArgMax over the last axis. Anything else raises
``OnnxImportError`` naming the operator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hyperion.ai.errors import OnnxImportError
from hyperion.ai.float_graph import (
    FloatArgmax,
    FloatConv2D,
    FloatDense,
    FloatFlatten,
    FloatGraph,
    FloatPool2D,
    FloatReLU,
    FloatSoftmax,
)


def _attributes(node) -> dict:
    import onnx

    return {attr.name: onnx.helper.get_attribute_value(attr) for attr in node.attribute}


def _pair(values, default: int, what: str) -> tuple[int, int]:
    values = list(values) if values is not None else [default, default]
    if len(values) != 2:
        raise OnnxImportError(f"{what}: expected 2 values, got {values}")
    return int(values[0]), int(values[1])


def _input_shape(graph, initializer_names: set) -> tuple[str, tuple[int, ...]]:
    inputs = [i for i in graph.input if i.name not in initializer_names]
    if len(inputs) != 1:
        raise OnnxImportError(f"expected exactly one graph input, found {len(inputs)}")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = []
    for dim in list(dims)[1:]:  # the first axis is the batch
        if not dim.HasField("dim_value") or dim.dim_value < 1:
            raise OnnxImportError("input dimensions other than the batch axis must be fixed")
        shape.append(int(dim.dim_value))
    if not shape:
        raise OnnxImportError("input must have a batch axis and at least one more")
    return inputs[0].name, tuple(shape)


def graph_from_onnx(model_or_path) -> FloatGraph:
    """Read an ONNX model (a ModelProto, a path, or bytes) into a ``FloatGraph``."""
    import onnx
    from onnx import numpy_helper

    if isinstance(model_or_path, (str, Path)):
        model = onnx.load(str(model_or_path))
    elif isinstance(model_or_path, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(model_or_path))
    else:
        model = model_or_path
    graph = model.graph
    weights = {init.name: numpy_helper.to_array(init).astype(np.float64) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            weights[node.output[0]] = numpy_helper.to_array(_attributes(node)["value"]).astype(np.float64)
    current, input_shape = _input_shape(graph, set(weights))
    layers = []

    def weight(name: str, what: str) -> np.ndarray:
        if name not in weights:
            raise OnnxImportError(f"{what}: {name!r} must be an initializer")
        return weights[name]

    for node in graph.node:
        op = node.op_type
        if op == "Constant":
            continue
        if not node.input or node.input[0] != current:
            if op == "Add" and len(node.input) == 2 and node.input[1] == current:
                pass  # Add(bias, x): handled below
            else:
                raise OnnxImportError(f"{op} node {node.name!r} does not continue a single chain")
        attrs = _attributes(node)
        if op == "Gemm":
            if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0):
                raise OnnxImportError("Gemm: only alpha = beta = 1 and transA = 0 are supported")
            w = weight(node.input[1], "Gemm B")
            w = w if attrs.get("transB", 0) else w.T
            b = weight(node.input[2], "Gemm C") if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
            layers.append(FloatDense(np.ascontiguousarray(w), np.broadcast_to(b, (w.shape[0],)).copy()))
        elif op == "MatMul":
            w = weight(node.input[1], "MatMul B")
            layers.append(FloatDense(np.ascontiguousarray(w.T), np.zeros(w.shape[1])))
        elif op == "Add":
            other = node.input[1] if node.input[0] == current else node.input[0]
            if not layers or not isinstance(layers[-1], (FloatDense, FloatConv2D)):
                raise OnnxImportError("Add is only supported as the bias of a MatMul/Gemm/Conv")
            bias = weight(other, "Add operand").reshape(-1)
            layers[-1].bias = layers[-1].bias + bias
        elif op == "Conv":
            if attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise OnnxImportError("Conv: only group 1 and dilation 1 are supported")
            if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise OnnxImportError("Conv: auto_pad is not supported; use explicit pads")
            w = weight(node.input[1], "Conv W")
            b = weight(node.input[2], "Conv B") if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if len(pads) != 4:
                raise OnnxImportError("Conv: only 2-D convolutions are supported")
            layers.append(FloatConv2D(w, b, _pair(attrs.get("strides"), 1, "Conv strides"),
                                      (pads[0], pads[1], pads[2], pads[3])))
        elif op == "Relu":
            layers.append(FloatReLU())
        elif op in ("MaxPool", "AveragePool"):
            if any(attrs.get("pads", [0, 0, 0, 0])) or attrs.get("ceil_mode", 0):
                raise OnnxImportError(f"{op}: padding and ceil_mode are not supported")
            kernel = _pair(attrs.get("kernel_shape"), 1, f"{op} kernel_shape")
            layers.append(FloatPool2D(op == "MaxPool", kernel, _pair(attrs.get("strides"), 1, f"{op} strides")))
        elif op == "Flatten":
            if attrs.get("axis", 1) != 1:
                raise OnnxImportError("Flatten: only axis 1 is supported")
            layers.append(FloatFlatten())
        elif op == "Reshape":
            target = weight(node.input[1], "Reshape shape").astype(np.int64).tolist()
            if len(target) != 2 or target[1] not in (-1,) and target[0] not in (-1, 0, 1):
                raise OnnxImportError(f"Reshape: only flattening to [N, -1] is supported, got {target}")
            layers.append(FloatFlatten())
        elif op == "Softmax":
            if attrs.get("axis", -1) not in (-1, 1):
                raise OnnxImportError("Softmax: only the last axis is supported")
            layers.append(FloatSoftmax())
        elif op == "ArgMax":
            if attrs.get("axis", 0) not in (-1, 1) or attrs.get("select_last_index", 0):
                raise OnnxImportError("ArgMax: only axis 1 with first-index ties is supported")
            layers.append(FloatArgmax())
        else:
            raise OnnxImportError(f"unsupported ONNX operator {op!r}")
        current = node.output[0]
    if not layers:
        raise OnnxImportError("the graph has no supported layers")
    return FloatGraph(input_shape, layers)
