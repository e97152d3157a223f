"""Blocks for the parallel executor: accounts, contracts and transaction mixes.

Used by ``hyperion bench mpef`` and by the parallel-vs-sequential tests.
The contracts are a few lines of hand-assembled EVM each, so what they do
is plain to see:

- ``TOKEN``: an ERC-20-like token, balance of ``a`` in slot ``a``;
  ``transfer(to, amount)`` is calldata ``to ‖ amount`` (32 bytes each),
  reverts when the balance is short, logs ``Transfer``;
- ``PAIR``: a constant-product pool with reserves in slots 0 and 1;
  ``swap(amount_in)`` moves both reserves and logs the amount out;
- ``COUNTER``: increments slot 0 and logs the new value (full contention);
- ``REVERTER``: writes a slot, then reverts;
- ``FACTORY``: CREATE2 of a child whose code self-destructs to its caller,
  optionally calling it at once (calldata ``salt ‖ mode``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hyperion.primitives.keccak import keccak256
from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.primitives.transactions import FeeMarketTransaction, SetCodeTransaction, sign_authorization

CHAIN_ID = 4711
GWEI = 10**9
BASE_FEE = 7
COINBASE = bytes.fromhex("c0ffee0000000000000000000000000000000c0b")
FEE_VAULT = bytes.fromhex("4200000000000000000000000000000000000019")

_OPS = {
    "STOP": 0x00, "ADD": 0x01, "MUL": 0x02, "SUB": 0x03, "DIV": 0x04, "GT": 0x11, "ISZERO": 0x15,
    "CALLDATALOAD": 0x35, "CALLER": 0x33, "POP": 0x50, "MSTORE": 0x52, "SLOAD": 0x54, "SSTORE": 0x55,
    "JUMPI": 0x57, "GAS": 0x5A, "JUMPDEST": 0x5B, "DUP1": 0x80, "DUP2": 0x81, "DUP3": 0x82, "DUP6": 0x85,
    "SWAP1": 0x90, "SWAP2": 0x91, "LOG0": 0xA0, "LOG1": 0xA1, "LOG3": 0xA3, "CREATE2": 0xF5, "CALL": 0xF1,
    "RETURN": 0xF3, "REVERT": 0xFD, "SELFDESTRUCT": 0xFF,
}


def assemble(*items) -> bytes:
    """Opcode names, ints (PUSH1), bytes (pushed as they are),
    and ``("LABEL", name)`` / ``("TO", name)`` for jump targets (PUSH1)."""
    labels: dict[str, int] = {}
    for _ in range(2):  # second pass: labels known
        out = bytearray()
        for item in items:
            if isinstance(item, str):
                out.append(_OPS[item])
            elif isinstance(item, int):
                out += bytes((0x60, item))
            elif isinstance(item, bytes):
                out.append(0x5F + len(item))
                out += item
            elif item[0] == "LABEL":
                labels[item[1]] = len(out)
                out.append(_OPS["JUMPDEST"])
            elif item[0] == "TO":
                out += bytes((0x60, labels.get(item[1], 0)))
        code = bytes(out)
    return code


TRANSFER_TOPIC = keccak256(b"Transfer(address,address,uint256)")
TOKEN = assemble(
    "CALLER", "SLOAD", 32, "CALLDATALOAD", "DUP2", "DUP2", "GT", ("TO", "short"), "JUMPI",
    "SWAP1", "SUB", "CALLER", "SSTORE",
    0, "CALLDATALOAD", "SLOAD", 32, "CALLDATALOAD", "ADD", 0, "CALLDATALOAD", "SSTORE",
    32, "CALLDATALOAD", 0, "MSTORE",
    0, "CALLDATALOAD", "CALLER", TRANSFER_TOPIC, 32, 0, "LOG3", "STOP",
    ("LABEL", "short"), 0, 0, "REVERT",
)
PAIR = assemble(  # out = r1 * in / (r0 + in); r0 += in; r1 -= out
    0, "CALLDATALOAD", "DUP1", 0, "SLOAD", "ADD",  # [in, r0+in]
    "DUP1", 0, "SSTORE",  # [in, r0']
    "SWAP1", 1, "SLOAD", "MUL", "DIV",  # [r1*in/r0'] = out
    "DUP1", 1, "SLOAD", "SUB", 1, "SSTORE",  # r1 -= out; [out]
    0, "MSTORE", 32, 0, "LOG0", "STOP",
)
COUNTER = assemble(0, "SLOAD", 1, "ADD", "DUP1", 0, "SSTORE", 0, "MSTORE", 32, 0, "LOG0", "STOP")
REVERTER = assemble(1, 0, "SSTORE", 0, 0, "REVERT")
_CHILD_INIT = assemble(b"\x33\xff", 0, "MSTORE", 2, 30, "RETURN")  # deploys CALLER SELFDESTRUCT
FACTORY = assemble(
    _CHILD_INIT, 0, "MSTORE",
    0, "CALLDATALOAD", len(_CHILD_INIT), 32 - len(_CHILD_INIT), 0, "CREATE2",  # [child]
    32, "CALLDATALOAD", "ISZERO", ("TO", "end"), "JUMPI",
    0, 0, 0, 0, 0, "DUP6", "GAS", "CALL", "POP",
    ("LABEL", "end"), "STOP",
)


def _address(tag: str, number: int) -> bytes:
    return keccak256(f"{tag}-{number}".encode())[12:]


@dataclass
class World:
    """A pre-state: ``alloc`` maps address -> (nonce, balance, code, storage)."""

    keys: list[bytes]
    senders: list[bytes]
    alloc: dict = field(default_factory=dict)
    tokens: list[bytes] = field(default_factory=list)
    pairs: list[bytes] = field(default_factory=list)
    counter: bytes = b""
    reverter: bytes = b""
    factory: bytes = b""
    nonces: list[int] = field(default_factory=list)

    def next_nonce(self, sender_index: int) -> int:
        self.nonces[sender_index] += 1
        return self.nonces[sender_index] - 1

    def load_into(self, state) -> None:
        """Write the pre-state into a ``MemoryState`` (or any state with ``set_account``) or a pending state."""
        for address, (nonce, balance, code, storage) in self.alloc.items():
            if hasattr(state, "set_account"):
                state.set_account(address, nonce=nonce, balance=balance, code=code, storage=storage)
            else:
                state.set_nonce(address, nonce)
                state.set_balance(address, balance)
                if code:
                    state.set_code(address, code)
                for key, value in storage.items():
                    state.set_storage(address, key, value)


def make_world(accounts: int, *, tokens: int = 1, pairs: int = 1, seed: int = 1) -> World:
    """``accounts`` funded senders (each holding every token), the contracts, ``pairs`` pools."""
    keys = [keccak256(f"mpef-key-{seed}-{i}".encode()) for i in range(accounts)]
    senders = [private_key_to_address(key) for key in keys]
    world = World(keys, senders, nonces=[0] * accounts)
    for address in senders:
        world.alloc[address] = (0, 10**24, b"", {})
    for number in range(tokens):
        address = _address("token", number)
        world.tokens.append(address)
        world.alloc[address] = (1, 0, TOKEN, {int.from_bytes(s, "big"): 10**30 for s in senders})
    for number in range(pairs):
        address = _address("pair", number)
        world.pairs.append(address)
        world.alloc[address] = (1, 0, PAIR, {0: 10**30, 1: 10**30})
    world.counter, world.reverter, world.factory = _address("counter", 0), _address("reverter", 0), \
        _address("factory", 0)
    for address, code in ((world.counter, COUNTER), (world.reverter, REVERTER), (world.factory, FACTORY)):
        world.alloc[address] = (1, 0, code, {})
    return world


def _tx(world: World, sender: int, to, value: int = 0, data: bytes = b"", gas: int = 100_000):
    return FeeMarketTransaction(CHAIN_ID, world.next_nonce(sender), GWEI, 2 * GWEI, gas, to, value,
                                data).signed(world.keys[sender])


def eth_transfer(world: World, sender: int, to: bytes, value: int = 10**15):
    return _tx(world, sender, to, value, gas=21_000)


def token_transfer(world: World, sender: int, token: bytes, to: bytes, amount: int = 10**18):
    return _tx(world, sender, token, 0, to.rjust(32, b"\0") + amount.to_bytes(32, "big"), gas=60_000)


def swap(world: World, sender: int, pair: bytes, amount: int = 10**18):
    return _tx(world, sender, pair, 0, amount.to_bytes(32, "big"), gas=60_000)


def call(world: World, sender: int, to: bytes, data: bytes = b"", value: int = 0, gas: int = 200_000):
    return _tx(world, sender, to, value, data, gas=gas)


def create(world: World, sender: int, runtime: bytes = COUNTER):
    """A contract creation whose initcode returns ``runtime``."""
    # PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN, then the runtime
    initcode = bytes((0x60, len(runtime), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xF3)) + runtime
    return _tx(world, sender, None, 0, initcode, gas=200_000)


def delegate(world: World, sender: int, authority: int, target: bytes):
    """EIP-7702: ``authority`` delegates its code to ``target`` (sent by ``sender``)."""
    auth_nonce = world.nonces[authority] + (1 if authority == sender else 0)
    if authority == sender:
        nonce = world.next_nonce(sender)
        world.nonces[sender] += 1  # the authorization bumps it again
    else:
        nonce = world.next_nonce(sender)
        world.nonces[authority] += 1
    auth = sign_authorization(CHAIN_ID, target, auth_nonce, world.keys[authority])
    return SetCodeTransaction(CHAIN_ID, nonce, GWEI, 2 * GWEI, 100_000, world.senders[authority], 0, b"", (),
                              (auth,)).signed(world.keys[sender])


# -- the benchmark's blocks (about 30M gas each) --------------------------------------------
def eth_transfers_block(world: World, count: int) -> list:
    """Independent ETH transfers: distinct senders to fresh recipients."""
    return [eth_transfer(world, i % len(world.keys), _address("recipient", i)) for i in range(count)]


def token_transfers_block(world: World, count: int) -> list:
    """ERC-20 transfers among many holders (each sender once per round, to a fresh holder)."""
    token = world.tokens[0]
    return [token_transfer(world, i % len(world.keys), token, _address("holder", i)) for i in range(count)]


def independent_swaps_block(world: World, count: int) -> list:
    """Swaps spread over many pools."""
    return [swap(world, i % len(world.keys), world.pairs[i % len(world.pairs)]) for i in range(count)]


def one_pool_block(world: World, count: int) -> list:
    """Every swap on one pool: full conflict."""
    return [swap(world, i % len(world.keys), world.pairs[0]) for i in range(count)]


def mixed_block(world: World, count: int, seed: int = 7) -> list:
    """Transfers, token transfers, swaps on many pools, a few on one counter, reverts."""
    rng = random.Random(seed)
    txs = []
    for i in range(count):
        sender = i % len(world.keys)
        kind = rng.random()
        if kind < 0.35:
            txs.append(eth_transfer(world, sender, _address("recipient", rng.randrange(count))))
        elif kind < 0.65:
            txs.append(token_transfer(world, sender, world.tokens[rng.randrange(len(world.tokens))],
                                      world.senders[rng.randrange(len(world.senders))]))
        elif kind < 0.9:
            txs.append(swap(world, sender, world.pairs[rng.randrange(len(world.pairs))]))
        elif kind < 0.95:
            txs.append(call(world, sender, world.counter))
        else:
            txs.append(call(world, sender, world.reverter))
    return txs


__all__ = ["BASE_FEE", "CHAIN_ID", "COINBASE", "COUNTER", "FACTORY", "FEE_VAULT", "PAIR", "REVERTER", "TOKEN",
           "World", "assemble", "call", "create", "delegate", "eth_transfer", "eth_transfers_block",
           "independent_swaps_block", "make_world", "mixed_block", "one_pool_block", "swap", "token_transfer",
           "token_transfers_block"]
