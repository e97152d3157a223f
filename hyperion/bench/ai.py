"""``hyperion bench ai``: speed and gas of the inference precompile on the shipped digits model.

Three measurements, each over the same quantized test images:

* ``precompile``: ``gas(data)`` then ``run(data)`` of the precompile object, as the
  interpreter calls it (the node-side cost of one inference);
* ``evm call``: a transaction sent straight to the precompile address through
  ``apply_transaction`` (sender recovery, intrinsic gas, the call; signed beforehand);
* ``contract``: a transaction to the example ``DigitBounty.classify``, which calls
  the precompile and records the prediction.

It prints inferences per second and gas per inference for each, and the gas
formula's value for the model.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Optional, Sequence


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run_bench(iterations: int = 2000, tx_iterations: int = 300) -> dict:
    """The measurements as a dict (see the module docstring)."""
    from hyperion.ai.backends import InProcessBackend, address_of_key, dev_key
    from hyperion.ai.digits import load_digits_model, sample_inputs
    from hyperion.ai.sdk import AIClient, contract_abi, expected_precompile_gas
    from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS, make_inference_precompile

    model = load_digits_model()
    inputs = sample_inputs(max(iterations, tx_iterations))
    sender = dev_key("bench-ai")
    backend = InProcessBackend(funded={address_of_key(sender): 10**27})
    model_hash = backend.install_model(model)
    payloads = [model_hash + x for x in inputs]

    precompile = make_inference_precompile(backend.models)
    state = backend.state
    precompile.run(payloads[0], state)  # warm the model cache
    start = time.perf_counter()
    for payload in payloads[:iterations]:
        precompile.gas(payload, state)
        precompile.run(payload, state)
    direct_seconds = time.perf_counter() - start

    client = AIClient(backend, sender=sender)
    bounty = client.deploy_contract("DigitBounty", model_hash, 10)  # target 10 never matches: no payouts
    classify = contract_abi("DigitBounty")
    first_nonce = backend.state.get_nonce(address_of_key(sender))
    # transactions are signed up front so that only their execution (incl. sender recovery) is timed
    direct_txs = [backend.sign(sender, INFERENCE_ADDRESS, payload, gas=200_000, nonce=first_nonce + i)
                  for i, payload in enumerate(payloads[:tx_iterations])]
    contract_txs = [backend.sign(sender, bounty, classify.encode_call("classify", x), gas=300_000,
                                 nonce=first_nonce + tx_iterations + i)
                    for i, x in enumerate(inputs[:tx_iterations])]

    def timed(transactions) -> tuple[float, list[int]]:
        gas_used = []
        begin = time.perf_counter()
        for tx in transactions:
            receipt = backend.apply(tx)
            if not receipt.success:
                raise RuntimeError("a benchmark transaction failed")
            gas_used.append(receipt.gas_used)
        return time.perf_counter() - begin, gas_used

    call_seconds, call_gas = timed(direct_txs)
    contract_seconds, contract_gas = timed(contract_txs)

    return {
        "model": "digits-mlp",
        "model_hash": "0x" + model_hash.hex(),
        "macs": model.macs,
        "input_bytes": model.input_size,
        "output_bytes": model.output_size,
        "precompile_gas": expected_precompile_gas(model),
        "precompile": {"inferences": iterations, "seconds": direct_seconds,
                       "inferences_per_second": _rate(iterations, direct_seconds)},
        "evm_call": {"transactions": tx_iterations, "seconds": call_seconds,
                     "inferences_per_second": _rate(tx_iterations, call_seconds),
                     "gas_per_inference": sum(call_gas) / len(call_gas)},
        "contract": {"transactions": tx_iterations, "seconds": contract_seconds,
                     "inferences_per_second": _rate(tx_iterations, contract_seconds),
                     "gas_per_inference": sum(contract_gas) / len(contract_gas)},
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hyperion bench ai", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="direct precompile inferences")
    parser.add_argument("--tx-iterations", type=int, default=300, help="transactions per EVM measurement")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.iterations < 1 or args.tx_iterations < 1:
        parser.error("iterations must be positive")
    result = run_bench(args.iterations, args.tx_iterations)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model {result['model']} {result['model_hash']}")
    print(f"  {result['macs']} MACs, {result['input_bytes']} input bytes, {result['output_bytes']} output bytes")
    print(f"  precompile gas per inference (formula): {result['precompile_gas']}")
    print(f"{'path':<12} {'inferences/s':>14} {'gas/inference':>14}")
    print(f"{'precompile':<12} {result['precompile']['inferences_per_second']:>14.0f} {result['precompile_gas']:>14}")
    for key, label in (("evm_call", "evm call"), ("contract", "contract")):
        row = result[key]
        print(f"{label:<12} {row['inferences_per_second']:>14.0f} {row['gas_per_inference']:>14.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
