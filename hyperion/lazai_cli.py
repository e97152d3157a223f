"""``hyperion contracts|lazai-genesis|dat|idao|stake``: the LazAI value layer from a terminal.

The lead wires these into ``hyperion/cli.py``; on its own:
``python -m hyperion.lazai_cli dat create-class ipfs://meta --dev-account 1``.
Transactions are signed with ``--key`` (or ``$HYPERION_PRIVATE_KEY``) or
with one of the node's dev accounts (``--dev-account N``, the default
mnemonic); ``--rpc`` (or ``$HYPERION_RPC_URL``) picks the node.
Amounts accept wei (``1000``), or units: ``1.5eth``, ``2metis``, ``30gwei``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal, InvalidOperation

ETHER = 10**18
_UNITS = {"wei": 1, "gwei": 10**9, "eth": ETHER, "ether": ETHER, "metis": ETHER}


class CliError(ValueError):
    """Bad command-line input."""


def parse_amount(text: str) -> int:
    """``"1.5eth"`` -> 1.5e18 wei; plain integers are wei."""
    raw = text.strip().lower().replace("_", "")
    for unit in sorted(_UNITS, key=len, reverse=True):
        if raw.endswith(unit):
            number, scale = raw[: -len(unit)].strip(), _UNITS[unit]
            break
    else:
        number, scale = raw, 1
    try:
        value = Decimal(number) * scale
    except InvalidOperation:
        raise CliError(f"not an amount: {text!r} (examples: 1000, 1.5eth, 30gwei)") from None
    if value < 0 or value != value.to_integral_value():
        raise CliError(f"amount must be a whole number of wei: {text!r}")
    return int(value)


def format_amount(wei: int) -> str:
    if wei and wei % 10**12 == 0:
        return f"{Decimal(wei) / ETHER:f} METIS ({wei} wei)"
    return f"{wei} wei"


def _amount_arg(text: str) -> int:
    try:
        return parse_amount(text)
    except CliError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- connection ------------------------------------------------------------------------------


def _private_key(args) -> str | None:
    if args.key:
        return args.key
    if args.dev_account is not None:
        from hyperion.chain.genesis import ChainConfig

        accounts = ChainConfig().dev_accounts()
        if not 0 <= args.dev_account < len(accounts):
            raise CliError(f"--dev-account must be in 0..{len(accounts) - 1}")
        return "0x" + accounts[args.dev_account][1].hex()
    return os.environ.get("HYPERION_PRIVATE_KEY")


def _connect(args, need_key: bool = True):
    from hyperion.sdk import connect

    key = _private_key(args)
    if need_key and not key:
        raise CliError("no signing key: pass --key, --dev-account N or set HYPERION_PRIVATE_KEY")

    def progress(tx_hash: str) -> None:
        if not args.quiet:
            print(f"  sent {tx_hash}, waiting for it to be mined...", file=sys.stderr, flush=True)

    return connect(args.rpc, key, on_wait=progress)


def _print(args, human: str, data: dict) -> None:
    if args.json:
        print(json.dumps(data, default=str, indent=1))
    else:
        print(human)


# -- contracts / genesis ---------------------------------------------------------------------------


def cmd_contracts(args) -> int:
    from hyperion.ai.genesis import ai_contracts_manifest
    from hyperion.lazai.genesis import contracts_manifest

    manifest = contracts_manifest() + ai_contracts_manifest()
    if args.name:
        manifest = [entry for entry in manifest if entry["name"].lower() == args.name.lower()]
        if not manifest:
            raise CliError(f"no contract named {args.name!r}")
    if args.abi:
        print(json.dumps(manifest[0]["abi"], indent=1))
        return 0
    as_json = args.json or (not args.table and not sys.stdout.isatty())  # piped to a client: JSON
    if as_json:
        print(json.dumps(manifest, indent=1))
        return 0
    width = max(len(entry["name"]) for entry in manifest)
    for entry in manifest:
        print(f"{entry['name']:<{width}}  {entry['address']}  ({entry['contract']}.vy, {len(entry['abi'])} ABI entries)")
    return 0


def cmd_genesis(args) -> int:
    from hyperion.lazai.genesis import lazai_genesis_json

    admin = bytes.fromhex(args.admin.removeprefix("0x"))
    if len(admin) != 20:
        raise CliError("--admin must be a 20-byte hex address")
    base = json.loads(open(args.base).read()) if args.base else None
    text = json.dumps(lazai_genesis_json(args.chain_id, admin, base), indent=1)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
        print(f"wrote {args.out} (chain id {args.chain_id}); start with: hyperion node --genesis {args.out}")
    else:
        print(text)
    return 0


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


# -- idao -------------------------------------------------------------------------------------------------


def cmd_idao(args) -> int:
    lazai = _connect(args, need_key=args.idao_cmd not in ("info", "proposal"))
    idao = lazai.idao
    if args.idao_cmd == "register":
        idao_id = idao.register(args.name, args.metadata_uri, args.quorum_bps, args.voting_period, args.stake)
        _print(args, f"registered iDAO {idao_id} ({args.name})", {"idaoId": idao_id})
    elif args.idao_cmd == "join":
        idao.join(args.idao_id, args.stake)
        _print(args, f"joined iDAO {args.idao_id} with {format_amount(args.stake)}", {"idaoId": args.idao_id})
    elif args.idao_cmd == "leave":
        idao.leave(args.idao_id)
        _print(args, f"left iDAO {args.idao_id}", {"idaoId": args.idao_id})
    elif args.idao_cmd == "propose-class":
        proposal = idao.propose_admit_class(args.idao_id, args.class_id)
        _print(args, f"proposal {proposal}: admit class {args.class_id}", {"proposalId": proposal})
    elif args.idao_cmd == "propose-verifier":
        proposal = idao.propose_admit_verifier(args.idao_id, args.verifier, args.url, args.public_key)
        _print(args, f"proposal {proposal}: admit verifier {args.verifier}", {"proposalId": proposal})
    elif args.idao_cmd == "vote":
        idao.vote(args.proposal_id, args.choice == "for")
        _print(args, f"voted {args.choice} on proposal {args.proposal_id}", {"proposalId": args.proposal_id})
    elif args.idao_cmd == "execute":
        passed = idao.execute(args.proposal_id)
        _print(args, f"proposal {args.proposal_id} {'passed' if passed else 'failed'}", {"passed": passed})
    elif args.idao_cmd == "info":
        info = idao.info(args.idao_id)
        _print(args, (f"iDAO {info.idao_id} {info.name!r}: owner {info.owner}, {info.member_count} members, "
                      f"stake {format_amount(info.total_stake)}, quorum {info.quorum_bps} bps, "
                      f"voting period {info.voting_period}s"), info.__dict__)
    elif args.idao_cmd == "proposal":
        p = idao.proposal(args.proposal_id)
        _print(args, (f"proposal {p.proposal_id} ({p.action}) in iDAO {p.idao_id}: for {p.for_votes} against "
                      f"{p.against_votes} quorum {p.quorum_votes}, deadline {p.deadline}, "
                      f"{'executed' if p.executed else 'open'}{', passed' if p.passed else ''}"), p.__dict__)
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
            lines += [f"your stake         {format_amount(position.staked)}",
                      f"your rewards       {format_amount(position.pending_rewards)}",
                      f"your unstaking     {format_amount(position.pending_unstake)} (unlock {position.unlock_at})"]
            data["position"] = position.__dict__
        _print(args, "\n".join(lines), data)
    elif args.stake_cmd == "propose":
        proposal = staking.propose_fee_split(args.compute_bps, args.verification_bps)
        _print(args, f"fee-split proposal {proposal} created", {"proposalId": proposal})
    elif args.stake_cmd == "vote":
        staking.vote(args.proposal_id, args.choice == "for")
        _print(args, f"voted {args.choice} on fee-split proposal {args.proposal_id}", {})
    elif args.stake_cmd == "execute":
        passed = staking.execute(args.proposal_id)
        _print(args, f"fee-split proposal {args.proposal_id} {'passed' if passed else 'failed'}", {"passed": passed})
    return 0


# -- parser ----------------------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpc", default=os.environ.get("HYPERION_RPC_URL", "http://127.0.0.1:8545"),
                        help="node JSON-RPC URL (default $HYPERION_RPC_URL or http://127.0.0.1:8545)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--key", help="private key that signs (default $HYPERION_PRIVATE_KEY)")
    who.add_argument("--dev-account", type=int, metavar="N", help="sign with the node's dev account N")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress messages")


def build_parser(prog: str = "hyperion") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Hyperion's LazAI value layer: DATs, iDAOs, Holders Mining")
    commands = parser.add_subparsers(dest="command", required=True)

    contracts = commands.add_parser("contracts", help="names, addresses and ABIs of the predeployed contracts")
    contracts.add_argument("name", nargs="?", help="only this contract")
    contracts.add_argument("--json", action="store_true",
                           help="JSON manifest with ABIs, for clients (the default when stdout is not a terminal)")
    contracts.add_argument("--table", action="store_true", help="the human-readable table even when piped")
    contracts.add_argument("--abi", action="store_true", help="print only the ABI of the named contract")
    contracts.set_defaults(handler=cmd_contracts)

    genesis = commands.add_parser("lazai-genesis", help="a genesis file holding the LazAI predeploys")
    genesis.add_argument("--chain-id", type=int, default=133718)
    genesis.add_argument("--admin", default="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                         help="admin/maintainer of the contracts (default: dev account 0)")
    genesis.add_argument("--base", help="existing genesis JSON to extend")
    genesis.add_argument("--out", "-o", help="write here instead of stdout")
    genesis.set_defaults(handler=cmd_genesis)

    dat = commands.add_parser("dat", help="ERC-8028 Data Anchoring Tokens")
    dat_cmds = dat.add_subparsers(dest="dat_cmd", required=True)
    p = dat_cmds.add_parser("create-class", help="create a DAT class")
    p.add_argument("metadata_uri")
    p.add_argument("--integrity-hash", help="32-byte hex commitment to the metadata")
    p.add_argument("--decimals", type=int, default=0)
    p.add_argument("--policy-uri", default="")
    p = dat_cmds.add_parser("mint", help="mint a token in a class")
    p.add_argument("class_id", type=int)
    p.add_argument("to")
    p.add_argument("--value", type=int, required=True, help="usage quota units")
    p.add_argument("--share", type=int, required=True, help="revenue share weight")
    p.add_argument("--expire-at", type=int, default=0, help="unix time (0 = never)")
    p = dat_cmds.add_parser("usage", help="record usage (consumes quota)")
    p.add_argument("token_id", type=int)
    p.add_argument("amount", type=int)
    p.add_argument("--metric", default="inference_calls")
    p = dat_cmds.add_parser("settle", help="pay revenue into a class")
    p.add_argument("class_id", type=int)
    p.add_argument("amount", type=_amount_arg)
    p.add_argument("--asset", help="ERC-20 address (default: native METIS)")
    p = dat_cmds.add_parser("claim", help="claim a token's revenue")
    p.add_argument("token_id", type=int)
    p.add_argument("--asset")
    p.add_argument("--to")
    p = dat_cmds.add_parser("pending", help="claimable revenue of a token")
    p.add_argument("token_id", type=int)
    p.add_argument("--asset")
    p = dat_cmds.add_parser("info", help="a token's class, owner, quota, share, expiry")
    p.add_argument("token_id", type=int)
    p = dat_cmds.add_parser("class", help="a class's metadata and total share")
    p.add_argument("class_id", type=int)
    for sub in dat_cmds.choices.values():
        _common(sub)
    dat.set_defaults(handler=cmd_dat)

    idao = commands.add_parser("idao", help="iDAO registry and votes")
    idao_cmds = idao.add_subparsers(dest="idao_cmd", required=True)
    p = idao_cmds.add_parser("register", help="register an iDAO (you become its first member)")
    p.add_argument("name")
    p.add_argument("--metadata-uri", default="")
    p.add_argument("--quorum-bps", type=int, default=5_000)
    p.add_argument("--voting-period", type=int, default=3_600, help="seconds")
    p.add_argument("--stake", type=_amount_arg, default=0)
    p = idao_cmds.add_parser("join", help="join with a stake")
    p.add_argument("idao_id", type=int)
    p.add_argument("stake", type=_amount_arg)
    p = idao_cmds.add_parser("leave", help="withdraw your stake")
    p.add_argument("idao_id", type=int)
    p = idao_cmds.add_parser("propose-class", help="propose admitting a DAT class")
    p.add_argument("idao_id", type=int)
    p.add_argument("class_id", type=int)
    p = idao_cmds.add_parser("propose-verifier", help="propose admitting a verifier node")
    p.add_argument("idao_id", type=int)
    p.add_argument("verifier")
    p.add_argument("--url", default="")
    p.add_argument("--public-key", default="")
    for name in ("vote", "execute", "proposal"):
        p = idao_cmds.add_parser(name, help=f"{name} a proposal")
        p.add_argument("proposal_id", type=int)
        if name == "vote":
            p.add_argument("choice", choices=("for", "against"))
    p = idao_cmds.add_parser("info", help="an iDAO's members and stake")
    p.add_argument("idao_id", type=int)
    for sub in idao_cmds.choices.values():
        _common(sub)
    idao.set_defaults(handler=cmd_idao)

    stake = commands.add_parser("stake", help="Holders Mining: stake METIS, share network revenue")
    stake_cmds = stake.add_subparsers(dest="stake_cmd", required=True)
    p = stake_cmds.add_parser("deposit", help="stake METIS")
    p.add_argument("amount", type=_amount_arg)
    p = stake_cmds.add_parser("unstake", help="start unstaking (rewards stop, funds unlock after the delay)")
    p.add_argument("amount", type=_amount_arg)
    stake_cmds.add_parser("withdraw", help="take back unstaked METIS after the delay")
    stake_cmds.add_parser("claim", help="claim your revenue share")
    stake_cmds.add_parser("status", help="vault totals, streams, epoch and your position")
    stake_cmds.add_parser("checkpoint", help="book new base fees and close the epoch if due")
    p = stake_cmds.add_parser("wait-epoch", help="wait for the epoch end (progress shown), then checkpoint")
    p.add_argument("--dev-time-travel", action="store_true", help="on a dev node, jump the clock instead of waiting")
    p = stake_cmds.add_parser("propose", help="propose a new fee split")
    p.add_argument("compute_bps", type=int)
    p.add_argument("verification_bps", type=int)
    for name in ("vote", "execute"):
        p = stake_cmds.add_parser(name, help=f"{name} a fee-split proposal")
        p.add_argument("proposal_id", type=int)
        if name == "vote":
            p.add_argument("choice", choices=("for", "against"))
    for sub in stake_cmds.choices.values():
        _common(sub)
    stake.set_defaults(handler=cmd_stake)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from hyperion.sdk.errors import SdkError

    try:
        return args.handler(args)
    except (CliError, SdkError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`
        return 0
    except OSError as exc:  # requests' connection errors derive from OSError
        print(f"error: cannot reach the node at {getattr(args, 'rpc', '?')}: {type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
