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
from dataclasses import dataclass

from hyperion.ai.disputes import CHALLENGER_PHASES, WORKER_PHASES, DisputeState, challenger_move
from hyperion.ai.errors import AIError
from hyperion.agents.follower import STATUS_SLASHED, STATUS_SUBMITTED, ChainModel, JobsFollower
from hyperion.ai.trace import Trace
from hyperion.sdk import TransactionFailed
from hyperion.primitives.keccak import keccak256
from hyperion.vm.precompiles.inference import inference_gas

DIRECT_CHALLENGE_GAS = 8_000_000  # re-execute the whole job in one transaction up to this inference gas
STEP_GAS_MARGIN = 1_500_000  # calldata, memory and the contract's own work around the step precompile


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


class Watcher(JobsFollower):
    """Checks the results of one InferenceJobs contract (see the module docstring)."""

    logger = logging.getLogger("hyperion.ai.watch")

    def __init__(self, *args, direct_gas: int = DIRECT_CHALLENGE_GAS, **kwargs):
        super().__init__(*args, **kwargs)
        self.direct_gas = direct_gas
        self.pending: set[int] = set()  # submitted results not yet checked
        self.disputes: dict[int, _Dispute] = {}
        self.stats = WatchStats()

    def scan(self, start: int, end: int) -> None:
        super().scan(start, end)
        for entry in self.logs(self.jobs.events.ResultSubmitted(), start, end):
            self.pending.add(entry["args"]["job_id"])
        for entry in self.logs(self.jobs.events.DisputeOpened(), start, end):
            args = entry["args"]
            if args["challenger"].lower() == self.me and args["dispute_id"] not in self.disputes:
                self._adopt(args["dispute_id"], args["job_id"])  # ours, from an earlier run

    def act(self) -> None:
        for job_id in sorted(self.pending):
            self._check(job_id)
            self.pending.discard(job_id)  # decided; a node error above leaves it for the next round
        for dispute in list(self.disputes.values()):
            self._play(dispute)
        if not self.disputes:
            self.withdraw()

    # -- checking results -------------------------------------------------------------------
    def _check(self, job_id: int) -> None:
        job = self.job(job_id)
        if job["status"] != STATUS_SUBMITTED:
            return
        if self.now() >= job["submitted_at"] + self.window:
            self.decide("job %d: challenge window closed before it could be checked", job_id)
            return
        data = self.job_input(job_id)
        if data is None or keccak256(data) != bytes(job["input_hash"]):
            self.stats.unverifiable += 1
            self.decide("job %d: its input is not on chain, only its requester can check it", job_id)
            return
        digest = bytes(job["model_hash"])
        try:
            model = self.model(digest)
        except AIError as exc:
            self.stats.unverifiable += 1
            self.decide("job %d: model 0x%s has no bytes on chain (%s): cannot check", job_id, digest.hex(), exc)
            return
        self.stats.checked += 1
        try:
            trace = Trace.compute(model.plan, data, model.runner)
        except AIError as exc:
            self.decide("job %d: the model rejects its input (%s): nothing can be proven either way", job_id, exc)
            return
        claimed, ours = bytes(job["result_hash"]), keccak256(trace.output)
        if claimed == ours:
            self.stats.correct += 1
            note = "" if bytes(job["trace_root"]) == trace.root else " (its trace root differs from ours)"
            self.decide("job %d: result 0x%s is correct%s", job_id, claimed.hex()[:16], note)
            return
        self.stats.wrong += 1
        self.decide("job %d: result 0x%s is wrong, the model gives 0x%s", job_id, claimed.hex()[:16],
                    ours.hex()[:16])
        self._challenge(job_id, job, model, data, trace)

    def _challenge(self, job_id: int, job: dict, model: ChainModel, data: bytes, trace: Trace) -> None:
        bond = job["worker_bond"]
        gas = inference_gas(model.model.macs, model.model.input_size, model.model.output_size)
        try:
            if gas <= self.direct_gas:
                self.decide("job %d: re-executing it whole on chain (%d gas of inference), bond %d wei",
                            job_id, gas, bond)
                result = self.client.transact(self.jobs.functions.challenge(job_id, data), value=bond,
                                              gas=gas + 2_000_000)
                self.stats.challenges += 1
                resolved = dict(result.named_events()).get("ChallengeResolved", {})
                slashed = bool(resolved.get("worker_slashed"))
                if slashed:
                    self.stats.disputes_won += 1
                self.decide("job %d: challenge resolved, worker slashed: %s", job_id, slashed)
                return
            if not model.plan.verifiable:
                self.stats.unverifiable += 1
                self.decide("job %d: %d MACs do not fit one transaction and the model cannot be bisected (%s)",
                            job_id, model.model.macs, "; ".join(model.plan.problems))
                return
            opened = self.client.transact(self.jobs.functions.open_dispute(job_id), value=bond).event("DisputeOpened")
        except TransactionFailed as exc:
            self.decide("job %d: the challenge was refused: %s", job_id, exc)
            return
        self.stats.challenges += 1
        self.disputes[opened["dispute_id"]] = _Dispute(opened["dispute_id"], job_id, trace)
        self.decide("job %d: %d MACs are too many for one transaction: opened dispute %d over %d layers, "
                    "bond %d wei", job_id, model.model.macs, opened["dispute_id"], opened["layer_count"], bond)

    def _adopt(self, dispute_id: int, job_id: int) -> None:
        job = self.job(job_id)
        data = self.job_input(job_id)
        if data is None:
            return
        model = self.model(bytes(job["model_hash"]))
        self.disputes[dispute_id] = _Dispute(dispute_id, job_id, Trace.compute(model.plan, data, model.runner))
        self.pending.discard(job_id)
        self.decide("dispute %d (job %d): resuming", dispute_id, job_id)

    # -- playing disputes ---------------------------------------------------------------------
    def _play(self, dispute: _Dispute) -> None:
        state = DisputeState.from_tuple(self.jobs.functions.disputes(dispute.dispute_id).call())
        if state.open:
            try:
                if self.job(dispute.job_id)["status"] == STATUS_SLASHED:
                    self.decide("dispute %d: job %d was already slashed by another challenge, closing it for the "
                                "bond", dispute.dispute_id, dispute.job_id)
                    self.client.transact(self.jobs.functions.close_dispute(dispute.dispute_id))
                elif state.phase in CHALLENGER_PHASES:
                    self._move(dispute, state)
                elif state.phase in WORKER_PHASES and self.now() > state.deadline:
                    self.decide("dispute %d: the worker missed its %s deadline, claiming the timeout",
                                dispute.dispute_id, state.phase_name)
                    self.client.transact(self.jobs.functions.timeout(dispute.dispute_id))
            except TransactionFailed as exc:
                self.decide("dispute %d: move refused (%s), will look again", dispute.dispute_id, exc)
                return
            state = DisputeState.from_tuple(self.jobs.functions.disputes(dispute.dispute_id).call())
        if not state.open:
            self.disputes.pop(dispute.dispute_id, None)
            won, reason = self.dispute_outcome(dispute.dispute_id)
            if won:
                self.stats.disputes_won += 1
            else:
                self.stats.disputes_lost += 1
            self.decide("dispute %d (job %d): %s after %d moves (%s)", dispute.dispute_id, dispute.job_id,
                        "won, the worker is slashed" if won else "lost", dispute.moves, reason)

    def _move(self, dispute: _Dispute, state: DisputeState) -> None:
        name, args = challenger_move(state, dispute.trace)
        gas = None
        if name == "answer_midpoint":
            self.decide("dispute %d: layers %d..%d: the worker's state after layer %d %s ours",
                        dispute.dispute_id, state.lo, state.hi, state.mid, "matches" if args[0] else "differs from")
        elif name == "pick_child":
            self.decide("dispute %d: layer %d differs; chunk tree level %d node %d: disputing its %s half",
                        dispute.dispute_id, state.hi, state.node_depth, state.node_index,
                        "right" if args[0] else "left")
        elif name == "step":
            plan = dispute.trace.plan
            gas = plan.step_gas(state.hi, state.node_index) + 16 * len(args[0]) + STEP_GAS_MARGIN
            self.decide("dispute %d: re-executing chunk %d of layer %d on chain (%d MACs, %d state bytes)",
                        dispute.dispute_id, state.node_index, state.hi,
                        plan.chunk_macs(state.hi, state.node_index), len(args[0]))
        self.client.transact(getattr(self.jobs.functions, name)(dispute.dispute_id, *args), gas=gas)
        dispute.moves += 1
