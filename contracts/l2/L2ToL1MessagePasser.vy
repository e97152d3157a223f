# pragma version ==0.4.3
# @title L2ToL1MessagePasser: where withdrawals to L1 begin (L2 predeploy at 0x4200...0016)
# @notice initiateWithdrawal records keccak256(abi.encode(nonce, sender,
#         target, value, gasLimit, data)) in `sentMessages`. The storage root
#         of this contract is part of every output root, so the Portal on L1
#         can check a withdrawal with a storage proof of one slot.
#         Storage layout (fixed: the Portal and the proof builders rely on it):
#             slot 0  sentMessages  HashMap[bytes32, bool]
#                     the slot of hash h is keccak256(uint256(0) ‖ h)
#                     (Vyper's HashMap order), its value 1
#             slot 1  msgNonce      uint256
#         ETH sent with a withdrawal stays here until burn() destroys it.

# the same bound as Portal.MAX_WITHDRAWAL_DATA
MAX_DATA_BYTES: constant(uint256) = 8192
# gas a plain ETH transfer to this contract buys for its L1 payout
RECEIVE_DEFAULT_GAS_LIMIT: constant(uint256) = 100_000

event MessagePassed:
    nonce: indexed(uint256)
    sender: indexed(address)
    target: indexed(address)
    value: uint256
    gasLimit: uint256
    data: Bytes[MAX_DATA_BYTES]
    withdrawalHash: bytes32

event WithdrawerBalanceBurnt:
    amount: indexed(uint256)

sentMessages: public(HashMap[bytes32, bool])
msgNonce: public(uint256)


@external
@view
def messageNonce() -> uint256:
    """The nonce the next withdrawal gets."""
    return self.msgNonce


@internal
@payable
def _initiate(target: address, gas_limit: uint256, data: Bytes[MAX_DATA_BYTES]):
    nonce: uint256 = self.msgNonce
    withdrawal_hash: bytes32 = keccak256(abi_encode(nonce, msg.sender, target, msg.value, gas_limit, data))
    self.sentMessages[withdrawal_hash] = True
    self.msgNonce = nonce + 1
    log MessagePassed(nonce=nonce, sender=msg.sender, target=target, value=msg.value, gasLimit=gas_limit,
                      data=data, withdrawalHash=withdrawal_hash)


@external
@payable
def initiateWithdrawal(_target: address, _gasLimit: uint256, _data: Bytes[MAX_DATA_BYTES]):
    """Withdraw msg.value to `_target` on L1, calling it with `_data` and `_gasLimit` gas once finalized."""
    self._initiate(_target, _gasLimit, _data)


@external
@payable
def __default__():
    """Plain ETH sent here is withdrawn to the sender's own address on L1."""
    self._initiate(msg.sender, RECEIVE_DEFAULT_GAS_LIMIT, b"")


@external
def burn():
    """Destroy the ETH of initiated withdrawals (it is paid out again on L1)."""
    amount: uint256 = self.balance
    # a contract created with the ETH that self-destructs to itself in the same
    # transaction removes the ETH from the state (EIP-6780 keeps this case)
    burner: address = raw_create(x"30ff", value=amount)
    log WithdrawerBalanceBurnt(amount=amount)
