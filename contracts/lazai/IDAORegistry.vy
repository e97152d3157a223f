# pragma version ==0.4.3
# @title IDAORegistry: iDAOs (a person or an AI agent with its own governance)
# @notice Anyone, an EOA or a contract acting for an AI agent, registers an
#         iDAO and becomes its first member. Members join by staking METIS
#         into the iDAO; their stake is their vote weight. A member proposes
#         to admit a DAT class or a verifier node into the iDAO's scope; the
#         proposal passes when, after the voting period, the votes cast reach
#         the quorum (share of the iDAO's stake when proposed) and "for"
#         outweighs "against". Executing an admitted verifier registers it in
#         VerifiedComputing (this registry is VerifiedComputing's node
#         admitter), so its signed proofs count in the DataRegistry.

interface VerifiedComputing:
    def addNode(nodeAddress: address, url: String[256], publicKey: String[1024]): nonpayable
    def isNode(nodeAddress: address) -> bool: view

ACTION_ADMIT_CLASS: constant(uint8) = 1
ACTION_ADMIT_VERIFIER: constant(uint8) = 2
MAX_BPS: constant(uint256) = 10000

struct IDAO:
    owner: address
    name: String[64]
    metadataURI: String[256]
    quorumBps: uint256
    votingPeriod: uint256
    totalStake: uint256
    memberCount: uint256

struct Proposal:
    idaoId: uint256
    proposer: address
    action: uint8
    classId: uint256
    verifier: address
    url: String[256]
    publicKey: String[1024]
    deadline: uint256
    forVotes: uint256
    againstVotes: uint256
    quorumVotes: uint256
    executed: bool
    passed: bool

event IDAORegistered:
    idaoId: indexed(uint256)
    owner: indexed(address)
    name: String[64]

event MemberJoined:
    idaoId: indexed(uint256)
    member: indexed(address)
    stake: uint256

event MemberLeft:
    idaoId: indexed(uint256)
    member: indexed(address)
    stake: uint256

event ProposalCreated:
    proposalId: indexed(uint256)
    idaoId: indexed(uint256)
    action: uint8
    classId: uint256
    verifier: address
    deadline: uint256

event VoteCast:
    proposalId: indexed(uint256)
    voter: indexed(address)
    support: bool
    weight: uint256

event ProposalExecuted:
    proposalId: indexed(uint256)
    passed: bool

event ClassAdmitted:
    idaoId: indexed(uint256)
    classId: indexed(uint256)

event VerifierAdmitted:
    idaoId: indexed(uint256)
    verifier: indexed(address)

verifiedComputing: public(address)
idaoCount: public(uint256)
idaos: HashMap[uint256, IDAO]
memberStake: public(HashMap[uint256, HashMap[address, uint256]])
lockedUntil: public(HashMap[uint256, HashMap[address, uint256]])
proposalCount: public(uint256)
proposals: HashMap[uint256, Proposal]
hasVoted: public(HashMap[uint256, HashMap[address, bool]])
classAdmitted: public(HashMap[uint256, HashMap[uint256, bool]])
verifierAdmitted: public(HashMap[uint256, HashMap[address, bool]])


@deploy
def __init__(verified_computing: address):
    self.verifiedComputing = verified_computing


@external
@payable
def registerIDAO(name: String[64], metadataURI: String[256], quorumBps: uint256, votingPeriod: uint256) -> uint256:
    """Registers an iDAO owned by the caller; msg.value is the owner's initial stake."""
    assert len(name) > 0, "empty name"
    assert quorumBps > 0 and quorumBps <= MAX_BPS, "quorum must be in (0, 10000] bps"
    assert votingPeriod > 0, "voting period must be positive"
    self.idaoCount += 1
    idao_id: uint256 = self.idaoCount
    self.idaos[idao_id] = IDAO(owner=msg.sender, name=name, metadataURI=metadataURI, quorumBps=quorumBps,
                               votingPeriod=votingPeriod, totalStake=0, memberCount=0)
    log IDAORegistered(idaoId=idao_id, owner=msg.sender, name=name)
    self._join(idao_id, msg.sender, msg.value)
    return idao_id


@internal
def _join(idao_id: uint256, member: address, amount: uint256):
    if self.memberStake[idao_id][member] == 0 and amount > 0:
        self.idaos[idao_id].memberCount += 1
    self.memberStake[idao_id][member] += amount
    self.idaos[idao_id].totalStake += amount
    log MemberJoined(idaoId=idao_id, member=member, stake=amount)


@internal
@view
def _require_idao(idao_id: uint256):
    assert idao_id != 0 and idao_id <= self.idaoCount, "unknown iDAO"


@external
@payable
def join(idaoId: uint256):
    self._require_idao(idaoId)
    assert msg.value > 0, "stake required"
    self._join(idaoId, msg.sender, msg.value)


@external
@nonreentrant
def leave(idaoId: uint256):
    """Withdraws the caller's whole stake once no vote it cast is still open."""
    self._require_idao(idaoId)
    amount: uint256 = self.memberStake[idaoId][msg.sender]
    assert amount > 0, "not a member"
    assert block.timestamp > self.lockedUntil[idaoId][msg.sender], "stake locked by an open vote"
    self.memberStake[idaoId][msg.sender] = 0
    self.idaos[idaoId].totalStake -= amount
    self.idaos[idaoId].memberCount -= 1
    send(msg.sender, amount)
    log MemberLeft(idaoId=idaoId, member=msg.sender, stake=amount)


@internal
def _propose(idao_id: uint256, action: uint8, class_id: uint256, verifier: address, url: String[256],
             public_key: String[1024]) -> uint256:
    self._require_idao(idao_id)
    assert self.memberStake[idao_id][msg.sender] > 0, "only members may propose"
    idao: IDAO = self.idaos[idao_id]
    self.proposalCount += 1
    proposal_id: uint256 = self.proposalCount
    deadline: uint256 = block.timestamp + idao.votingPeriod
    self.proposals[proposal_id] = Proposal(
        idaoId=idao_id, proposer=msg.sender, action=action, classId=class_id, verifier=verifier, url=url,
        publicKey=public_key, deadline=deadline, forVotes=0, againstVotes=0,
        quorumVotes=idao.totalStake * idao.quorumBps // MAX_BPS, executed=False, passed=False,
    )
    log ProposalCreated(proposalId=proposal_id, idaoId=idao_id, action=action, classId=class_id,
                        verifier=verifier, deadline=deadline)
    return proposal_id


@external
def proposeAdmitClass(idaoId: uint256, classId: uint256) -> uint256:
    return self._propose(idaoId, ACTION_ADMIT_CLASS, classId, empty(address), "", "")


@external
def proposeAdmitVerifier(idaoId: uint256, verifier: address, url: String[256], publicKey: String[1024]) -> uint256:
    assert verifier != empty(address), "verifier is the zero address"
    return self._propose(idaoId, ACTION_ADMIT_VERIFIER, 0, verifier, url, publicKey)


@external
def vote(proposalId: uint256, support: bool):
    proposal: Proposal = self.proposals[proposalId]
    assert proposal.deadline != 0, "unknown proposal"
    assert block.timestamp <= proposal.deadline, "voting closed"
    assert not self.hasVoted[proposalId][msg.sender], "already voted"
    weight: uint256 = self.memberStake[proposal.idaoId][msg.sender]
    assert weight > 0, "not a member"
    self.hasVoted[proposalId][msg.sender] = True
    # the stake that voted stays until the vote ends, so it cannot vote twice through another account
    self.lockedUntil[proposal.idaoId][msg.sender] = max(self.lockedUntil[proposal.idaoId][msg.sender], proposal.deadline)
    if support:
        self.proposals[proposalId].forVotes += weight
    else:
        self.proposals[proposalId].againstVotes += weight
    log VoteCast(proposalId=proposalId, voter=msg.sender, support=support, weight=weight)


@external
def execute(proposalId: uint256) -> bool:
    proposal: Proposal = self.proposals[proposalId]
    assert proposal.deadline != 0, "unknown proposal"
    assert block.timestamp > proposal.deadline, "voting still open"
    assert not proposal.executed, "already executed"
    passed: bool = proposal.forVotes + proposal.againstVotes >= proposal.quorumVotes \
        and proposal.forVotes > proposal.againstVotes
    self.proposals[proposalId].executed = True
    self.proposals[proposalId].passed = passed
    if passed:
        if proposal.action == ACTION_ADMIT_CLASS:
            self.classAdmitted[proposal.idaoId][proposal.classId] = True
            log ClassAdmitted(idaoId=proposal.idaoId, classId=proposal.classId)
        else:
            self.verifierAdmitted[proposal.idaoId][proposal.verifier] = True
            if not staticcall VerifiedComputing(self.verifiedComputing).isNode(proposal.verifier):
                extcall VerifiedComputing(self.verifiedComputing).addNode(proposal.verifier, proposal.url,
                                                                          proposal.publicKey)
            log VerifierAdmitted(idaoId=proposal.idaoId, verifier=proposal.verifier)
    log ProposalExecuted(proposalId=proposalId, passed=passed)
    return passed


@external
@view
def getIDAO(idaoId: uint256) -> IDAO:
    return self.idaos[idaoId]


@external
@view
def getProposal(proposalId: uint256) -> Proposal:
    return self.proposals[proposalId]
