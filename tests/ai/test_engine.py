"""Integer inference: exactness, agreement with the float model, and the shipped model's accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperion.ai import engine, fixedpoint
from hyperion.ai.digits import DIGITS_ONNX_PATH, load_digits_metadata
from hyperion.ai.engine import Runner, decode_output
from hyperion.ai.errors import InferenceError
from hyperion.ai.model import SOFTMAX_ONE, DType, Kind, Pool2D, QuantizedModel, decode_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from hyperion.ai import float_graph  # noqa: E402
from hyperion.ai.onnx_loader import graph_from_onnx  # noqa: E402
from hyperion.ai.quantizer import quantize_graph, quantize_input  # noqa: E402


def _cnn_onnx(seed: int = 1, head: str = "Softmax") -> bytes:
    """Conv(pad 1) -> Relu -> MaxPool -> Conv(stride 2) -> Relu -> AveragePool -> Flatten -> Gemm -> head."""
    rng = np.random.default_rng(seed)
    arrays = {
        "W1": rng.normal(0, 0.4, (4, 1, 3, 3)), "B1": rng.normal(0, 0.1, 4),
        "W2": rng.normal(0, 0.3, (6, 4, 2, 2)), "B2": rng.normal(0, 0.1, 6),
        "W3": rng.normal(0, 0.3, (5, 24)), "B3": rng.normal(0, 0.1, 5),
    }
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in arrays.items()]
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("Conv", ["p1", "W2", "B2"], ["c2"], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("Flatten", ["p2"], ["f"]),
        helper.make_node("Gemm", ["f", "W3", "B3"], ["logits"], transB=1),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])]
    if head == "Softmax":
        nodes.append(helper.make_node("Softmax", ["logits"], ["y"], axis=1))
    else:
        nodes.append(helper.make_node("ArgMax", ["logits"], ["y"], axis=1, keepdims=0))
        outputs = [helper.make_tensor_value_info("y", TensorProto.INT64, ["N"])]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def _images(count: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 16, (count, 1, 8, 8))


def test_loader_matches_the_onnx_reference_evaluator():
    from onnx.reference import ReferenceEvaluator

    data = _cnn_onnx()
    x = _images(16)
    reference = ReferenceEvaluator(onnx.load_from_string(data)).run(None, {"x": x.astype(np.float32)})[0]
    ours = float_graph.forward(graph_from_onnx(data), x)
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


def test_cnn_quantized_softmax_tracks_the_float_model():
    graph = graph_from_onnx(_cnn_onnx())
    calibration = _images(256, seed=3)
    model, _ = quantize_graph(graph, calibration)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Pool2D", "Conv2D", "Pool2D", "Flatten", "Dense", "Softmax"]
    assert model.layers[0].relu and model.layers[2].relu  # fused
    x = _images(200, seed=4)
    probabilities = Runner(model).forward(quantize_input(model, x))
    assert probabilities.dtype == np.int64
    sums = probabilities.sum(axis=1)
    assert np.all(np.abs(sums - SOFTMAX_ONE) <= 5)  # each probability is rounded once
    reference = float_graph.forward(graph, x)
    assert np.max(np.abs(probabilities / SOFTMAX_ONE - reference)) < 0.15
    agreement = np.mean(np.argmax(probabilities, axis=1) == np.argmax(reference, axis=1))
    assert agreement >= 0.9


def test_cnn_argmax_head_outputs_one_word():
    graph = graph_from_onnx(_cnn_onnx(head="ArgMax"))
    model, _ = quantize_graph(graph, _images(128))
    assert model.output_dtype == DType.INDEX and model.layers[-2].out_bits == 32
    runner = Runner(model)
    q = quantize_input(model, _images(30, seed=9))
    for row in q:
        output = runner.run(row.tobytes())
        assert len(output) == 32 and int.from_bytes(output, "big") < 5
        assert decode_output(output, model)[0] == runner.predict(row[None])[0]


def test_average_pool_rounds_half_up():
    model = QuantizedModel.create((1, 2, 2), [Pool2D(Kind.AVGPOOL, (2, 2), (1, 1))])
    runner = Runner(model)
    assert runner.run(bytes([1, 1, 0, 0])) == bytes([1])  # 0.5 -> 1
    assert runner.run(np.array([-1, -1, 0, 0], np.int8).tobytes()) == np.array([0], np.int8).tobytes()  # -0.5 -> 0
    assert runner.run(np.array([-1, -1, -1, 0], np.int8).tobytes()) == np.array([-1], np.int8).tobytes()  # -0.75


def test_no_float_on_the_inference_path(digits_model, digits_inputs):
    """Every intermediate tensor of a run is an integer array, and the engine's source never mentions floats."""
    runner = Runner(digits_model)
    batch = np.frombuffer(digits_inputs[0], np.int8).reshape(1, *digits_model.input_shape)
    tensors = runner.forward_all(batch)
    assert len(tensors) == len(digits_model.layers) + 1
    assert all(np.issubdtype(t.dtype, np.integer) for t in tensors)
    for module in (engine, fixedpoint):
        source = open(module.__file__).read()
        if module is fixedpoint:  # the offline quantize_multiplier takes a float: check only the integer part
            source = source[source.index("def requantize"):]
        assert "float" not in source.replace("no float", "").replace("floating point", "").replace("floor", "")


def test_wrong_input_sizes_raise_inference_error(digits_model):
    runner = Runner(digits_model)
    for bad in (b"", b"\x00" * 63, b"\x00" * 65):
        with pytest.raises(InferenceError):
            runner.run(bad)
    with pytest.raises(InferenceError):
        runner.forward(np.full((1, 64), 300))


def test_shipped_model_accuracy_on_the_shipped_test_inputs(digits_model):
    """No scikit-learn needed: the quantized held-out images and labels ship with the model."""
    from hyperion.ai.digits import held_out_inputs

    labels = load_digits_metadata()["test_labels"]
    runner = Runner(digits_model)
    predictions = [int.from_bytes(runner.run(x), "big") for x in held_out_inputs()]
    assert len(predictions) == len(labels) == 450
    accuracy = float(np.mean(np.array(predictions) == np.array(labels)))
    print(f"quantized accuracy {accuracy:.4f} on the 450 held-out images")
    assert accuracy >= 0.90


def test_shipped_model_accuracy_and_agreement(digits_model):
    pytest.importorskip("sklearn")
    from hyperion.ai.digits import load_split

    _, x_test, _, y_test = load_split()
    graph = graph_from_onnx(DIGITS_ONNX_PATH)
    quant = Runner(digits_model).predict(quantize_input(digits_model, x_test))
    floats = float_graph.predict(graph, x_test)
    quant_accuracy = float(np.mean(quant == y_test))
    agreement = float(np.mean(quant == floats))
    print(f"quantized accuracy {quant_accuracy:.4f}, float agreement {agreement:.4f} on {len(y_test)} images")
    assert quant_accuracy >= 0.90
    assert agreement >= 0.98
    metadata = load_digits_metadata()
    assert metadata["quantized_accuracy"] == pytest.approx(quant_accuracy)
    assert metadata["test_labels"] == y_test.tolist()
    from hyperion.ai.digits import held_out_inputs

    assert held_out_inputs() == [row.tobytes() for row in quantize_input(digits_model, x_test)]


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=64, max_size=64))
def test_property_single_run_equals_batch_and_fresh_decode(digits_model, data):
    runner = Runner(digits_model)
    fresh = Runner(decode_model(digits_model.encode()))
    out = runner.run(data)
    assert out == fresh.run(data)
    batch = np.frombuffer(data, np.int8).reshape(1, 64)
    assert int.from_bytes(out, "big") == int(runner.predict(np.concatenate([batch, batch]))[1])


def test_shipped_onnx_matches_reference_and_loader():
    from onnx.reference import ReferenceEvaluator

    x = np.random.default_rng(5).uniform(0, 16, (20, 64))
    reference = ReferenceEvaluator(str(DIGITS_ONNX_PATH)).run(None, {"pixels": x.astype(np.float32)})[0]
    assert float_graph.predict(graph_from_onnx(DIGITS_ONNX_PATH), x).tolist() == reference.tolist()


@pytest.mark.parametrize("node", [
    helper.make_node("Sigmoid", ["x"], ["y"]),
    helper.make_node("Conv", ["x", "W"], ["y"], group=2),
    helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
    helper.make_node("Gemm", ["x", "W"], ["y"], alpha=2.0),
])
def test_unsupported_onnx_is_refused(node):
    from hyperion.ai.errors import OnnxImportError

    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.ones((2, 1, 1, 1), np.float32), "W")])
    with pytest.raises(OnnxImportError):
        graph_from_onnx(helper.make_model(graph))
    assert issubclass(OnnxImportError, ValueError)
