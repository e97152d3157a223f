"""``hyperion dat|idao|gov|stake``: the LazAI value layer (DATs, iDAOs, staker governance, Holders Mining).

Reads go to the node given by ``--rpc-url``; transactions are signed by
``--key``, ``--dev-account N`` or ``$HYPERION_PRIVATE_KEY`` (see
``hyperion.cli.common``). Amounts accept wei (``1000``) or units:
``1.5eth``, ``2metis``, ``30gwei``.
"""

from __future__ import annotations

import argparse
import json
import sys

from hyperion.cli.common import (
    EXIT_OK,
    UsageError,
    add_command,
    add_rpc_options,
    add_signer_options,
    amount,
    format_amount,
    private_key,
    rpc_url,
)


def _connect(args, need_key: bool = True):
    from hyperion.sdk import connect

    key = private_key(args)
    if need_key and not key:
        raise UsageError("no signing key: pass --key, --dev-account N or set HYPERION_PRIVATE_KEY")

    def progress(tx_hash: str) -> None:
        if not args.quiet:
            print(f"  sent {tx_hash}, waiting for it to be mined...", file=sys.stderr, flush=True)

    return connect(rpc_url(args), key, on_wait=progress)


def _print(args, human: str, data: dict) -> None:
    if args.json:
        print(json.dumps(data, default=str, indent=1))
    else:
        print(human)


# -- dat ------------------------------------------------------------------------------------------------


def cmd_dat(args) -> int:
    lazai = _connect(args, need_key=args.dat_cmd not in ("info", "class", "pending"))
    dat = lazai.dat
    if args.dat_cmd == "create-class":
        integrity = bytes.fromhex(args.integrity_hash.removeprefix("0x")) if args.integrity_hash else b"\0" * 32
        class_id = dat.create_class(args.metadata_uri, integrity, args.decimals, args.policy_uri)
        _print(args, f"created class {class_id}", {"classId": class_id})
    elif args.dat_cmd == "mint":
        token = dat.mint(args.class_id, args.to, args.value, args.share, args.expire_at)
        _print(args, f"minted token {token} in class {args.class_id} to {args.to}", {"tokenId": token})
    elif args.dat_cmd == "usage":
        dat.record_usage(args.token_id, args.metric, args.amount)
        left = dat.token(args.token_id).value
        _print(args, f"recorded {args.amount} {args.metric} on token {args.token_id}; quota left {left}",
               {"tokenId": args.token_id, "valueLeft": left})
    elif args.dat_cmd == "split":
        new_token = dat.split_token(args.token_id, args.to, args.value)
        _print(args, f"moved {args.value} units of token {args.token_id} (and the same part of its share) into "
                     f"token {new_token} of {args.to}", {"tokenId": new_token})
    elif args.dat_cmd == "approve":
        dat.approve_for_class(args.class_id, args.operator, not args.revoke)
        _print(args, f"operator {args.operator} {'revoked' if args.revoke else 'approved'} for class "
                     f"{args.class_id}", {"classId": args.class_id})
    elif args.dat_cmd == "offer-class":
        dat.offer_class_management(args.class_id, args.to)
        _print(args, f"class {args.class_id} offered to {args.to}", {"classId": args.class_id})
    elif args.dat_cmd == "accept-class":
        dat.accept_class_management(args.class_id)
        _print(args, f"you manage class {args.class_id}", {"classId": args.class_id})
    elif args.dat_cmd == "revoke-class":
        dat.revoke_class(args.class_id)
        _print(args, f"class {args.class_id} revoked", {"classId": args.class_id})
    elif args.dat_cmd == "settle":
        if args.asset:
            dat.settle_erc20(args.class_id, args.asset, args.amount)
        else:
            dat.settle_eth(args.class_id, args.amount)
        _print(args, f"settled {format_amount(args.amount)} into class {args.class_id}", {"classId": args.class_id})
    elif args.dat_cmd == "claim":
        from hyperion.sdk import ETH_ASSET

        paid = dat.claim(args.token_id, args.asset or ETH_ASSET, args.to)
        _print(args, f"claimed {format_amount(paid)} for token {args.token_id}", {"amount": paid})
    elif args.dat_cmd == "pending":
        from hyperion.sdk import ETH_ASSET

        pending = dat.pending_revenue(args.token_id, args.asset or ETH_ASSET)
        _print(args, f"token {args.token_id}: {format_amount(pending)} claimable", {"pending": pending})
    elif args.dat_cmd == "info":
        info = dat.token(args.token_id)
        _print(args, (f"token {info.token_id}: class {info.class_id}, owner {info.owner}, value {info.value}, "
                      f"shareRatio {info.share_ratio}, expireAt {info.expire_at or 'never'}"
                      f"{' (expired)' if info.expired else ''}"), info.__dict__)
    elif args.dat_cmd == "class":
        meta = dat.class_meta(args.class_id)
        _print(args, (f"class {meta.class_id}: {meta.metadata_uri} policy {meta.policy_uri or '-'} "
                      f"decimals {meta.unit_decimals} totalShare {meta.total_share}"),
               dict(meta.__dict__, integrity_hash="0x" + meta.integrity_hash.hex()))
    return 0


# -- proposals (shared by idao and gov) -------------------------------------------------------------------


def _proposal_command(args, proposals) -> bool:
    """vote / queue / execute / finish / cancel / proposal; False when the command is another one."""
    command = getattr(args, "idao_cmd", None) or getattr(args, "gov_cmd", None)
    pid = getattr(args, "proposal_id", None)
    if command == "vote":
        proposals.vote(pid, args.choice)
        _print(args, f"voted {args.choice} on proposal {pid}", {"proposalId": pid})
    elif command == "queue":
        eta = proposals.queue(pid)
        _print(args, f"proposal {pid} queued; executable from timestamp {eta}", {"proposalId": pid, "eta": eta})
    elif command == "execute":
        proposals.execute(pid)
        _print(args, f"proposal {pid} executed", {"proposalId": pid, "state": proposals.state(pid)})
    elif command == "finish":
        proposals.finish(pid)
        _print(args, f"proposal {pid} executed (dev clock moved past the vote and the timelock)",
               {"proposalId": pid, "state": proposals.state(pid)})
    elif command == "cancel":
        proposals.cancel(pid)
        _print(args, f"proposal {pid} canceled", {"proposalId": pid})
    elif command == "proposal":
        p = proposals.proposal(pid)
        _print(args, (f"proposal {p.proposal_id} ({p.state}): for {p.for_votes} against {p.against_votes} "
                      f"abstain {p.abstain_votes}, quorum {p.quorum_votes}, deadline {p.deadline}"
                      f"{f', eta {p.eta}' if p.eta else ''}"), p.__dict__)
    else:
        return False
    return True


def _proposed(args, proposal: int, what: str) -> None:
    _print(args, f"proposal {proposal}: {what}", {"proposalId": proposal})


# -- idao -------------------------------------------------------------------------------------------------


def cmd_idao(args) -> int:
    lazai = _connect(args, need_key=args.idao_cmd not in ("info", "proposal", "pending-revenue"))
    idao = lazai.idao
    if _proposal_command(args, idao):
        return 0
    if args.idao_cmd == "register":
        idao_id = idao.register(args.name, args.metadata_uri, args.quorum_bps, args.voting_period, args.stake)
        _print(args, f"registered iDAO {idao_id} ({args.name}), executor {idao.executor(idao_id)}",
               {"idaoId": idao_id, "executor": idao.executor(idao_id)})
    elif args.idao_cmd == "join":
        idao.join(args.idao_id, args.stake)
        _print(args, f"joined iDAO {args.idao_id} with {format_amount(args.stake)}", {"idaoId": args.idao_id})
    elif args.idao_cmd == "leave":
        idao.leave(args.idao_id, args.amount)
        _print(args, f"left iDAO {args.idao_id}", {"idaoId": args.idao_id})
    elif args.idao_cmd == "withdraw":
        idao.withdraw(args.idao_id)
        _print(args, f"withdrew your stake from iDAO {args.idao_id}", {"idaoId": args.idao_id})
    elif args.idao_cmd == "delegate":
        idao.delegate(args.idao_id, args.delegatee)
        _print(args, f"your votes in iDAO {args.idao_id} go to {args.delegatee}", {"idaoId": args.idao_id})
    elif args.idao_cmd == "propose-call":
        from hyperion.sdk import Call

        call = Call(args.target, bytes.fromhex(args.calldata.removeprefix("0x")), args.value)
        _proposed(args, idao.propose(args.idao_id, [call], args.description), f"call {args.target}")
    elif args.idao_cmd == "propose-verifier":
        _proposed(args, idao.propose_admit_verifier(args.idao_id, args.verifier, args.url, args.public_key),
                  f"admit verifier {args.verifier}")
    elif args.idao_cmd == "propose-remove-verifier":
        _proposed(args, idao.propose_remove_verifier(args.idao_id, args.verifier), f"remove verifier {args.verifier}")
    elif args.idao_cmd == "propose-class":
        _proposed(args, idao.propose_govern_class(args.idao_id, args.class_id, args.revenue_share_bps),
                  f"govern class {args.class_id}")
    elif args.idao_cmd == "propose-revoke-class":
        _proposed(args, idao.propose_revoke_class(args.idao_id, args.class_id), f"revoke class {args.class_id}")
    elif args.idao_cmd == "claim-revenue":
        paid = idao.claim_revenue(args.idao_id)
        _print(args, f"claimed {format_amount(paid)} of iDAO {args.idao_id}'s revenue", {"amount": paid})
    elif args.idao_cmd == "pending-revenue":
        pending = idao.pending_revenue(args.idao_id, args.member)
        _print(args, f"{format_amount(pending)} claimable", {"pending": pending})
    elif args.idao_cmd == "info":
        info = idao.info(args.idao_id)
        _print(args, (f"iDAO {info.idao_id} {info.name!r}: owner {info.owner}, executor {info.executor}, "
                      f"{info.member_count} members, stake {format_amount(info.total_stake)}, quorum "
                      f"{info.quorum_bps} bps, voting period {info.voting_period}s, timelock {info.timelock_delay}s"),
               info.__dict__)
    return 0


# -- gov (staker governance) ----------------------------------------------------------------------------


def cmd_gov(args) -> int:
    lazai = _connect(args, need_key=args.gov_cmd not in ("params", "proposal"))
    gov = lazai.governance
    if _proposal_command(args, gov):
        return 0
    if args.gov_cmd == "params":
        values = gov.params()
        _print(args, "\n".join(f"{name:<32} {value}" for name, value in values.items()), values)
    elif args.gov_cmd == "propose-param":
        _proposed(args, gov.propose_params({args.name: args.value}, args.description),
                  f"set {args.name} = {args.value}")
    return 0


# -- stake -------------------------------------------------------------------------------------------------


def cmd_stake(args) -> int:
    lazai = _connect(args, need_key=args.stake_cmd not in ("status",))
    staking = lazai.staking
    if args.stake_cmd == "deposit":
        staking.stake(args.amount)
        _print(args, f"staked {format_amount(args.amount)}", {"staked": args.amount})
    elif args.stake_cmd == "unstake":
        staking.request_unstake(args.amount)
        position = staking.position()
        _print(args, f"unstake of {format_amount(args.amount)} requested; withdraw after timestamp {position.unlock_at}",
               {"unlockAt": position.unlock_at})
    elif args.stake_cmd == "withdraw":
        staking.withdraw()
        _print(args, "withdrawn", {})
    elif args.stake_cmd == "checkpoint":
        staking.checkpoint()
        state = staking.state()
        _print(args, f"checkpoint done: epoch {state.current_epoch}", {"epoch": state.current_epoch})
    elif args.stake_cmd == "wait-epoch":
        def countdown(seconds_left: int) -> None:
            if not args.quiet:
                print(f"\r  epoch ends in {seconds_left:4d}s", end="", file=sys.stderr, flush=True)

        staking.wait_for_epoch(dev_time_travel=args.dev_time_travel, poll=countdown)
        staking.checkpoint()
        if not args.quiet:
            print(file=sys.stderr)
        _print(args, f"epoch {staking.state().current_epoch} distributed", {})
    elif args.stake_cmd == "claim":
        paid = staking.claim()
        _print(args, f"claimed {format_amount(paid)}", {"amount": paid})
    elif args.stake_cmd == "delegate":
        staking.delegate(args.delegatee)
        _print(args, f"your staker votes go to {args.delegatee}", {})
    elif args.stake_cmd == "bond":
        staking.bond(args.amount)
        _print(args, f"bonded {format_amount(args.amount)} as verifier bond", {"bonded": staking.position().bonded})
    elif args.stake_cmd == "unbond":
        staking.unbond(args.amount)
        _print(args, f"unbonded {format_amount(args.amount)}", {"bonded": staking.position().bonded})
    elif args.stake_cmd == "status":
        state = staking.state()
        lines = [f"total staked       {format_amount(state.total_staked)}",
                 f"epoch              {state.current_epoch} (next at {state.next_epoch_at})",
                 f"undistributed      {format_amount(state.undistributed)}",
                 f"new base fees      {format_amount(state.untracked_base_fees)}",
                 f"fee split          compute {state.compute_fee_bps} bps, verification {state.verification_fee_bps} bps"]
        lines += [f"revenue {name:<11}{format_amount(value)}" for name, value in state.revenue_by_stream.items()]
        data = dict(state.__dict__)
        if lazai.client.account is not None:
            position = staking.position()
            lines += [f"your stake         {format_amount(position.staked)} (bonded {format_amount(position.bonded)})",
                      f"your votes         {format_amount(position.votes)}",
                      f"your rewards       {format_amount(position.pending_rewards)}",
                      f"your unstaking     {format_amount(position.pending_unstake)} (unlock {position.unlock_at})"]
            data["position"] = position.__dict__
        _print(args, "\n".join(lines), data)
    return 0


# -- parser ----------------------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    add_rpc_options(parser)
    add_signer_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress messages")


def _leaf(sub: argparse._SubParsersAction, handler, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand of dat/idao/stake with the shared node, signer and output options."""
    parser = add_command(sub, name, handler, help=help)
    _common(parser)
    return parser


def register(commands: argparse._SubParsersAction) -> None:
    dat = add_command(commands, "dat", help="ERC-8028 Data Anchoring Tokens: classes, mint, usage, revenue")
    dat_cmds = dat.add_subparsers(dest="dat_cmd", required=True, metavar="COMMAND")
    p = _leaf(dat_cmds, cmd_dat, "create-class", help="create a DAT class")
    p.add_argument("metadata_uri")
    p.add_argument("--integrity-hash", help="32-byte hex commitment to the metadata")
    p.add_argument("--decimals", type=int, default=0)
    p.add_argument("--policy-uri", default="")
    p = _leaf(dat_cmds, cmd_dat, "mint", help="mint a token in a class")
    p.add_argument("class_id", type=int)
    p.add_argument("to")
    p.add_argument("--value", type=int, required=True, help="usage quota units")
    p.add_argument("--share", type=int, required=True, help="revenue share weight")
    p.add_argument("--expire-at", type=int, default=0, help="unix time (0 = never)")
    p = _leaf(dat_cmds, cmd_dat, "usage", help="record usage (consumes quota)")
    p.add_argument("token_id", type=int)
    p.add_argument("amount", type=int)
    p.add_argument("--metric", default="inference_calls")
    p = _leaf(dat_cmds, cmd_dat, "split", help="move part of a token (value and share) into a new token")
    p.add_argument("token_id", type=int)
    p.add_argument("to")
    p.add_argument("value", type=int)
    p = _leaf(dat_cmds, cmd_dat, "approve", help="approve an operator (e.g. the inference gateway) for a class")
    p.add_argument("class_id", type=int)
    p.add_argument("operator")
    p.add_argument("--revoke", action="store_true")
    p = _leaf(dat_cmds, cmd_dat, "offer-class", help="offer a class you manage to another account (e.g. an iDAO)")
    p.add_argument("class_id", type=int)
    p.add_argument("to")
    p = _leaf(dat_cmds, cmd_dat, "accept-class", help="accept the management of a class offered to you")
    p.add_argument("class_id", type=int)
    p = _leaf(dat_cmds, cmd_dat, "revoke-class", help="revoke a class you manage")
    p.add_argument("class_id", type=int)
    p = _leaf(dat_cmds, cmd_dat, "settle", help="pay revenue into a class")
    p.add_argument("class_id", type=int)
    p.add_argument("amount", type=amount)
    p.add_argument("--asset", help="ERC-20 address (default: native METIS)")
    p = _leaf(dat_cmds, cmd_dat, "claim", help="claim a token's revenue")
    p.add_argument("token_id", type=int)
    p.add_argument("--asset")
    p.add_argument("--to")
    p = _leaf(dat_cmds, cmd_dat, "pending", help="claimable revenue of a token")
    p.add_argument("token_id", type=int)
    p.add_argument("--asset")
    p = _leaf(dat_cmds, cmd_dat, "info", help="a token's class, owner, quota, share, expiry")
    p.add_argument("token_id", type=int)
    p = _leaf(dat_cmds, cmd_dat, "class", help="a class's metadata and total share")
    p.add_argument("class_id", type=int)

    idao = add_command(commands, "idao", help="iDAOs: members, delegation, proposals with any calls, revenue")
    idao_cmds = idao.add_subparsers(dest="idao_cmd", required=True, metavar="COMMAND")
    p = _leaf(idao_cmds, cmd_idao, "register", help="register an iDAO (you become its first member)")
    p.add_argument("name")
    p.add_argument("--metadata-uri", default="")
    p.add_argument("--quorum-bps", type=int, default=5_000)
    p.add_argument("--voting-period", type=int, default=3_600, help="seconds")
    p.add_argument("--stake", type=amount, default=0)
    p = _leaf(idao_cmds, cmd_idao, "join", help="join with a stake")
    p.add_argument("idao_id", type=int)
    p.add_argument("stake", type=amount)
    p = _leaf(idao_cmds, cmd_idao, "leave", help="take stake out (paid now or once open votes end)")
    p.add_argument("idao_id", type=int)
    p.add_argument("--amount", type=amount, help="default: all of it")
    p = _leaf(idao_cmds, cmd_idao, "withdraw", help="collect stake that waited for open votes to end")
    p.add_argument("idao_id", type=int)
    p = _leaf(idao_cmds, cmd_idao, "delegate", help="let another account vote with your stake")
    p.add_argument("idao_id", type=int)
    p.add_argument("delegatee")
    p = _leaf(idao_cmds, cmd_idao, "propose-call", help="propose one arbitrary call by the iDAO's executor")
    p.add_argument("idao_id", type=int)
    p.add_argument("target")
    p.add_argument("calldata", help="0x-hex ABI-encoded call")
    p.add_argument("--value", type=amount, default=0)
    p.add_argument("--description", default="")
    p = _leaf(idao_cmds, cmd_idao, "propose-verifier", help="propose admitting a bonded verifier node")
    p.add_argument("idao_id", type=int)
    p.add_argument("verifier")
    p.add_argument("--url", default="")
    p.add_argument("--public-key", default="")
    p = _leaf(idao_cmds, cmd_idao, "propose-remove-verifier", help="propose removing a verifier this iDAO admitted")
    p.add_argument("idao_id", type=int)
    p.add_argument("verifier")
    p = _leaf(idao_cmds, cmd_idao, "propose-class", help="propose governing a class offered to the iDAO")
    p.add_argument("idao_id", type=int)
    p.add_argument("class_id", type=int)
    p.add_argument("--revenue-share-bps", type=int, default=0, help="share of the class's revenue for members")
    p = _leaf(idao_cmds, cmd_idao, "propose-revoke-class", help="propose revoking a class the iDAO governs")
    p.add_argument("idao_id", type=int)
    p.add_argument("class_id", type=int)
    p = _leaf(idao_cmds, cmd_idao, "claim-revenue", help="claim your share of the iDAO's revenue")
    p.add_argument("idao_id", type=int)
    p = _leaf(idao_cmds, cmd_idao, "pending-revenue", help="revenue a member can claim")
    p.add_argument("idao_id", type=int)
    p.add_argument("--member")
    p = _leaf(idao_cmds, cmd_idao, "info", help="an iDAO's executor, members, stake and rules")
    p.add_argument("idao_id", type=int)
    _proposal_parsers(idao_cmds, cmd_idao)

    gov = add_command(commands, "gov", help="staker governance: protocol parameters and proposals")
    gov_cmds = gov.add_subparsers(dest="gov_cmd", required=True, metavar="COMMAND")
    _leaf(gov_cmds, cmd_gov, "params", help="every staker-governed parameter and its value")
    p = _leaf(gov_cmds, cmd_gov, "propose-param", help="propose a new value for a parameter")
    p.add_argument("name", help="e.g. fees.computeBps (see `hyperion gov params`)")
    p.add_argument("value", type=amount)
    p.add_argument("--description", default="")
    _proposal_parsers(gov_cmds, cmd_gov)

    stake = add_command(commands, "stake", help="Holders Mining: stake METIS, claim fee revenue, unstake, bond")
    stake_cmds = stake.add_subparsers(dest="stake_cmd", required=True, metavar="COMMAND")
    p = _leaf(stake_cmds, cmd_stake, "deposit", help="stake METIS")
    p.add_argument("amount", type=amount)
    p = _leaf(stake_cmds, cmd_stake, "unstake", help="start unstaking (rewards stop, funds unlock after the delay)")
    p.add_argument("amount", type=amount)
    _leaf(stake_cmds, cmd_stake, "withdraw", help="take back unstaked METIS after the delay")
    _leaf(stake_cmds, cmd_stake, "claim", help="claim your revenue share")
    _leaf(stake_cmds, cmd_stake, "status", help="vault totals, streams, epoch and your position")
    _leaf(stake_cmds, cmd_stake, "checkpoint", help="book new base fees and close the epoch if due")
    p = _leaf(stake_cmds, cmd_stake, "wait-epoch", help="wait for the epoch end (progress shown), then checkpoint")
    p.add_argument("--dev-time-travel", action="store_true", help="on a dev node, jump the clock instead of waiting")
    p = _leaf(stake_cmds, cmd_stake, "delegate", help="let another account vote with your stake")
    p.add_argument("delegatee")
    for name, text in (("bond", "lock stake as a verifier bond"), ("unbond", "release a verifier bond")):
        p = _leaf(stake_cmds, cmd_stake, name, help=text)
        p.add_argument("amount", type=amount)


def _proposal_parsers(sub, handler) -> None:
    for name, text in (("vote", "vote on a proposal"), ("queue", "queue a passed proposal"),
                       ("execute", "execute a queued proposal after its timelock"),
                       ("finish", "dev node: jump the clock past vote and timelock, queue and execute"),
                       ("cancel", "cancel your active proposal"), ("proposal", "a proposal's votes and state")):
        p = _leaf(sub, handler, name, help=text)
        p.add_argument("proposal_id", type=int)
        if name == "vote":
            p.add_argument("choice", choices=("for", "against", "abstain"))
