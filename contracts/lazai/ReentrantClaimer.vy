# pragma version ==0.4.3
# @title ReentrantClaimer: a hostile DAT holder / staker used by the tests
# @notice When paid, it tries once to call claim again (DAT or HoldersMining)
#         and records whether the nested call went through. It never lets the
#         outer payment fail, so a test sees the reentrancy guard's own verdict.

interface DAT:
    def claim(tokenId: uint256, asset: address, to: address) -> uint256: nonpayable

interface Vault:
    def stake(): payable
    def claim() -> uint256: nonpayable

target: public(address)
token_id: public(uint256)
mode: public(uint8)          # 1: DAT claim, 2: HoldersMining claim
attempts: public(uint256)
reentered: public(bool)
received: public(uint256)


@deploy
def __init__(target: address, mode: uint8):
    self.target = target
    self.mode = mode


@external
def setTokenId(token_id: uint256):
    self.token_id = token_id


@external
def claimDat() -> uint256:
    return extcall DAT(self.target).claim(self.token_id, empty(address), self)


@external
@payable
def stakeInVault():
    extcall Vault(self.target).stake(value=msg.value)


@external
def claimVault() -> uint256:
    return extcall Vault(self.target).claim()


@external
@payable
def __default__():
    self.received += msg.value
    if self.attempts > 0:
        return
    self.attempts += 1
    payload: Bytes[100] = b""
    if self.mode == 1:
        payload = abi_encode(self.token_id, empty(address), self, method_id=method_id("claim(uint256,address,address)"))
    else:
        payload = method_id("claim()")
    ok: bool = raw_call(self.target, payload, max_outsize=0, revert_on_failure=False)
    self.reentered = ok
