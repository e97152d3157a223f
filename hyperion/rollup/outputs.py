"""Output roots: the L2 state commitment posted to L1, and the OutputOracle as the node roles see it.

``outputRoot = keccak256(bytes32(0) ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)``
(the OP Stack's version 0; ``hyperion.rollup.l1.proofs.output_root``): the
state root for state proofs, the ``L2ToL1MessagePasser`` storage root for
withdrawal proofs, the block hash to pin the block.

``OracleView`` reads the oracle's state with ``eth_call`` (async, through
the node's L1 client); the roles send their moves with ``L1Signer``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from hyperion.rollup.deposits import MESSAGE_PASSER_ADDRESS
from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1client import L1Client
from hyperion.rollup.l1.proofs import OUTPUT_VERSION, output_root
from hyperion.rollup.l1tx import call_data, decode_result

__all__ = ["OUTPUT_VERSION", "OracleView", "output_at", "output_root"]
WRONG_OUTPUT_ENV = "HYPERION_TEST_WRONG_OUTPUT_FROM"

# dispute status (OutputOracle)
PROPOSER_TURN = 1
CHALLENGER_TURN = 2
AWAITING_RESOLUTION = 3
PROPOSER_WON = 4
CHALLENGER_WON = 5
VOID = 6
OPEN_STATUSES = (PROPOSER_TURN, CHALLENGER_TURN, AWAITING_RESOLUTION)


def output_at(chain: RollupChain, number: int, wrong_from: Optional[int] = None) -> bytes:
    """The output root of L2 block ``number``; from ``wrong_from`` on, a deliberately wrong one (test hook)."""
    block = chain.block_by_number(number)
    if block is None:
        raise LookupError(f"no L2 block {number}")
    reader = chain.state_at(block)
    try:
        storage_root = reader.storage_root(MESSAGE_PASSER_ADDRESS)
    finally:
        reader.close()
    state_root = block.header.state_root
    if wrong_from is not None and number >= wrong_from:
        state_root = bytes(a ^ b for a, b in zip(state_root, bytes(31) + b"\x01"))
    return output_root(state_root, storage_root, block.hash)


def wrong_output_hook() -> Optional[int]:
    value = os.environ.get(WRONG_OUTPUT_ENV)
    return int(value) if value else None


@dataclass(frozen=True)
class Output:
    index: int
    root: bytes
    timestamp: int
    l2_block: int
    proposer: bytes
    bond: int


@dataclass(frozen=True)
class Dispute:
    id: int
    output_index: int
    challenger: bytes
    proposer: bytes
    status: int
    deadline: int
    lo: int
    hi: int
    agreed_root: bytes
    proposer_root: bytes
    challenger_root: bytes
    mid_root: bytes

    @property
    def midpoint(self) -> int:
        return (self.lo + self.hi) // 2


class OracleView:
    """Read-only calls to the OutputOracle (and its resolver)."""

    def __init__(self, client: L1Client, oracle: bytes):
        self.client = client
        self.address = oracle

    async def _call(self, signature: str, types: list[str], *args, to: Optional[bytes] = None):
        raw = await self.client.eth_call(to or self.address, call_data(signature, *args))
        return decode_result(types, raw)

    async def uint(self, name: str, *args, to: Optional[bytes] = None) -> int:
        arg_types = ",".join("uint256" if isinstance(a, int) else "address" for a in args)
        return (await self._call(f"{name}({arg_types})", ["uint256"], *args, to=to))[0]

    async def next_block_number(self) -> int:
        return await self.uint("nextBlockNumber")

    async def next_output_index(self) -> int:
        return await self.uint("nextOutputIndex")

    async def output(self, index: int) -> Output:
        (root, timestamp, l2_block, proposer, bond), = await self._call(
            "getL2Output(uint256)", ["(bytes32,uint256,uint256,address,uint256)"], index)
        return Output(index, bytes(root), timestamp, l2_block, bytes.fromhex(proposer[2:]), bond)

    async def dispute(self, dispute_id: int) -> Dispute:
        (fields,) = await self._call(
            "getDispute(uint256)",
            ["(uint256,uint256,address,address,uint256,uint256,uint256,uint256,bytes32,bytes32,bytes32,bytes32,uint256)"],
            dispute_id)
        (output_index, _proposal, challenger, proposer, status, deadline, lo, hi, agreed, proposer_root,
         challenger_root, mid_root, _bond) = fields
        return Dispute(dispute_id, output_index, bytes.fromhex(challenger[2:]), bytes.fromhex(proposer[2:]), status,
                       deadline, lo, hi, bytes(agreed), bytes(proposer_root), bytes(challenger_root), bytes(mid_root))

    async def resolver(self) -> bytes:
        (address,) = await self._call("resolver()", ["address"])
        return bytes.fromhex(address[2:])
