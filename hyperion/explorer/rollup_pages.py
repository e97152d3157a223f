"""The rollup page: L1 batches and their L1 transactions, output roots and disputes, deposits, withdrawals.

The L2 side comes from the node (``optimism_rollupConfig``,
``optimism_syncStatus``, the message passer's events); the L1 side from the
L1 endpoint the rollup node itself uses (``RollupView.l1_url``), read with
the L1 contracts' ABIs at the addresses of the rollup config. Deposits are
matched to their L2 transaction by recomputing the deposit transaction
from its L1 log (its hash is fixed by the L1 block hash and log index).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Optional

from aiohttp import web

from hyperion.explorer.source import HttpSource, RpcFailure, Source
from hyperion.explorer.views import Amount, Badge, Mono, Page, Section, address_link, block_link, tx_link
from hyperion.rollup.l1.predeploys import MESSAGE_PASSER_ADDRESS as MESSAGE_PASSER

P = "/explorer"
MAX_LISTED = 100


@dataclass
class RollupView:
    """What the rollup node gives its explorer: where its L1 is."""

    l1_url: str
    _l1: Optional[HttpSource] = None

    def l1(self, config: dict) -> HttpSource:
        if self._l1 is None:
            from hyperion.artifacts import load_artifact
            from hyperion.explorer.abis import KnownAbis

            contracts = [{"name": name, "address": config[key], "abi": load_artifact(name)["abi"]}
                         for name, key in (("Portal", "portal"), ("BatchInbox", "batch_inbox"),
                                           ("OutputOracle", "output_oracle"))]
            self._l1 = HttpSource(self.l1_url, KnownAbis(contracts))
        return self._l1


ROLLUP = web.AppKey("rollup", object)  # the app's RollupView, or None on a node without a rollup


def _b(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _not_rollup(reason: str) -> Page:
    return Page("Rollup", [Section("Not a rollup node", "text", rows=reason)])


async def rollup(request: web.Request, source: Source) -> Page:
    try:
        config = await source.call("optimism_rollupConfig")
    except RpcFailure as exc:
        return _not_rollup(f"this node runs no rollup ({exc.message}): start it with "
                           "`hyperion node --rollup rollup.json ...` to see batches, outputs and bridges")
    status = await source.call("optimism_syncStatus")
    view: Optional[RollupView] = request.app[ROLLUP]
    sync_rows = [("L2 chain ID", int(str(config["l2_genesis"].get("config", {}).get("chainId", 0)), 0)),
                 ("Unsafe head", block_link(P, status["unsafe_l2"]["number"])),
                 ("Safe head", block_link(P, status["safe_l2"]["number"])),
                 ("Finalized head", block_link(P, status["finalized_l2"]["number"])),
                 ("Current L1", (status.get("current_l1") or {}).get("number", "—")),
                 ("L1 chain ID", config["l1_chain_id"]), ("Portal (L1)", Mono(config["portal"])),
                 ("Batch inbox (L1)", Mono(config["batch_inbox"])), ("Output oracle (L1)", Mono(config["output_oracle"])),
                 ("Batcher", Mono(config["batcher"])), ("Proposer", Mono(config["proposer"]))]
    sections = [Section("Sync", rows=sync_rows)]
    withdrawals = await source.events(MESSAGE_PASSER, "MessagePassed") if source.abis.by_address.get(MESSAGE_PASSER) \
        else []
    if view is None:
        sections.append(Section("L1", "text", rows="this node's explorer has no L1 endpoint"))
        return Page("Rollup", sections)
    l1 = view.l1(config)
    start = int(config["genesis_l1"]["number"])
    portal, inbox, oracle = (_b(config[k]) for k in ("portal", "batch_inbox", "output_oracle"))
    (batches, proposed, opened, proposed_mids, answered, awaiting, resolved, deposits, proven,
     finalized) = await asyncio.gather(
        l1.events(inbox, "BatchSubmitted", from_block=start), l1.events(oracle, "OutputProposed", from_block=start),
        *(l1.events(oracle, name, from_block=start) for name in DISPUTE_EVENTS),
        l1.events(portal, "TransactionDeposited", from_block=start),
        l1.events(portal, "WithdrawalProven", from_block=start),
        l1.events(portal, "WithdrawalFinalized", from_block=start))
    batch_rows = [[b["block"], Mono(b["tx"]), _carried_as(b["args"])] for b in reversed(batches[-MAX_LISTED:])]
    sections.append(Section("L1 batches", "table", batch_rows, ["L1 block", "L1 transaction", "Carried as"]))
    next_index = await l1.read(oracle, "nextOutputIndex")
    disputes_by_output: dict[int, list] = {}
    for dispute in opened:
        disputes_by_output.setdefault(dispute["args"]["l2OutputIndex"], []).append(
            dispute_state(dispute, proposed_mids, answered, awaiting, resolved))
    output_rows = []
    for event in reversed(proposed[-MAX_LISTED:]):
        index = event["args"]["l2OutputIndex"]
        if index >= next_index:
            state = Badge("deleted by a dispute", "fail")
        else:
            settled = await l1.read(oracle, "isOutputSettled", index)
            state = Badge("settled", "ok") if settled else Badge("in challenge window", "warn")
        output_rows.append([index, block_link(P, event["args"]["l2BlockNumber"]), Mono(event["args"]["outputRoot"]),
                            state, "; ".join(disputes_by_output.get(index, [])) or "none", Mono(event["tx"])])
    sections.append(Section("Output roots", "table", output_rows,
                            ["Index", "L2 block", "Root", "State", "Disputes", "L1 tx"]))
    deposit_rows = []
    for event in reversed(deposits[-MAX_LISTED:]):
        deposit = await _deposit_transaction(l1, event)
        l2_hash = "0x" + deposit.hash.hex() if deposit is not None else None
        receipt = await source.call("eth_getTransactionReceipt", l2_hash) if l2_hash else None
        state = Badge("pending on L2", "warn") if deposit is not None else Badge("malformed: ignored", "fail")
        if receipt is not None:
            state = Badge(f"in L2 block {int(receipt['blockNumber'], 16)}",
                          "ok" if receipt["status"] == "0x1" else "fail")
        deposit_rows.append([event["block"], Mono(event["tx"]), address_link(P, event["args"]["sender"]),
                             address_link(P, event["args"]["to"]), Amount(deposit.mint) if deposit else "—",
                             tx_link(P, l2_hash, shorten=True) if receipt else (Mono(l2_hash) if l2_hash else "—"),
                             state])
    sections.append(Section("Deposits", "table", deposit_rows,
                            ["L1 block", "L1 transaction", "From", "To", "Minted", "L2 transaction", "Status"]))
    proven_by = {p["args"]["withdrawalHash"]: p["tx"] for p in proven}
    finalized_by = {f["args"]["withdrawalHash"]: f["tx"] for f in finalized if f["args"]["success"]}
    withdrawal_rows = []
    for event in reversed(withdrawals[-MAX_LISTED:]):
        whash = event["args"]["withdrawalHash"]
        state = (Badge("finalized on L1", "ok") if whash in finalized_by else
                 Badge("proven on L1", "info") if whash in proven_by else Badge("initiated on L2", "warn"))
        l1_tx = finalized_by.get(whash) or proven_by.get(whash)
        withdrawal_rows.append([event["args"]["nonce"], address_link(P, event["args"]["sender"]),
                                Mono(event["args"]["target"]), Amount(event["args"]["value"]),
                                tx_link(P, event["tx"], shorten=True), state, Mono(l1_tx) if l1_tx else "—"])
    sections.append(Section("Withdrawals", "table", withdrawal_rows,
                            ["Nonce", "Sender", "L1 target", "Value", "L2 transaction", "Status", "L1 transaction"]))
    return Page("Rollup", sections)


def _carried_as(batch: dict) -> str:
    blobs = len(batch["blobHashes"])
    if blobs:
        return f"{blobs} blob{'s' if blobs != 1 else ''}"
    return f"calldata, {batch['dataLength']:,} bytes"


DISPUTE_EVENTS = ("DisputeOpened", "MidpointProposed", "MidpointAnswered", "DisputeAwaitingResolution",
                  "DisputeResolved")
RESOLVED_BY = {0: "by the resolver", 1: "by timeout", 2: "void: its output was deleted by another dispute"}


def dispute_state(opened: dict, proposed: list[dict], answered: list[dict], awaiting: list[dict],
                  resolved: list[dict]) -> str:
    """Where one dispute stands, from the oracle's events: the bisection range and whose move, or how it ended."""
    dispute_id = opened["args"]["disputeId"]

    def mine(events: list[dict]) -> list[dict]:
        return [e for e in events if e["args"]["disputeId"] == dispute_id]

    answers = mine(answered)
    rounds = f"{len(answers)} round{'s' if len(answers) != 1 else ''}"
    for event in mine(resolved):
        args = event["args"]
        if args["reason"] == 2:
            return f"dispute {dispute_id}: {RESOLVED_BY[2]}"
        winner = "proposer won" if args["proposerWins"] else "challenger won"
        how = RESOLVED_BY.get(args["reason"], f"(reason {args['reason']})")
        return f"dispute {dispute_id}: {winner} {how} after {rounds}"
    final = mine(awaiting)
    if final:
        return (f"dispute {dispute_id}: bisected to L2 block {final[-1]['args']['l2BlockNumber']} after {rounds}, "
                "awaiting the resolver")
    lo, hi = opened["args"]["lo"], opened["args"]["hi"]
    if answers:
        lo, hi = answers[-1]["args"]["lo"], answers[-1]["args"]["hi"]
    # the proposer moves after the opening and after each answer; the challenger after each midpoint
    last_midpoint = max(((e["block"], e["index"]) for e in mine(proposed)), default=None)
    last_answer = max(((e["block"], e["index"]) for e in answers), default=None)
    challengers_move = last_midpoint is not None and (last_answer is None or last_midpoint > last_answer)
    whose = "challenger's move" if challengers_move else "proposer's move"
    return f"dispute {dispute_id}: open, L2 blocks {lo}..{hi}, {whose}, {rounds}"


async def _deposit_transaction(l1: Source, event: dict):
    """The L2 deposit transaction an L1 ``TransactionDeposited`` log becomes (None if derivation skips it)."""
    from hyperion.rollup.deposits import InvalidDepositLog, deposit_from_log

    receipt = await l1.call("eth_getTransactionReceipt", event["tx"])
    for log in receipt["logs"]:
        if int(log["logIndex"], 16) == event["index"]:
            try:
                return deposit_from_log([_b(t) for t in log["topics"]], _b(log["data"]), _b(log["blockHash"]),
                                        event["index"])
            except InvalidDepositLog:
                return None
    return None


def rollup_view(l1_url: Optional[str]) -> Optional[RollupView]:
    return RollupView(l1_url) if l1_url else None


__all__ = ["RollupView", "dispute_state", "rollup", "rollup_view"]
