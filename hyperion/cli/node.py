"""``hyperion node``: run a dev chain behind JSON-RPC (HTTP + WebSocket).

With no flags: chain id 133717, ten funded dev accounts from the standard
test mnemonic, automine, state kept under ``~/.hyperion/node`` (MetisDB),
listening on 127.0.0.1:8545. Restarting on the same data dir continues the
chain. SIGINT / SIGTERM stop the server, then close the database cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

from hyperion.cli.common import (EXIT_OK, CommandFailed, UsageError, add_command, configure_logging, non_negative_int,
                                 port, positive_int, positive_seconds)
from hyperion.cli.serving import start_serving

SHUTDOWN_CLOSE_SECONDS = 1.5  # SIGTERM to exit stays within 5 s: about 4 s for the server, this for the chain

DEFAULT_DATA_DIR = Path.home() / ".hyperion" / "node"
LOG_LEVELS = ("debug", "info", "warning", "error")


def _address(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 20:
        raise argparse.ArgumentTypeError(f"expected a 0x-prefixed 20-byte address, got {text!r}")
    return value


def _private_key(text: str) -> str:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise argparse.ArgumentTypeError("expected a 32-byte hex private key")
    return "0x" + raw.hex()


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "node", run,
        help="run a dev node: JSON-RPC over HTTP and WebSocket, funded dev accounts",
        description="Run a Hyperion dev node: a local chain served over JSON-RPC (HTTP and WebSocket "
                    "on the same port), with funded dev accounts, like anvil.",
    )
    network = parser.add_argument_group("network")
    network.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    network.add_argument("--port", "-p", type=port, default=8545,
                         help="port to listen on (default 8545; 0 picks a free port)")
    storage = parser.add_argument_group("storage")
    where = storage.add_mutually_exclusive_group()
    where.add_argument("--data-dir", type=Path, metavar="DIR",
                       help="keep the chain in DIR (default ~/.hyperion/node); a restart continues it")
    where.add_argument("--in-memory", action="store_true", help="keep everything in memory (lost on exit)")
    storage.add_argument("--model-store", type=Path, metavar="DIR",
                         help="cache folder for AI model bytes read from chain data "
                              "(default <data-dir>/models; an --in-memory node keeps it in memory)")
    chain = parser.add_argument_group("chain")
    chain.add_argument("--chain-id", type=non_negative_int, metavar="ID", help="chain id (default 133717)")
    chain.add_argument("--genesis", type=Path, metavar="FILE",
                       help="geth-style genesis JSON (config.chainId, alloc, gasLimit, baseFeePerGas, ...)")
    chain.add_argument("--block-time", type=positive_seconds, metavar="SECONDS",
                       help="mine a block every SECONDS instead of one per transaction (automine)")
    chain.add_argument("--gas-limit", type=non_negative_int, metavar="GAS", help="block gas limit (default 30M)")
    chain.add_argument("--timestamp", type=non_negative_int, metavar="SECONDS",
                       help="genesis timestamp of a new dev chain (default: now), as anvil's --timestamp")
    chain.add_argument("--base-fee", type=non_negative_int, metavar="WEI", help="genesis base fee (default 1 gwei)")
    chain.add_argument("--accounts", "-a", type=non_negative_int, metavar="N",
                       help="number of funded dev accounts (default 10)")
    chain.add_argument("--balance", type=non_negative_int, metavar="ETH",
                       help="balance of each dev account in ether (default 10000)")
    chain.add_argument("--mnemonic", "-m", metavar="WORDS", help="BIP-39 mnemonic the dev accounts come from")
    chain.add_argument("--exec-workers", type=positive_int, default=None, metavar="N",
                       help="processes that execute a block's transactions, in parallel (Block-STM) with "
                            "results identical to sequential execution; with N > 1 a block runs in "
                            "parallel only where the measured costs say it pays (default 1: sequential "
                            "block building; followers of a rollup use the machine's cores; see "
                            "`hyperion bench mpef`)")
    chain.add_argument("--coinbase", type=_address, metavar="ADDR",
                       help="block producer address: gets priority fees and the producer share of inference "
                            "fees (default: the mnemonic's account after the funded ones, printed at start)")
    limits = parser.add_argument_group("rpc limits (geth's names in brackets)")
    limits.add_argument("--rpc-gas-cap", type=non_negative_int, metavar="GAS",
                        help="gas cap of eth_call, eth_estimateGas and traces; a larger gas is lowered to it "
                             "(default 50M) [--rpc.gascap]")
    limits.add_argument("--rpc-evm-timeout", type=positive_seconds, metavar="SECONDS",
                        help="an execution an RPC request starts is stopped after SECONDS (default 5) "
                             "[--rpc.evmtimeout]")
    limits.add_argument("--rpc-request-timeout", type=positive_seconds, metavar="SECONDS",
                        help="a batch, log query or trace request is stopped after SECONDS (default 10)")
    vm = parser.add_argument_group("vm (MetisVM's compiled tier)")
    vm.add_argument("--vm-compile-threshold", type=_compile_threshold, default=-1, metavar="N|never",
                    help="compile a contract after it ran N times in the interpreter (0: always; never: "
                         "interpret only; default 2 or $HYPERION_VM_COMPILE_THRESHOLD)")
    vm.add_argument("--vm-code-cache", type=non_negative_int, metavar="MIB",
                    help="compiled contracts kept, by code size (default 64)")
    agents = parser.add_argument_group("verifiable AI")
    agents.add_argument("--watch-key", type=_private_key, metavar="HEX", default=os.environ.get("HYPERION_WATCH_KEY"),
                        help="run the AI watcher (hyperion ai watch) beside this node, bonding with this key: it "
                             "re-executes every submitted job result and disputes the wrong ones "
                             "(default $HYPERION_WATCH_KEY; not with --rollup: run hyperion ai watch there)")
    output = parser.add_argument_group("output")
    output.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="log verbosity (debug logs one line per RPC request)")
    output.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="key=value text lines or one JSON object per line")
    output.add_argument("--silent", action="store_true",
                        help="print nothing but warnings and errors: no banner, no line per block and transaction")
    output.add_argument("--no-explorer", action="store_true",
                        help="do not serve the explorer at http://HOST:PORT/explorer/")
    from hyperion.cli.rollup_node import add_rollup_arguments

    add_rollup_arguments(parser)


def _compile_threshold(text: str) -> Optional[int]:
    if text.strip().lower() == "never":
        return None
    return non_negative_int(text)


# -- configuration --------------------------------------------------------------------------


def chain_config_from_args(args: argparse.Namespace, stored_genesis: Any = None) -> Any:
    """The node's config: the dev chain, a ``--genesis`` file taken exactly, or the genesis a data dir was
    initialized from (``hyperion init``), which it then serves as it is: no dev accounts, no mining."""
    from hyperion.chain.genesis import ETHER, ChainConfig

    if stored_genesis is not None:
        if args.genesis:
            raise UsageError("the data dir already holds a chain created with 'hyperion init'; drop --genesis")
        config = ChainConfig.from_genesis(stored_genesis, automine=False)
    elif args.genesis:
        config = ChainConfig.from_genesis_file(args.genesis)
    else:
        config = ChainConfig()
    if args.timestamp is not None:
        if config.genesis is not None:
            raise UsageError("--timestamp sets the dev chain's genesis time; a genesis file carries its own")
        config.genesis_timestamp = args.timestamp
    if args.chain_id is not None:
        config.chain_id = args.chain_id
    if args.gas_limit is not None:
        config.gas_limit = args.gas_limit
    if args.base_fee is not None:
        config.base_fee = args.base_fee
    if args.accounts is not None:
        config.dev_account_count = args.accounts
    if args.balance is not None:
        config.dev_balance = args.balance * ETHER
    if args.mnemonic:
        config.mnemonic = args.mnemonic
    if args.block_time is not None:
        config.block_time = args.block_time
        config.automine = False
    if args.coinbase is not None:
        config.coinbase = args.coinbase
    elif config.coinbase == b"\x00" * 20:
        config.coinbase = producer_account(config)[0]
    if args.rpc_gas_cap is not None:
        config.rpc_gas_cap = args.rpc_gas_cap
    if args.rpc_evm_timeout is not None:
        config.rpc_evm_timeout = args.rpc_evm_timeout
    if args.exec_workers is not None:
        config.exec_workers = args.exec_workers
    return config


def producer_account(config: Any) -> tuple[bytes, bytes]:
    """The dev node's block producer: the mnemonic's next account after the funded ones.

    Its address is the coinbase, so priority fees and the producer's share of
    inference fees reach an account whose key the operator has (the banner
    prints it), instead of the zero address.
    """
    from hyperion.chain.hdwallet import dev_accounts

    return dev_accounts(config.mnemonic, config.dev_account_count + 1)[-1]


def banner(config: Any, accounts: list[tuple[bytes, bytes]], host: str, port: int,
           data_dir: Optional[Path], head_number: int) -> str:
    """anvil-style startup text: accounts, keys, mnemonic, chain id, address."""
    from hyperion import __version__
    from hyperion.primitives.address import to_checksum_address

    funded = f"{config.dev_balance // 10**18} ETH" if config.genesis is None else "unlocked, funded by the genesis only"
    lines = [f"Hyperion node v{__version__}", "", "Available Accounts", "=================="]
    lines += [f"({i}) {to_checksum_address(addr)} ({funded})" for i, (addr, _) in enumerate(accounts)]
    lines += ["", "Private Keys", "=================="]
    lines += [f"({i}) 0x{key.hex()}" for i, (_, key) in enumerate(accounts)]
    lines += ["", "Wallet", "==================", f"Mnemonic:          {config.mnemonic}",
              "Derivation path:   m/44'/60'/0'/0/", "",
              f"Block producer:    {_producer_line(config)}",
              f"Chain ID:          {config.chain_id}",
              f"Base fee:          {config.base_fee}",
              f"Gas limit:         {config.gas_limit}",
              f"Mining:            {_mining(config)}",
              f"Storage:           {'in memory' if data_dir is None else data_dir}",
              f"Model store:       {getattr(config, 'model_store', None) or 'in memory'}",
              f"Head block:        {head_number}", ""]
    return "\n".join(lines)


def _mining(config: Any) -> str:
    if config.block_time is not None:
        return f"every {config.block_time:g}s"
    return "automine" if config.automine else "none (transactions wait in the pool)"


def _producer_line(config: Any) -> str:
    from hyperion.primitives.address import to_checksum_address

    address, key = producer_account(config)
    if config.coinbase != address:
        return to_checksum_address(config.coinbase)
    return f"{to_checksum_address(address)} (key 0x{key.hex()})"


# -- running ----------------------------------------------------------------------------------


HOT_CODES_FILE = "vm-hot-codes.json"


def _start_vm_tiers(args: argparse.Namespace, node: Any, data_dir: Optional[Path], log) -> Optional[Path]:
    """Configure the compiled tier and compile the contracts that were hot when the node last stopped;
    returns where to save the hot codes at shutdown (None: in memory)."""
    from hyperion.chain.limits import bounded_fork
    from hyperion.vm.compiler.hot import warm_from_file
    from hyperion.vm.compiler.tiering import TIERS, configure

    # -1: not given (the default, or $HYPERION_VM_COMPILE_THRESHOLD); None: never compile
    configure(threshold=args.vm_compile_threshold,
              cache_bytes=None if args.vm_code_cache is None else args.vm_code_cache * 2**20)
    if data_dir is None:
        return None
    path = data_dir / HOT_CODES_FILE
    started = time.process_time()
    try:
        warmed = warm_from_file(path, bounded_fork(node.chain.fork))
    except ValueError as exc:
        log.warning("vm hot codes not loaded: %s", exc)
        warmed = 0
    log.info("vm tiers threshold=%s cache_mib=%d warmed=%d seconds=%.2f",
             "never" if TIERS.threshold is None else TIERS.threshold, TIERS.cache_bytes >> 20, warmed,
             time.process_time() - started)
    return path


async def _serve(node: Any, args: argparse.Namespace, config: Any, data_dir: Optional[Path]) -> bool:
    from hyperion.rpc.server import RpcServer

    chain = node.chain
    if args.watch_key:
        _require_inference_jobs(chain)
    server = RpcServer(chain, args.host, args.port, call_timeout=config.rpc_evm_timeout,
                       request_timeout=args.rpc_request_timeout or max(10.0, 2 * config.rpc_evm_timeout))
    stop = await start_serving(server, chain, args, banner=lambda port: banner(
        config, config.dev_accounts(), args.host, port, data_dir, chain.head().header.number))
    watcher = None
    if args.watch_key:
        from hyperion.cli.ai import WatcherChild

        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        host = f"[{host}]" if ":" in host else host
        watcher = WatcherChild(f"http://{host}:{server.port}", args.watch_key,
                               "warning" if args.silent else args.log_level)
    try:
        await (watcher.supervise(stop) if watcher else stop.wait())
    finally:
        logging.getLogger("hyperion.node").info("shutting down")
        if watcher:
            watcher.stop()
        clean = await server.stop()  # refuses new work and stops running executions
    return clean


def _require_inference_jobs(chain: Any) -> None:
    """``--watch-key`` needs the InferenceJobs predeploy (a ``--genesis`` chain may lack it)."""
    from hyperion.predeploys.plan import INFERENCE_JOBS_ADDRESS

    reader = chain.state_at("latest")
    try:
        has_code = bool(reader.get_code(INFERENCE_JOBS_ADDRESS))
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    if not has_code:
        raise CommandFailed("--watch-key: this chain has no InferenceJobs contract at "
                            f"0x{INFERENCE_JOBS_ADDRESS.hex()}")


def enable_inference(config: Any, model_store: Optional[Path], data_dir: Optional[Path]) -> Optional[Path]:
    """Turn on the AI precompiles (this chain's Prague rule), reading models from chain data.

    The node CLI is the composition root, so it is the place where the AI
    layer's reader of the ModelStore predeploy is bound into the VM's fork;
    the chain itself stays generic. The folder is only a cache of model bytes
    read from the chain (verified by hash); it never decides what runs. An
    in-memory node without ``--model-store`` keeps that cache in memory too,
    so it leaves no folder behind, not even when it is killed.
    """
    from hyperion.ai.chainstore import with_ai_precompiles
    from hyperion.ai.store import DirectoryModelStore, MemoryModelStore

    if model_store is None and data_dir is None:
        config.fork = with_ai_precompiles(config.fork, MemoryModelStore())
        config.model_store = None
        return None
    if model_store is None:
        model_store = data_dir / "models"
    model_store = model_store.expanduser()
    model_store.mkdir(parents=True, exist_ok=True)
    config.fork = with_ai_precompiles(config.fork, DirectoryModelStore(model_store))
    config.model_store = model_store
    return model_store


def run(args: argparse.Namespace) -> int:
    """Serve the chain until SIGINT / SIGTERM; returns the exit status."""
    if args.rollup is not None:
        from hyperion.cli import rollup_node

        if args.watch_key:
            raise UsageError("--watch-key is for the dev node; beside a rollup node run "
                             "'hyperion ai watch --rpc-url URL --key K'")
        return rollup_node.run(args)
    configure_logging("warning" if args.silent else args.log_level, args.log_format)
    log = logging.getLogger("hyperion.node")
    try:
        config = chain_config_from_args(args)
    except (OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    data_dir: Optional[Path] = None if args.in_memory else (args.data_dir or DEFAULT_DATA_DIR)
    if data_dir is not None:
        data_dir = data_dir.expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        from hyperion.chain.node import stored_genesis

        stored = stored_genesis(data_dir)
        if stored is not None:
            config = chain_config_from_args(args, stored)

    if config.genesis is None:  # the dev chain; a genesis file is taken exactly as it is
        enable_inference(config, args.model_store, data_dir)
        from hyperion.predeploys.genesis import add_to_dev_genesis

        add_to_dev_genesis(config)

    from hyperion.chain.node import Node

    started = time.monotonic()
    try:
        node = Node(config, data_dir)
    except (OSError, ValueError) as exc:
        raise CommandFailed(f"cannot open the chain: {exc}") from None
    log.info("chain opened chain_id=%d head=%d storage=%s seconds=%.2f", config.chain_id,
             node.chain.head().header.number, data_dir or "memory", time.monotonic() - started)
    hot_codes = _start_vm_tiers(args, node, data_dir, log)
    clean = False
    try:
        clean = asyncio.run(_serve(node, args, config, data_dir))
    except OSError as exc:  # e.g. the port is taken
        raise CommandFailed(str(exc)) from None
    finally:
        # a block being built gets a bounded wait; every committed block is durable already
        clean = node.close(timeout=SHUTDOWN_CLOSE_SECONDS) and clean
        if hot_codes is not None:
            from hyperion.vm.compiler.hot import save_hot_codes

            try:
                log.info("vm hot codes saved count=%d", save_hot_codes(hot_codes))
            except OSError as exc:
                log.warning("vm hot codes not saved: %s", exc)
        log.info("stopped")
    if not clean:  # a worker still busy would hold the interpreter's exit (it joins its threads)
        log.warning("exiting without waiting for busy workers; the data dir holds every committed block")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(EXIT_OK)
    return EXIT_OK
