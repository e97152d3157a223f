"""Train the shipped tiny transformer (next-character prediction) and write its quantized model.

Offline only: PyTorch is used here and nowhere else (never a run-time
dependency of Hyperion). Install it beside the project's environment, e.g.

    python3 -m venv .venv-train && .venv-train/bin/pip install torch==2.13.0 numpy
    PYTHONPATH=. .venv-train/bin/python scripts/train_charlm.py

Corpus: the Python documentation topics that ship with CPython
(``pydoc_data.topics``, about 465 KB of English), so nothing is downloaded.
Characters outside printable ASCII become ``?``; a model input is 32 ASCII
bytes and the model predicts the next character (the byte value is the token
id, so the model reads text as is). The last 10 % of the text is held out.

The float model is a 2-block pre-norm decoder (width 32, 4 heads, MLP 128,
GELU tanh form, causal attention), trained on every position. It is then
quantized with ``hyperion.ai.transformer.quantize_transformer`` on windows of
the training text, and both are scored on the same held-out windows.

Writes ``hyperion/ai/models/charlm.hqm`` (the model), ``charlm.json``
(hash, accuracies, configuration), ``charlm_float.npz`` (the float weights,
float32) and ``charlm_test_inputs.bin`` (held-out windows, 33 bytes each:
32 context bytes, then the true next byte).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.transformer import TransformerParams, float_forward, quantize_transformer  # noqa: E402

MODELS = REPO / "hyperion" / "ai" / "models"
VOCAB, SEQ, DIM, HEADS, FF, BLOCKS = 128, 32, 32, 4, 128, 2
TEST_WINDOWS = 2000
CALIBRATION_WINDOWS = 512


def corpus() -> bytes:
    import pydoc_data.topics as topics

    text = "\n".join(topics.topics[key] for key in sorted(topics.topics))
    cleaned = bytearray()
    for ch in text:
        code = ord(ch)
        cleaned.append(code if (32 <= code < 127 or ch == "\n") else ord("?"))
    return bytes(cleaned)


def windows(data: np.ndarray, count: int, rng: np.random.Generator, length: int) -> np.ndarray:
    starts = rng.integers(0, len(data) - length, count)
    return np.stack([data[s:s + length] for s in starts])


def train(train_data: np.ndarray, steps: int, seed: int, threads: int):
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)
    torch.set_num_threads(threads)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.qkv, self.o = nn.LayerNorm(DIM), nn.Linear(DIM, 3 * DIM), nn.Linear(DIM, DIM)
            self.ln2, self.ff1, self.ff2 = nn.LayerNorm(DIM), nn.Linear(DIM, FF), nn.Linear(FF, DIM)

        def forward(self, x):
            n, t, _ = x.shape
            q, k, v = (part.view(n, t, HEADS, DIM // HEADS).transpose(1, 2)
                       for part in self.qkv(self.ln1(x)).split(DIM, dim=-1))
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(attended.transpose(1, 2).reshape(n, t, DIM))
            return x + self.ff2(F.gelu(self.ff1(self.ln2(x)), approximate="tanh"))

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, DIM)
            self.pos = nn.Parameter(torch.randn(SEQ, DIM) * 0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(BLOCKS))
            self.lnf, self.head = nn.LayerNorm(DIM), nn.Linear(DIM, VOCAB)

        def forward(self, idx):
            x = self.tok(idx) + self.pos[: idx.shape[1]]
            for block in self.blocks:
                x = block(x)
            return self.head(self.lnf(x))

    model = CharLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(seed)
    batch = 64
    started = time.time()
    for step in range(steps):
        sample = torch.from_numpy(windows(train_data, batch, rng, SEQ + 1).astype(np.int64))
        logits = model(sample[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), sample[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step:5d} loss {loss.item():.3f} ({time.time() - started:.0f}s)", flush=True)
    return export(model)


def export(model) -> TransformerParams:
    def a(tensor):
        return tensor.detach().double().numpy()

    arrays = {"tok": a(model.tok.weight), "pos": a(model.pos), "lnf_g": a(model.lnf.weight),
              "lnf_b": a(model.lnf.bias), "wout": a(model.head.weight), "bout": a(model.head.bias)}
    for i, block in enumerate(model.blocks):
        for name, tensor in (("ln1_g", block.ln1.weight), ("ln1_b", block.ln1.bias), ("wqkv", block.qkv.weight),
                             ("bqkv", block.qkv.bias), ("wo", block.o.weight), ("bo", block.o.bias),
                             ("ln2_g", block.ln2.weight), ("ln2_b", block.ln2.bias), ("w1", block.ff1.weight),
                             ("b1", block.ff1.bias), ("w2", block.ff2.weight), ("b2", block.ff2.bias)):
            arrays[f"block{i}.{name}"] = a(tensor)
    return TransformerParams.from_arrays(arrays, HEADS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the dev box is shared)")
    args = parser.parse_args()

    text = np.frombuffer(corpus(), dtype=np.uint8)
    cut = int(len(text) * 0.9)
    train_data, test_data = text[:cut], text[cut:]
    params = train(train_data, args.steps, args.seed, args.threads)

    rng = np.random.default_rng(args.seed + 1)
    test = windows(test_data, TEST_WINDOWS, rng, SEQ + 1)
    calibration = windows(train_data, CALIBRATION_WINDOWS, rng, SEQ)
    context, target = test[:, :-1], test[:, -1]

    float_pred = float_forward(params, context).argmax(axis=1)
    model = quantize_transformer(params, calibration)
    runner = Runner(model)
    quant_pred = runner.predict(context.astype(np.int8))
    float_acc = float((float_pred == target).mean())
    quant_acc = float((quant_pred == target).mean())
    agreement = float((float_pred == quant_pred).mean())

    MODELS.mkdir(parents=True, exist_ok=True)
    data = model.encode()
    (MODELS / "charlm.hqm").write_bytes(data)
    (MODELS / "charlm_test_inputs.bin").write_bytes(test.astype(np.uint8).tobytes())
    np.savez_compressed(MODELS / "charlm_float.npz",
                        **{k: v.astype(np.float32) for k, v in params.to_arrays().items()})
    metadata = {
        "name": "charlm",
        "task": "next character of the CPython documentation topics (pydoc_data.topics), last 10% held out",
        "model_hash": "0x" + model.content_hash.hex(),
        "model_bytes": len(data),
        "macs": model.macs,
        "layers": len(model.layers),
        "config": {"vocab": VOCAB, "seq_len": SEQ, "dim": DIM, "heads": HEADS, "ff": FF, "blocks": BLOCKS,
                   "steps": args.steps, "seed": args.seed},
        "test_windows": TEST_WINDOWS,
        "float_accuracy": round(float_acc, 4),
        "quantized_accuracy": round(quant_acc, 4),
        "float_quantized_agreement": round(agreement, 4),
        "python": platform.python_version(),
        "corpus_bytes": int(len(text)),
    }
    (MODELS / "charlm.json").write_text(json.dumps(metadata, indent=1) + "\n")
    print(json.dumps(metadata, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
