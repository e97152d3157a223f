"""Typed clients of the rollup contracts: one method per call, one dataclass per event that nodes consume.

Each client wraps a web3.py contract at a known address; sending methods take
the ``Sender`` given to the client (``sender=None`` makes a read-only client).
Reverts raise ``ContractReverted`` with the contract's reason. The event
decoders also accept raw logs (``eth_getLogs`` results), so derivation can
filter by address and topic and decode here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from eth_abi import decode as abi_decode
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from hyperion.primitives.keccak import keccak256
from hyperion.artifacts import load_artifact
from hyperion.rollup.l1.predeploys import L1_BLOCK_ADDRESS, MESSAGE_PASSER_ADDRESS
from hyperion.rollup.l1.proofs import Withdrawal, WithdrawalProof
from hyperion.rollup.l1.transact import ContractReverted, Sender, call
from hyperion.rollup.l1.transact import revert_reason as _revert_reason

ZERO_ADDRESS = "0x" + "00" * 20
DEPOSIT_VERSION = 0
ALIAS_OFFSET = 0x1111000000000000000000000000000000001111

# dispute status (OutputOracle.vy)
PROPOSER_TURN, CHALLENGER_TURN, AWAITING_RESOLUTION, PROPOSER_WON, CHALLENGER_WON, VOID = range(1, 7)
STATUS_NAMES = {0: "none", PROPOSER_TURN: "proposer_turn", CHALLENGER_TURN: "challenger_turn",
                AWAITING_RESOLUTION: "awaiting_resolution", PROPOSER_WON: "proposer_won",
                CHALLENGER_WON: "challenger_won", VOID: "void"}


def event_topic(signature: str) -> bytes:
    return keccak256(signature.encode())


TRANSACTION_DEPOSITED_TOPIC = event_topic("TransactionDeposited(address,address,uint256,bytes)")
BATCH_SUBMITTED_TOPIC = event_topic("BatchSubmitted(address,uint256,bytes32[])")
MESSAGE_PASSED_TOPIC = event_topic("MessagePassed(uint256,address,address,uint256,uint256,bytes,bytes32)")


def apply_l1_to_l2_alias(address: str | bytes) -> bytes:
    """The L2 address of an L1 contract that sends a deposit (OP Stack aliasing)."""
    raw = bytes.fromhex(address.removeprefix("0x")) if isinstance(address, str) else bytes(address)
    return ((int.from_bytes(raw, "big") + ALIAS_OFFSET) % 2**160).to_bytes(20, "big")


def _hexbytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def _log_field(log: Any, name: str) -> Any:
    return log[name] if isinstance(log, dict) else getattr(log, name)


def _topics(log: Any) -> list[bytes]:
    return [_hexbytes(t) for t in _log_field(log, "topics")]


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


# -- events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionDeposited:
    """A deposit as the Portal logged it, with the version-0 opaque data unpacked."""

    sender: bytes          # L2 `from` (already aliased for contract callers)
    to: bytes
    version: int
    mint: int
    value: int
    gas_limit: int
    is_creation: bool
    data: bytes
    block_number: int
    block_hash: bytes
    log_index: int
    transaction_hash: bytes

    @property
    def source_hash(self) -> bytes:
        """The OP Stack user-deposit source hash: keccak256(bytes32(0) ‖ keccak256(l1BlockHash ‖ bytes32(logIndex)))."""
        deposit_id = keccak256(self.block_hash + self.log_index.to_bytes(32, "big"))
        return keccak256(b"\0" * 32 + deposit_id)


class MalformedEvent(ValueError):
    """A log that claims to be a rollup event but does not decode as one."""


def decode_opaque_data(opaque: bytes) -> tuple[int, int, int, bool, bytes]:
    """(mint, value, gasLimit, isCreation, data) from version-0 opaqueData."""
    if len(opaque) < 73:
        raise MalformedEvent(f"opaqueData of {len(opaque)} bytes is shorter than 73")
    if opaque[72] > 1:
        raise MalformedEvent("isCreation byte is neither 0 nor 1")
    return (int.from_bytes(opaque[0:32], "big"), int.from_bytes(opaque[32:64], "big"),
            int.from_bytes(opaque[64:72], "big"), opaque[72] == 1, bytes(opaque[73:]))


def decode_transaction_deposited(log: Any) -> TransactionDeposited:
    """Decode a Portal TransactionDeposited log (a web3 log or a raw eth_getLogs dict)."""
    topics = _topics(log)
    if len(topics) != 4 or topics[0] != TRANSACTION_DEPOSITED_TOPIC:
        raise MalformedEvent("not a TransactionDeposited log")
    version = int.from_bytes(topics[3], "big")
    if version != DEPOSIT_VERSION:
        raise MalformedEvent(f"unknown deposit version {version}")
    (opaque,) = abi_decode(["bytes"], _hexbytes(_log_field(log, "data")))
    mint, value, gas_limit, is_creation, data = decode_opaque_data(opaque)
    return TransactionDeposited(
        sender=topics[1][12:], to=topics[2][12:], version=version, mint=mint, value=value, gas_limit=gas_limit,
        is_creation=is_creation, data=data, block_number=_int(_log_field(log, "blockNumber")),
        block_hash=_hexbytes(_log_field(log, "blockHash")), log_index=_int(_log_field(log, "logIndex")),
        transaction_hash=_hexbytes(_log_field(log, "transactionHash")))


@dataclass(frozen=True)
class BatchSubmitted:
    batcher: bytes
    data_length: int
    blob_hashes: tuple[bytes, ...]
    block_number: int
    transaction_hash: bytes
    log_index: int


def decode_batch_submitted(log: Any) -> BatchSubmitted:
    topics = _topics(log)
    if len(topics) != 2 or topics[0] != BATCH_SUBMITTED_TOPIC:
        raise MalformedEvent("not a BatchSubmitted log")
    data_length, hashes = abi_decode(["uint256", "bytes32[]"], _hexbytes(_log_field(log, "data")))
    return BatchSubmitted(batcher=topics[1][12:], data_length=data_length, blob_hashes=tuple(hashes),
                          block_number=_int(_log_field(log, "blockNumber")),
                          transaction_hash=_hexbytes(_log_field(log, "transactionHash")),
                          log_index=_int(_log_field(log, "logIndex")))


def decode_message_passed(log: Any) -> Withdrawal:
    """The withdrawal an L2ToL1MessagePasser MessagePassed log describes (hash checked)."""
    topics = _topics(log)
    if len(topics) != 4 or topics[0] != MESSAGE_PASSED_TOPIC:
        raise MalformedEvent("not a MessagePassed log")
    value, gas_limit, data, withdrawal_hash = abi_decode(["uint256", "uint256", "bytes", "bytes32"],
                                                         _hexbytes(_log_field(log, "data")))
    return Withdrawal.from_event({"nonce": int.from_bytes(topics[1], "big"), "sender": topics[2][12:],
                                  "target": topics[3][12:], "value": value, "gasLimit": gas_limit, "data": data,
                                  "withdrawalHash": withdrawal_hash})


@dataclass(frozen=True)
class OutputProposal:
    output_root: bytes
    timestamp: int
    l2_block_number: int
    proposer: str
    bond: int


@dataclass(frozen=True)
class Dispute:
    dispute_id: int
    output_index: int
    proposal_id: int
    challenger: str
    proposer: str          # zero when the output was deleted since
    status: int
    deadline: int
    lo: int                # L2 block of the last agreed root
    hi: int                # L2 block of the first disputed root
    agreed_root: bytes
    proposer_root: bytes
    challenger_root: bytes
    mid_root: bytes
    bond: int

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, str(self.status))

    @property
    def midpoint(self) -> int:
        return (self.lo + self.hi) // 2

    @property
    def is_open(self) -> bool:
        return self.status in (PROPOSER_TURN, CHALLENGER_TURN, AWAITING_RESOLUTION)


# -- clients ----------------------------------------------------------------------------


class _Client:
    CONTRACT = ""

    def __init__(self, w3: Web3, address: str | bytes, sender: Optional[Sender | Any] = None) -> None:
        self.w3 = w3
        if isinstance(address, (bytes, bytearray)):
            address = "0x" + bytes(address).hex()
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact(self.CONTRACT)["abi"])
        self.sender = sender if sender is None or isinstance(sender, Sender) else Sender(w3, sender)

    def with_sender(self, sender: Sender | Any) -> "_Client":
        return type(self)(self.w3, self.address, sender)

    def _send(self, function: Any, *, value: int = 0, gas: Optional[int] = None) -> Any:
        if self.sender is None:
            raise ContractReverted(f"this {self.CONTRACT} client has no sender: pass one to send transactions")
        return self.sender.transact(function, value=value, gas=gas)

    def _call(self, function: Any) -> Any:
        return call(function)

    def events(self, name: str, receipt: Any) -> list[dict]:
        """Decoded events ``name`` of one receipt (web3 AttributeDicts)."""
        return list(getattr(self.contract.events, name)().process_receipt(receipt))

    def logs(self, name: str, from_block: int, to_block: int | str = "latest") -> list[Any]:
        return list(getattr(self.contract.events, name)().get_logs(from_block=from_block, to_block=to_block))

    # governance, common to the L1 contracts
    def owner(self) -> str:
        return self._call(self.contract.functions.owner())

    def transfer_ownership(self, new_owner: str) -> Any:
        return self._send(self.contract.functions.transferOwnership(Web3.to_checksum_address(new_owner)))

    def accept_ownership(self) -> Any:
        return self._send(self.contract.functions.acceptOwnership())


class PortalClient(_Client):
    CONTRACT = "Portal"

    def deposit_transaction(self, to: str | None, value: int = 0, gas_limit: int = 100_000, *,
                            is_creation: bool = False, data: bytes = b"", mint: int = 0) -> Any:
        """Deposit: ``mint`` wei (msg.value) arrive at the sender on L2, then ``value`` go to ``to``."""
        target = ZERO_ADDRESS if to is None else to
        return self._send(self.contract.functions.depositTransaction(
            Web3.to_checksum_address(target), value, gas_limit, is_creation, data), value=mint)

    def deposits(self, receipt: Any) -> list[TransactionDeposited]:
        """The deposits one L1 receipt made (any contract's logs are skipped)."""
        return [decode_transaction_deposited(log) for log in receipt["logs"]
                if Web3.to_checksum_address(log["address"]) == self.address
                and _topics(log)[:1] == [TRANSACTION_DEPOSITED_TOPIC]]

    def deposits_in_range(self, from_block: int, to_block: int | str = "latest") -> list[TransactionDeposited]:
        logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": from_block, "toBlock": to_block,
                                     "topics": ["0x" + TRANSACTION_DEPOSITED_TOPIC.hex()]})
        return [decode_transaction_deposited(log) for log in logs]

    def minimum_gas_limit(self, byte_count: int) -> int:
        return self._call(self.contract.functions.minimumGasLimit(byte_count))

    def hash_withdrawal(self, withdrawal: Withdrawal) -> bytes:
        return bytes(self._call(self.contract.functions.hashWithdrawal(withdrawal.abi_tuple())))

    def prove_withdrawal(self, proof: WithdrawalProof, output_index: int, *, gas: Optional[int] = None) -> Any:
        return self._send(self.contract.functions.proveWithdrawal(
            proof.withdrawal.abi_tuple(), output_index, proof.output_root_proof.abi_tuple(),
            list(proof.storage_proof)), gas=gas)

    def finalize_withdrawal(self, withdrawal: Withdrawal, *, gas: Optional[int] = None) -> Any:
        return self._send(self.contract.functions.finalizeWithdrawal(withdrawal.abi_tuple()), gas=gas)

    def proven_withdrawal(self, withdrawal_hash: bytes) -> Optional[tuple[bytes, int, int]]:
        """(outputRoot, L1 timestamp, output index) of the withdrawal's proof, or None if unproven."""
        root, timestamp, index = self._call(self.contract.functions.provenWithdrawals(withdrawal_hash))
        return None if timestamp == 0 else (bytes(root), timestamp, index)

    def is_finalized(self, withdrawal_hash: bytes) -> bool:
        return self._call(self.contract.functions.finalizedWithdrawals(withdrawal_hash))

    def set_deposit_gas_limits(self, max_deposit_gas: int, max_deposit_gas_per_block: int) -> Any:
        return self._send(self.contract.functions.setDepositGasLimits(max_deposit_gas, max_deposit_gas_per_block))


class BatchInboxClient(_Client):
    CONTRACT = "BatchInbox"

    def batcher(self) -> str:
        return self._call(self.contract.functions.batcher())

    def is_authorized_batcher(self, sender: str) -> bool:
        return self._call(self.contract.functions.isAuthorizedBatcher(Web3.to_checksum_address(sender)))

    def submit_calldata(self, batch: bytes, *, gas: Optional[int] = None) -> Any:
        """Post ``batch`` as the calldata of a transaction to the inbox."""
        if not batch:
            raise ValueError("a calldata batch cannot be empty")
        if self.sender is None:
            raise ContractReverted("this BatchInbox client has no sender")
        return self.sender.send({"to": self.address, "data": bytes(batch)}, gas=gas)

    def submit_blobs(self, blobs: Sequence[bytes], *, max_fee_per_blob_gas: Optional[int] = None,
                     gas: int = 100_000, cell_proofs: bool = False) -> Any:
        """Post a type-3 transaction to the inbox carrying ``blobs`` (131072 bytes each; ``blobs.pack_blob``).

        ``cell_proofs`` selects Osaka's (EIP-7594) network wrapper; the default
        is the Cancun/Prague one.
        """
        from hyperion.rollup.l1.blobs import blob_transaction, make_sidecar

        if self.sender is None or self.sender.local is None:
            raise ContractReverted("blob transactions need a sender with a private key")
        sidecar = make_sidecar(blobs, cell_proofs=cell_proofs)
        if max_fee_per_blob_gas is None:
            max_fee_per_blob_gas = 2 * _int(self.w3.provider.make_request("eth_blobBaseFee", [])["result"]) + 1
        call_tx = {"from": self.sender.address, "to": self.address, "data": b"", "value": 0, "gas": gas,
                   "type": 3, "maxFeePerBlobGas": max_fee_per_blob_gas,
                   "blobVersionedHashes": ["0x" + h.hex() for h in sidecar.versioned_hashes]}
        try:  # simulate with the blob hashes, so BLOBHASH sees them and a refusal has its reason
            self.w3.eth.call(call_tx)
        except (ContractLogicError, ContractCustomError) as exc:
            raise ContractReverted(_revert_reason(exc)) from None
        base_fee = self.w3.eth.get_block("latest")["baseFeePerGas"]
        tip = self.w3.eth.max_priority_fee
        tx_hash, raw = blob_transaction(
            chain_id=self.w3.eth.chain_id, nonce=self.w3.eth.get_transaction_count(self.sender.address, "pending"),
            to=bytes.fromhex(self.address[2:]), max_priority_fee_per_gas=tip, max_fee_per_gas=2 * base_fee + tip,
            max_fee_per_blob_gas=max_fee_per_blob_gas, gas=gas, sidecar=sidecar, private_key=self.sender.local.key)
        self.w3.eth.send_raw_transaction(raw)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise ContractReverted(f"blob transaction {tx_hash.hex()} reverted", receipt)
        return receipt

    def batches(self, receipt: Any) -> list[BatchSubmitted]:
        return [decode_batch_submitted(log) for log in receipt["logs"]
                if Web3.to_checksum_address(log["address"]) == self.address
                and _topics(log)[:1] == [BATCH_SUBMITTED_TOPIC]]

    def set_batcher(self, batcher: str) -> Any:
        return self._send(self.contract.functions.setBatcher(Web3.to_checksum_address(batcher)))

    def set_batcher_authority(self, authority: str) -> Any:
        return self._send(self.contract.functions.setBatcherAuthority(Web3.to_checksum_address(authority)))


class OutputOracleClient(_Client):
    CONTRACT = "OutputOracle"

    # reads
    def next_output_index(self) -> int:
        return self._call(self.contract.functions.nextOutputIndex())

    def latest_block_number(self) -> int:
        return self._call(self.contract.functions.latestBlockNumber())

    def next_block_number(self) -> int:
        return self._call(self.contract.functions.nextBlockNumber())

    def get_l2_output(self, index: int) -> OutputProposal:
        root, timestamp, block, proposer, bond = self._call(self.contract.functions.getL2Output(index))
        return OutputProposal(bytes(root), timestamp, block, proposer, bond)

    def output_index_after(self, l2_block_number: int) -> int:
        return self._call(self.contract.functions.getL2OutputIndexAfter(l2_block_number))

    def is_settled(self, index: int) -> bool:
        return self._call(self.contract.functions.isOutputSettled(index))

    def settled_count(self) -> int:
        return self._call(self.contract.functions.settledCount())

    def parameter(self, name: str) -> Any:
        """One public parameter by its Vyper name (submissionInterval, proposerBond, moveTimeout, ...)."""
        return self._call(getattr(self.contract.functions, name)())

    def credit(self, account: str) -> int:
        return self._call(self.contract.functions.credit(Web3.to_checksum_address(account)))

    def dispute_count(self) -> int:
        return self._call(self.contract.functions.disputeCount())

    def get_dispute(self, dispute_id: int) -> Dispute:
        fields = self._call(self.contract.functions.getDispute(dispute_id))
        (index, proposal_id, challenger, proposer, status, deadline, lo, hi, agreed, proposer_root,
         challenger_root, mid_root, bond) = fields
        return Dispute(dispute_id, index, proposal_id, challenger, proposer, status, deadline, lo, hi, bytes(agreed),
                       bytes(proposer_root), bytes(challenger_root), bytes(mid_root), bond)

    def final_step(self, dispute_id: int) -> tuple[int, bytes, bytes, bytes]:
        block, agreed, proposer_root, challenger_root = self._call(self.contract.functions.finalStep(dispute_id))
        return block, bytes(agreed), bytes(proposer_root), bytes(challenger_root)

    # proposer
    def propose_l2_output(self, output_root: bytes, l2_block_number: int, *, l1_block_hash: bytes = b"\0" * 32,
                          l1_block_number: int = 0, bond: Optional[int] = None) -> Any:
        bond = self.parameter("proposerBond") if bond is None else bond
        return self._send(self.contract.functions.proposeL2Output(output_root, l2_block_number, l1_block_hash,
                                                                  l1_block_number), value=bond)

    def propose_midpoint(self, dispute_id: int, output_root: bytes) -> Any:
        return self._send(self.contract.functions.proposeMidpoint(dispute_id, output_root))

    # challenger
    def challenge(self, output_index: int, challenger_root: bytes, *, bond: Optional[int] = None) -> int:
        """Open a dispute; returns its id."""
        bond = self.parameter("challengerBond") if bond is None else bond
        receipt = self._send(self.contract.functions.challenge(output_index, challenger_root), value=bond)
        return self.events("DisputeOpened", receipt)[0]["args"]["disputeId"]

    def answer_midpoint(self, dispute_id: int, output_root: bytes) -> Any:
        return self._send(self.contract.functions.answerMidpoint(dispute_id, output_root))

    # anyone
    def timeout(self, dispute_id: int) -> Any:
        return self._send(self.contract.functions.timeout(dispute_id))

    def void_dispute(self, dispute_id: int) -> Any:
        return self._send(self.contract.functions.voidDispute(dispute_id))

    def settle(self, index: int) -> Any:
        return self._send(self.contract.functions.settle(index))

    def withdraw_credit(self) -> Any:
        return self._send(self.contract.functions.withdrawCredit())

    # owner
    def set_resolver(self, resolver: str) -> Any:
        return self._send(self.contract.functions.setResolver(Web3.to_checksum_address(resolver)))

    def set_proposer(self, proposer: str) -> Any:
        return self._send(self.contract.functions.setProposer(Web3.to_checksum_address(proposer)))


class ThresholdResolverClient(_Client):
    CONTRACT = "ThresholdResolver"

    def members(self) -> list[str]:
        count = self._call(self.contract.functions.memberCount())
        return [self._call(self.contract.functions.members(i)) for i in range(count)]

    def threshold(self) -> int:
        return self._call(self.contract.functions.threshold())

    def votes(self, dispute_id: int, proposer_wins: bool) -> int:
        return self._call(self.contract.functions.votes(dispute_id, proposer_wins))

    def vote(self, dispute_id: int, proposer_wins: bool) -> Any:
        return self._send(self.contract.functions.vote(dispute_id, proposer_wins))

    def verdict_digest(self, dispute_id: int, proposer_wins: bool) -> bytes:
        return bytes(self._call(self.contract.functions.verdictDigest(dispute_id, proposer_wins)))

    def sign_verdict(self, private_key: Any, dispute_id: int, proposer_wins: bool) -> tuple[str, bytes]:
        """(signer address, 65-byte r ‖ s ‖ v signature) of a member's verdict, for resolve_with_signatures."""
        from eth_account import Account

        account = Account.from_key(private_key)
        signed = account.unsafe_sign_hash(self.verdict_digest(dispute_id, proposer_wins))
        return account.address, signed.signature

    def resolve_with_signatures(self, dispute_id: int, proposer_wins: bool,
                                signatures: Iterable[tuple[str, bytes]]) -> Any:
        """Submit members' signatures (any order: they are sorted by signer here)."""
        ordered = [sig for _, sig in sorted(signatures, key=lambda item: int(item[0], 16))]
        return self._send(self.contract.functions.resolveWithSignatures(dispute_id, proposer_wins, ordered))

    def set_members(self, members: Sequence[str], threshold: int) -> Any:
        return self._send(self.contract.functions.setMembers([Web3.to_checksum_address(m) for m in members],
                                                             threshold))


class MessagePasserClient(_Client):
    """The L2ToL1MessagePasser predeploy, on an L2 node."""

    CONTRACT = "L2ToL1MessagePasser"

    def __init__(self, w3: Web3, address: str | bytes = MESSAGE_PASSER_ADDRESS,
                 sender: Optional[Sender | Any] = None) -> None:
        super().__init__(w3, address, sender)

    def initiate_withdrawal(self, target: str, gas_limit: int = 100_000, data: bytes = b"", *,
                            value: int = 0) -> Any:
        return self._send(self.contract.functions.initiateWithdrawal(Web3.to_checksum_address(target), gas_limit,
                                                                     data), value=value)

    def withdrawals(self, receipt: Any) -> list[Withdrawal]:
        """The withdrawals an L2 receipt initiated."""
        return [decode_message_passed(log) for log in receipt["logs"]
                if Web3.to_checksum_address(log["address"]) == self.address
                and _topics(log)[:1] == [MESSAGE_PASSED_TOPIC]]

    def is_sent(self, withdrawal_hash: bytes) -> bool:
        return self._call(self.contract.functions.sentMessages(withdrawal_hash))

    def message_nonce(self) -> int:
        return self._call(self.contract.functions.messageNonce())


class L1BlockClient(_Client):
    """The L1Block predeploy, on an L2 node (reads only: only the depositor account may write)."""

    CONTRACT = "L1Block"
    FIELDS = ("number", "timestamp", "basefee", "hash", "sequenceNumber", "batcherHash", "blobBaseFee",
              "baseFeeScalar", "blobBaseFeeScalar")

    def __init__(self, w3: Web3, address: str | bytes = L1_BLOCK_ADDRESS,
                 sender: Optional[Sender | Any] = None) -> None:
        super().__init__(w3, address, sender)

    def values(self) -> dict[str, Any]:
        return {name: self._call(getattr(self.contract.functions, name)()) for name in self.FIELDS}


def encode_set_l1_block_values(number: int, timestamp: int, basefee: int, block_hash: bytes, sequence_number: int,
                               batcher_hash: bytes, blob_base_fee: int, base_fee_scalar: int = 0,
                               blob_base_fee_scalar: int = 0) -> bytes:
    """Calldata of the L1-info deposit: L1Block.setL1BlockValues(...)."""
    from eth_abi import encode as abi_encode

    selector = keccak256(b"setL1BlockValues(uint64,uint64,uint256,bytes32,uint64,bytes32,uint256,uint32,uint32)")[:4]
    return selector + abi_encode(
        ["uint64", "uint64", "uint256", "bytes32", "uint64", "bytes32", "uint256", "uint32", "uint32"],
        [number, timestamp, basefee, block_hash, sequence_number, batcher_hash, blob_base_fee, base_fee_scalar,
         blob_base_fee_scalar])
