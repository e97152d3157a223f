# pragma version ==0.4.3
# @title Settlement: user balances for LazAI's query, inference and training nodes
# @notice ABI-compatible with alith.lazai's SETTLEMENT_CONTRACT_ABI. A user
#         keeps an available balance here (addUser/deposit/withdraw) and moves
#         part of it into a prepaid account per node in one of the three
#         AIProcess contracts (depositQuery/Inference/Training). retrieve*
#         asks those accounts for a refund and credits what is released back
#         to the available balance. `totalBalance` = available + what sits in
#         node accounts; AIProcess lowers it through settlement() when a node
#         collects a fee.

from . import lib_access as access

initializes: access

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
)

interface AIProcess:
    def accountExists(user: address, node: address) -> bool: view
    def addAccount(user: address, node: address): payable
    def deposit(user: address, node: address, cancelRetrievingAmount: uint256): payable
    def request(user: address, node: address): nonpayable
    def process(user: address, node: address) -> (uint256, uint256, uint256): nonpayable

MAX_NODES_PER_USER: constant(uint256) = 32
MAX_USERS: constant(uint256) = 256

struct User:
    addr: address
    availableBalance: uint256
    totalBalance: uint256
    queryNodes: DynArray[address, MAX_NODES_PER_USER]
    inferenceNodes: DynArray[address, MAX_NODES_PER_USER]
    trainingNodes: DynArray[address, MAX_NODES_PER_USER]

struct UserSummary:
    addr: address
    availableBalance: uint256
    totalBalance: uint256
    inferenceNodes: DynArray[address, MAX_NODES_PER_USER]
    trainingNodes: DynArray[address, MAX_NODES_PER_USER]

event UserAdded:
    user: indexed(address)
    amount: uint256

event UserDeleted:
    user: indexed(address)

event Deposited:
    user: indexed(address)
    amount: uint256

event Withdrawn:
    user: indexed(address)
    amount: uint256

event NodeDeposited:
    user: indexed(address)
    process: indexed(address)
    node: indexed(address)
    amount: uint256

event NodeRetrieved:
    user: indexed(address)
    process: indexed(address)
    node: indexed(address)
    amount: uint256

query: public(address)
inference: public(address)
training: public(address)
users: HashMap[address, User]
user_list: DynArray[address, MAX_USERS]


@deploy
def __init__(admin: address, query: address, inference: address, training: address):
    access.__init__(admin)
    self.query = query
    self.inference = inference
    self.training = training


@external
@view
def version() -> uint256:
    return 1


@external
def updateTraining(newTraining: address):
    access._only_admin()
    self.training = newTraining


@external
def updateQuery(newQuery: address):
    access._only_admin()
    self.query = newQuery


@external
def updateInference(newInference: address):
    access._only_admin()
    self.inference = newInference


@internal
@view
def _require_user(user: address):
    assert self.users[user].addr != empty(address), "user does not exist"


@external
@view
def getUser(user: address) -> User:
    return self.users[user]


@external
@view
def getAllUsers() -> DynArray[UserSummary, MAX_USERS]:
    result: DynArray[UserSummary, MAX_USERS] = []
    for addr: address in self.user_list:
        u: User = self.users[addr]
        result.append(UserSummary(addr=u.addr, availableBalance=u.availableBalance, totalBalance=u.totalBalance,
                                  inferenceNodes=u.inferenceNodes, trainingNodes=u.trainingNodes))
    return result


@external
@payable
def addUser():
    access._when_not_paused()
    assert self.users[msg.sender].addr == empty(address), "user already exists"
    self.users[msg.sender] = User(addr=msg.sender, availableBalance=msg.value, totalBalance=msg.value,
                                  queryNodes=[], inferenceNodes=[], trainingNodes=[])
    self.user_list.append(msg.sender)
    log UserAdded(user=msg.sender, amount=msg.value)


@external
@nonreentrant
def deleteUser():
    self._require_user(msg.sender)
    u: User = self.users[msg.sender]
    assert u.totalBalance == u.availableBalance, "funds still in node accounts: retrieve them first"
    self.users[msg.sender] = empty(User)
    for i: uint256 in range(len(self.user_list), bound=MAX_USERS):
        if self.user_list[i] == msg.sender:
            self.user_list[i] = self.user_list[len(self.user_list) - 1]
            self.user_list.pop()
            break
    if u.availableBalance > 0:
        send(msg.sender, u.availableBalance)
    log UserDeleted(user=msg.sender)


@external
@payable
def deposit():
    access._when_not_paused()
    self._require_user(msg.sender)
    self.users[msg.sender].availableBalance += msg.value
    self.users[msg.sender].totalBalance += msg.value
    log Deposited(user=msg.sender, amount=msg.value)


@external
@nonreentrant
def withdraw(amount: uint256):
    self._require_user(msg.sender)
    assert self.users[msg.sender].availableBalance >= amount, "insufficient available balance"
    self.users[msg.sender].availableBalance -= amount
    self.users[msg.sender].totalBalance -= amount
    send(msg.sender, amount)
    log Withdrawn(user=msg.sender, amount=amount)


@internal
def _deposit_to(process: address, node: address, amount: uint256) -> bool:
    """Moves `amount` of the caller's available balance into its account with `node`; True if new."""
    access._when_not_paused()
    self._require_user(msg.sender)
    assert amount > 0, "zero amount"
    assert self.users[msg.sender].availableBalance >= amount, "insufficient available balance"
    self.users[msg.sender].availableBalance -= amount
    created: bool = False
    if staticcall AIProcess(process).accountExists(msg.sender, node):
        extcall AIProcess(process).deposit(msg.sender, node, 0, value=amount)
    else:
        extcall AIProcess(process).addAccount(msg.sender, node, value=amount)
        created = True
    log NodeDeposited(user=msg.sender, process=process, node=node, amount=amount)
    return created


@external
@nonreentrant
def depositTraining(node: address, amount: uint256):
    if self._deposit_to(self.training, node, amount) and node not in self.users[msg.sender].trainingNodes:
        self.users[msg.sender].trainingNodes.append(node)


@external
@nonreentrant
def depositInference(node: address, amount: uint256):
    if self._deposit_to(self.inference, node, amount) and node not in self.users[msg.sender].inferenceNodes:
        self.users[msg.sender].inferenceNodes.append(node)


@external
@nonreentrant
def depositQuery(node: address, amount: uint256):
    if self._deposit_to(self.query, node, amount) and node not in self.users[msg.sender].queryNodes:
        self.users[msg.sender].queryNodes.append(node)


@internal
def _retrieve(process: address, node_list: DynArray[address, MAX_NODES_PER_USER]):
    self._require_user(msg.sender)
    for node: address in node_list:
        if not staticcall AIProcess(process).accountExists(msg.sender, node):
            continue
        extcall AIProcess(process).request(msg.sender, node)
        released: uint256 = 0
        balance: uint256 = 0
        pending: uint256 = 0
        released, balance, pending = extcall AIProcess(process).process(msg.sender, node)
        self.users[msg.sender].availableBalance += released
        log NodeRetrieved(user=msg.sender, process=process, node=node, amount=released)


@external
@nonreentrant
def retrieveTraining(nodes: DynArray[address, MAX_NODES_PER_USER]):
    self._retrieve(self.training, nodes)


@external
@nonreentrant
def retrieveInference(nodes: DynArray[address, MAX_NODES_PER_USER]):
    self._retrieve(self.inference, nodes)


@external
@nonreentrant
def retrieveQuery(nodes: DynArray[address, MAX_NODES_PER_USER]):
    self._retrieve(self.query, nodes)


@external
def settlement(addr: address, cost: uint256):
    """Called by an AIProcess contract when a node collected `cost` from `addr`'s account."""
    assert msg.sender == self.query or msg.sender == self.inference or msg.sender == self.training, \
        "caller is not an AI process contract"
    self.users[addr].totalBalance -= cost


@external
@payable
def __default__():
    """Refunds released by the AI process contracts."""
    assert msg.sender == self.query or msg.sender == self.inference or msg.sender == self.training, \
        "unexpected payment"
