# pragma version ==0.4.3
# @title Governance role shared by the L1 rollup contracts
# @notice One owner (in production a multisig or a timelock) holds every
#         parameter of the contract that initializes this module. Handing the
#         role over takes two steps (transferOwnership, then acceptOwnership by
#         the new owner) so a typo cannot lose it. A module: the build skips
#         files named lib_*.vy.

event OwnershipTransferStarted:
    previous: indexed(address)
    pending: indexed(address)

event OwnershipTransferred:
    previous: indexed(address)
    current: indexed(address)

owner: public(address)
pendingOwner: public(address)


@deploy
def __init__(initial_owner: address):
    assert initial_owner != empty(address), "owner is the zero address"
    self.owner = initial_owner
    log OwnershipTransferred(previous=empty(address), current=initial_owner)


@internal
@view
def _only_owner():
    assert msg.sender == self.owner, "caller is not the owner"


@external
def transferOwnership(new_owner: address):
    """Propose `new_owner`; the role moves when it calls acceptOwnership()."""
    self._only_owner()
    self.pendingOwner = new_owner
    log OwnershipTransferStarted(previous=self.owner, pending=new_owner)


@external
def acceptOwnership():
    assert msg.sender == self.pendingOwner, "caller is not the pending owner"
    log OwnershipTransferred(previous=self.owner, current=msg.sender)
    self.owner = msg.sender
    self.pendingOwner = empty(address)
