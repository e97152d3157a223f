# pragma version ==0.4.3
# @title Portal: deposits into the L2 and withdrawals out of it, with Merkle-Patricia proofs
# @notice depositTransaction locks ETH here and emits TransactionDeposited,
#         which L2 derivation turns into a deposit transaction (type 0x7E)
#         that mints the ETH on L2. A withdrawal starts on L2 in the
#         L2ToL1MessagePasser, which records its hash in `sentMessages`.
#         proveWithdrawal checks, against an output root committed in the
#         OutputOracle, a storage proof that the hash is in that mapping;
#         finalizeWithdrawal pays it out (ETH and a call with data) once that
#         output has settled: its challenge window passed with no dispute
#         open on it or on any output before it. Each withdrawal is paid once.
#         A proof made against an output that a dispute later deleted cannot
#         be finalized; the withdrawal may be proven again against a new output.

from . import lib_owned as owned
from . import lib_mpt as mpt

initializes: owned

exports: (owned.owner, owned.pendingOwner, owned.transferOwnership, owned.acceptOwnership)

# the same bound as L2ToL1MessagePasser.MAX_DATA_BYTES
MAX_WITHDRAWAL_DATA: constant(uint256) = 8192
MAX_DEPOSIT_DATA: constant(uint256) = 32768
DEPOSIT_VERSION: constant(uint256) = 0
OUTPUT_VERSION: constant(bytes32) = empty(bytes32)
# storage slot of L2ToL1MessagePasser.sentMessages (a Vyper HashMap: slot of key = keccak256(slot ‖ key))
SENT_MESSAGES_SLOT: constant(bytes32) = empty(bytes32)
# an L1 contract's address seen from L2 (OP Stack aliasing)
ALIAS_OFFSET: constant(uint256) = 97431955772380292505369553133200691419628441873  # 0x1111000000000000000000000000000000001111
# gas kept back around the withdrawal's call (the call itself, event, bookkeeping)
FINALIZE_GAS_OVERHEAD: constant(uint256) = 40_000

struct WithdrawalTransaction:
    nonce: uint256
    sender: address
    target: address
    value: uint256
    gasLimit: uint256
    data: Bytes[MAX_WITHDRAWAL_DATA]

struct OutputRootProof:
    version: bytes32
    stateRoot: bytes32
    messagePasserStorageRoot: bytes32
    latestBlockhash: bytes32

struct ProvenWithdrawal:
    outputRoot: bytes32
    timestamp: uint256
    l2OutputIndex: uint256

struct OutputProposal:
    outputRoot: bytes32
    timestamp: uint256
    l2BlockNumber: uint256
    proposer: address
    bond: uint256

interface IOutputOracle:
    def getL2Output(_l2OutputIndex: uint256) -> OutputProposal: view
    def nextOutputIndex() -> uint256: view
    def settle(_l2OutputIndex: uint256) -> bool: nonpayable

event TransactionDeposited:
    sender: indexed(address)
    to: indexed(address)
    version: indexed(uint256)
    opaqueData: Bytes[MAX_DEPOSIT_DATA + 73]

event WithdrawalProven:
    withdrawalHash: indexed(bytes32)
    sender: indexed(address)
    target: indexed(address)
    l2OutputIndex: uint256

event WithdrawalFinalized:
    withdrawalHash: indexed(bytes32)
    success: bool

event ParameterSet:
    name: String[32]
    value: uint256

oracle: public(immutable(address))
provenWithdrawals: public(HashMap[bytes32, ProvenWithdrawal])
finalizedWithdrawals: public(HashMap[bytes32, bool])
# the L2 sender of the withdrawal being paid out, for its target to read (zero otherwise)
l2Sender: public(transient(address))

# deposit gas: at least 21000 + 16 per data byte, at most maxDepositGas each and
# maxDepositGasPerBlock for all deposits of one L1 block together
maxDepositGas: public(uint256)
maxDepositGasPerBlock: public(uint256)
# L1 block number << 192 | deposit gas used in that block
_blockDepositGas: uint256


@deploy
def __init__(_owner: address, _oracle: address, _maxDepositGas: uint256, _maxDepositGasPerBlock: uint256):
    owned.__init__(_owner)
    assert _oracle != empty(address), "oracle is the zero address"
    assert _maxDepositGas >= 21_000 and _maxDepositGasPerBlock >= _maxDepositGas, "bad deposit gas limits"
    oracle = _oracle
    self.maxDepositGas = _maxDepositGas
    self.maxDepositGasPerBlock = _maxDepositGasPerBlock


# -- deposits ---------------------------------------------------------------------

@external
@pure
def minimumGasLimit(_byteCount: uint256) -> uint64:
    """The least L2 gas a deposit carrying `_byteCount` bytes of data may buy."""
    return convert(21_000 + 16 * _byteCount, uint64)


@internal
@payable
def _deposit(to: address, l2_value: uint256, gas_limit: uint64, is_creation: bool, data: Bytes[MAX_DEPOSIT_DATA]):
    assert not is_creation or to == empty(address), "contract creation deposits must have no target"
    gas: uint256 = convert(gas_limit, uint256)
    assert gas >= 21_000 + 16 * len(data), "gas limit below minimumGasLimit"
    assert gas <= self.maxDepositGas, "gas limit above maxDepositGas"
    used: uint256 = gas
    packed: uint256 = self._blockDepositGas
    if packed >> 192 == block.number:
        used += packed & (2**192 - 1)
    assert used <= self.maxDepositGasPerBlock, "deposit gas of this L1 block is used up"
    self._blockDepositGas = (block.number << 192) | used
    sender: address = msg.sender
    if msg.sender != tx.origin:
        sender = convert(convert((convert(msg.sender, uint256) + ALIAS_OFFSET) & (2**160 - 1), uint160), address)
    # version 0: mint ‖ value ‖ gasLimit ‖ isCreation ‖ data, as the OP Stack lays it out
    opaque: Bytes[MAX_DEPOSIT_DATA + 73] = concat(
        convert(msg.value, bytes32), convert(l2_value, bytes32), convert(gas_limit, bytes8),
        convert(is_creation, bytes1), data)
    log TransactionDeposited(sender=sender, to=to, version=DEPOSIT_VERSION, opaqueData=opaque)


@external
@payable
def depositTransaction(_to: address, _value: uint256, _gasLimit: uint64, _isCreation: bool,
                       _data: Bytes[MAX_DEPOSIT_DATA]):
    """Send an L2 transaction from L1. msg.value is minted to the sender on L2 first; `_value` then goes to `_to`.

    A contract caller appears on L2 under its aliased address (+0x1111...1111).
    """
    self._deposit(_to, _value, _gasLimit, _isCreation, _data)


@external
@payable
def __default__():
    """Plain ETH sent here is deposited to the same address on L2 (100,000 L2 gas)."""
    self._deposit(msg.sender, msg.value, 100_000, False, b"")


# -- withdrawals ------------------------------------------------------------------

@internal
@pure
def _hash_withdrawal(wd: WithdrawalTransaction) -> bytes32:
    return keccak256(abi_encode(wd.nonce, wd.sender, wd.target, wd.value, wd.gasLimit, wd.data))


@external
@pure
def hashWithdrawal(_tx: WithdrawalTransaction) -> bytes32:
    """keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)): the key in sentMessages."""
    return self._hash_withdrawal(_tx)


@internal
@view
def _output_root_at(index: uint256) -> bytes32:
    """The current root at `index`, or empty when the index holds no output (deleted)."""
    if index >= staticcall IOutputOracle(oracle).nextOutputIndex():
        return empty(bytes32)
    return (staticcall IOutputOracle(oracle).getL2Output(index)).outputRoot


@external
def proveWithdrawal(_tx: WithdrawalTransaction, _l2OutputIndex: uint256, _outputRootProof: OutputRootProof,
                    _withdrawalProof: DynArray[Bytes[mpt.MAX_NODE_BYTES], mpt.MAX_PROOF_NODES]):
    """Prove that L2 output `_l2OutputIndex` holds withdrawal `_tx` in the message passer's sentMessages.

    `_outputRootProof` are the preimage fields of the output root and
    `_withdrawalProof` is the storage proof (eth_getProof's storageProof.proof
    of the sentMessages slot) against messagePasserStorageRoot.
    """
    assert _tx.target != self, "withdrawals cannot target the portal"
    output_root: bytes32 = self._output_root_at(_l2OutputIndex)
    assert output_root != empty(bytes32), "no output at this index"
    assert _outputRootProof.version == OUTPUT_VERSION, "unknown output root version"
    assert keccak256(concat(_outputRootProof.version, _outputRootProof.stateRoot,
                            _outputRootProof.messagePasserStorageRoot, _outputRootProof.latestBlockhash)) \
        == output_root, "output root proof does not match the output"
    withdrawal_hash: bytes32 = self._hash_withdrawal(_tx)
    assert not self.finalizedWithdrawals[withdrawal_hash], "withdrawal already finalized"
    previous: ProvenWithdrawal = self.provenWithdrawals[withdrawal_hash]
    if previous.timestamp != 0:
        assert self._output_root_at(previous.l2OutputIndex) != previous.outputRoot, "withdrawal already proven"
    slot: bytes32 = keccak256(concat(SENT_MESSAGES_SLOT, withdrawal_hash))
    assert mpt.storage_value(_outputRootProof.messagePasserStorageRoot, keccak256(slot), _withdrawalProof) == 1, \
        "withdrawal is not in the message passer's storage"
    self.provenWithdrawals[withdrawal_hash] = ProvenWithdrawal(
        outputRoot=output_root, timestamp=block.timestamp, l2OutputIndex=_l2OutputIndex)
    log WithdrawalProven(withdrawalHash=withdrawal_hash, sender=_tx.sender, target=_tx.target,
                         l2OutputIndex=_l2OutputIndex)


@external
@nonreentrant
def finalizeWithdrawal(_tx: WithdrawalTransaction):
    """Pay out a proven withdrawal whose output has settled: send `value` to `target` and call it with `data`.

    If the call fails, the whole transaction reverts and the withdrawal stays
    finalizable, so nobody's ETH is lost to a failing or underfunded call.
    """
    withdrawal_hash: bytes32 = self._hash_withdrawal(_tx)
    assert not self.finalizedWithdrawals[withdrawal_hash], "withdrawal already finalized"
    proven: ProvenWithdrawal = self.provenWithdrawals[withdrawal_hash]
    assert proven.timestamp != 0, "withdrawal has not been proven"
    assert self._output_root_at(proven.l2OutputIndex) == proven.outputRoot, \
        "the output this withdrawal was proven against was deleted: prove it again"
    assert extcall IOutputOracle(oracle).settle(proven.l2OutputIndex), \
        "output is not settled yet (challenge window open, or a dispute pending on it or an earlier output)"
    self.finalizedWithdrawals[withdrawal_hash] = True
    assert msg.gas >= _tx.gasLimit + _tx.gasLimit // 63 + FINALIZE_GAS_OVERHEAD, \
        "not enough gas left for the withdrawal's gas limit"
    self.l2Sender = _tx.sender
    success: bool = raw_call(_tx.target, _tx.data, value=_tx.value, gas=_tx.gasLimit, revert_on_failure=False)
    self.l2Sender = empty(address)
    assert success, "withdrawal call failed"
    log WithdrawalFinalized(withdrawalHash=withdrawal_hash, success=success)


# -- governance -------------------------------------------------------------------

@external
def setDepositGasLimits(_maxDepositGas: uint256, _maxDepositGasPerBlock: uint256):
    owned._only_owner()
    assert _maxDepositGas >= 21_000 and _maxDepositGasPerBlock >= _maxDepositGas, "bad deposit gas limits"
    self.maxDepositGas = _maxDepositGas
    self.maxDepositGasPerBlock = _maxDepositGasPerBlock
    log ParameterSet(name="maxDepositGas", value=_maxDepositGas)
    log ParameterSet(name="maxDepositGasPerBlock", value=_maxDepositGasPerBlock)
