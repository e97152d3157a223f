# pragma version ==0.4.3
# @title IDAOExecutor: an iDAO's own account (identity, treasury, timelocked executor)
# @notice The IDAORegistry deploys one minimal proxy (EIP-1167) of this
#         contract per iDAO. It is the iDAO's address: it manages the DAT
#         classes the iDAO governs, may remove the verifiers the iDAO
#         admitted, holds the iDAO's treasury, and is msg.sender of every
#         call a passed proposal makes. Only the registry may make it call,
#         and the registry does so only for a proposal that passed and waited
#         out its timelock delay.

MAX_ACTIONS: constant(uint256) = 8
MAX_CALLDATA: constant(uint256) = 2048

registry: public(address)
idaoId: public(uint256)

event Executed:
    target: indexed(address)
    amount: uint256
    data: Bytes[MAX_CALLDATA]


@deploy
def __init__():
    # the implementation itself can never be initialised; proxies start with empty storage
    self.registry = self


@external
def initialize(idao_id: uint256):
    assert self.registry == empty(address), "already initialized"
    self.registry = msg.sender
    self.idaoId = idao_id


@external
@payable
def run(targets: DynArray[address, MAX_ACTIONS], amounts: DynArray[uint256, MAX_ACTIONS],
        calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS]):
    assert msg.sender == self.registry, "only the iDAO registry may execute"
    for i: uint256 in range(len(targets), bound=MAX_ACTIONS):
        raw_call(targets[i], calldatas[i], value=amounts[i])
        log Executed(target=targets[i], amount=amounts[i], data=calldatas[i])


@external
@payable
def __default__():
    pass


@external
def onERC1155Received(operator: address, sender: address, id: uint256, amount: uint256,
                      data: Bytes[1024]) -> bytes4:
    return 0xf23a6e61


@external
def onERC1155BatchReceived(operator: address, sender: address, ids: DynArray[uint256, 128],
                           amounts: DynArray[uint256, 128], data: Bytes[1024]) -> bytes4:
    return 0xbc197c81
