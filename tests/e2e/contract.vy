# pragma version ~=0.4.3
# @title Counter used by Hyperion's end-to-end tests
# @notice Stores one number; changing it logs an event, 13 reverts with a reason.

event ValueChanged:
    setter: indexed(address)
    old_value: uint256
    new_value: uint256

value: public(uint256)
owner: public(address)
deposits: public(HashMap[address, uint256])


@deploy
def __init__(initial: uint256):
    self.value = initial
    self.owner = msg.sender


@external
def set_value(new_value: uint256):
    assert new_value != 13, "unlucky number"
    log ValueChanged(setter=msg.sender, old_value=self.value, new_value=new_value)
    self.value = new_value


@external
@payable
def deposit():
    self.deposits[msg.sender] += msg.value


@external
@view
def doubled(x: uint256) -> uint256:
    assert x < 1000, "too big"
    return x * 2
