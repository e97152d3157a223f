"""``hyperion vm``: look at what MetisVM makes of a contract.

``hyperion vm compile CODE|ADDRESS`` compiles a code with the compiled tier
(every trace from the start and from every JUMPDEST) and prints what it
cost; ``--show`` prints the generated Python, one function per trace. An
ADDRESS (20 bytes) is read from a node with ``eth_getCode`` (``--rpc-url``).
"""

from __future__ import annotations

import argparse
import re
import time

from hyperion.cli.common import UsageError, add_command, add_rpc_options, rpc_url

_HEX = re.compile(r"(0x)?([0-9a-fA-F]{2})*")


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "vm", help="MetisVM tools: compile a contract and show the generated code",
                         description="MetisVM tools.")
    tools = parser.add_subparsers(metavar="TOOL", required=True)
    compile_parser = add_command(
        tools, "compile", run_compile,
        help="compile a contract with the compiled tier; --show prints the generated Python",
        description="Compile CODE (hex bytecode) or the code at ADDRESS (read from a node) with MetisVM's "
                    "compiled tier: every trace from the start and from every JUMPDEST.",
    )
    compile_parser.add_argument("target", metavar="CODE|ADDRESS", help="hex bytecode, or a 20-byte address")
    compile_parser.add_argument("--show", action="store_true", help="print the generated Python source")
    compile_parser.add_argument("--fork", default="Prague", metavar="NAME", help="instruction set (default Prague)")
    compile_parser.add_argument("--entry", type=lambda text: int(text, 0), action="append", metavar="PC",
                                help="only the trace starting at PC (repeatable; default: start and every JUMPDEST)")
    compile_parser.add_argument("--block", default="latest", help="block to read an ADDRESS's code at (default latest)")
    add_rpc_options(compile_parser)


def _code(args: argparse.Namespace) -> bytes:
    text = args.target.strip()
    if not _HEX.fullmatch(text):
        raise UsageError(f"not hex bytecode or an address: {text[:40]!r}")
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 20:
        return raw
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(rpc_url(args), request_kwargs={"timeout": 30}))
    block = args.block if not args.block.isdigit() else int(args.block)
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(raw), block_identifier=block))
    if not code:
        raise UsageError(f"no code at {text} (an account without code; pass bytecode as hex to compile it)")
    return code


def run_compile(args: argparse.Namespace) -> int:
    from hyperion.vm.analysis import LazyCodeAnalysis
    from hyperion.vm.compiler.program import Program, show
    from hyperion.vm.forks import UnknownFork, get_fork
    from hyperion.vm.opcodes import table_for

    try:
        fork = get_fork(args.fork)
    except UnknownFork as error:
        raise UsageError(str(error)) from None
    code = _code(args)
    if not code:
        raise UsageError("empty code: nothing to compile")
    table = table_for(fork)
    analysis = LazyCodeAnalysis(code, table)
    entries = args.entry
    if entries:
        bad = [pc for pc in entries if pc != 0 and not analysis.is_jumpdest(pc)]
        if bad:
            raise UsageError(f"not the start or a JUMPDEST: {', '.join(hex(pc) for pc in bad)}")
    if args.show:
        print(show(code, table, analysis, entries))
        return 0
    started = time.process_time()
    program = Program(code, table, analysis)
    program.compile_all()
    seconds = time.process_time() - started
    lines = sum(trace.source.count("\n") for trace in program.traces.values())
    instructions = sum(trace.instructions for trace in program.traces.values())
    print(f"code {len(code)} bytes, keccak {program.code_hash_hex()}, fork {fork.name}")
    print(f"{len(program.traces)} traces, {instructions} instructions translated, {lines} lines of Python, "
          f"compiled in {seconds * 1000:.1f} ms CPU")
    return 0
