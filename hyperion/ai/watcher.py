"""The watcher: re-executes every submitted job result and disputes the wrong ones, to the end.

Optimistic verification is only as good as the people checking. ``Watcher``
is one of them (``hyperion ai watch --rpc-url URL --key K``): it follows the
InferenceJobs events of a node, and for every result submitted within its
challenge window

1. reads the job's input (published with ``post_job_with_input``; a job
   whose input is not on chain cannot be checked by anyone but its
   requester, and the watcher says so);
2. gets the model's bytes from chain data (the ModelStore's chunk
   contracts, checked against the hash), never from a file it was handed;
3. re-executes the job with the deterministic engine, keeping the trace;
4. if the claimed output differs, challenges it with its own bond: a whole
   re-execution (``challenge``) when the model fits one transaction, else a
   bisection dispute (``open_dispute``) that it plays move by move until the
   contract resolves it, claiming a timeout when the worker stops answering;
5. withdraws what it won.

Every decision is logged (logger ``hyperion.ai.watch``), one line each.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from web3 import Web3

from hyperion.ai.disputes import CHALLENGER_PHASES, WORKER_PHASES, DisputeState, challenger_move
from hyperion.ai.engine import Runner
from hyperion.ai.errors import AIError
from hyperion.ai.model import QuantizedModel
from hyperion.ai.publish import fetch_decoded
from hyperion.ai.trace import DisputePlan, Trace
from hyperion.ai.web3tx import Signer, TransactionFailed, contract
from hyperion.primitives.keccak import keccak256
from hyperion.vm.precompiles.inference import inference_gas

log = logging.getLogger("hyperion.ai.watch")

STATUS_SUBMITTED, STATUS_SLASHED = 2, 4
DIRECT_CHALLENGE_GAS = 8_000_000  # re-execute the whole job in one transaction up to this inference gas
LOG_RANGE = 2_000  # blocks per eth_getLogs query
STEP_GAS_MARGIN = 1_500_000  # calldata, memory and the contract's own work around the step precompile
JOB_FIELDS = ("requester", "model_hash", "input_hash", "fee", "requester_bond", "worker", "result_hash",
              "worker_bond", "submitted_at", "status", "challenger", "trace_root", "open_disputes")


@dataclass
class _Model:
    model: QuantizedModel
    runner: Runner
    plan: DisputePlan


@dataclass
class _Dispute:
    dispute_id: int
    job_id: int
    trace: Trace
    moves: int = 0


@dataclass
class WatchStats:
    checked: int = 0
    correct: int = 0
    wrong: int = 0
    unverifiable: int = 0
    challenges: int = 0
    disputes_won: int = 0
    disputes_lost: int = 0
    decisions: list = field(default_factory=list)


class Watcher:
    """Checks the results of one InferenceJobs contract (see the module docstring)."""

    def __init__(self, w3: Web3, signer: Signer, jobs_address: bytes, store_address: bytes, *,
                 cache=None, from_block: int = 0, direct_gas: int = DIRECT_CHALLENGE_GAS):
        self.w3 = w3
        self.signer = signer
        self.jobs = contract(w3, "InferenceJobs", jobs_address)
        self.store_address = store_address
        self.cache = cache
        self.next_block = from_block
        self.direct_gas = direct_gas
        self.window = self.jobs.functions.challenge_window().call()
        self.inputs: dict[int, bytes] = {}
        self.pending: set[int] = set()  # submitted results not yet checked
        self.disputes: dict[int, _Dispute] = {}
        self.models: dict[bytes, _Model] = {}
        self.stats = WatchStats()
        self.me = signer.address.lower()

    # -- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Poll until ``stop`` is set; a failing round is logged and retried, never fatal."""
        log.info("watching InferenceJobs %s from block %d as %s (challenge window %ds)",
                 self.jobs.address, self.next_block, self.signer.address, self.window)
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - a node hiccup must not end the watch
                log.warning("round failed, retrying: %s", exc)
            stop.wait(interval)

    def tick(self) -> None:
        """One round: read new events, check new results, move in open disputes, withdraw winnings."""
        head = self.w3.eth.block_number
        if head >= self.next_block:
            self._scan(self.next_block, head)
            self.next_block = head + 1
        for job_id in sorted(self.pending):
            self._check(job_id)
        for dispute in list(self.disputes.values()):
            self._play(dispute)
        self._withdraw()

    def _decide(self, message: str, *args) -> None:
        text = message % args if args else message
        self.stats.decisions.append(text)
        log.info(text)

    # -- events -----------------------------------------------------------------------------
    def _logs(self, event, start: int, end: int, **filters):
        found = []
        for first in range(start, end + 1, LOG_RANGE):
            found += event.get_logs(from_block=first, to_block=min(end, first + LOG_RANGE - 1),
                                    argument_filters=filters or None)
        return found

    def _scan(self, start: int, end: int) -> None:
        events = self.jobs.events
        for entry in self._logs(events.JobInput(), start, end):
            self.inputs[entry["args"]["job_id"]] = bytes(entry["args"]["input"])
        for entry in self._logs(events.ResultSubmitted(), start, end):
            self.pending.add(entry["args"]["job_id"])
        for entry in self._logs(events.DisputeOpened(), start, end):
            args = entry["args"]
            if args["challenger"].lower() == self.me and args["dispute_id"] not in self.disputes:
                self._adopt(args["dispute_id"], args["job_id"])  # ours, from an earlier run

    def _job(self, job_id: int) -> dict:
        return dict(zip(JOB_FIELDS, self.jobs.functions.jobs(job_id).call()))

    def _input(self, job_id: int) -> Optional[bytes]:
        if job_id not in self.inputs:
            entries = self._logs(self.jobs.events.JobInput(), 0, self.w3.eth.block_number, job_id=job_id)
            if entries:
                self.inputs[job_id] = bytes(entries[-1]["args"]["input"])
        return self.inputs.get(job_id)

    def _model(self, digest: bytes) -> _Model:
        found = self.models.get(digest)
        if found is None:
            model = fetch_decoded(self.w3, self.store_address, digest, self.cache)
            found = self.models[digest] = _Model(model, Runner(model), DisputePlan(model))
        return found

    def _now(self) -> int:
        return max(int(self.w3.eth.get_block("latest")["timestamp"]), int(time.time()))

    # -- checking results -------------------------------------------------------------------
    def _check(self, job_id: int) -> None:
        job = self._job(job_id)
        if job["status"] != STATUS_SUBMITTED:
            self.pending.discard(job_id)
            return
        if self._now() >= job["submitted_at"] + self.window:
            self.pending.discard(job_id)
            self._decide("job %d: challenge window closed before it could be checked", job_id)
            return
        data = self._input(job_id)
        if data is None or keccak256(data) != bytes(job["input_hash"]):
            self.pending.discard(job_id)
            self.stats.unverifiable += 1
            self._decide("job %d: its input is not on chain, only its requester can check it", job_id)
            return
        digest = bytes(job["model_hash"])
        try:
            model = self._model(digest)
        except AIError as exc:
            self.pending.discard(job_id)
            self.stats.unverifiable += 1
            self._decide("job %d: model 0x%s has no bytes on chain (%s): cannot check", job_id, digest.hex(), exc)
            return
        self.pending.discard(job_id)
        self.stats.checked += 1
        try:
            trace = Trace.compute(model.plan, data, model.runner)
        except AIError as exc:
            self._decide("job %d: the model rejects its input (%s): no result is valid, nothing to prove", job_id, exc)
            return
        claimed, ours = bytes(job["result_hash"]), keccak256(trace.output)
        if claimed == ours:
            self.stats.correct += 1
            note = "" if bytes(job["trace_root"]) == trace.root else " (its trace root differs from ours)"
            self._decide("job %d: result 0x%s is correct%s", job_id, claimed.hex()[:16], note)
            return
        self.stats.wrong += 1
        self._decide("job %d: result 0x%s is wrong, the model gives 0x%s", job_id, claimed.hex()[:16],
                     ours.hex()[:16])
        self._challenge(job_id, job, model, data, trace)

    def _challenge(self, job_id: int, job: dict, model: _Model, data: bytes, trace: Trace) -> None:
        bond = job["worker_bond"]
        gas = inference_gas(model.model.macs, model.model.input_size, model.model.output_size)
        try:
            if gas <= self.direct_gas:
                self._decide("job %d: re-executing it on chain (%d gas of inference), bond %d wei", job_id, gas, bond)
                receipt = self.signer.transact(self.jobs.functions.challenge(job_id, data), value=bond,
                                               gas=gas + 2_000_000)
                self.stats.challenges += 1
                resolved = self.jobs.events.ChallengeResolved().process_receipt(receipt)
                slashed = bool(resolved and resolved[0]["args"]["worker_slashed"])
                self._decide("job %d: challenge resolved, worker slashed: %s", job_id, slashed)
                return
            if not model.plan.verifiable:
                self.stats.unverifiable += 1
                self._decide("job %d: %d MACs do not fit one transaction and the model cannot be bisected (%s)",
                             job_id, model.model.macs, "; ".join(model.plan.problems))
                return
            receipt = self.signer.transact(self.jobs.functions.open_dispute(job_id), value=bond)
        except TransactionFailed as exc:
            self._decide("job %d: the challenge was refused: %s", job_id, exc)
            return
        opened = self.jobs.events.DisputeOpened().process_receipt(receipt)[0]["args"]
        self.stats.challenges += 1
        self.disputes[opened["dispute_id"]] = _Dispute(opened["dispute_id"], job_id, trace)
        self._decide("job %d: opened dispute %d over %d layers with bond %d wei", job_id, opened["dispute_id"],
                     opened["layer_count"], bond)

    def _adopt(self, dispute_id: int, job_id: int) -> None:
        job = self._job(job_id)
        data = self._input(job_id)
        if data is None:
            return
        model = self._model(bytes(job["model_hash"]))
        self.disputes[dispute_id] = _Dispute(dispute_id, job_id, Trace.compute(model.plan, data, model.runner))
        self.pending.discard(job_id)
        self._decide("dispute %d (job %d): resuming", dispute_id, job_id)

    # -- playing disputes ---------------------------------------------------------------------
    def _play(self, dispute: _Dispute) -> None:
        state = DisputeState.from_tuple(self.jobs.functions.disputes(dispute.dispute_id).call())
        if not state.open:
            self._finished(dispute)
            return
        job = self._job(dispute.job_id)
        try:
            if job["status"] == STATUS_SLASHED:
                self._decide("dispute %d: job %d was already slashed by another challenge, closing it for the bond",
                             dispute.dispute_id, dispute.job_id)
                self.signer.transact(self.jobs.functions.close_dispute(dispute.dispute_id))
            elif state.phase in CHALLENGER_PHASES:
                self._move(dispute, state)
            elif state.phase in WORKER_PHASES and self._now() > state.deadline:
                self._decide("dispute %d: the worker missed its %s deadline, claiming the timeout",
                             dispute.dispute_id, state.phase_name)
                self.signer.transact(self.jobs.functions.timeout(dispute.dispute_id))
        except TransactionFailed as exc:
            self._decide("dispute %d: move refused (%s), will look again", dispute.dispute_id, exc)
            return
        after = DisputeState.from_tuple(self.jobs.functions.disputes(dispute.dispute_id).call())
        if not after.open:
            self._finished(dispute)

    def _move(self, dispute: _Dispute, state: DisputeState) -> None:
        name, args = challenger_move(state, dispute.trace)
        gas = None
        if name == "answer_midpoint":
            self._decide("dispute %d: layers %d..%d, the worker's state after layer %d %s ours", dispute.dispute_id,
                         state.lo, state.hi, state.mid, "matches" if args[0] else "differs from")
        elif name == "pick_child":
            self._decide("dispute %d: layer %d, chunk tree level %d node %d: disputing the %s child",
                         dispute.dispute_id, state.hi, state.node_depth, state.node_index,
                         "right" if args[0] else "left")
        elif name == "step":
            plan = dispute.trace.plan
            gas = plan.step_gas(state.hi, state.node_index) + 16 * len(args[0]) + STEP_GAS_MARGIN
            self._decide("dispute %d: re-executing chunk %d of layer %d on chain (%d MACs)", dispute.dispute_id,
                         state.node_index, state.hi, plan.chunk_macs(state.hi, state.node_index))
        function = getattr(self.jobs.functions, name)(dispute.dispute_id, *args)
        self.signer.transact(function, gas=gas)
        dispute.moves += 1

    def _finished(self, dispute: _Dispute) -> None:
        self.disputes.pop(dispute.dispute_id, None)
        entries = self._logs(self.jobs.events.DisputeResolved(), 0, self.w3.eth.block_number,
                             dispute_id=dispute.dispute_id)
        won = bool(entries and entries[-1]["args"]["challenger_won"])
        reason = entries[-1]["args"]["reason"] if entries else "?"
        if won:
            self.stats.disputes_won += 1
        else:
            self.stats.disputes_lost += 1
        self._decide("dispute %d (job %d): %s after %d moves (%s)", dispute.dispute_id, dispute.job_id,
                     "won, the worker is slashed" if won else "lost", dispute.moves, reason)

    def _withdraw(self) -> None:
        owed = self.jobs.functions.credits(self.signer.address).call()
        if owed and not self.disputes:
            self.signer.transact(self.jobs.functions.withdraw())
            self._decide("withdrew %d wei of bonds and winnings", owed)
