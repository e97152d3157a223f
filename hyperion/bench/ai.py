"""``hyperion bench ai``: speed and gas of the AI precompiles, and what a dispute costs, for the shipped models.

For each model (``digits``, the MLP, and ``charlm``, the tiny transformer):

* ``precompile``: ``gas(data, state)`` then ``run(data, state)`` of the inference
  precompile object, as the interpreter calls it (the node-side cost of one
  inference; the model is already decoded, as on a warm node);
* ``evm call``: a transaction sent straight to the precompile through
  ``apply_transaction`` (sender recovery, intrinsic gas, the call; signed beforehand);
* ``contract`` (digits only): a transaction to the example ``DigitBounty.classify``.

Then the cost of disputing a wrong job result, played for real on a chain in
this process (``hyperion.sdk.inprocess``) through the SDK: a worker whose trace goes wrong at layer ``k`` (and is
consistent after it) against a challenger with the honest trace, once for
every ``k``; reported are the rounds (layer bisection, then the disputed
layer's chunk tree), the gas of each kind of move, and the gas of a whole
dispute, next to the gas of the one-transaction ``challenge`` (whole
re-execution). ``--tower`` adds the 151M-MAC conv tower, whose one-step
re-execution is the largest (a fault at one layer only; it takes a while).

Inferences per second are wall time of the timed loop only; run it on a
quiet machine for numbers to quote (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Optional, Sequence

from hyperion.tools.progress import Progress, ProgressCallback

WINDOW, BOND, MOVE = 3_600, 10**16, 600


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _inputs(name: str, count: int) -> list[bytes]:
    if name == "digits":
        from hyperion.ai.digits import sample_inputs

        return sample_inputs(count)
    from hyperion.ai.digits import MODELS_DIR

    windows = (MODELS_DIR / "charlm_test_inputs.bin").read_bytes()
    return [windows[i * 33:i * 33 + 32] for i in range(min(count, len(windows) // 33))] * (count // 2000 + 1)


def _speed(name: str, model, iterations: int, tx_iterations: int) -> dict:
    from eth_abi import encode as abi_encode
    from eth_utils import function_signature_to_4byte_selector

    from hyperion.ai.chainstore import ChainModels, install_model
    from hyperion.artifacts import load_artifact
    from hyperion.execution.transaction import apply_transaction
    from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
    from hyperion.primitives.keccak import keccak256
    from hyperion.primitives.secp256k1 import private_key_to_address
    from hyperion.primitives.transactions import FeeMarketTransaction
    from hyperion.state.memory import MemoryState
    from hyperion.vm.environment import BlockEnv
    from hyperion.vm.precompiles.inference import (
        INFERENCE_ADDRESS,
        fork_with_inference,
        inference_gas,
        make_inference_precompile,
    )

    # The transactions run on a scratch state through the state-transition function:
    # only execution is timed (no block building, no client).
    inputs = _inputs(name, max(iterations, tx_iterations))
    key = keccak256(b"bench-ai")
    state = MemoryState()
    state.set_code(MODEL_STORE_ADDRESS, load_artifact("ModelStore")["runtime"])  # as predeployed
    state.set_nonce(MODEL_STORE_ADDRESS, 1)
    state.set_balance(private_key_to_address(key), 10**27)
    model_hash = install_model(state, MODEL_STORE_ADDRESS, model.encode())
    models = ChainModels(MODEL_STORE_ADDRESS)
    env = BlockEnv(fork=fork_with_inference(models), chain_id=133717, number=1, timestamp=1_700_000_000,
                   gas_limit=10**9, base_fee=1, prev_randao=b"\x00" * 31 + b"\x01")
    payloads = [model_hash + x for x in inputs]

    precompile = make_inference_precompile(models)
    precompile.run(payloads[0], state)  # decode the model once, as a warm node has
    start = time.perf_counter()
    for payload in payloads[:iterations]:
        precompile.gas(payload, state)
        precompile.run(payload, state)
    direct_seconds = time.perf_counter() - start

    def signed(to, data: bytes, gas: int) -> FeeMarketTransaction:
        nonce = signed.nonce
        signed.nonce += 1
        return FeeMarketTransaction(chain_id=env.chain_id, nonce=nonce, max_priority_fee_per_gas=1, max_fee_per_gas=2,
                                    gas=gas, to=to, value=0, data=data).signed(key)

    signed.nonce = 0
    # transactions are signed up front so that only their execution (incl. sender recovery) is timed
    direct_txs = [signed(INFERENCE_ADDRESS, payload, 5_000_000) for payload in payloads[:tx_iterations]]

    def timed(transactions) -> tuple[float, list[int]]:
        gas_used = []
        begin = time.perf_counter()
        for tx in transactions:
            outcome = apply_transaction(state, env, tx)
            if not outcome.success:
                raise RuntimeError("a benchmark transaction failed")
            gas_used.append(outcome.gas_used)
        return time.perf_counter() - begin, gas_used

    call_seconds, call_gas = timed(direct_txs)
    result = {
        "model": name, "model_hash": "0x" + model_hash.hex(), "model_bytes": len(model.encode()),
        "layers": len(model.layers), "macs": model.macs, "input_bytes": model.input_size,
        "output_bytes": model.output_size,
        "precompile_gas": inference_gas(model.macs, model.input_size, model.output_size),
        "precompile": {"inferences": iterations, "seconds": direct_seconds,
                       "inferences_per_second": _rate(iterations, direct_seconds)},
        "evm_call": {"transactions": tx_iterations, "seconds": call_seconds,
                     "inferences_per_second": _rate(tx_iterations, call_seconds),
                     "gas_per_inference": sum(call_gas) / len(call_gas)},
    }
    if name == "digits":
        # target 10 never matches: no payouts
        bounty_code = load_artifact("DigitBounty")["bytecode"] + abi_encode(["bytes32", "uint256"], [model_hash, 10])
        deployed = apply_transaction(state, env, signed(None, bounty_code, 3_000_000))
        if not deployed.success:
            raise RuntimeError("deploying DigitBounty failed")
        classify = function_signature_to_4byte_selector("classify(bytes)")
        contract_txs = [signed(deployed.contract_address, classify + abi_encode(["bytes"], [x]), 300_000)
                        for x in inputs[:tx_iterations]]
        seconds, gas = timed(contract_txs)
        result["contract"] = {"transactions": tx_iterations, "seconds": seconds,
                              "inferences_per_second": _rate(tx_iterations, seconds),
                              "gas_per_inference": sum(gas) / len(gas)}
    return result


class _DisputeBench:
    """One in-process chain with the AI contracts, for playing disputes and counting their gas."""

    def __init__(self, models):
        from eth_account import Account

        from hyperion.predeploys.plan import FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS
        from hyperion.primitives.keccak import keccak256
        from hyperion.sdk import AIClient, HyperionClient
        from hyperion.sdk.inprocess import InProcessNode

        self.keys = {n: keccak256(f"bench-dispute/{n}".encode()) for n in ("admin", "requester", "worker",
                                                                            "challenger")}
        self.node = InProcessNode(funded={Account.from_key(k).address: 10**27 for k in self.keys.values()},
                                  models=models, gas_limit=60_000_000)
        # against the predeployed fee vault and governor (their parameters set the fee split)
        self.client = AIClient.deploy(HyperionClient(web3=self.node.w3, private_key=self.keys["admin"]),
                                      FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS, challenge_window=WINDOW,
                                      worker_bond=BOND, move_window=MOVE)
        self.client.register_worker(sender=self.keys["worker"])
        for model in models:
            self.client.client.transact(self.client.registry.functions.register(
                model.content_hash, list(model.input_shape), model.output_size, model.macs, 0, 0, "bench"))

    def _tx(self, who: str, function: str, *args, value: int = 0, gas: int = 20_000_000):
        return self.client.client.transact(getattr(self.client.jobs.functions, function)(*args), value=value,
                                           sender=self.keys[who], gas=gas)

    def direct_challenge(self, model, data: bytes, lying) -> int:
        from hyperion.primitives.keccak import keccak256

        job_id = self.client.post_job(model.content_hash, data, 0, sender=self.keys["requester"])
        self._tx("worker", "submit_result", job_id, keccak256(lying.output), lying.root, b"", value=BOND)
        result = self._tx("challenger", "challenge", job_id, data, value=BOND, gas=29_000_000)
        assert self.client.job(job_id).status == "slashed"
        return result.gas_used

    def dispute(self, model, data: bytes, honest, lying) -> dict:
        from hyperion.ai.disputes import WORKER_PHASES, DisputeState, challenger_move, worker_move
        from hyperion.primitives.keccak import keccak256

        job_id = self.client.post_job(model.content_hash, data, 0, sender=self.keys["requester"])
        self._tx("worker", "submit_result", job_id, keccak256(lying.output), lying.root, b"", value=BOND)
        opened = self._tx("challenger", "open_dispute", job_id, value=BOND)
        dispute_id = self.client.jobs.functions.dispute_count().call()
        gas = {"open_dispute": [opened.gas_used]}
        while True:
            state = DisputeState.from_tuple(self.client.jobs.functions.disputes(dispute_id).call())
            if not state.open:
                break
            who, (name, args) = (("worker", worker_move(state, lying)) if state.phase in WORKER_PHASES
                                 else ("challenger", challenger_move(state, honest)))
            gas.setdefault(name, []).append(self._tx(who, name, dispute_id, *args, gas=29_000_000).gas_used)
            if name == "step":
                layer, chunk = state.hi, state.node_index
        assert self.client.job(job_id).status == "slashed"
        return {"layer": layer, "chunk": chunk, "gas": gas,
                "layer_rounds": len(gas.get("answer_midpoint", [])), "row_rounds": len(gas.get("pick_child", [])),
                "transactions": sum(len(v) for v in gas.values()), "total_gas": sum(sum(v) for v in gas.values())}


def _dispute_cost(name: str, model, layers: Optional[list[int]] = None) -> dict:
    from hyperion.ai.engine import Runner
    from hyperion.ai.synthetic import wrong_result_trace
    from hyperion.ai.trace import DisputePlan, Trace
    from hyperion.vm.precompiles.inference import inference_gas

    plan = DisputePlan(model)
    runner = Runner(model)
    data = _inputs(name, 1)[0] if name != "tower" else bytes(model.input_size)
    honest = Trace.compute(plan, data, runner)
    bench = _DisputeBench([model])
    played = []
    for layer in layers or range(1, plan.layer_count + 1):
        try:
            lying = wrong_result_trace(plan, data, layer, runner)
        except AssertionError:
            continue  # no corruption of this layer changes the answer (e.g. the argmax input's ties)
        played.append(bench.dispute(model, data, honest, lying))
    moves: dict[str, list[int]] = {}
    for game in played:
        for move, gas in game["gas"].items():
            moves.setdefault(move, []).extend(gas)
    whole = inference_gas(model.macs, model.input_size, model.output_size)
    result = {
        "model": name, "layers": plan.layer_count, "max_chunks_per_layer": max(t.chunks for t in plan.tensors),
        "largest_step_macs": plan.max_step_macs(), "disputes_played": len(played),
        "rounds": {"min": min(g["layer_rounds"] + g["row_rounds"] for g in played),
                   "max": max(g["layer_rounds"] + g["row_rounds"] for g in played),
                   "layer_rounds_bound": plan.layer_rounds()},
        "transactions": {"min": min(g["transactions"] for g in played), "max": max(g["transactions"] for g in played)},
        "gas_per_move": {move: {"mean": round(statistics.mean(v)), "max": max(v)} for move, v in sorted(moves.items())},
        "dispute_gas": {"min": min(g["total_gas"] for g in played), "median": round(statistics.median(
            [g["total_gas"] for g in played])), "max": max(g["total_gas"] for g in played)},
        "whole_reexecution_inference_gas": whole,
    }
    if whole <= 25_000_000:
        result["direct_challenge_gas"] = bench.direct_challenge(model, data, wrong_result_trace(plan, data, 1, runner))
    bench.node.close()
    return result


def run_bench(iterations: int = 2000, tx_iterations: int = 300, disputes: bool = True, tower: bool = False,
              on_progress: Optional[ProgressCallback] = None) -> dict:
    """The measurements as a dict (see the module docstring); ``on_progress(done, total, what)`` between steps."""
    from hyperion.ai.digits import MODELS_DIR
    from hyperion.ai.model import decode_model

    models = {name: decode_model((MODELS_DIR / f"{name}.hqm").read_bytes()) for name in ("digits", "charlm")}
    steps = len(models) * (2 if disputes else 1) + (1 if disputes and tower else 0)
    done = 0

    def step(what: str) -> None:
        if on_progress is not None:
            on_progress(done, steps, what)

    result = {"load_average": os.getloadavg(), "models": [], "disputes": []}
    for name, model in models.items():
        step(f"{name} inference speed")
        count = iterations if name == "digits" else max(1, iterations // 10)
        result["models"].append(_speed(name, model, count, tx_iterations if name == "digits" else
                                       max(1, tx_iterations // 10)))
        done += 1
    if disputes:
        for name, model in models.items():
            step(f"{name} dispute cost")
            result["disputes"].append(_dispute_cost(name, model))
            done += 1
        if tower:
            from hyperion.ai.synthetic import conv_tower

            step("tower dispute cost")
            result["disputes"].append(_dispute_cost("tower", conv_tower(), layers=[9]))
            done += 1
    step("done")
    result["load_average_after"] = os.getloadavg()
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hyperion bench ai", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="direct precompile inferences (digits; "
                                                                     "a tenth for the transformer)")
    parser.add_argument("--tx-iterations", type=int, default=300, help="transactions per EVM measurement")
    parser.add_argument("--no-disputes", action="store_true", help="skip the dispute cost")
    parser.add_argument("--tower", action="store_true", help="also dispute the 151M-MAC conv tower (slow)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.iterations < 1 or args.tx_iterations < 1:
        parser.error("iterations must be positive")
    with Progress("bench ai", animate=False) as bar:
        result = run_bench(args.iterations, args.tx_iterations, not args.no_disputes, args.tower,
                           on_progress=bar.report)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("load average %.2f %.2f %.2f" % result["load_average"])
    for row in result["models"]:
        print(f"model {row['model']} {row['model_hash']}: {row['layers']} layers, {row['macs']} MACs, "
              f"{row['model_bytes']} bytes, {row['input_bytes']} B in, {row['output_bytes']} B out")
        print(f"  {'path':<12} {'inferences/s':>14} {'gas/inference':>14}")
        print(f"  {'precompile':<12} {row['precompile']['inferences_per_second']:>14.0f} {row['precompile_gas']:>14}")
        for key, label in (("evm_call", "evm call"), ("contract", "contract")):
            if key in row:
                print(f"  {label:<12} {row[key]['inferences_per_second']:>14.0f} "
                      f"{row[key]['gas_per_inference']:>14.0f}")
    for row in result["disputes"]:
        print(f"dispute cost, {row['model']}: {row['layers']} layers (up to {row['max_chunks_per_layer']} chunks "
              f"per layer), {row['disputes_played']} disputes played (a fault at each layer)")
        print(f"  rounds {row['rounds']['min']}..{row['rounds']['max']} (layer bisection <= "
              f"{row['rounds']['layer_rounds_bound']}), transactions {row['transactions']['min']}.."
              f"{row['transactions']['max']}")
        print(f"  dispute gas min {row['dispute_gas']['min']}  median {row['dispute_gas']['median']}  "
              f"max {row['dispute_gas']['max']}; largest step {row['largest_step_macs']} MACs")
        for move, gas in row["gas_per_move"].items():
            print(f"    {move:<16} mean {gas['mean']:>10}  max {gas['max']:>10}")
        if "direct_challenge_gas" in row:
            print(f"  whole re-execution in one challenge: {row['direct_challenge_gas']} gas")
        else:
            print(f"  whole re-execution: {row['whole_reexecution_inference_gas']} gas of inference, "
                  "more than a block: bisection only")
    print("load average after %.2f %.2f %.2f" % result["load_average_after"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
