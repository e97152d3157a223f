# pragma version ==0.4.3
# @title VerifiedComputing: verifier nodes and proof jobs (LazAI-compatible)
# @notice ABI-compatible with alith.lazai's VERIFIED_COMPUTING_CONTRACT_ABI.
#         A data owner pays `nodeFee` to `requestProof(fileId)`; the job goes to
#         an active verifier node (round robin). The node runs the check off
#         chain, calls `completeJob(jobId)` and adds the signed proof to the
#         DataRegistry. On completion the protocol's share of the fee
#         (`verificationFeeBps` read from HoldersMining) goes to the fee vault,
#         the rest is credited to the node, which withdraws it with `claim()`.

from . import lib_access as access
from . import lib_nodes as nodes

initializes: access
initializes: nodes[access := access]

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
    nodes.addNode, nodes.removeNode, nodes.isNode, nodes.getNode, nodes.nodeList,
    nodes.nodeListAt, nodes.nodesCount, nodes.activeNodesCount, nodes.activeNodeList,
    nodes.activeNodeListAt, nodes.node_admitter,
)

interface FeeVault:
    def verificationFeeBps() -> uint256: view
    def depositRevenue(stream: uint8): payable

JOB_NONE: constant(uint8) = 0
JOB_SUBMITTED: constant(uint8) = 1
JOB_COMPLETED: constant(uint8) = 2
JOB_CANCELED: constant(uint8) = 3
STREAM_VERIFICATION: constant(uint8) = 2
MAX_JOBS_PER_FILE: constant(uint256) = 64

struct Job:
    fileId: uint256
    bidAmount: uint256
    status: uint8
    addedTimestamp: uint256
    ownerAddress: address
    nodeAddress: address

event JobSubmitted:
    jobId: indexed(uint256)
    fileId: indexed(uint256)
    nodeAddress: indexed(address)
    bidAmount: uint256

event JobComplete:
    attestor: indexed(address)
    jobId: indexed(uint256)
    fileId: indexed(uint256)

event NodeFeeUpdated:
    newFee: uint256

event Claimed:
    nodeAddress: indexed(address)
    amount: uint256

nodeFee: public(uint256)
fee_vault: public(address)
jobs: HashMap[uint256, Job]
jobsCount: public(uint256)
file_jobs: HashMap[uint256, DynArray[uint256, MAX_JOBS_PER_FILE]]
next_node_index: uint256


@deploy
def __init__(admin: address, fee_vault: address, node_admitter: address, node_fee: uint256):
    access.__init__(admin)
    nodes.node_admitter = node_admitter
    self.fee_vault = fee_vault
    self.nodeFee = node_fee


@external
@pure
def version() -> uint256:
    return 1


@external
def updateNodeFee(newNodeFee: uint256):
    access._only_maintainer()
    self.nodeFee = newNodeFee
    log NodeFeeUpdated(newFee=newNodeFee)


@internal
def _submit(file_id: uint256, bid: uint256) -> uint256:
    access._when_not_paused()
    assert bid >= self.nodeFee, "insufficient fee"
    active: DynArray[address, nodes.MAX_NODES] = nodes._active_nodes()
    assert len(active) > 0, "no active verifier node"
    node_address: address = active[self.next_node_index % len(active)]
    self.next_node_index += 1
    self.jobsCount += 1
    job_id: uint256 = self.jobsCount
    self.jobs[job_id] = Job(
        fileId=file_id, bidAmount=bid, status=JOB_SUBMITTED,
        addedTimestamp=block.timestamp, ownerAddress=msg.sender, nodeAddress=node_address,
    )
    self.file_jobs[file_id].append(job_id)
    nodes.nodes[node_address].jobsCount += 1
    log JobSubmitted(jobId=job_id, fileId=file_id, nodeAddress=node_address, bidAmount=bid)
    return job_id


@external
@payable
def requestProof(fileId: uint256):
    self._submit(fileId, msg.value)


@external
@payable
def submitJob(fileId: uint256):
    self._submit(fileId, msg.value)


@internal
def _complete(job_id: uint256):
    job: Job = self.jobs[job_id]
    assert job.status == JOB_SUBMITTED, "job is not pending"
    assert msg.sender == job.nodeAddress, "caller is not the job's node"
    assert nodes._is_node(msg.sender), "node is not active"
    self.jobs[job_id].status = JOB_COMPLETED
    protocol_cut: uint256 = job.bidAmount * staticcall FeeVault(self.fee_vault).verificationFeeBps() // 10000
    nodes.nodes[msg.sender].amount += job.bidAmount - protocol_cut
    if protocol_cut > 0:
        extcall FeeVault(self.fee_vault).depositRevenue(STREAM_VERIFICATION, value=protocol_cut)
    log JobComplete(attestor=msg.sender, jobId=job_id, fileId=job.fileId)


@external
@nonreentrant
def completeJob(jobId: uint256):
    self._complete(jobId)


@external
@nonreentrant
def addProof(jobId: uint256):
    """Same as completeJob: the node confirms it has delivered the proof for this job."""
    self._complete(jobId)


@external
@view
def fileJobIds(fileId: uint256) -> DynArray[uint256, MAX_JOBS_PER_FILE]:
    return self.file_jobs[fileId]


@external
@view
def getJob(jobId: uint256) -> Job:
    return self.jobs[jobId]


@external
@nonreentrant
def claim():
    amount: uint256 = nodes.nodes[msg.sender].amount
    assert amount > 0, "nothing to claim"
    nodes.nodes[msg.sender].amount = 0
    send(msg.sender, amount)
    log Claimed(nodeAddress=msg.sender, amount=amount)
