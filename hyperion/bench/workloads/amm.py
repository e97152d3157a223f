"""The AMM-swap benchmark workload: a Vyper constant-product pool between two Vyper tokens.

``amm.vy`` (a Uniswap-V2-style pool: 0.3% fee, liquidity shares, a
reentrancy lock in transient storage, external calls to both tokens on
every swap) is compiled ahead of time into ``amm.json``; the tokens are the
ERC-20 workload's ``erc20.vy``. The batch, applied in order, is:

1. two token deployments and the pool's, by the deployer;
2. mints of both tokens to the liquidity provider and every trader;
3. approvals of the pool for both tokens by all of them;
4. one ``add_liquidity``;
5. ``swap`` rounds: each trader swaps token0 for token1 and back, alternating,
   with amounts that vary by trader.

Keys come from fixed labels: the batch is identical on every run and machine.
"""

from __future__ import annotations

from pathlib import Path

from hyperion.bench.workloads.erc20 import (
    ARTIFACT_PATH as TOKEN_ARTIFACT_PATH,
    WORKLOAD_DIR,
    _call_data,
    _created_address,
    _selector,
    _word,
    compile_erc20_source,
    load_erc20_artifact,
)
from hyperion.bench.workloads.model import AccountSpec, BlockSpec, TxSpec, Workload, WorkloadError
from hyperion.bench.workloads.signing import address_of_key, sign_legacy_transaction
from hyperion.primitives.keccak import keccak256

SOURCE_PATH = WORKLOAD_DIR / "amm.vy"
ARTIFACT_PATH = WORKLOAD_DIR / "amm.json"
CONTRACT = "HyperionBenchPool"

DEFAULT_TRADERS = 16
DEFAULT_ROUNDS = 8

_FUNDING = 10**24
_DEPLOY_GAS = 3_000_000
_CALL_GAS = 300_000
_GAS_PRICE = 10
_BASE_FEE = 7
_MINT = _selector("mint(address,uint256)")
_APPROVE = _selector("approve(address,uint256)")
_ADD_LIQUIDITY = _selector("add_liquidity(uint256,uint256,uint256)")
_SWAP = _selector("swap(address,uint256,uint256,address)")
_LIQUIDITY = 10**6 * 10**18
_TRADER_BALANCE = 10**5 * 10**18
_UNLIMITED = 2**256 - 1


def compile_amm_source(source_path: Path = SOURCE_PATH) -> dict:
    """The pool's artifact, compiled with the installed Vyper (only needed to rebuild ``amm.json``)."""
    return compile_erc20_source(source_path, contract=CONTRACT)


def load_amm_artifact(artifact_path: Path = ARTIFACT_PATH) -> dict:
    return load_erc20_artifact(artifact_path)


def _key(label: str) -> bytes:
    return keccak256(f"hyperion-bench-amm/{label}".encode())


def build_amm_workload(
    traders: int = DEFAULT_TRADERS,
    rounds: int = DEFAULT_ROUNDS,
    artifact_path: Path = ARTIFACT_PATH,
    token_artifact_path: Path = TOKEN_ARTIFACT_PATH,
) -> Workload:
    """The AMM batch described in the module docstring."""
    if traders < 1 or rounds < 1:
        raise WorkloadError("the AMM workload needs at least 1 trader and 1 round")
    token_code = bytes.fromhex(load_erc20_artifact(token_artifact_path)["bytecode"].removeprefix("0x"))
    pool_artifact = load_amm_artifact(artifact_path)
    pool_code = bytes.fromhex(pool_artifact["bytecode"].removeprefix("0x"))

    deployer_key = _key("deployer")
    provider_key = _key("provider")
    trader_keys = [_key(f"trader/{i}") for i in range(traders)]
    deployer = address_of_key(deployer_key)
    token0 = _created_address(deployer, 0)
    token1 = _created_address(deployer, 1)
    pool = _created_address(deployer, 2)

    nonces: dict[bytes, int] = {}
    transactions: list[TxSpec] = []

    def send(key: bytes, to: bytes | None, data: bytes, gas: int) -> None:
        sender = address_of_key(key)
        nonce = nonces.get(sender, 0)
        nonces[sender] = nonce + 1
        transactions.append(sign_legacy_transaction(
            key, nonce=nonce, gas_price=_GAS_PRICE, gas_limit=gas, to=to, value=0, data=data))

    send(deployer_key, None, token_code, _DEPLOY_GAS)
    send(deployer_key, None, token_code, _DEPLOY_GAS)
    send(deployer_key, None, pool_code + _word(token0) + _word(token1), _DEPLOY_GAS)
    funded = [(provider_key, _LIQUIDITY)] + [(key, _TRADER_BALANCE) for key in trader_keys]
    for key, amount in funded:
        for token in (token0, token1):
            send(deployer_key, token, _call_data(_MINT, address_of_key(key), amount), _CALL_GAS)
    for key, _ in funded:
        for token in (token0, token1):
            send(key, token, _call_data(_APPROVE, pool, _UNLIMITED), _CALL_GAS)
    send(provider_key, pool, _call_data(_ADD_LIQUIDITY, _LIQUIDITY // 2, _LIQUIDITY, 0), _CALL_GAS)
    swaps = 0
    for round_index in range(rounds):
        for i, key in enumerate(trader_keys):
            token_in = token0 if (i + round_index) % 2 == 0 else token1
            amount = (1 + (i * 7 + round_index) % 5) * 10**18
            send(key, pool, _call_data(_SWAP, token_in, amount, 0, address_of_key(key)), _CALL_GAS)
            swaps += 1

    pre = {address_of_key(key): AccountSpec(balance=_FUNDING) for key in [deployer_key, provider_key, *trader_keys]}
    block = BlockSpec(
        coinbase=keccak256(b"hyperion-bench-amm/coinbase")[12:],
        number=1,
        timestamp=1_700_000_000,
        gas_limit=1_000_000_000,
        base_fee=_BASE_FEE,
        prev_randao=b"\x00" * 31 + b"\x02",
    )
    return Workload(
        name=f"amm/swaps{swaps}",
        description=(
            f"Vyper {pool_artifact['vyper_version']} constant-product pool: 3 deploys, "
            f"{2 * len(funded)} mints, {2 * len(funded)} approves, 1 add_liquidity, {swaps} swaps"
        ),
        pre=pre,
        block=block,
        transactions=tuple(transactions),
    )
