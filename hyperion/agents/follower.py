"""What the watcher and the worker agents share: following an InferenceJobs contract through the SDK.

Both read the contract's events in block ranges, the jobs and their
published inputs, and the models' bytes from chain data (ModelStore, checked
against the hash, cached locally if asked); both send their transactions
with the ``HyperionClient`` they are given (its key signs); both log every
decision they take on one line (``decide``) and keep it in ``decisions``
for tests and reports.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Optional

from hyperion.ai.engine import Runner
from hyperion.ai.model import QuantizedModel
from hyperion.ai.trace import DisputePlan
from hyperion.sdk import AIClient, HyperionClient

STATUS_OPEN, STATUS_SUBMITTED, STATUS_FINALIZED, STATUS_SLASHED = 1, 2, 3, 4
LOG_RANGE = 2_000  # blocks per eth_getLogs query
JOB_FIELDS = ("requester", "model_hash", "input_hash", "fee", "requester_bond", "worker", "result_hash",
              "worker_bond", "submitted_at", "status", "challenger", "trace_root", "open_disputes")


@dataclass
class ChainModel:
    model: QuantizedModel
    runner: Runner
    plan: DisputePlan


class JobsFollower:
    """Base of the agents: events, jobs, inputs and models of one InferenceJobs contract."""

    logger = logging.getLogger("hyperion.ai")

    def __init__(self, client: HyperionClient, jobs_address: str | bytes, *, cache=None, from_block: int = 0):
        self.client = client
        self.w3 = client.w3
        self.ai = AIClient(client)
        self.jobs = client.artifact_contract("InferenceJobs", jobs_address)
        self.cache = cache
        self.next_block = from_block
        self.window = self.jobs.functions.challenge_window().call()
        self.inputs: dict[int, bytes] = {}
        self.models: dict[bytes, ChainModel] = {}
        self.decisions: list[str] = []
        self.me = client.address.lower()

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Poll until ``stop`` is set; a failing round is logged and retried, never fatal."""
        self.logger.info("following InferenceJobs %s from block %d as %s (challenge window %ds)",
                         self.jobs.address, self.next_block, self.client.address, self.window)
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - a node hiccup must not end the agent
                self.logger.warning("round failed, retrying: %s", exc)
            stop.wait(interval)

    def tick(self) -> None:
        head = self.w3.eth.block_number
        if head >= self.next_block:
            self.scan(self.next_block, head)
            self.next_block = head + 1
        self.act()

    def scan(self, start: int, end: int) -> None:
        for entry in self.logs(self.jobs.events.JobInput(), start, end):
            self.inputs[entry["args"]["job_id"]] = bytes(entry["args"]["input"])

    def act(self) -> None:
        raise NotImplementedError

    def decide(self, message: str, *args) -> None:
        text = message % args if args else message
        self.decisions.append(text)
        self.logger.info(text)

    def logs(self, event, start: int, end: int, **filters) -> list:
        found = []
        for first in range(start, end + 1, LOG_RANGE):
            found += event.get_logs(from_block=first, to_block=min(end, first + LOG_RANGE - 1),
                                    argument_filters=filters or None)
        return found

    def job(self, job_id: int) -> dict:
        return dict(zip(JOB_FIELDS, self.jobs.functions.jobs(job_id).call()))

    def job_input(self, job_id: int) -> Optional[bytes]:
        if job_id not in self.inputs:
            entries = self.logs(self.jobs.events.JobInput(), 0, self.w3.eth.block_number, job_id=job_id)
            if entries:
                self.inputs[job_id] = bytes(entries[-1]["args"]["input"])
        return self.inputs.get(job_id)

    def model(self, digest: bytes) -> ChainModel:
        found = self.models.get(digest)
        if found is None:
            model = self.ai.fetch_model(digest, self.cache)
            found = self.models[digest] = ChainModel(model, Runner(model), DisputePlan(model))
        return found

    def now(self) -> int:
        """The earliest timestamp the next block can have (dev chains run ahead of the clock)."""
        return max(int(self.w3.eth.get_block("latest")["timestamp"]), int(time.time()))

    def dispute_outcome(self, dispute_id: int) -> tuple[bool, str]:
        entries = self.logs(self.jobs.events.DisputeResolved(), 0, self.w3.eth.block_number, dispute_id=dispute_id)
        if not entries:
            return False, "?"
        return bool(entries[-1]["args"]["challenger_won"]), entries[-1]["args"]["reason"]

    def withdraw(self) -> None:
        owed = self.jobs.functions.credits(self.client.address).call()
        if owed:
            self.client.transact(self.jobs.functions.withdraw())
            self.decide("withdrew %d wei of bonds and winnings", owed)
