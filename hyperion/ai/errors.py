"""Typed errors of the AI stack; all are ValueErrors so callers can catch bad input uniformly."""

from __future__ import annotations


class AIError(ValueError):
    """Base class of every error raised by ``hyperion.ai``."""


class ModelFormatError(AIError):
    """Model bytes that do not decode to a valid quantized model."""


class InferenceError(AIError):
    """An input the model cannot run on (wrong size, oversized, bad shape)."""


class UnknownModel(AIError):
    """No model with this content hash is in the store."""


class QuantizationError(AIError):
    """A float graph that cannot be quantized (e.g. an unsupported layer order)."""


class OnnxImportError(AIError):
    """An ONNX graph that uses operators or attributes the loader does not support."""
