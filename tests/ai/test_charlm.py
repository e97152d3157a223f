"""The shipped tiny transformer: the numbers in charlm.json come back from the shipped files."""

from __future__ import annotations

import json

import numpy as np

from hyperion.ai.digits import MODELS_DIR
from hyperion.ai.engine import Runner
from hyperion.ai.model import Attention, Embedding, LayerNorm, Lut, decode_model
from hyperion.ai.trace import DisputePlan
from hyperion.ai.transformer import TransformerParams, float_forward


def test_charlm_metadata_accuracy_and_verifiability():
    metadata = json.loads((MODELS_DIR / "charlm.json").read_text())
    data = (MODELS_DIR / "charlm.hqm").read_bytes()
    model = decode_model(data)
    assert "0x" + model.content_hash.hex() == metadata["model_hash"]
    assert (len(data), model.macs, len(model.layers)) == (metadata["model_bytes"], metadata["macs"],
                                                           metadata["layers"])
    kinds = {type(layer) for layer in model.layers}
    assert {Embedding, LayerNorm, Attention, Lut} <= kinds

    windows = np.frombuffer((MODELS_DIR / "charlm_test_inputs.bin").read_bytes(), np.uint8).reshape(-1, 33)
    context, target = windows[:, :-1], windows[:, -1]
    quantized = Runner(model).predict(context.astype(np.int8))
    assert round(float((quantized == target).mean()), 4) == metadata["quantized_accuracy"]  # integers: exact

    arrays = dict(np.load(MODELS_DIR / "charlm_float.npz"))
    params = TransformerParams.from_arrays(arrays, metadata["config"]["heads"])
    floating = float_forward(params, context).argmax(axis=1)
    assert abs(float((floating == target).mean()) - metadata["float_accuracy"]) <= 0.005  # float32 weights
    assert abs(float((floating == quantized).mean()) - metadata["float_quantized_agreement"]) <= 0.005
    assert metadata["quantized_accuracy"] > 0.55  # always guessing a space scores 0.241

    plan = DisputePlan(model)
    assert plan.verifiable and plan.layer_rounds() == 5
