"""The shipped model: a digits classifier (scikit-learn's 8x8 digits, no download).

``scripts/train_digits.py`` trains it, exports ONNX, quantizes it and writes
``models/digits.hqm`` (the model bytes), ``models/digits.onnx`` (the float
graph), ``models/digits.json`` (metadata: hash, accuracies, test labels) and
``models/digits_test_inputs.bin`` (the quantized held-out images). Everything
here only reads those files, so nothing trains at test or bench time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hyperion.ai.model import QuantizedModel, decode_model

MODELS_DIR = Path(__file__).resolve().parent / "models"
DIGITS_MODEL_PATH = MODELS_DIR / "digits.hqm"
DIGITS_ONNX_PATH = MODELS_DIR / "digits.onnx"
DIGITS_METADATA_PATH = MODELS_DIR / "digits.json"
DIGITS_TEST_INPUTS_PATH = MODELS_DIR / "digits_test_inputs.bin"
SPLIT_SEED = 42
TEST_FRACTION = 0.25


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, x_test, y_train, y_test)``: the fixed, stratified split every tool uses."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    return train_test_split(digits.data, digits.target, test_size=TEST_FRACTION,
                            random_state=SPLIT_SEED, stratify=digits.target)


def load_digits_model() -> QuantizedModel:
    """The shipped quantized digits model."""
    return decode_model(DIGITS_MODEL_PATH.read_bytes())


def load_digits_metadata() -> dict:
    return json.loads(DIGITS_METADATA_PATH.read_text())


def held_out_inputs() -> list[bytes]:
    """The quantized held-out images (64 int8 bytes each), in split order."""
    data = DIGITS_TEST_INPUTS_PATH.read_bytes()
    return [data[i:i + 64] for i in range(0, len(data), 64)]


def sample_inputs(count: int) -> list[bytes]:
    """``count`` precompile inputs: the quantized held-out images, cycled."""
    images = held_out_inputs()
    return [images[i % len(images)] for i in range(count)]
