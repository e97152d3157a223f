"""The ERC-20 benchmark workload: a Vyper token driven by a batch of transactions.

The token (``erc20.vy``) is compiled ahead of time into ``erc20.json`` by
``scripts/build_erc20_workload.py`` so the bench needs no compiler at run
time. The batch, applied in order against one state, is:

1. the token's deployment by the minter;
2. one ``mint`` per holder;
3. ``transfer`` rounds: in round 0 each holder pays a fresh address (cold,
   zero-to-nonzero storage writes), in later rounds holder ``i`` pays holder
   ``i+1`` (warm-ish nonzero-to-nonzero writes);
4. one ``approve`` of the spender per holder;
5. one ``transferFrom`` per holder, sent by the spender to a sink address.

Keys are derived from fixed labels, so the batch is identical on every run
and every machine.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hyperion.bench.workloads.model import AccountSpec, BlockSpec, TxSpec, Workload, WorkloadError
from hyperion.bench.workloads.signing import address_of_key, sign_legacy_transaction
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256

WORKLOAD_DIR = Path(__file__).resolve().parent
SOURCE_PATH = WORKLOAD_DIR / "erc20.vy"
ARTIFACT_PATH = WORKLOAD_DIR / "erc20.json"
EVM_VERSION = "cancun"

DEFAULT_HOLDERS = 64
DEFAULT_TRANSFER_ROUNDS = 2

_FUNDING = 10**24
_DEPLOY_GAS = 2_000_000
_CALL_GAS = 200_000
_BASE_FEE = 7
_GAS_PRICE = 10
_MINT_AMOUNT = 1_000_000 * 10**18
_TRANSFER_AMOUNT = 1_000 * 10**18
_ALLOWANCE = 10_000 * 10**18


def source_sha256(source: bytes) -> str:
    """Fingerprint of the Vyper source recorded in the artifact."""
    return hashlib.sha256(source).hexdigest()


def compile_erc20_source(source_path: Path = SOURCE_PATH, contract: str = "HyperionBenchToken") -> dict[str, Any]:
    """Compile a bench contract (the token by default) with the installed Vyper into the
    artifact's dict form.

    Raises ImportError when Vyper is not installed (it is only needed to
    rebuild the artifact, never to run the bench).
    """
    import vyper
    from vyper.compiler import compile_code
    from vyper.compiler.settings import Settings

    source = Path(source_path).read_bytes()
    output = compile_code(
        source.decode(),
        contract_path=Path(source_path).name,
        output_formats=["bytecode", "bytecode_runtime", "abi"],
        settings=Settings(evm_version=EVM_VERSION),
    )
    return {
        "contract": contract,
        "source": Path(source_path).name,
        "source_sha256": source_sha256(source),
        "vyper_version": vyper.__version__,
        "evm_version": EVM_VERSION,
        "bytecode": output["bytecode"],
        "bytecode_runtime": output["bytecode_runtime"],
        "abi": output["abi"],
    }


def load_erc20_artifact(artifact_path: Path = ARTIFACT_PATH) -> dict[str, Any]:
    """The checked-in compiled token; validates the fields the bench relies on."""
    try:
        artifact = json.loads(Path(artifact_path).read_bytes())
    except FileNotFoundError:
        raise WorkloadError(
            f"{artifact_path} is missing; run scripts/build_erc20_workload.py"
        ) from None
    except OSError as error:
        raise WorkloadError(f"{artifact_path}: cannot read ({error})") from None
    except json.JSONDecodeError as error:
        raise WorkloadError(f"{artifact_path}: not valid JSON ({error})") from None
    if not isinstance(artifact, dict):
        raise WorkloadError(f"{artifact_path}: expected a JSON object")
    for key in ("bytecode", "bytecode_runtime", "vyper_version", "source_sha256"):
        if not isinstance(artifact.get(key), str):
            raise WorkloadError(f"{artifact_path}: field {key!r} missing or not a string")
    return artifact


def _selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


_TRANSFER = _selector("transfer(address,uint256)")
_APPROVE = _selector("approve(address,uint256)")
_TRANSFER_FROM = _selector("transferFrom(address,address,uint256)")
_MINT = _selector("mint(address,uint256)")


def _word(value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return value.rjust(32, b"\x00")
    return value.to_bytes(32, "big")


def _call_data(selector: bytes, *args: int | bytes) -> bytes:
    return selector + b"".join(_word(a) for a in args)


def _key(label: str) -> bytes:
    return keccak256(f"hyperion-bench-erc20/{label}".encode())


def _created_address(deployer: bytes, nonce: int) -> bytes:
    return keccak256(rlp.encode([deployer, nonce]))[12:]


def build_erc20_workload(
    holders: int = DEFAULT_HOLDERS,
    transfer_rounds: int = DEFAULT_TRANSFER_ROUNDS,
    artifact_path: Path = ARTIFACT_PATH,
) -> Workload:
    """The ERC-20 batch described in the module docstring."""
    if holders < 2 or transfer_rounds < 1:
        raise WorkloadError("the ERC-20 workload needs at least 2 holders and 1 transfer round")
    artifact = load_erc20_artifact(artifact_path)
    init_code = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))

    minter_key = _key("minter")
    spender_key = _key("spender")
    holder_keys = [_key(f"holder/{i}") for i in range(holders)]
    minter = address_of_key(minter_key)
    spender = address_of_key(spender_key)
    holder_addresses = [address_of_key(k) for k in holder_keys]
    sink = keccak256(b"hyperion-bench-erc20/sink")[12:]
    token = _created_address(minter, 0)

    nonces: dict[bytes, int] = {}
    transactions: list[TxSpec] = []

    def send(key: bytes, to: bytes | None, data: bytes, gas: int) -> None:
        sender = address_of_key(key)
        nonce = nonces.get(sender, 0)
        nonces[sender] = nonce + 1
        transactions.append(
            sign_legacy_transaction(
                key,
                nonce=nonce,
                gas_price=_GAS_PRICE,
                gas_limit=gas,
                to=to,
                value=0,
                data=data,
            )
        )

    send(minter_key, None, init_code, _DEPLOY_GAS)
    for holder in holder_addresses:
        send(minter_key, token, _call_data(_MINT, holder, _MINT_AMOUNT), _CALL_GAS)
    for round_index in range(transfer_rounds):
        for i, key in enumerate(holder_keys):
            if round_index == 0:
                receiver = keccak256(f"hyperion-bench-erc20/fresh/{i}".encode())[12:]
            else:
                receiver = holder_addresses[(i + 1) % holders]
            send(key, token, _call_data(_TRANSFER, receiver, _TRANSFER_AMOUNT), _CALL_GAS)
    for key in holder_keys:
        send(key, token, _call_data(_APPROVE, spender, _ALLOWANCE), _CALL_GAS)
    for holder in holder_addresses:
        send(spender_key, token, _call_data(_TRANSFER_FROM, holder, sink, _TRANSFER_AMOUNT), _CALL_GAS)

    pre = {
        address: AccountSpec(balance=_FUNDING)
        for address in [minter, spender, *holder_addresses]
    }
    block = BlockSpec(
        coinbase=keccak256(b"hyperion-bench-erc20/coinbase")[12:],
        number=1,
        timestamp=1_700_000_000,
        gas_limit=1_000_000_000,
        base_fee=_BASE_FEE,
        prev_randao=b"\x00" * 31 + b"\x01",
    )
    return Workload(
        name=f"erc20/batch{len(transactions)}",
        description=(
            f"Vyper {artifact['vyper_version']} ERC-20: deploy, {holders} mints, "
            f"{holders * transfer_rounds} transfers, {holders} approves, {holders} transferFroms"
        ),
        pre=pre,
        block=block,
        transactions=tuple(transactions),
    )
