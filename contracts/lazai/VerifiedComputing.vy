# pragma version ==0.4.3
# @title VerifiedComputing: staked, accountable verifier nodes and proof jobs (LazAI-compatible)
# @notice ABI-compatible with alith.lazai's VERIFIED_COMPUTING_CONTRACT_ABI.
#         Verifiers:
#         * are admitted only by an iDAO vote held to the protocol floors
#           (IDAORegistry.proposeAdmitVerifier -> admitVerifier), and only
#           while the node has at least `verifiers.minBond` of its Holders
#           Mining stake bonded (HoldersMining.bond);
#         * attest at most `verifiers.maxScorePerEpoch` of proof score per
#           `verifiers.scoreEpoch` seconds (the DataRegistry reports every
#           proof it accepts with recordAttestation);
#         * are slashed (their whole bond: part to the challenger, the rest
#           to the vault) and deactivated when the DataRegistry proves them
#           wrong or equivocating;
#         * are removed by the iDAO that admitted them (a proposal of that
#           iDAO, executed by its executor), by staker governance, or by
#           themselves; their bond stays locked until the dispute window of
#           their last proof has passed and no challenge against them is open.
#         Jobs: a data owner pays `nodeFee` (a ProtocolGovernor parameter) to
#         `requestProof(fileId)`; the job goes to an active verifier node
#         (round robin). The node calls `completeJob(jobId)`; the protocol's
#         share of the fee (`verificationFeeBps`) goes to the fee vault as the
#         data-verification stream, the rest is credited to the node, which
#         withdraws it with `claim()`.

from . import lib_access as access
from . import lib_nodes as nodes

initializes: access
initializes: nodes[access := access]

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
    nodes.isNode, nodes.getNode, nodes.nodeList,
    nodes.nodeListAt, nodes.nodesCount, nodes.activeNodesCount, nodes.activeNodeList,
    nodes.activeNodeListAt, nodes.node_admitter,
)

interface FeeVault:
    def verificationFeeBps() -> uint256: view
    def depositRevenue(stream: uint8): payable
    def bondOf(verifier: address) -> uint256: view
    def slashBond(verifier: address, challenger: address) -> uint256: nonpayable

interface Params:
    def param(key: bytes32) -> uint256: view

interface IDAORegistry:
    def executorOf(idaoId: uint256) -> address: view

interface DataRegistry:
    def openChallengesAgainst(verifier: address) -> uint256: view

JOB_NONE: constant(uint8) = 0
JOB_SUBMITTED: constant(uint8) = 1
JOB_COMPLETED: constant(uint8) = 2
JOB_CANCELED: constant(uint8) = 3
STREAM_VERIFICATION: constant(uint8) = 2
MAX_JOBS_PER_FILE: constant(uint256) = 64

NODE_FEE: constant(bytes32) = keccak256("fees.verificationNodeFee")
MIN_BOND: constant(bytes32) = keccak256("verifiers.minBond")
SCORE_EPOCH: constant(bytes32) = keccak256("verifiers.scoreEpoch")
MAX_SCORE_PER_EPOCH: constant(bytes32) = keccak256("verifiers.maxScorePerEpoch")
DISPUTE_WINDOW: constant(bytes32) = keccak256("verifiers.disputeWindow")

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

event VerifierAdmitted:
    nodeAddress: indexed(address)
    idaoId: indexed(uint256)
    bond: uint256

event VerifierSlashed:
    nodeAddress: indexed(address)
    challenger: indexed(address)
    amount: uint256

fee_vault: public(address)
governor: public(address)
dataRegistry: public(address)
admittedBy: public(HashMap[address, uint256])
lastAttestationAt: public(HashMap[address, uint256])
deactivatedAt: public(HashMap[address, uint256])
slashCount: public(HashMap[address, uint256])
epochScore: public(HashMap[address, HashMap[uint256, uint256]])
jobs: HashMap[uint256, Job]
jobsCount: public(uint256)
file_jobs: HashMap[uint256, DynArray[uint256, MAX_JOBS_PER_FILE]]
next_node_index: uint256


@deploy
def __init__(admin: address, fee_vault: address, idao_registry: address, governor: address, data_registry: address):
    access.__init__(admin)
    nodes.node_admitter = idao_registry
    self.fee_vault = fee_vault
    self.governor = governor
    self.dataRegistry = data_registry


@internal
@view
def _param(key: bytes32) -> uint256:
    return staticcall Params(self.governor).param(key)


@external
@pure
def version() -> uint256:
    return 1


@external
@view
def nodeFee() -> uint256:
    """The price of a proof job: the ProtocolGovernor parameter fees.verificationNodeFee."""
    return self._param(NODE_FEE)


@external
def updateNodeFee(newNodeFee: uint256):
    """Kept for alith's ABI: the fee is a staker-governed parameter (ProtocolGovernor.setParam)."""
    raise "the node fee is set by staker governance (ProtocolGovernor parameter fees.verificationNodeFee)"


# ------------------------------------------------------------------ verifiers

@external
def addNode(nodeAddress: address, url: String[256], publicKey: String[1024]):
    """Kept for alith's ABI: verifiers are admitted only through IDAORegistry.proposeAdmitVerifier."""
    raise "verifiers are admitted only by an iDAO vote (IDAORegistry.proposeAdmitVerifier)"


@external
def admitVerifier(nodeAddress: address, url: String[256], publicKey: String[1024], idaoId: uint256):
    """Called by the iDAO registry when an admission proposal passed under the protocol floors."""
    assert msg.sender == nodes.node_admitter, "only the iDAO registry admits verifiers"
    bond: uint256 = staticcall FeeVault(self.fee_vault).bondOf(nodeAddress)
    assert bond >= self._param(MIN_BOND), "verifier bond below the protocol minimum"
    nodes._add_node(nodeAddress, url, publicKey)
    self.admittedBy[nodeAddress] = idaoId
    self.deactivatedAt[nodeAddress] = 0
    log VerifierAdmitted(nodeAddress=nodeAddress, idaoId=idaoId, bond=bond)


@internal
def _deactivate(node_address: address):
    nodes.nodes[node_address].status = nodes.STATUS_REMOVED
    self.deactivatedAt[node_address] = block.timestamp
    log nodes.NodeRemoved(nodeAddress=node_address)


@external
def removeNode(nodeAddress: address):
    """By the admitting iDAO's executor (its proposal), by staker governance, or by the node itself."""
    assert nodes._is_node(nodeAddress), "node is not active"
    admitter: address = staticcall IDAORegistry(nodes.node_admitter).executorOf(self.admittedBy[nodeAddress])
    assert msg.sender == admitter or msg.sender == self.governor or msg.sender == nodeAddress, \
        "only the admitting iDAO, staker governance or the node may remove it"
    self._deactivate(nodeAddress)


@external
def recordAttestation(nodeAddress: address, score: uint256):
    """The DataRegistry reports an accepted proof: the signer must be active and within its epoch's score budget."""
    assert msg.sender == self.dataRegistry, "only the data registry records attestations"
    assert nodes._is_node(nodeAddress), "signer is not a verifier node"
    epoch: uint256 = block.timestamp // self._param(SCORE_EPOCH)
    attested: uint256 = self.epochScore[nodeAddress][epoch] + score
    assert attested <= self._param(MAX_SCORE_PER_EPOCH), "verifier's score budget for this epoch is spent"
    self.epochScore[nodeAddress][epoch] = attested
    self.lastAttestationAt[nodeAddress] = block.timestamp


@external
@nonreentrant
def slash(nodeAddress: address, challenger: address) -> uint256:
    """The DataRegistry proved the node wrong or equivocating: take its bond and deactivate it."""
    assert msg.sender == self.dataRegistry, "only the data registry slashes"
    if nodes._is_node(nodeAddress):
        self._deactivate(nodeAddress)
    self.slashCount[nodeAddress] += 1
    amount: uint256 = extcall FeeVault(self.fee_vault).slashBond(nodeAddress, challenger)
    log VerifierSlashed(nodeAddress=nodeAddress, challenger=challenger, amount=amount)
    return amount


@external
@view
def bondReleasableAt(nodeAddress: address) -> uint256:
    """When Holders Mining may unlock the node's bond (max uint while it is active or challenged)."""
    status: uint8 = nodes.nodes[nodeAddress].status
    if status == nodes.STATUS_NONE:
        return 0
    if status == nodes.STATUS_ACTIVE or staticcall DataRegistry(self.dataRegistry).openChallengesAgainst(nodeAddress) > 0:
        return max_value(uint256)
    return max(self.deactivatedAt[nodeAddress], self.lastAttestationAt[nodeAddress] + self._param(DISPUTE_WINDOW))


@internal
def _submit(file_id: uint256, bid: uint256) -> uint256:
    access._when_not_paused()
    assert bid >= self._param(NODE_FEE), "insufficient fee"
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
