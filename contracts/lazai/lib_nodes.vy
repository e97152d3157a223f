# pragma version ==0.4.3
# @title Node registry shared by VerifiedComputing and the AI process contracts
# @notice Mirrors the node views alith's SDK reads (nodeList, getNode, ...).
#         Status codes follow alith's NodeStatus enum: 0 None, 1 Active, 2 Removed.

from . import lib_access as access

uses: access

MAX_NODES: constant(uint256) = 256
STATUS_NONE: constant(uint8) = 0
STATUS_ACTIVE: constant(uint8) = 1
STATUS_REMOVED: constant(uint8) = 2

struct NodeInfo:
    nodeAddress: address
    url: String[256]
    status: uint8
    amount: uint256
    jobsCount: uint256
    publicKey: String[1024]

event NodeAdded:
    nodeAddress: indexed(address)
    url: String[256]

event NodeRemoved:
    nodeAddress: indexed(address)

nodes: HashMap[address, NodeInfo]
node_addresses: DynArray[address, MAX_NODES]
# Extra account (besides admin and maintainers) allowed to add nodes: the iDAO registry.
node_admitter: public(address)


@internal
def _add_node(node_address: address, url: String[256], public_key: String[1024]):
    assert node_address != empty(address), "node is the zero address"
    current: NodeInfo = self.nodes[node_address]
    assert current.status != STATUS_ACTIVE, "node already added"
    if current.status == STATUS_NONE:
        self.node_addresses.append(node_address)
    self.nodes[node_address] = NodeInfo(
        nodeAddress=node_address, url=url, status=STATUS_ACTIVE,
        amount=current.amount, jobsCount=current.jobsCount, publicKey=public_key,
    )
    log NodeAdded(nodeAddress=node_address, url=url)


@external
def addNode(nodeAddress: address, url: String[256], publicKey: String[1024]):
    assert msg.sender == access.admin or access.maintainers[msg.sender] or msg.sender == self.node_admitter, \
        "caller may not add nodes"
    self._add_node(nodeAddress, url, publicKey)


@external
def removeNode(nodeAddress: address):
    access._only_maintainer()
    assert self.nodes[nodeAddress].status == STATUS_ACTIVE, "node is not active"
    self.nodes[nodeAddress].status = STATUS_REMOVED
    log NodeRemoved(nodeAddress=nodeAddress)


@internal
@view
def _is_node(node_address: address) -> bool:
    return self.nodes[node_address].status == STATUS_ACTIVE


@external
@view
def isNode(nodeAddress: address) -> bool:
    return self._is_node(nodeAddress)


@external
@view
def getNode(nodeAddress: address) -> NodeInfo:
    return self.nodes[nodeAddress]


@external
@view
def nodeList() -> DynArray[address, MAX_NODES]:
    return self.node_addresses


@external
@view
def nodeListAt(index: uint256) -> NodeInfo:
    return self.nodes[self.node_addresses[index]]


@external
@view
def nodesCount() -> uint256:
    return len(self.node_addresses)


@internal
@view
def _active_nodes() -> DynArray[address, MAX_NODES]:
    active: DynArray[address, MAX_NODES] = []
    for node_address: address in self.node_addresses:
        if self.nodes[node_address].status == STATUS_ACTIVE:
            active.append(node_address)
    return active


@external
@view
def activeNodesCount() -> uint256:
    return len(self._active_nodes())


@external
@view
def activeNodeList() -> DynArray[address, MAX_NODES]:
    return self._active_nodes()


@external
@view
def activeNodeListAt(index: uint256) -> NodeInfo:
    return self.nodes[self._active_nodes()[index]]
