"""``hyperion contracts`` and ``hyperion lazai-genesis``: the system contracts a Hyperion chain predeploys.

``contracts`` lists their names, addresses and ABIs (JSON when piped, for
clients); with ``--check`` it asks a node (``--rpc-url``) whether each one
is deployed there with the code this installation ships. ``lazai-genesis``
writes a genesis file holding them.
"""

from __future__ import annotations

import argparse
import json
import sys

from hyperion.cli.common import EXIT_FAILURE, EXIT_OK, CommandFailed, UsageError, add_command, add_rpc_options, rpc_url


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "contracts", list_contracts,
                         help="system contracts of this chain: names, addresses, ABIs (JSON)")
    parser.add_argument("name", nargs="?", help="only this contract")
    parser.add_argument("--json", action="store_true",
                        help="JSON manifest with ABIs, for clients (the default when stdout is not a terminal)")
    parser.add_argument("--table", action="store_true", help="the human-readable table even when piped")
    parser.add_argument("--abi", action="store_true", help="print only the ABI of the named contract")
    parser.add_argument("--check", action="store_true",
                        help="check that the node at --rpc-url has each contract's code (exit 1 if not)")
    add_rpc_options(parser)

    genesis = add_command(commands, "lazai-genesis", write_genesis,
                          help="write a genesis file with the LazAI and AI predeploys")
    genesis.add_argument("--chain-id", type=int, default=133718)
    genesis.add_argument("--admin", default="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                         help="admin/maintainer of the contracts (default: dev account 0)")
    genesis.add_argument("--base", help="existing genesis JSON to extend")
    genesis.add_argument("--out", "-o", help="write here instead of stdout")


def list_contracts(args: argparse.Namespace) -> int:
    from hyperion.predeploys.plan import contracts_manifest

    manifest = contracts_manifest()
    if args.name:
        manifest = [entry for entry in manifest if entry["name"].lower() == args.name.lower()]
        if not manifest:
            raise CommandFailed(f"no contract named {args.name!r}")
    if args.check:
        return _check_deployed(args, manifest)
    if args.abi:
        print(json.dumps(manifest[0]["abi"], indent=1))
        return EXIT_OK
    as_json = args.json or (not args.table and not sys.stdout.isatty())  # piped to a client: JSON
    if as_json:
        print(json.dumps(manifest, indent=1))
        return EXIT_OK
    width = max(len(entry["name"]) for entry in manifest)
    for entry in manifest:
        print(f"{entry['name']:<{width}}  {entry['address']}  ({entry['contract']}.vy, {len(entry['abi'])} ABI entries)")
    return EXIT_OK


def _check_deployed(args: argparse.Namespace, manifest: list[dict]) -> int:
    """Compare the node's code at each address with the shipped runtime (immutables follow it)."""
    from hyperion.artifacts import load_artifact
    from hyperion.sdk import connect

    w3 = connect(rpc_url(args)).client.w3
    width = max(len(entry["name"]) for entry in manifest)
    failed = 0
    for entry in manifest:
        code = bytes(w3.eth.get_code(w3.to_checksum_address(entry["address"])))
        runtime = load_artifact(entry["contract"])["runtime"]
        verdict = "ok" if code and code.startswith(runtime) else "missing" if not code else "different code"
        failed += verdict != "ok"
        print(f"{entry['name']:<{width}}  {entry['address']}  {verdict}")
    return EXIT_FAILURE if failed else EXIT_OK


def write_genesis(args: argparse.Namespace) -> int:
    from hyperion.predeploys.genesis import genesis_json

    try:
        admin = bytes.fromhex(args.admin.removeprefix("0x"))
    except ValueError:
        admin = b""
    if len(admin) != 20:
        raise UsageError("--admin must be a 20-byte hex address")
    base = None
    if args.base:
        with open(args.base) as handle:
            try:
                base = json.load(handle)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{args.base} is not JSON: {exc}") from None
    text = json.dumps(genesis_json(args.chain_id, admin, base), indent=1)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
        print(f"wrote {args.out} (chain id {args.chain_id}); start with: hyperion node --genesis {args.out}")
    else:
        print(text)
    return EXIT_OK
