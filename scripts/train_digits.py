#!/usr/bin/env python3
"""Train, export, quantize (and optionally register) the shipped digits classifier.

    python scripts/train_digits.py                     # writes hyperion/ai/models/digits.{onnx,hqm,json}
    python scripts/train_digits.py --register http://127.0.0.1:8545   # also publish + register it on a node

Steps: an MLP (64 -> 32 ReLU -> 10) is trained with scikit-learn on the
stratified 75/25 split of ``load_digits``; its weights become an ONNX graph
(Gemm, Relu, Gemm, ArgMax) built with ``onnx.helper``; that graph is loaded
back through ``hyperion.ai.onnx_loader`` and quantized with the training split
as calibration data. The quantized held-out images are saved too
(``digits_test_inputs.bin``, 64 int8 bytes each; labels in the metadata). Float accuracy, quantized accuracy and the agreement
between the two on the held-out split are printed and written to the metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hyperion.ai import digits  # noqa: E402
from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.float_graph import predict as float_predict  # noqa: E402
from hyperion.ai.onnx_loader import graph_from_onnx  # noqa: E402
from hyperion.ai.quantizer import quantize_graph, quantize_input  # noqa: E402

HIDDEN = 32
TRAIN_SEED = 0


def train(x_train: np.ndarray, y_train: np.ndarray):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", max_iter=2000,
                        random_state=TRAIN_SEED, alpha=1e-3)
    clf.fit(x_train / 16.0, y_train)  # scaled for training; the scale is folded into layer 1 below
    return clf


def export_onnx(clf) -> bytes:
    """The trained MLP as an ONNX graph over raw 0..16 pixel values."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = clf.coefs_[0].T / 16.0  # (hidden, 64), absorbs the /16 input scaling
    b1 = clf.intercepts_[0]
    w2 = clf.coefs_[1].T  # (10, hidden)
    b2 = clf.intercepts_[1]
    inits = [numpy_helper.from_array(a.astype(np.float32), name) for a, name in
             ((w1, "W1"), (b1, "B1"), (w2, "W2"), (b2, "B2"))]
    nodes = [
        helper.make_node("Gemm", ["pixels", "W1", "B1"], ["h"], transB=1, name="dense1"),
        helper.make_node("Relu", ["h"], ["h_relu"], name="relu1"),
        helper.make_node("Gemm", ["h_relu", "W2", "B2"], ["logits"], transB=1, name="dense2"),
        helper.make_node("ArgMax", ["logits"], ["digit"], axis=1, keepdims=0, name="argmax"),
    ]
    graph = helper.make_graph(
        nodes, "hyperion_digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("digit", TensorProto.INT64, ["N"])],
        inits,
    )
    model = helper.make_model(graph, producer_name="hyperion-train-digits",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=digits.MODELS_DIR, help="output folder")
    parser.add_argument("--register", metavar="RPC_URL",
                        help="publish the model's bytes on this node's chain and register it")
    parser.add_argument("--registry", metavar="ADDRESS", help="ModelRegistry address (default: the predeploy)")
    parser.add_argument("--key", metavar="HEX", help="signing key for --register (default: the node's first dev account)")
    args = parser.parse_args(argv)

    x_train, x_test, y_train, y_test = digits.load_split()
    clf = train(x_train, y_train)
    onnx_bytes = export_onnx(clf)
    graph = graph_from_onnx(onnx_bytes)
    model, _ = quantize_graph(graph, x_train)
    runner = Runner(model)

    float_pred = float_predict(graph, x_test)
    quant_pred = runner.predict(quantize_input(model, x_test))
    sklearn_acc = float(np.mean(clf.predict(x_test / 16.0) == y_test))
    float_acc = float(np.mean(float_pred == y_test))
    quant_acc = float(np.mean(quant_pred == y_test))
    agreement = float(np.mean(float_pred == quant_pred))
    content_hash = model.content_hash

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "digits.onnx").write_bytes(onnx_bytes)
    (args.out / "digits.hqm").write_bytes(model.encode())
    # the quantized held-out images, so that the bench and the CLI need no scikit-learn
    (args.out / "digits_test_inputs.bin").write_bytes(quantize_input(model, x_test).tobytes())
    metadata = {
        "name": "digits-mlp",
        "model_hash": "0x" + content_hash.hex(),
        "input_shape": list(model.input_shape),
        "output_size": model.output_size,
        "macs": model.macs,
        "input_scale_q32": model.input_scale_q32,
        "test_samples": int(len(y_test)),
        "test_labels": [int(v) for v in y_test],
        "sklearn_accuracy": sklearn_acc,
        "float_accuracy": float_acc,
        "quantized_accuracy": quant_acc,
        "float_quantized_agreement": agreement,
    }
    (args.out / "digits.json").write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"model {metadata['model_hash']}  ({len(model.encode())} bytes, {model.macs} MACs)")
    print(f"held-out split: {len(y_test)} images")
    print(f"float accuracy      {float_acc:.4f}  (sklearn {sklearn_acc:.4f})")
    print(f"quantized accuracy  {quant_acc:.4f}")
    print(f"float/quantized agreement {agreement:.4f}")

    if args.register:
        from hyperion.sdk import AIClient, Deployment, connect

        client = connect(args.register, args.key).client
        sender = None if args.key else client.w3.eth.accounts[0]  # else the node's first dev account
        ai = AIClient(client, Deployment(args.registry) if args.registry else None)
        if ai.model_info(content_hash) is not None:
            print(f"already registered on {args.register}")
        else:
            result = ai.register_model(model, name="digits-mlp", sender=sender)
            print(f"registered on {args.register}: tx {result.tx_hash}")
    return 0 if quant_acc >= 0.90 else 1


if __name__ == "__main__":
    raise SystemExit(main())
