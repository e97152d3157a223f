"""Where a rollup dispute stands, as the rollup page words it, from the output oracle's events alone."""

from __future__ import annotations

from hyperion.explorer.rollup_pages import dispute_state


def _event(block: int, index: int, **args) -> dict:
    return {"block": block, "index": index, "tx": "0x" + "00" * 32, "args": args}


OPENED = _event(10, 0, disputeId=1, l2OutputIndex=3, lo=16, hi=24)
OTHER = _event(10, 1, disputeId=2, l2OutputIndex=4, lo=24, hi=32)


def test_an_opened_dispute_waits_for_the_proposer():
    assert dispute_state(OPENED, [], [], [], []) == "dispute 1: open, L2 blocks 16..24, proposer's move, 0 rounds"


def test_after_a_midpoint_the_challenger_moves_and_after_an_answer_the_proposer():
    midpoint = _event(11, 0, disputeId=1, l2BlockNumber=20)
    assert dispute_state(OPENED, [midpoint], [], [], []) == \
        "dispute 1: open, L2 blocks 16..24, challenger's move, 0 rounds"
    answer = _event(12, 0, disputeId=1, l2BlockNumber=20, agreed=True, lo=20, hi=24)
    assert dispute_state(OPENED, [midpoint], [answer], [], []) == \
        "dispute 1: open, L2 blocks 20..24, proposer's move, 1 round"


def test_other_disputes_events_do_not_count():
    foreign = [_event(11, 0, disputeId=2, l2BlockNumber=28)]
    assert dispute_state(OPENED, foreign, [], [], []) == "dispute 1: open, L2 blocks 16..24, proposer's move, 0 rounds"


def test_awaiting_the_resolver_and_each_way_a_dispute_ends():
    answers = [_event(12, 0, disputeId=1, l2BlockNumber=20, agreed=False, lo=16, hi=20),
               _event(14, 0, disputeId=1, l2BlockNumber=18, agreed=True, lo=18, hi=20),
               _event(16, 0, disputeId=1, l2BlockNumber=19, agreed=True, lo=19, hi=20)]
    awaiting = [_event(16, 1, disputeId=1, l2BlockNumber=20)]
    assert dispute_state(OPENED, [], answers, awaiting, []) == \
        "dispute 1: bisected to L2 block 20 after 3 rounds, awaiting the resolver"
    won = [_event(17, 0, disputeId=1, proposerWins=True, reason=0)]
    assert dispute_state(OPENED, [], answers, awaiting, won) == "dispute 1: proposer won by the resolver after 3 rounds"
    timed_out = [_event(17, 0, disputeId=1, proposerWins=False, reason=1)]
    assert dispute_state(OPENED, [], answers[:1], [], timed_out) == \
        "dispute 1: challenger won by timeout after 1 round"
    voided = [_event(17, 0, disputeId=2, proposerWins=False, reason=2)]
    assert dispute_state(OTHER, [], [], [], voided) == \
        "dispute 2: void: its output was deleted by another dispute"
