"""LazAI and AI pages: DAT classes, iDAOs, Holders Mining, models, inference jobs.

Everything is read from the predeployed system contracts: their views
(``eth_call``) for current state, their events (``eth_getLogs``) for what
has no enumerating view (tokens of a class, members, votes, rounds).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from aiohttp import web

from hyperion.explorer.source import Source
from hyperion.explorer.views import (Amount, Badge, Link, Mono, NotFound, Page, Section, address_link, block_link,
                                     tx_link)
from hyperion.predeploys.plan import (
    DAT_ADDRESS,
    FEE_VAULT_ADDRESS,
    IDAO_REGISTRY_ADDRESS,
    INFERENCE_GATEWAY_ADDRESS,
    INFERENCE_JOBS_ADDRESS,
    MODEL_REGISTRY_ADDRESS,
    MODEL_STORE_ADDRESS,
)

P = "/explorer"
ZERO_ADDRESS = "0x" + "00" * 20
PROPOSAL_STATES = {1: "active", 2: "canceled", 3: "defeated", 4: "succeeded", 5: "queued", 6: "expired",
                   7: "executed"}
SUPPORT = {0: "against", 1: "for", 2: "abstain"}
JOB_STATUS = {1: "open", 2: "result submitted", 3: "finalized", 4: "slashed", 5: "cancelled"}
DISPUTE_PHASES = {0: "opened", 1: "worker reveals midpoint", 2: "challenger answers", 3: "worker reveals layer",
                  4: "worker reveals children", 5: "challenger picks a child", 6: "step on chain", 7: "resolved"}
STREAMS = {0: "transaction fees", 1: "compute", 2: "verification", 3: "slashing", 4: "direct"}
MAX_LISTED = 200


def _topic(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _addr_topic(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _asset(asset: str) -> str:
    return "ETH" if asset.lower() == ZERO_ADDRESS else asset


def _a(source: Source, address: str) -> Any:
    return address_link(P, address, source.abis.name_of(bytes.fromhex(address[2:])))


def _paid(asset: str, amount: int) -> Any:
    return Amount(amount) if asset.lower() == ZERO_ADDRESS else f"{amount} (token {asset})"


# -- DATs ---------------------------------------------------------------------------------


async def dat_classes(request: web.Request, source: Source) -> Page:
    count = await source.read(DAT_ADDRESS, "classCount")
    ids = list(range(count, 0, -1))[:MAX_LISTED]
    infos = await asyncio.gather(*(source.read(DAT_ADDRESS, "classInfo", i) for i in ids))
    rows = [[Link(f"{P}/dat/{i}", str(i)), info["metadataURI"], _a(source, info["creator"]), info["totalShare"],
             Badge("revoked", "fail") if info["revoked"] else Badge("active", "ok")] for i, info in zip(ids, infos)]
    return Page("DAT classes", [Section("Classes", "table", rows,
                                        ["Class", "Metadata", "Creator", "Total share", "State"])])


async def dat_class(request: web.Request, source: Source) -> Page:
    class_id = int(request.match_info["class_id"])
    if not 1 <= class_id <= await source.read(DAT_ADDRESS, "classCount"):
        raise NotFound(f"no DAT class {class_id}")
    info = await source.read(DAT_ADDRESS, "classInfo", class_id)
    minted = await source.events(DAT_ADDRESS, "Minted", None, _topic(class_id))
    settled = await source.events(DAT_ADDRESS, "RevenueSettled", _topic(class_id))
    overview = Section("Class", rows=[
        ("Class ID", class_id), ("Metadata", info["metadataURI"]), ("Integrity hash", Mono(info["integrityHash"])),
        ("Policy", info["policyURI"] or "—"), ("Unit decimals", info["unitDecimals"]),
        ("Creator", _a(source, info["creator"])), ("Total share", info["totalShare"]),
        ("State", Badge("revoked", "fail") if info["revoked"] else Badge("active", "ok")),
        ("Governing iDAO", Link(f"{P}/idao/{info['governanceIDAO']}", str(info["governanceIDAO"]))
         if info["governanceIDAO"] else "—"),
        ("Governance share", f"{info['governanceShareBps'] / 100:g}%"), ("Tokens", len(minted)),
    ])
    token_ids = [event["args"]["tokenId"] for event in minted][:MAX_LISTED]
    usage_events = await asyncio.gather(*(source.events(DAT_ADDRESS, "UsageRecorded", _topic(t)) for t in token_ids))
    usage = {t: sum(e["args"]["amount"] for e in events) for t, events in zip(token_ids, usage_events)}
    assets = sorted({e["args"]["asset"] for e in settled})
    states = await asyncio.gather(*(asyncio.gather(
        source.read(DAT_ADDRESS, "ownerOf", t), source.read(DAT_ADDRESS, "valueOf", t),
        source.read(DAT_ADDRESS, "shareRatioOf", t), source.read(DAT_ADDRESS, "expireAtOf", t),
        *(source.read(DAT_ADDRESS, "pendingRevenue", t, asset) for asset in assets)) for t in token_ids))
    total_share = info["totalShare"] or 0
    token_rows, holders = [], defaultdict(int)
    for token_id, (owner, value, share, expire_at, *pending) in zip(token_ids, states):
        holders[owner] += share
        token_rows.append([token_id, _a(source, owner), value, usage[token_id], share,
                           f"{share * 100 / total_share:.2f}%" if total_share else "—",
                           expire_at or "never", ", ".join(f"{p} ({_asset(a)})" for p, a in zip(pending, assets)) or "0"])
    holder_rows = [[_a(source, owner), share, f"{share * 100 / total_share:.2f}%" if total_share else "—"]
                   for owner, share in sorted(holders.items(), key=lambda item: -item[1])]
    revenue_rows = []
    for asset in assets:
        total, claimed = await asyncio.gather(source.read(DAT_ADDRESS, "totalSettled", class_id, asset),
                                              source.read(DAT_ADDRESS, "totalClaimed", class_id, asset))
        revenue_rows.append([_asset(asset), _paid(asset, total), _paid(asset, claimed),
                             len([e for e in settled if e["args"]["asset"] == asset])])
    return Page(f"DAT class {class_id}", [
        overview,
        Section("Revenue per asset", "table", revenue_rows, ["Asset", "Settled", "Claimed", "Settlements"]),
        Section("Holders and shares", "table", holder_rows, ["Holder", "Share", "Of class"]),
        Section("Tokens", "table", token_rows,
                ["Token", "Owner", "Quota left", "Usage", "Share", "Of class", "Expires", "Unclaimed"]),
    ])


# -- iDAOs --------------------------------------------------------------------------------


async def idaos(request: web.Request, source: Source) -> Page:
    count = await source.read(IDAO_REGISTRY_ADDRESS, "idaoCount")
    ids = list(range(count, 0, -1))[:MAX_LISTED]
    infos = await asyncio.gather(*(source.read(IDAO_REGISTRY_ADDRESS, "getIDAO", i) for i in ids))
    rows = [[Link(f"{P}/idao/{i}", str(i)), info["name"], info["memberCount"], Amount(info["totalStake"]),
             _a(source, info["owner"])] for i, info in zip(ids, infos)]
    return Page("iDAOs", [Section("iDAOs", "table", rows, ["iDAO", "Name", "Members", "Stake", "Owner"])])


async def idao(request: web.Request, source: Source) -> Page:
    idao_id = int(request.match_info["idao_id"])
    if not 1 <= idao_id <= await source.read(IDAO_REGISTRY_ADDRESS, "idaoCount"):
        raise NotFound(f"no iDAO {idao_id}")
    info = await source.read(IDAO_REGISTRY_ADDRESS, "getIDAO", idao_id)
    joined = await source.events(IDAO_REGISTRY_ADDRESS, "MemberJoined", _topic(idao_id))
    members = list(dict.fromkeys(e["args"]["member"] for e in joined))[:MAX_LISTED]
    stakes = await asyncio.gather(*(source.read(IDAO_REGISTRY_ADDRESS, "memberStake", idao_id, m) for m in members))
    codes = await asyncio.gather(*(source.call("eth_getCode", m, "latest") for m in members))
    votes = await asyncio.gather(*(source.read(IDAO_REGISTRY_ADDRESS, "getVotes", idao_id, m) for m in members))
    member_rows = [[_a(source, m), "agent (contract)" if code != "0x" else "human (key)", Amount(stake), Amount(vote)]
                   for m, stake, code, vote in zip(members, stakes, codes, votes) if stake or vote]
    created = await source.events(IDAO_REGISTRY_ADDRESS, "ProposalCreated", None, _topic(idao_id))
    proposal_rows, vote_rows = [], []
    for event in created[-MAX_LISTED:]:
        pid = event["args"]["proposalId"]
        proposal, state = await asyncio.gather(source.read(IDAO_REGISTRY_ADDRESS, "getProposal", pid),
                                               source.read(IDAO_REGISTRY_ADDRESS, "state", pid))
        proposal_rows.append([pid, event["args"]["description"], _a(source, event["args"]["proposer"]),
                              Badge(PROPOSAL_STATES.get(state, str(state)), "ok" if state in (4, 5, 7) else "info"),
                              Amount(proposal["forVotes"]), Amount(proposal["againstVotes"]),
                              Amount(proposal["abstainVotes"]), Amount(proposal["quorumVotes"]), proposal["deadline"]])
        for vote in await source.events(IDAO_REGISTRY_ADDRESS, "VoteCast", _topic(pid)):
            vote_rows.append([pid, _a(source, vote["args"]["voter"]), SUPPORT.get(vote["args"]["support"], "?"),
                              Amount(vote["args"]["weight"]), tx_link(P, vote["tx"], shorten=True)])
    overview = Section("iDAO", rows=[
        ("iDAO ID", idao_id), ("Name", info["name"]), ("Metadata", info["metadataURI"] or "—"),
        ("Owner", _a(source, info["owner"])), ("Executor", _a(source, info["executor"])),
        ("Members", info["memberCount"]), ("Total stake", Amount(info["totalStake"])),
        ("Quorum", f"{info['quorumBps'] / 100:g}%"), ("Voting period", f"{info['votingPeriod']} s"),
        ("Timelock", f"{info['timelockDelay']} s"), ("Proposal threshold", Amount(info["proposalThreshold"])),
        ("Revenue received", Amount(await source.read(IDAO_REGISTRY_ADDRESS, "totalRevenue", idao_id))),
    ])
    return Page(f"iDAO {idao_id}: {info['name']}", [
        overview,
        Section("Members", "table", member_rows, ["Member", "Kind", "Stake", "Votes"]),
        Section("Proposals", "table", proposal_rows,
                ["ID", "Description", "Proposer", "State", "For", "Against", "Abstain", "Quorum", "Deadline"]),
        Section("Votes", "table", vote_rows, ["Proposal", "Voter", "Support", "Weight", "Tx"]),
    ])


# -- Holders Mining -------------------------------------------------------------------------


async def holders_mining(request: web.Request, source: Source) -> Page:
    vault = FEE_VAULT_ADDRESS
    names = ("totalStaked", "currentEpoch", "epochLength", "nextEpochAt", "undistributed", "totalDistributed",
             "totalClaimed", "unstakeDelay")
    values = dict(zip(names, await asyncio.gather(*(source.read(vault, n) for n in names))))
    streams = await asyncio.gather(*(source.read(vault, "revenueByStream", s) for s in STREAMS))
    overview = Section("Vault", rows=[
        ("Address", _a(source, "0x" + vault.hex())), ("Total staked", Amount(values["totalStaked"])),
        ("Current epoch", values["currentEpoch"]), ("Epoch length", f"{values['epochLength']} s"),
        ("Next epoch at", values["nextEpochAt"]), ("Undistributed", Amount(values["undistributed"])),
        ("Distributed", Amount(values["totalDistributed"])), ("Claimed", Amount(values["totalClaimed"])),
        ("Unstake delay", f"{values['unstakeDelay']} s"),
    ])
    stream_rows = [[s, name, Amount(total)] for (s, name), total in zip(STREAMS.items(), streams)]
    epochs = await source.events(vault, "EpochDistributed")
    epoch_rows = [[e["args"]["epoch"], Amount(e["args"]["amount"]), Amount(e["args"]["totalStaked"]),
                   block_link(P, e["block"])] for e in reversed(epochs[-MAX_LISTED:])]
    staked = await source.events(vault, "Staked")
    stakers = list(dict.fromkeys(e["args"]["staker"] for e in staked))[:MAX_LISTED]
    stake_values = await asyncio.gather(*(asyncio.gather(source.read(vault, "stakeOf", s),
                                                         source.read(vault, "pendingRewards", s),
                                                         source.read(vault, "getVotes", s)) for s in stakers))
    staker_rows = [[_a(source, s), Amount(stake), Amount(pending), Amount(votes)]
                   for s, (stake, pending, votes) in zip(stakers, stake_values)]
    claims = await source.events(vault, "RewardClaimed")
    claim_rows = [[_a(source, c["args"]["staker"]), Amount(c["args"]["amount"]), block_link(P, c["block"]),
                   tx_link(P, c["tx"], shorten=True)] for c in reversed(claims[-MAX_LISTED:])]
    received = await source.events(vault, "RevenueReceived")
    received_rows = [[STREAMS.get(r["args"]["stream"], r["args"]["stream"]), Amount(r["args"]["amount"]),
                      block_link(P, r["block"]), tx_link(P, r["tx"], shorten=True)]
                     for r in reversed(received[-50:])]
    return Page("Holders Mining", [
        overview, Section("Fee streams", "table", stream_rows, ["Stream", "Name", "Received"]),
        Section("Epochs", "table", epoch_rows, ["Epoch", "Distributed", "Staked then", "Block"]),
        Section("Stakers", "table", staker_rows, ["Staker", "Stake", "Claimable", "Votes"]),
        Section("Claims", "table", claim_rows, ["Staker", "Amount", "Block", "Tx"]),
        Section("Revenue received", "table", received_rows, ["Stream", "Amount", "Block", "Tx"],
                note="the 50 newest payments into the vault"),
    ])


# -- models and jobs ----------------------------------------------------------------------------


async def models(request: web.Request, source: Source) -> Page:
    count = await source.read(MODEL_REGISTRY_ADDRESS, "model_count")
    hashes = await asyncio.gather(*(source.read(MODEL_REGISTRY_ADDRESS, "model_hashes", i)
                                    for i in range(min(count, MAX_LISTED))))
    infos = await asyncio.gather(*(source.read(MODEL_REGISTRY_ADDRESS, "models", bytes.fromhex(h[2:]))
                                   for h in hashes))
    rows = [[Link(f"{P}/model/{h}", info["name"]), Mono(h), info["macs"],
             Link(f"{P}/dat/{info['dat_class_id']}", str(info["dat_class_id"])) if info["dat_class_id"] else "—",
             Amount(info["inference_fee"])] for h, info in zip(hashes, infos)]
    return Page("Models", [Section("Registered models", "table", rows,
                                   ["Name", "Hash", "MACs", "DAT class", "Inference fee"])])


async def model(request: web.Request, source: Source) -> Page:
    text = request.match_info["model_hash"]
    model_hash = bytes.fromhex(text.removeprefix("0x"))
    if len(model_hash) != 32 or not await source.read(MODEL_REGISTRY_ADDRESS, "is_registered", model_hash):
        raise NotFound(f"no registered model {text}")
    info = await source.read(MODEL_REGISTRY_ADDRESS, "models", model_hash)
    size, available = await asyncio.gather(source.read(MODEL_STORE_ADDRESS, "model_size", model_hash),
                                           source.read(MODEL_STORE_ADDRESS, "is_available", model_hash))
    served = await source.events(INFERENCE_GATEWAY_ADDRESS, "InferenceServed", model_hash)
    posted = await source.events(INFERENCE_JOBS_ADDRESS, "JobPosted", None, None, model_hash)
    fees = await source.events(MODEL_REGISTRY_ADDRESS, "ComputeFeePaid", model_hash)
    holders = sum(e["args"]["holders_share"] for e in fees)
    protocol = sum(e["args"]["protocol_share"] for e in fees)
    producer = sum(e["args"]["producer_share"] for e in fees)
    overview = Section("Model", rows=[
        ("Name", info["name"]), ("Hash", Mono("0x" + model_hash.hex())), ("Size", f"{size} bytes"),
        ("On chain", Badge("sealed", "ok") if available else Badge("missing", "fail")),
        ("MACs", info["macs"]), ("Input shape", "×".join(str(d) for d in info["input_shape"])),
        ("Output size", info["output_size"]), ("Owner", _a(source, info["owner"])),
        ("DAT class", Link(f"{P}/dat/{info['dat_class_id']}", str(info["dat_class_id"]))
         if info["dat_class_id"] else "—"),
        ("Inference fee", Amount(info["inference_fee"])), ("Registered at", info["registered_at"]),
        ("Paid inferences", len(served)), ("Jobs", len(posted)),
        ("Fees earned", Amount(holders + protocol + producer)), ("To holders", Amount(holders)),
        ("To protocol", Amount(protocol)), ("To producers", Amount(producer)),
    ])
    usage_rows = [[_a(source, e["args"]["caller"]), Amount(e["args"]["fee"]), e["args"]["access_token"] or "—",
                   Mono(e["args"]["output_hash"]), tx_link(P, e["tx"], shorten=True)] for e in reversed(served[-50:])]
    job_rows = [[Link(f"{P}/job/{e['args']['job_id']}", str(e["args"]["job_id"])), _a(source, e["args"]["requester"]),
                 Amount(e["args"]["fee"]), block_link(P, e["block"])] for e in reversed(posted[-50:])]
    return Page(f"Model {info['name']}", [
        overview,
        Section("Paid inferences", "table", usage_rows, ["Caller", "Fee", "DAT token", "Output hash", "Tx"]),
        Section("Jobs", "table", job_rows, ["Job", "Requester", "Fee", "Block"]),
    ])


async def jobs(request: web.Request, source: Source) -> Page:
    count = await source.read(INFERENCE_JOBS_ADDRESS, "job_count")
    ids = list(range(count, 0, -1))[:MAX_LISTED]
    infos = await asyncio.gather(*(source.read(INFERENCE_JOBS_ADDRESS, "jobs", i) for i in ids))
    rows = [[Link(f"{P}/job/{i}", str(i)), Link(f"{P}/model/{j['model_hash']}", j["model_hash"][:18] + "…"),
             _a(source, j["requester"]), Badge(JOB_STATUS.get(j["status"], str(j["status"]))),
             Amount(j["fee"]), j["open_disputes"]] for i, j in zip(ids, infos)]
    return Page("Inference jobs", [Section("Jobs", "table", rows,
                                           ["Job", "Model", "Requester", "Status", "Fee", "Open disputes"])])


async def job(request: web.Request, source: Source) -> Page:
    job_id = int(request.match_info["job_id"])
    if not 1 <= job_id <= await source.read(INFERENCE_JOBS_ADDRESS, "job_count"):
        raise NotFound(f"no job {job_id}")
    info = await source.read(INFERENCE_JOBS_ADDRESS, "jobs", job_id)
    window = await source.read(INFERENCE_JOBS_ADDRESS, "challenge_window")
    status = JOB_STATUS.get(info["status"], str(info["status"]))
    submitted = await source.events(INFERENCE_JOBS_ADDRESS, "ResultSubmitted", _topic(job_id))
    challenged = await source.events(INFERENCE_JOBS_ADDRESS, "JobChallenged", _topic(job_id))
    resolved = await source.events(INFERENCE_JOBS_ADDRESS, "ChallengeResolved", _topic(job_id))
    opened = await source.events(INFERENCE_JOBS_ADDRESS, "DisputeOpened", None, _topic(job_id))
    dispute_ends = await source.events(INFERENCE_JOBS_ADDRESS, "DisputeResolved", None, _topic(job_id))
    challenge_state = "none"
    if resolved:
        challenge_state = "worker slashed" if resolved[-1]["args"]["worker_slashed"] else "challenge failed"
    elif any(end["args"]["challenger_won"] for end in dispute_ends):
        challenge_state = "worker slashed by a bisection dispute"
    elif info["open_disputes"]:
        challenge_state = "bisection dispute in progress"
    elif opened:
        challenge_state = "worker upheld by its bisection disputes"
    elif challenged:
        challenge_state = "challenged"
    rows = [
        ("Job ID", job_id), ("Status", Badge(status, "fail" if status == "slashed" else "ok" if status == "finalized"
                                             else "info")),
        ("Model", Link(f"{P}/model/{info['model_hash']}", info["model_hash"], mono=True)),
        ("Requester", _a(source, info["requester"])), ("Fee", Amount(info["fee"])),
        ("Requester bond", Amount(info["requester_bond"])), ("Input hash", Mono(info["input_hash"])),
        ("Worker", _a(source, info["worker"]) if info["worker"] != ZERO_ADDRESS else "—"),
        ("Worker bond", Amount(info["worker_bond"])),
        ("Result", Mono(info["result_hash"]) if submitted else "—"),
        ("Output", Mono(submitted[-1]["args"]["output"]) if submitted and submitted[-1]["args"]["output"] != "0x"
         else "—"),
        ("Trace root", Mono(info["trace_root"]) if submitted else "—"),
        ("Submitted at", info["submitted_at"] or "—"),
        ("Challenge window ends", info["submitted_at"] + window if info["submitted_at"] else "—"),
        ("Challenge state", challenge_state), ("Open disputes", info["open_disputes"]),
    ]
    challenge_rows = [[_a(source, c["args"]["challenger"]), Amount(c["args"]["bond"]), block_link(P, c["block"]),
                       tx_link(P, c["tx"], shorten=True)] for c in challenged]
    challenge_rows += [[_a(source, r["args"]["challenger"]),
                        "worker slashed" if r["args"]["worker_slashed"] else "worker upheld",
                        block_link(P, r["block"]), tx_link(P, r["tx"], shorten=True)] for r in resolved]
    sections = [Section("Job", rows=rows),
                Section("Challenges", "table", challenge_rows, ["Challenger", "Bond / outcome", "Block", "Tx"])]
    for event in opened:
        dispute_id = event["args"]["dispute_id"]
        dispute = await source.read(INFERENCE_JOBS_ADDRESS, "disputes", dispute_id)
        moves = await source.events(INFERENCE_JOBS_ADDRESS, "DisputeMoved", _topic(dispute_id))
        ends = await source.events(INFERENCE_JOBS_ADDRESS, "DisputeResolved", _topic(dispute_id))
        round_rows = [[i + 1, DISPUTE_PHASES.get(m["args"]["phase"], m["args"]["phase"]), m["args"]["lo"],
                       m["args"]["hi"], m["args"]["node_depth"], m["args"]["node_index"], m["args"]["deadline"],
                       tx_link(P, m["tx"], shorten=True)] for i, m in enumerate(moves)]
        outcome = "open"
        if ends:
            won = ends[-1]["args"]["challenger_won"]
            outcome = f"{'challenger' if won else 'worker'} won ({ends[-1]['args']['reason']})"
        sections.append(Section(f"Dispute {dispute_id}", rows=[
            ("Challenger", _a(source, dispute["challenger"])), ("Bond", Amount(dispute["bond"])),
            ("Phase", DISPUTE_PHASES.get(dispute["phase"], dispute["phase"])),
            ("Layers", dispute["layer_count"]), ("Agreed up to layer", dispute["lo"]),
            ("Disputed layer", dispute["hi"]), ("Rounds", len(moves)), ("Outcome", outcome),
        ]))
        sections.append(Section(f"Bisection rounds of dispute {dispute_id}", "table", round_rows,
                                ["Move", "Next", "lo", "hi", "Node depth", "Node", "Deadline", "Tx"]))
    return Page(f"Inference job {job_id}", sections)
