"""The moves of an InferenceJobs dispute, decided from a trace (no transport here).

A dispute narrows a disagreement between a worker's committed trace and a
challenger's recomputed one (``hyperion.ai.trace``) to one chunk of one layer:

1. MIDPOINT (worker): reveal ``S_mid`` for ``mid = (lo + hi) // 2`` with its
   Merkle proof against the submitted trace root.
2. ANSWER (challenger): agree if ``S_mid`` is its own ``S_mid`` (the
   disagreement is after ``mid``), else disagree (it is before).
   Repeat until ``hi = lo + 1``.
3. LAYER (worker): reveal ``(C_hi, h_hi)`` opening ``S_hi``.
4. CHILDREN / PICK: descend the layer's chunk tree: the worker reveals a
   node's children, the challenger picks one that differs from its own
   (the left one when both do).
5. STEP (challenger): send the tensors of the agreed state ``S_lo``; the
   layer-step precompile re-executes the chunk and the contract compares.

``worker_move`` and ``challenger_move`` return the next call as
``(function name, arguments)`` or None when it is not that party's turn;
both parties here play from a trace, honest or not, so a test can play a
lying worker with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hyperion.ai.trace import Trace

PHASE_MIDPOINT = 1
PHASE_ANSWER = 2
PHASE_LAYER = 3
PHASE_CHILDREN = 4
PHASE_PICK = 5
PHASE_STEP = 6
PHASE_DONE = 7
PHASE_NAMES = {0: "none", PHASE_MIDPOINT: "midpoint", PHASE_ANSWER: "answer", PHASE_LAYER: "layer",
               PHASE_CHILDREN: "children", PHASE_PICK: "pick", PHASE_STEP: "step", PHASE_DONE: "done"}
WORKER_PHASES = frozenset({PHASE_MIDPOINT, PHASE_LAYER, PHASE_CHILDREN})
CHALLENGER_PHASES = frozenset({PHASE_ANSWER, PHASE_PICK, PHASE_STEP})
DISPUTE_FIELDS = ("job_id", "challenger", "bond", "phase", "deadline", "layer_count", "lo", "hi", "lo_state",
                  "hi_state", "mid_state", "carry", "chunks", "node", "node_depth", "node_index", "left", "right")

Move = tuple[str, tuple]


@dataclass(frozen=True)
class DisputeState:
    """``InferenceJobs.disputes(id)``, field by field."""

    job_id: int
    challenger: bytes
    bond: int
    phase: int
    deadline: int
    layer_count: int
    lo: int
    hi: int
    lo_state: bytes
    hi_state: bytes
    mid_state: bytes
    carry: bytes
    chunks: int
    node: bytes
    node_depth: int
    node_index: int
    left: bytes
    right: bytes

    @classmethod
    def from_tuple(cls, values) -> "DisputeState":
        return cls(*values)

    @property
    def mid(self) -> int:
        return (self.lo + self.hi) // 2

    @property
    def phase_name(self) -> str:
        return PHASE_NAMES.get(self.phase, str(self.phase))

    @property
    def open(self) -> bool:
        return self.phase not in (0, PHASE_DONE)


def _own_children(trace: Trace, state: DisputeState) -> tuple[bytes, bytes]:
    """This trace's children of the dispute's current chunk-tree node (levels are leaves first)."""
    levels = trace.chunk_levels(state.hi)
    level = levels[state.node_depth - 1]
    return level[2 * state.node_index], level[2 * state.node_index + 1]


def worker_move(state: DisputeState, trace: Trace) -> Optional[Move]:
    if state.phase == PHASE_MIDPOINT:
        return "reveal_midpoint", (trace.states[state.mid], trace.state_proof(state.mid))
    if state.phase == PHASE_LAYER:
        return "reveal_layer", (trace.carries[state.hi], trace.tensor_hashes[state.hi])
    if state.phase == PHASE_CHILDREN:
        return "reveal_children", _own_children(trace, state)
    return None


def challenger_move(state: DisputeState, trace: Trace) -> Optional[Move]:
    if state.phase == PHASE_ANSWER:
        return "answer_midpoint", (state.mid_state == trace.states[state.mid],)
    if state.phase == PHASE_PICK:
        own_left, _ = _own_children(trace, state)
        return "pick_child", (state.left == own_left,)
    if state.phase == PHASE_STEP:
        return "step", (trace.step_state(state.hi),)
    return None


def rounds(trace: Trace, layer: int) -> tuple[int, int]:
    """(layer bisection rounds, chunk bisection rounds) of a dispute that ends at ``layer``."""
    return trace.plan.layer_rounds(), trace.plan.row_rounds(layer)
