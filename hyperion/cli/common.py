"""What every command group shares: exit statuses, how a node is reached, who signs, amounts, errors, logs.

A node is addressed the same way by every command that talks to one:
``--rpc-url URL`` (as Foundry's ``cast`` names it; ``--rpc`` is an alias),
else ``$HYPERION_RPC_URL``, else ``http://127.0.0.1:8545``. Transactions are
signed with ``--key HEX``, ``--dev-account N`` (the node's default
mnemonic) or ``$HYPERION_PRIVATE_KEY``.

Failures take one path (``describe_failure``): a malformed URL, a node that
cannot be reached, a reverted call or a node's JSON-RPC error each become one
line on stderr and exit status 2 (bad usage) or 1 (the command failed),
never a traceback. ``HYPERION_DEBUG=1`` adds the traceback of unexpected
errors for bug reports.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from decimal import Decimal, InvalidOperation
from typing import Optional
from urllib.parse import urlsplit

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RPC_URL_ENV = "HYPERION_RPC_URL"
PRIVATE_KEY_ENV = "HYPERION_PRIVATE_KEY"
DEBUG_ENV = "HYPERION_DEBUG"
RPC_URL_SCHEMES = ("http", "https", "ws", "wss")

ETHER = 10**18
_UNITS = {"wei": 1, "gwei": 10**9, "eth": ETHER, "ether": ETHER, "metis": ETHER}


class UsageError(ValueError):
    """The command line parses but cannot be carried out as given (exit status 2)."""


class CommandFailed(RuntimeError):
    """The command ran and did not succeed, e.g. the thing asked about does not exist (exit status 1)."""


# -- argument types ---------------------------------------------------------------------------


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def parse_amount(text: str) -> int:
    """``"1.5eth"`` -> 1.5e18 wei; also ``metis``, ``gwei``, ``wei``; plain integers are wei."""
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
        raise UsageError(f"not an amount: {text!r} (examples: 1000, 1.5eth, 30gwei)") from None
    if value < 0 or value != value.to_integral_value():
        raise UsageError(f"amount must be a non-negative whole number of wei: {text!r}")
    return int(value)


def amount(text: str) -> int:
    """``parse_amount`` as an argparse type."""
    try:
        return parse_amount(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_amount(wei: int) -> str:
    if wei and wei % 10**12 == 0:
        return f"{Decimal(wei) / ETHER:f} METIS ({wei} wei)"
    return f"{wei} wei"


def hex_bytes(text: str, length: Optional[int] = None) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None
    if length is not None and len(raw) != length:
        raise argparse.ArgumentTypeError(f"expected {length} bytes, got {len(raw)}")
    return raw


def hash32(text: str) -> bytes:
    return hex_bytes(text, 32)


def address(text: str) -> bytes:
    return hex_bytes(text, 20)


# -- reaching a node --------------------------------------------------------------------------


def add_rpc_options(parser: argparse.ArgumentParser) -> None:
    """``--rpc-url URL`` (alias ``--rpc``), read by ``rpc_url(args)``."""
    parser.add_argument("--rpc-url", "--rpc", dest="rpc_url", metavar="URL",
                        help=f"the node's JSON-RPC endpoint (default ${RPC_URL_ENV} or {DEFAULT_RPC_URL})")


def check_rpc_url(url: str) -> str:
    """``url`` if it can address a JSON-RPC endpoint, else ``UsageError`` naming what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError as exc:
        raise UsageError(f"malformed RPC URL {url!r}: {exc}") from None
    if parts.scheme not in RPC_URL_SCHEMES or not parts.hostname:
        raise UsageError(f"malformed RPC URL {url!r}: expected http://HOST[:PORT] (or https, ws, wss)")
    del port
    return url.strip()


def rpc_url(args: argparse.Namespace) -> str:
    """The node this command talks to: ``--rpc-url``, else ``$HYPERION_RPC_URL``, else the local default."""
    return check_rpc_url(getattr(args, "rpc_url", None) or os.environ.get(RPC_URL_ENV) or DEFAULT_RPC_URL)


def add_signer_options(parser: argparse.ArgumentParser) -> None:
    """``--key HEX`` or ``--dev-account N``, read by ``private_key(args)``."""
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--key", metavar="HEX", help=f"private key that signs (default ${PRIVATE_KEY_ENV})")
    who.add_argument("--dev-account", type=int, metavar="N",
                     help="sign with the node's dev account N (default mnemonic)")


def private_key(args: argparse.Namespace) -> Optional[str]:
    """The signing key as 0x-hex, or None when none was given."""
    key = getattr(args, "key", None)
    if key:
        try:
            raw = bytes.fromhex(key.removeprefix("0x"))
        except ValueError:
            raise UsageError("--key must be a 32-byte hex private key") from None
        if len(raw) != 32:
            raise UsageError("--key must be a 32-byte hex private key")
        return "0x" + raw.hex()
    dev_account = getattr(args, "dev_account", None)
    if dev_account is not None:
        from hyperion.chain.hdwallet import TEST_MNEMONIC, dev_accounts

        if not 0 <= dev_account < 100:
            raise UsageError("--dev-account must be in 0..99")
        return "0x" + dev_accounts(TEST_MNEMONIC, dev_account + 1)[dev_account][1].hex()
    return os.environ.get(PRIVATE_KEY_ENV) or None


# -- the one error path -----------------------------------------------------------------------

_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _connection_reason(exc: BaseException) -> str:
    """The short cause of a connection failure ("Connection refused", "timed out")."""
    found = _ERRNO_TEXT.search(str(exc))
    if found:
        return found.group(1).strip().rstrip(".")
    if "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower():
        return "timed out"
    return type(exc).__name__


def describe_failure(exc: BaseException, args: Optional[argparse.Namespace] = None) -> tuple[int, str]:
    """``(exit status, one-line message)`` for a failure of any command."""
    from hyperion.sdk.errors import SdkError, TransactionFailed

    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, CommandFailed):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, TransactionFailed):
        return EXIT_FAILURE, f"reverted: {exc}"
    if isinstance(exc, SdkError):
        return EXIT_FAILURE, str(exc)
    where = getattr(args, "rpc_url", None) or os.environ.get(RPC_URL_ENV) or DEFAULT_RPC_URL
    try:
        import requests
        from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError
    except ImportError:  # pragma: no cover - web3 is a dependency
        requests = None
    if requests is not None:
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return EXIT_FAILURE, f"cannot reach a node at {where}: {_connection_reason(exc)}"
        if isinstance(exc, requests.exceptions.RequestException):
            return EXIT_FAILURE, f"request to {where} failed: {exc}"
        if isinstance(exc, ContractLogicError):
            message = getattr(exc, "message", None) or str(exc)
            return EXIT_FAILURE, f"reverted: {message.removeprefix('execution reverted: ')}"
        if isinstance(exc, Web3RPCError):
            message = getattr(exc, "message", None) or str(exc)
            return EXIT_FAILURE, f"the node answered with an error: {message}"
        if isinstance(exc, TimeExhausted):
            return EXIT_FAILURE, str(exc)
        if isinstance(exc, Web3Exception):
            return EXIT_FAILURE, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return EXIT_FAILURE, f"cannot reach a node at {where}: {_connection_reason(exc)}"
    if isinstance(exc, ValueError):  # the code base's typed bad-input errors all derive from ValueError
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, OSError):
        return EXIT_FAILURE, f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)"


def one_line(text: str) -> str:
    """Collapse a message to a single line (node errors can carry newlines)."""
    return " ".join(str(text).split())


# -- building parsers ---------------------------------------------------------------------------


def add_command(commands: argparse._SubParsersAction, name: str, handler=None, **kwargs) -> argparse.ArgumentParser:
    """``commands.add_parser(name, ...)`` whose ``handler`` runs it; errors are prefixed with its prog."""
    parser = commands.add_parser(name, **kwargs)
    parser.set_defaults(command_name=parser.prog)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def add_module_targets(commands: argparse._SubParsersAction, name: str, targets: dict[str, tuple[str, str]],
                       **kwargs) -> None:
    """A command group whose targets are modules with ``main(argv) -> int`` (``hyperion bench``,
    ``hyperion fuzz``): ``targets`` maps a target to ``(module, help)``, and every argument after the
    target goes to the module's own parser untouched."""
    parser = add_command(commands, name, **kwargs)
    subcommands = parser.add_subparsers(metavar="TARGET", required=True)
    for target, (module_name, summary) in targets.items():
        # No options of its own (no -h, an unusable prefix character): every argument
        # after the target, --help included, goes to the module.
        sub = add_command(subcommands, target, run_module_target, help=summary, add_help=False, prefix_chars="\0")
        sub.add_argument("target_args", nargs=argparse.REMAINDER)
        sub.set_defaults(module_name=module_name)


def run_module_target(args: argparse.Namespace) -> int:
    """Import the target's module (a usage error when it or a dependency is missing) and run its main."""
    import importlib

    try:
        module = importlib.import_module(args.module_name)
    except ModuleNotFoundError as exc:
        if exc.name == args.module_name:
            raise UsageError(f"{args.module_name} is not part of this installation") from None
        raise UsageError(f"{args.module_name} needs {exc.name!r}, which is not installed "
                         "(optional dependencies are listed in pyproject.toml)") from None
    entry = getattr(module, "main", None)
    if entry is None:
        raise UsageError(f"{args.module_name} has no main(argv)")
    return int(entry(list(args.target_args)) or 0)


# -- logging ------------------------------------------------------------------------------


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp").setLevel(max(logging.WARNING, root.level))
