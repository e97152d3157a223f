"""The worker agent: takes public jobs, submits results with their trace, and defends them in disputes.

A worker's bond is only safe if it answers every dispute on time: a worker
that stops moving loses by timeout even when its result was right.
``Worker`` (``hyperion ai work --rpc-url URL --key K``) runs the jobs it sees
posted with a public input for models on chain, submits the output with the
root of its trace and a bond, reveals its trace step by step whenever a
challenger disputes it, finalizes after the window and withdraws.

``compute`` decides the trace it commits to; it is the deterministic engine
unless a test passes something else (that is how the tests play a lying
worker with the same code).
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from hyperion.ai.disputes import CHALLENGER_PHASES, WORKER_PHASES, DisputeState, worker_move
from hyperion.ai.errors import AIError
from hyperion.agents.follower import STATUS_OPEN, STATUS_SUBMITTED, ChainModel, JobsFollower
from hyperion.ai.trace import Trace
from hyperion.sdk import TransactionFailed
from hyperion.primitives.keccak import keccak256


def honest_trace(model: ChainModel, data: bytes) -> Trace:
    return Trace.compute(model.plan, data, model.runner)


class Worker(JobsFollower):
    """Serves and defends jobs of one InferenceJobs contract (see the module docstring)."""

    logger = logging.getLogger("hyperion.ai.work")

    def __init__(self, *args, bond: Optional[int] = None, compute: Callable[[ChainModel, bytes], Trace] = honest_trace,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.bond = bond if bond is not None else self.jobs.functions.min_worker_bond().call()
        self.compute = compute
        self.open_jobs: set[int] = set()
        self.traces: dict[int, Trace] = {}  # job -> the trace this worker committed to
        self.disputes: dict[int, int] = {}  # dispute -> job
        self.registered = False

    def scan(self, start: int, end: int) -> None:
        super().scan(start, end)
        for entry in self.logs(self.jobs.events.JobInput(), start, end):
            self.open_jobs.add(entry["args"]["job_id"])
        for entry in self.logs(self.jobs.events.DisputeOpened(), start, end):
            if entry["args"]["job_id"] in self.traces:
                self.disputes[entry["args"]["dispute_id"]] = entry["args"]["job_id"]
                self.decide("job %d: challenged by %s (dispute %d over %d layers), defending",
                            entry["args"]["job_id"], entry["args"]["challenger"], entry["args"]["dispute_id"],
                            entry["args"]["layer_count"])

    def act(self) -> None:
        for job_id in sorted(self.open_jobs):
            self._serve(job_id)
            self.open_jobs.discard(job_id)  # decided; a node error above leaves it for the next round
        for dispute_id in list(self.disputes):
            self._defend(dispute_id)
        for job_id in list(self.traces):
            self._finalize(job_id)
        if not self.disputes:
            self.withdraw()

    def submit(self, job_id: int, trace: Trace) -> None:
        """Commit to ``trace`` for ``job_id`` (output, trace root, bond)."""
        if not self.registered:
            if not self.jobs.functions.workers(self.client.address).call():
                self.client.transact(self.jobs.functions.register_worker())
            self.registered = True
        output = trace.output if len(trace.output) <= 1024 else b""
        self.client.transact(self.jobs.functions.submit_result(job_id, keccak256(trace.output), trace.root, output),
                             value=self.bond)
        self.traces[job_id] = trace
        self.decide("job %d: submitted 0x%s with trace root 0x%s and a bond of %d wei", job_id,
                    keccak256(trace.output).hex()[:16], trace.root.hex()[:16], self.bond)

    def _serve(self, job_id: int) -> None:
        job = self.job(job_id)
        if job["status"] != STATUS_OPEN:
            return
        data = self.job_input(job_id)
        try:
            model = self.model(bytes(job["model_hash"]))
            trace = self.compute(model, data)
            self.submit(job_id, trace)
        except (AIError, TransactionFailed) as exc:
            self.decide("job %d: not taken (%s)", job_id, exc)

    def _defend(self, dispute_id: int) -> None:
        job_id = self.disputes[dispute_id]
        state = DisputeState.from_tuple(self.jobs.functions.disputes(dispute_id).call())
        if state.open:
            try:
                if state.phase in WORKER_PHASES:
                    name, args = worker_move(state, self.traces[job_id])
                    self.client.transact(getattr(self.jobs.functions, name)(dispute_id, *args))
                    self.decide("dispute %d: %s (layers %d..%d)", dispute_id, name, state.lo, state.hi)
                elif state.phase in CHALLENGER_PHASES and self.now() > state.deadline:
                    self.decide("dispute %d: the challenger missed its %s deadline, claiming the timeout",
                                dispute_id, state.phase_name)
                    self.client.transact(self.jobs.functions.timeout(dispute_id))
            except TransactionFailed as exc:
                self.decide("dispute %d: move refused (%s), will look again", dispute_id, exc)
                return
            state = DisputeState.from_tuple(self.jobs.functions.disputes(dispute_id).call())
        if not state.open:
            del self.disputes[dispute_id]
            won, reason = self.dispute_outcome(dispute_id)
            self.decide("dispute %d (job %d): %s (%s)", dispute_id, job_id,
                        "lost, the bond is slashed" if won else "won, the challenger's bond is ours", reason)

    def _finalize(self, job_id: int) -> None:
        job = self.job(job_id)
        if job["status"] != STATUS_SUBMITTED:
            self.traces.pop(job_id, None)
            return
        if job["open_disputes"] == 0 and self.now() >= job["submitted_at"] + self.window:
            self.client.transact(self.jobs.functions.finalize(job_id))
            self.traces.pop(job_id, None)
            self.decide("job %d: finalized", job_id)
