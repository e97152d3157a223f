"""Output roots and withdrawal proofs: what the Portal checks, built from a Hyperion state or any EIP-1186 node.

The output root of an L2 block is
``keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)``
with version ``bytes32(0)``. A withdrawal is proven by the storage proof of
its slot in L2ToL1MessagePasser.sentMessages against that block's
messagePasserStorageRoot; the Portal recomputes the output root from the four
fields and compares it with the committed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from eth_abi import encode as abi_encode

from hyperion.primitives.address import to_checksum_address
from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.predeploys import MESSAGE_PASSER_ADDRESS, SENT_MESSAGES_SLOT
from hyperion.trie.proof import InvalidProof, verify_proof

OUTPUT_VERSION = b"\0" * 32
# bounds the Portal enforces (lib_mpt.vy, Portal.vy)
MAX_PROOF_NODES = 24
MAX_NODE_BYTES = 600
MAX_WITHDRAWAL_DATA = 8192


class ProofError(ValueError):
    """A withdrawal proof cannot be built (unknown withdrawal, wrong block, node without proofs)."""


def _bytes20(value: Any) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 20:
        raise ValueError(f"address must be 20 bytes, got {len(raw)}")
    return raw


def _bytes32(value: Any) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"hash must be 32 bytes, got {len(raw)}")
    return raw


def _data(value: Any) -> bytes:
    return bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)


@dataclass(frozen=True)
class Withdrawal:
    """One L2-to-L1 withdrawal, as L2ToL1MessagePasser.MessagePassed reports it."""

    nonce: int
    sender: bytes
    target: bytes
    value: int
    gas_limit: int
    data: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "sender", _bytes20(self.sender))
        object.__setattr__(self, "target", _bytes20(self.target))
        object.__setattr__(self, "data", _data(self.data))
        if len(self.data) > MAX_WITHDRAWAL_DATA:
            raise ValueError(f"withdrawal data is over {MAX_WITHDRAWAL_DATA} bytes")

    @property
    def hash(self) -> bytes:
        """keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)): its key in sentMessages."""
        return keccak256(abi_encode(["uint256", "address", "address", "uint256", "uint256", "bytes"],
                                    [self.nonce, self.sender, self.target, self.value, self.gas_limit, self.data]))

    def abi_tuple(self) -> tuple:
        """The Portal's WithdrawalTransaction struct argument."""
        return (self.nonce, to_checksum_address(self.sender), to_checksum_address(self.target), self.value,
                self.gas_limit, self.data)

    @classmethod
    def from_event(cls, args: Mapping[str, Any]) -> "Withdrawal":
        """From a decoded MessagePassed event's args (web3.py's ``event.args``)."""
        withdrawal = cls(nonce=args["nonce"], sender=args["sender"], target=args["target"], value=args["value"],
                         gas_limit=args["gasLimit"], data=args["data"])
        if "withdrawalHash" in args and _bytes32(args["withdrawalHash"]) != withdrawal.hash:
            raise ProofError("MessagePassed.withdrawalHash does not match the withdrawal's fields")
        return withdrawal


@dataclass(frozen=True)
class OutputRootProof:
    """The preimage of an output root (the Portal's OutputRootProof struct)."""

    state_root: bytes
    message_passer_storage_root: bytes
    latest_blockhash: bytes
    version: bytes = OUTPUT_VERSION

    @property
    def output_root(self) -> bytes:
        return keccak256(self.version + self.state_root + self.message_passer_storage_root + self.latest_blockhash)

    def abi_tuple(self) -> tuple:
        return (self.version, self.state_root, self.message_passer_storage_root, self.latest_blockhash)


@dataclass(frozen=True)
class WithdrawalProof:
    """Everything proveWithdrawal takes besides the output index."""

    withdrawal: Withdrawal
    l2_block_number: int
    output_root_proof: OutputRootProof
    storage_proof: tuple[bytes, ...]


def output_root(state_root: bytes, message_passer_storage_root: bytes, block_hash: bytes) -> bytes:
    """The version-0 output root of an L2 block."""
    return OutputRootProof(_bytes32(state_root), _bytes32(message_passer_storage_root), _bytes32(block_hash)).output_root


def sent_message_slot(withdrawal_hash: bytes) -> int:
    """Storage slot of sentMessages[withdrawal_hash] (Vyper HashMap: keccak256(slot ‖ key))."""
    return int.from_bytes(keccak256(SENT_MESSAGES_SLOT.to_bytes(32, "big") + _bytes32(withdrawal_hash)), "big")


def check_withdrawal_proof(proof: WithdrawalProof) -> None:
    """The Portal's storage check, off chain: raises ProofError unless the proof shows the withdrawal's slot is 1."""
    if len(proof.storage_proof) > MAX_PROOF_NODES or any(len(n) > MAX_NODE_BYTES for n in proof.storage_proof):
        raise ProofError("storage proof exceeds the Portal's bounds")
    slot = sent_message_slot(proof.withdrawal.hash)
    try:
        value = verify_proof(proof.output_root_proof.message_passer_storage_root,
                             keccak256(slot.to_bytes(32, "big")), list(proof.storage_proof))
    except InvalidProof as exc:
        raise ProofError(f"storage proof does not verify: {exc}") from None
    if value != b"\x01":
        raise ProofError("the withdrawal is not in sentMessages at this block")


class ProofState(Protocol):
    def account_proof(self, address: bytes, slots: Sequence[int] = ()) -> dict: ...


def withdrawal_proof_from_state(state: ProofState, withdrawal: Withdrawal, *, l2_block_number: int,
                                state_root: bytes, block_hash: bytes) -> WithdrawalProof:
    """Build the proof from a Hyperion state reader (MemoryState, a MetisDB snapshot) of one L2 block.

    ``state`` must be the state after block ``l2_block_number``, whose header
    has ``state_root`` and hash ``block_hash``.
    """
    slot = sent_message_slot(withdrawal.hash)
    account = state.account_proof(MESSAGE_PASSER_ADDRESS, [slot])
    proof = WithdrawalProof(
        withdrawal=withdrawal, l2_block_number=l2_block_number,
        output_root_proof=OutputRootProof(_bytes32(state_root), _bytes32(account["storageHash"]),
                                          _bytes32(block_hash)),
        storage_proof=tuple(bytes(node) for node in account["storageProof"][0]["proof"]))
    check_withdrawal_proof(proof)
    return proof


def _rpc(w3: Any, method: str, params: list) -> Any:
    response = w3.provider.make_request(method, params)
    if "error" in response:
        raise ProofError(f"{method} failed: {response['error']}")
    return response["result"]


def output_root_proof_from_rpc(w3: Any, l2_block_number: int) -> OutputRootProof:
    """The output-root preimage of L2 block ``l2_block_number`` from an L2 node's JSON-RPC (eth_getProof)."""
    block = _rpc(w3, "eth_getBlockByNumber", [hex(l2_block_number), False])
    if block is None:
        raise ProofError(f"L2 block {l2_block_number} does not exist yet")
    account = _rpc(w3, "eth_getProof", ["0x" + MESSAGE_PASSER_ADDRESS.hex(), [], hex(l2_block_number)])
    return OutputRootProof(_bytes32(block["stateRoot"]), _bytes32(account["storageHash"]), _bytes32(block["hash"]))


def withdrawal_proof_from_rpc(w3: Any, withdrawal: Withdrawal, l2_block_number: int) -> WithdrawalProof:
    """Build the proof with eth_getProof from an L2 node (Hyperion, or any EIP-1186 node) at ``l2_block_number``.

    The block must be at or after the one that initiated the withdrawal:
    usually the block of the output the proof is submitted against.
    """
    block = _rpc(w3, "eth_getBlockByNumber", [hex(l2_block_number), False])
    if block is None:
        raise ProofError(f"L2 block {l2_block_number} does not exist yet")
    slot = "0x" + sent_message_slot(withdrawal.hash).to_bytes(32, "big").hex()
    account = _rpc(w3, "eth_getProof", ["0x" + MESSAGE_PASSER_ADDRESS.hex(), [slot], hex(l2_block_number)])
    proof = WithdrawalProof(
        withdrawal=withdrawal, l2_block_number=l2_block_number,
        output_root_proof=OutputRootProof(_bytes32(block["stateRoot"]), _bytes32(account["storageHash"]),
                                          _bytes32(block["hash"])),
        storage_proof=tuple(_data(node) for node in account["storageProof"][0]["proof"]))
    check_withdrawal_proof(proof)
    return proof
