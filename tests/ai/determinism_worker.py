"""Run by test_determinism in a separate Python process: inference of many inputs, engine and EVM.

Reads a JSON list of hex inputs on stdin; prints, per input, the engine's
output and the output of a transaction to the inference precompile executed
through the state-transition function on a fresh state, all hex.
"""

from __future__ import annotations

import json
import sys

from hyperion.ai.digits import DIGITS_MODEL_PATH
from hyperion.ai.engine import Runner
from hyperion.ai.model import decode_model
from hyperion.primitives.keccak import keccak256
from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS
from tests.ai.evm import ScratchEvm


def main() -> int:
    inputs = [bytes.fromhex(x) for x in json.load(sys.stdin)]
    model = decode_model(DIGITS_MODEL_PATH.read_bytes())
    runner = Runner(model)
    key = keccak256(b"determinism")
    chain = ScratchEvm([key], [model])
    engine_out, evm_out = [], []
    for x in inputs:
        engine_out.append(runner.run(x).hex())
        receipt = chain.send(key, INFERENCE_ADDRESS, model.content_hash + x, gas=100_000)
        evm_out.append(receipt.output.hex() if receipt.success else "failed")
    json.dump({"engine": engine_out, "evm": evm_out}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
