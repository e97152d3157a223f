# pragma version ==0.4.3
# @title AgentWallet: a minimal smart account an AI agent acts through
# @notice Its controller (the agent runtime's key) makes it call any contract,
#         so the agent itself, not a person, is msg.sender: it can register
#         and govern an iDAO, hold DATs and stake. Not predeployed.

controller: public(address)


@deploy
@payable
def __init__(controller: address):
    self.controller = controller


@external
@payable
def execute(target: address, data: Bytes[4096], amount: uint256) -> Bytes[1024]:
    assert msg.sender == self.controller, "caller is not the controller"
    return raw_call(target, data, value=amount, max_outsize=1024)


@external
@payable
def __default__():
    pass
