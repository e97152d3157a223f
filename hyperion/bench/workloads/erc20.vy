# pragma version ~=0.4.3
# @title HyperionBenchToken
# @notice Minimal ERC-20 token that Hyperion's VM benchmark executes.
#         Compiled by scripts/build_erc20_workload.py into erc20.json;
#         edit this file only together with a rebuild of that artifact.

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

NAME: constant(String[32]) = "Hyperion Bench Token"
SYMBOL: constant(String[8]) = "HBT"

decimals: public(constant(uint8)) = 18
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minter: public(address)


@deploy
def __init__():
    self.minter = msg.sender


@external
@view
def name() -> String[32]:
    return NAME


@external
@view
def symbol() -> String[8]:
    return SYMBOL


@external
def transfer(receiver: address, amount: uint256) -> bool:
    # checked arithmetic reverts when the sender's balance is too small
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=msg.sender, receiver=receiver, value=amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    # checked arithmetic reverts on an insufficient allowance or balance
    self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=owner, receiver=receiver, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert msg.sender == self.minter, "only the minter may mint"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)
