# pragma version ==0.4.3
# @title AIProcess: per-(user, node) prepaid accounts for query, inference or training
# @notice ABI-compatible with alith.lazai's AI_PROCESS_CONTRACT_ABI; one
#         compiled contract deployed three times (query, inference, training).
#         Users fund accounts through Settlement (deposit*/retrieve*). A node
#         that served a user collects its fee with settlementFees: the node
#         signs keccak256(abi.encode(SettlementData)) and the data carries the
#         user's own signature over keccak256(abi.encode(nonce, user, node)),
#         alith's request-header scheme; nonces must increase. The protocol
#         share of the fee (HoldersMining.computeFeeBps) goes to the fee vault,
#         the rest is credited to the node, which withdraws with claim().
#         Refunds (retrieve*) are released after `refundLockTime` seconds.

from . import lib_access as access
from . import lib_nodes as nodes
from . import lib_sig as sig

initializes: access
initializes: nodes[access := access]

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
    nodes.addNode, nodes.removeNode, nodes.isNode, nodes.getNode, nodes.nodeList,
    nodes.nodeListAt, nodes.nodesCount, nodes.activeNodesCount, nodes.activeNodeList,
    nodes.activeNodeListAt,
)

interface FeeVault:
    def computeFeeBps() -> uint256: view
    def depositRevenue(stream: uint8): payable

interface SettlementContract:
    def settlement(addr: address, cost: uint256): nonpayable

MAX_REFUNDS: constant(uint256) = 16
MAX_ACCOUNTS: constant(uint256) = 128
STREAM_COMPUTE: constant(uint8) = 1

struct Refund:
    index: uint256
    amount: uint256
    createdAt: uint256
    processed: bool

struct Account:
    user: address
    node: address
    nonce: uint256
    balance: uint256
    pendingRefund: uint256
    refunds: DynArray[Refund, MAX_REFUNDS]

struct SettlementData:
    id: String[128]
    user: address
    cost: uint256
    nonce: uint256
    userSignature: Bytes[65]

struct SettlementProof:
    signature: Bytes[65]
    data: SettlementData

event AccountAdded:
    user: indexed(address)
    node: indexed(address)
    amount: uint256

event AccountDeleted:
    user: indexed(address)
    node: indexed(address)

event Deposited:
    user: indexed(address)
    node: indexed(address)
    amount: uint256

event RefundRequested:
    user: indexed(address)
    node: indexed(address)
    index: uint256
    amount: uint256

event RefundProcessed:
    user: indexed(address)
    node: indexed(address)
    amount: uint256

event Settled:
    user: indexed(address)
    node: indexed(address)
    cost: uint256
    nonce: uint256
    protocolFee: uint256

event NodeClaimed:
    node: indexed(address)
    amount: uint256

settlement: public(address)
fee_vault: public(address)
refundLockTime: public(uint256)
accounts: HashMap[address, HashMap[address, Account]]
account_keys: DynArray[address[2], MAX_ACCOUNTS]
nodeEarnings: public(HashMap[address, uint256])


@deploy
def __init__(admin: address, settlement: address, fee_vault: address, refund_lock_time: uint256):
    access.__init__(admin)
    self.settlement = settlement
    self.fee_vault = fee_vault
    self.refundLockTime = refund_lock_time


@external
@view
def version() -> uint256:
    return 1


@external
def updateSettlement(newSettlement: address):
    access._only_admin()
    self.settlement = newSettlement


@external
def updateRefundLockTime(newLockTime: uint256):
    access._only_maintainer()
    self.refundLockTime = newLockTime


@internal
@view
def _only_settlement():
    assert msg.sender == self.settlement, "caller is not the settlement contract"


@internal
@view
def _exists(user: address, node: address) -> bool:
    return self.accounts[user][node].user != empty(address)


@external
@view
def getAccount(user: address, node: address) -> Account:
    return self.accounts[user][node]


@external
@view
def getAccountPendingRefund(user: address, node: address) -> uint256:
    return self.accounts[user][node].pendingRefund


@external
@view
def getAllAccounts() -> DynArray[Account, MAX_ACCOUNTS]:
    result: DynArray[Account, MAX_ACCOUNTS] = []
    for key: address[2] in self.account_keys:
        if self._exists(key[0], key[1]):
            result.append(self.accounts[key[0]][key[1]])
    return result


@external
@view
def accountExists(user: address, node: address) -> bool:
    return self._exists(user, node)


@external
@payable
def addAccount(user: address, node: address):
    self._only_settlement()
    access._when_not_paused()
    assert nodes._is_node(node), "node is not active"
    assert not self._exists(user, node), "account already exists"
    if self.accounts[user][node].node == empty(address):
        self.account_keys.append([user, node])
    self.accounts[user][node] = Account(user=user, node=node, nonce=self.accounts[user][node].nonce,
                                        balance=msg.value, pendingRefund=0, refunds=[])
    log AccountAdded(user=user, node=node, amount=msg.value)


@external
def deleteAccount(user: address, node: address):
    self._only_settlement()
    account: Account = self.accounts[user][node]
    assert account.user != empty(address), "no such account"
    assert account.balance == 0 and account.pendingRefund == 0, "account still holds funds"
    # keep node and nonce so a re-created account cannot replay old settlements
    self.accounts[user][node].user = empty(address)
    self.accounts[user][node].refunds = []
    log AccountDeleted(user=user, node=node)


@external
@payable
def deposit(user: address, node: address, cancelRetrievingAmount: uint256):
    self._only_settlement()
    access._when_not_paused()
    assert self._exists(user, node), "no such account"
    cancelled: uint256 = min(cancelRetrievingAmount, self.accounts[user][node].pendingRefund)
    self.accounts[user][node].pendingRefund -= cancelled
    self.accounts[user][node].balance += msg.value + cancelled
    log Deposited(user=user, node=node, amount=msg.value)


@external
def request(user: address, node: address):
    self._only_settlement()
    account: Account = self.accounts[user][node]
    assert account.user != empty(address), "no such account"
    if account.balance == 0:
        return
    assert len(account.refunds) < MAX_REFUNDS, "too many open refunds"
    self.accounts[user][node].refunds.append(
        Refund(index=len(account.refunds), amount=account.balance, createdAt=block.timestamp, processed=False)
    )
    self.accounts[user][node].pendingRefund += account.balance
    self.accounts[user][node].balance = 0
    log RefundRequested(user=user, node=node, index=len(account.refunds), amount=account.balance)


@external
@nonreentrant
def process(user: address, node: address) -> (uint256, uint256, uint256):
    """Releases the refunds whose lock time is over to the settlement contract."""
    self._only_settlement()
    account: Account = self.accounts[user][node]
    assert account.user != empty(address), "no such account"
    total: uint256 = 0
    for i: uint256 in range(len(account.refunds), bound=MAX_REFUNDS):
        refund: Refund = account.refunds[i]
        if refund.processed or refund.createdAt + self.refundLockTime > block.timestamp:
            continue
        self.accounts[user][node].refunds[i].processed = True
        total += refund.amount
    pending: uint256 = account.pendingRefund - total
    self.accounts[user][node].pendingRefund = pending
    if total > 0:
        raw_call(self.settlement, b"", value=total)
        log RefundProcessed(user=user, node=node, amount=total)
    return total, account.balance, pending


@external
@nonreentrant
def settlementFees(settlement: SettlementProof):
    access._when_not_paused()
    node: address = msg.sender
    assert nodes._is_node(node), "caller is not an active node"
    data: SettlementData = settlement.data
    assert sig._recover(keccak256(abi_encode(data)), settlement.signature) == node, "invalid node signature"
    request_hash: bytes32 = keccak256(abi_encode(data.nonce, data.user, node))
    assert sig._recover(request_hash, data.userSignature) == data.user, "invalid user signature"
    account: Account = self.accounts[data.user][node]
    assert account.user != empty(address), "no such account"
    assert data.nonce > account.nonce, "nonce already used"
    assert data.cost <= account.balance, "insufficient balance"
    self.accounts[data.user][node].nonce = data.nonce
    self.accounts[data.user][node].balance = account.balance - data.cost
    protocol_fee: uint256 = data.cost * staticcall FeeVault(self.fee_vault).computeFeeBps() // 10000
    self.nodeEarnings[node] += data.cost - protocol_fee
    extcall SettlementContract(self.settlement).settlement(data.user, data.cost)
    if protocol_fee > 0:
        extcall FeeVault(self.fee_vault).depositRevenue(STREAM_COMPUTE, value=protocol_fee)
    log Settled(user=data.user, node=node, cost=data.cost, nonce=data.nonce, protocolFee=protocol_fee)


@external
@nonreentrant
def claim():
    amount: uint256 = self.nodeEarnings[msg.sender]
    assert amount > 0, "nothing to claim"
    self.nodeEarnings[msg.sender] = 0
    send(msg.sender, amount)
    log NodeClaimed(node=msg.sender, amount=amount)
