# pragma version ==0.4.3
# @title Roles shared by the LazAI system contracts
# @notice One admin (may hand the role over) and any number of maintainers.
#         A module, not a contract: `build.py` skips files named lib_*.vy.

event AdminChanged:
    previous: indexed(address)
    current: indexed(address)

event MaintainerSet:
    account: indexed(address)
    enabled: bool

admin: public(address)
maintainers: public(HashMap[address, bool])
paused: public(bool)


@deploy
def __init__(initial_admin: address):
    assert initial_admin != empty(address), "admin is the zero address"
    self.admin = initial_admin
    self.maintainers[initial_admin] = True


@internal
@view
def _only_admin():
    assert msg.sender == self.admin, "caller is not the admin"


@internal
@view
def _only_maintainer():
    assert msg.sender == self.admin or self.maintainers[msg.sender], "caller is not a maintainer"


@internal
@view
def _when_not_paused():
    assert not self.paused, "paused"


@external
def transferAdmin(new_admin: address):
    self._only_admin()
    assert new_admin != empty(address), "admin is the zero address"
    log AdminChanged(previous=self.admin, current=new_admin)
    self.admin = new_admin


@external
def setMaintainer(account: address, enabled: bool):
    self._only_admin()
    self.maintainers[account] = enabled
    log MaintainerSet(account=account, enabled=enabled)


@external
def pause():
    self._only_maintainer()
    self.paused = True


@external
def unpause():
    self._only_maintainer()
    self.paused = False
