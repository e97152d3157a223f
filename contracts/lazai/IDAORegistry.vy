# pragma version ==0.4.3
# @title IDAORegistry: iDAOs (people or AI agents) that stake, vote, act and share revenue
# @notice Anyone, an EOA or a contract acting for an AI agent, registers an
#         iDAO and becomes its first member. Each iDAO gets its own account,
#         an IDAOExecutor proxy: the iDAO's identity and treasury.
#         * Members stake METIS into the iDAO. Stake is vote weight
#           (lib_votes, domain = iDAO id): checkpointed, delegable, and read at
#           each proposal's snapshot, so stake that arrives after a proposal
#           has no weight in it.
#         * A proposal carries arbitrary calls. When it passes (quorum of the
#           stake at the snapshot, for > against) it is queued and, after the
#           iDAO's timelock delay, executed by the iDAO's executor. That is
#           how an iDAO manages the DAT classes it governs (mint, policy,
#           revenue share, revocation), removes the verifiers it admitted,
#           spends its treasury and changes its own rules (`setGovernance`).
#         * Admitting a verifier is a proposal of its own kind, held to
#           protocol-wide floors that stakers set in the ProtocolGovernor, not
#           the iDAO's creator: a minimum iDAO stake at the snapshot, a
#           minimum quorum and a minimum voting period. On execution this
#           registry asks VerifiedComputing to admit the node, which also
#           requires the node's bond locked in Holders Mining.
#         * Members share the revenue the iDAO earns (the governed share of
#           its DAT classes' and models' revenue, sent here with
#           `depositRevenue`) in proportion to stake. Stake earns from the
#           first revenue epoch that starts after it joined, so joining just
#           before a payment earns nothing from it. Accounting is one
#           accumulator per iDAO (scaled by 1e18, remainder carried), O(1) per
#           deposit and claim.
#         * Leaving stops votes and revenue at once; the METIS is paid when no
#           proposal whose snapshot counted it is still open.

from . import lib_votes as votes
from . import lib_governance as gov

initializes: votes
initializes: gov

interface Params:
    def param(key: bytes32) -> uint256: view

interface Executor:
    def initialize(idao_id: uint256): nonpayable
    def run(targets: DynArray[address, gov.MAX_ACTIONS], amounts: DynArray[uint256, gov.MAX_ACTIONS],
            calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS]): payable

MAX_BPS: constant(uint256) = 10000
SCALE: constant(uint256) = 10 ** 18
KIND_GENERIC: constant(uint8) = 1
KIND_ADMIT_VERIFIER: constant(uint8) = 2

MIN_TIMELOCK_DELAY: constant(bytes32) = keccak256("idao.minTimelockDelay")
MAX_VOTING_PERIOD: constant(bytes32) = keccak256("idao.maxVotingPeriod")
GRACE_PERIOD: constant(bytes32) = keccak256("idao.gracePeriod")
VERIFIER_MIN_IDAO_STAKE: constant(bytes32) = keccak256("verifiers.minIDAOStake")
VERIFIER_MIN_QUORUM_BPS: constant(bytes32) = keccak256("verifiers.minQuorumBps")
VERIFIER_MIN_VOTING_PERIOD: constant(bytes32) = keccak256("verifiers.minVotingPeriod")

struct IDAO:
    owner: address
    name: String[64]
    metadataURI: String[256]
    quorumBps: uint256
    votingPeriod: uint256
    timelockDelay: uint256
    proposalThreshold: uint256
    totalStake: uint256
    memberCount: uint256
    executor: address

event IDAORegistered:
    idaoId: indexed(uint256)
    owner: indexed(address)
    executor: address
    name: String[64]

event GovernanceUpdated:
    idaoId: indexed(uint256)
    quorumBps: uint256
    votingPeriod: uint256
    timelockDelay: uint256
    proposalThreshold: uint256

event MemberJoined:
    idaoId: indexed(uint256)
    member: indexed(address)
    stake: uint256

event MemberLeft:
    idaoId: indexed(uint256)
    member: indexed(address)
    stake: uint256
    withdrawableAt: uint256

event Withdrawn:
    idaoId: indexed(uint256)
    member: indexed(address)
    amount: uint256

event RevenueDeposited:
    idaoId: indexed(uint256)
    sender: indexed(address)
    amount: uint256
    toTreasury: bool

event RevenueClaimed:
    idaoId: indexed(uint256)
    member: indexed(address)
    amount: uint256

governor: public(address)
verifiedComputing: public(address)
executorImplementation: public(address)
revenueEpoch: public(uint256)

idaoCount: public(uint256)
idaos: HashMap[uint256, IDAO]
idaoOfExecutor: public(HashMap[address, uint256])
memberStake: public(HashMap[uint256, HashMap[address, uint256]])
pendingWithdrawal: public(HashMap[uint256, HashMap[address, uint256]])
withdrawableAt: public(HashMap[uint256, HashMap[address, uint256]])
latestDeadline: public(HashMap[uint256, uint256])
proposalKind: public(HashMap[uint256, uint8])

# member revenue (per iDAO accumulator with activation at the next revenue epoch)
totalRevenue: public(HashMap[uint256, uint256])
activeStake: public(HashMap[uint256, uint256])
rev_acc: HashMap[uint256, uint256]
rev_carry: HashMap[uint256, uint256]
pending_stake_total: HashMap[uint256, uint256]
last_roll_epoch: HashMap[uint256, uint256]
roll_seq: HashMap[uint256, uint256]
roll_acc: HashMap[uint256, HashMap[uint256, uint256]]
member_active: HashMap[uint256, HashMap[address, uint256]]
member_pending: HashMap[uint256, HashMap[address, uint256]]
member_pending_seq: HashMap[uint256, HashMap[address, uint256]]
member_debt: HashMap[uint256, HashMap[address, uint256]]
member_credit: HashMap[uint256, HashMap[address, uint256]]


@deploy
def __init__(governor: address, verified_computing: address, executor_implementation: address,
             revenue_epoch: uint256):
    assert revenue_epoch > 0, "revenue epoch must be positive"
    self.governor = governor
    self.verifiedComputing = verified_computing
    self.executorImplementation = executor_implementation
    self.revenueEpoch = revenue_epoch


@internal
@view
def _param(key: bytes32) -> uint256:
    return staticcall Params(self.governor).param(key)


@internal
@view
def _require_idao(idao_id: uint256):
    assert idao_id != 0 and idao_id <= self.idaoCount, "unknown iDAO"


@internal
@view
def _only_executor(idao_id: uint256):
    self._require_idao(idao_id)
    assert msg.sender == self.idaos[idao_id].executor, "only the iDAO's executor (a passed proposal) may do this"


@internal
@view
def _check_rules(quorum_bps: uint256, voting_period: uint256, timelock_delay: uint256):
    assert quorum_bps > 0 and quorum_bps <= MAX_BPS, "quorum must be in (0, 10000] bps"
    assert voting_period > 0, "voting period must be positive"
    assert voting_period <= self._param(MAX_VOTING_PERIOD), "voting period above the protocol maximum"
    assert timelock_delay >= self._param(MIN_TIMELOCK_DELAY), "timelock delay below the protocol minimum"


# ------------------------------------------------------------------ registration

@external
@payable
def registerIDAO(name: String[64], metadataURI: String[256], quorumBps: uint256, votingPeriod: uint256) -> uint256:
    """Registers an iDAO owned by the caller; msg.value is the owner's initial stake."""
    assert len(name) > 0, "empty name"
    timelock_delay: uint256 = self._param(MIN_TIMELOCK_DELAY)
    self._check_rules(quorumBps, votingPeriod, timelock_delay)
    self.idaoCount += 1
    idao_id: uint256 = self.idaoCount
    executor: address = create_minimal_proxy_to(self.executorImplementation)
    extcall Executor(executor).initialize(idao_id)
    self.idaoOfExecutor[executor] = idao_id
    self.idaos[idao_id] = IDAO(owner=msg.sender, name=name, metadataURI=metadataURI, quorumBps=quorumBps,
                               votingPeriod=votingPeriod, timelockDelay=timelock_delay, proposalThreshold=0,
                               totalStake=0, memberCount=0, executor=executor)
    log IDAORegistered(idaoId=idao_id, owner=msg.sender, executor=executor, name=name)
    if msg.value > 0:
        self._join(idao_id, msg.sender, msg.value)
    return idao_id


@external
def setGovernance(idaoId: uint256, quorumBps: uint256, votingPeriod: uint256, timelockDelay: uint256,
                  proposalThreshold: uint256):
    """The iDAO changes its own voting rules (only through one of its proposals)."""
    self._only_executor(idaoId)
    self._check_rules(quorumBps, votingPeriod, timelockDelay)
    self.idaos[idaoId].quorumBps = quorumBps
    self.idaos[idaoId].votingPeriod = votingPeriod
    self.idaos[idaoId].timelockDelay = timelockDelay
    self.idaos[idaoId].proposalThreshold = proposalThreshold
    log GovernanceUpdated(idaoId=idaoId, quorumBps=quorumBps, votingPeriod=votingPeriod,
                          timelockDelay=timelockDelay, proposalThreshold=proposalThreshold)


@external
def setMetadata(idaoId: uint256, metadataURI: String[256]):
    self._only_executor(idaoId)
    self.idaos[idaoId].metadataURI = metadataURI


# ------------------------------------------------------------------ revenue internals

@internal
def _roll(idao_id: uint256):
    """At the first action of a new revenue epoch, stake that joined before it starts earning."""
    epoch: uint256 = block.timestamp // self.revenueEpoch
    if epoch <= self.last_roll_epoch[idao_id]:
        return
    seq: uint256 = self.roll_seq[idao_id] + 1
    self.roll_seq[idao_id] = seq
    self.roll_acc[idao_id][seq] = self.rev_acc[idao_id]
    self.activeStake[idao_id] += self.pending_stake_total[idao_id]
    self.pending_stake_total[idao_id] = 0
    self.last_roll_epoch[idao_id] = epoch


@internal
def _settle_member(idao_id: uint256, member: address):
    """Credits what the member's earning stake made so far; activates its waiting stake if its epoch began."""
    acc: uint256 = self.rev_acc[idao_id]
    active: uint256 = self.member_active[idao_id][member]
    self.member_credit[idao_id][member] += active * acc - self.member_debt[idao_id][member]
    pending: uint256 = self.member_pending[idao_id][member]
    activation: uint256 = self.member_pending_seq[idao_id][member]
    if pending > 0 and self.roll_seq[idao_id] >= activation:
        self.member_credit[idao_id][member] += pending * (acc - self.roll_acc[idao_id][activation])
        active += pending
        self.member_active[idao_id][member] = active
        self.member_pending[idao_id][member] = 0
    self.member_debt[idao_id][member] = active * acc


# ------------------------------------------------------------------ membership

@internal
def _join(idao_id: uint256, member: address, amount: uint256):
    self._roll(idao_id)
    self._settle_member(idao_id, member)
    if self.memberStake[idao_id][member] == 0:
        self.idaos[idao_id].memberCount += 1
    self.memberStake[idao_id][member] += amount
    self.idaos[idao_id].totalStake += amount
    self.member_pending[idao_id][member] += amount
    self.member_pending_seq[idao_id][member] = self.roll_seq[idao_id] + 1
    self.pending_stake_total[idao_id] += amount
    votes._add_units(idao_id, member, amount)
    log MemberJoined(idaoId=idao_id, member=member, stake=amount)


@external
@payable
def join(idaoId: uint256):
    self._require_idao(idaoId)
    assert msg.value > 0, "stake required"
    self._join(idaoId, msg.sender, msg.value)


@internal
def _pay_withdrawal(idao_id: uint256, member: address):
    amount: uint256 = self.pendingWithdrawal[idao_id][member]
    self.pendingWithdrawal[idao_id][member] = 0
    log Withdrawn(idaoId=idao_id, member=member, amount=amount)
    raw_call(member, b"", value=amount)


@external
@nonreentrant
def leave(idaoId: uint256, amount: uint256):
    """Takes `amount` of stake out at once (votes and revenue stop); paid now, or when the iDAO's open votes end."""
    self._require_idao(idaoId)
    stake: uint256 = self.memberStake[idaoId][msg.sender]
    assert stake > 0, "not a member"
    assert amount > 0 and amount <= stake, "amount must be in (0, stake]"
    self._roll(idaoId)
    self._settle_member(idaoId, msg.sender)
    from_pending: uint256 = min(amount, self.member_pending[idaoId][msg.sender])
    from_active: uint256 = amount - from_pending
    self.member_pending[idaoId][msg.sender] -= from_pending
    self.pending_stake_total[idaoId] -= from_pending
    self.member_active[idaoId][msg.sender] -= from_active
    self.activeStake[idaoId] -= from_active
    self.member_debt[idaoId][msg.sender] = self.member_active[idaoId][msg.sender] * self.rev_acc[idaoId]
    self.memberStake[idaoId][msg.sender] = stake - amount
    self.idaos[idaoId].totalStake -= amount
    if stake == amount:
        self.idaos[idaoId].memberCount -= 1
    votes._remove_units(idaoId, msg.sender, amount)
    # paid after the last open vote's deadline (a vote is open up to and including it)
    unlock: uint256 = max(max(block.timestamp, self.latestDeadline[idaoId] + 1), self.withdrawableAt[idaoId][msg.sender])
    self.pendingWithdrawal[idaoId][msg.sender] += amount
    self.withdrawableAt[idaoId][msg.sender] = unlock
    log MemberLeft(idaoId=idaoId, member=msg.sender, stake=amount, withdrawableAt=unlock)
    if unlock <= block.timestamp:
        self._pay_withdrawal(idaoId, msg.sender)


@external
@nonreentrant
def withdraw(idaoId: uint256):
    assert self.pendingWithdrawal[idaoId][msg.sender] > 0, "nothing to withdraw"
    assert block.timestamp >= self.withdrawableAt[idaoId][msg.sender], "stake locked until the iDAO's open votes end"
    self._pay_withdrawal(idaoId, msg.sender)


@external
def delegate(idaoId: uint256, delegatee: address):
    """The caller's stake in this iDAO votes through `delegatee` from now on."""
    self._require_idao(idaoId)
    votes._delegate(idaoId, msg.sender, delegatee)


# ------------------------------------------------------------------ revenue

@external
@payable
@nonreentrant
def depositRevenue(idaoId: uint256):
    """Revenue for the iDAO's members (by stake); with no earning stake yet it goes to the iDAO's treasury."""
    self._require_idao(idaoId)
    assert msg.value > 0, "nothing to deposit"
    self._roll(idaoId)
    self.totalRevenue[idaoId] += msg.value
    active: uint256 = self.activeStake[idaoId]
    if active == 0:
        log RevenueDeposited(idaoId=idaoId, sender=msg.sender, amount=msg.value, toTreasury=True)
        raw_call(self.idaos[idaoId].executor, b"", value=msg.value)
        return
    scaled: uint256 = msg.value * SCALE + self.rev_carry[idaoId]
    self.rev_acc[idaoId] += scaled // active
    self.rev_carry[idaoId] = scaled % active
    log RevenueDeposited(idaoId=idaoId, sender=msg.sender, amount=msg.value, toTreasury=False)


@external
@nonreentrant
def claimRevenue(idaoId: uint256) -> uint256:
    self._require_idao(idaoId)
    self._roll(idaoId)
    self._settle_member(idaoId, msg.sender)
    amount: uint256 = self.member_credit[idaoId][msg.sender] // SCALE
    assert amount > 0, "nothing to claim"
    self.member_credit[idaoId][msg.sender] -= amount * SCALE
    log RevenueClaimed(idaoId=idaoId, member=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)
    return amount


@external
@view
def pendingRevenue(idaoId: uint256, member: address) -> uint256:
    acc: uint256 = self.rev_acc[idaoId]
    scaled: uint256 = self.member_credit[idaoId][member] + self.member_active[idaoId][member] * acc \
        - self.member_debt[idaoId][member]
    activation: uint256 = self.member_pending_seq[idaoId][member]
    if self.member_pending[idaoId][member] > 0 and self.roll_seq[idaoId] >= activation:
        scaled += self.member_pending[idaoId][member] * (acc - self.roll_acc[idaoId][activation])
    return scaled // SCALE


@external
@view
def earningStakeOf(idaoId: uint256, member: address) -> (uint256, uint256):
    """(stake earning revenue now, stake that starts earning at the next revenue epoch)."""
    pending: uint256 = self.member_pending[idaoId][member]
    if pending > 0 and block.timestamp // self.revenueEpoch > self.last_roll_epoch[idaoId]:
        return self.member_active[idaoId][member] + pending, 0
    if pending > 0 and self.roll_seq[idaoId] >= self.member_pending_seq[idaoId][member]:
        return self.member_active[idaoId][member] + pending, 0
    return self.member_active[idaoId][member], pending


# ------------------------------------------------------------------ proposals

@internal
def _open(idao_id: uint256, targets: DynArray[address, gov.MAX_ACTIONS], amounts: DynArray[uint256, gov.MAX_ACTIONS],
          calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS], description: String[1024],
          quorum_bps: uint256, voting_period: uint256, min_total: uint256, kind: uint8) -> uint256:
    idao: IDAO = self.idaos[idao_id]
    snapshot: uint256 = block.timestamp - 1
    weight: uint256 = votes._past_votes(idao_id, msg.sender, snapshot)
    assert weight > 0 and weight >= idao.proposalThreshold, "votes below the proposal threshold"
    total: uint256 = votes._past_total(idao_id, snapshot)
    assert total >= min_total, "iDAO stake below the protocol floor for verifier admission"
    quorum: uint256 = max(total * quorum_bps // MAX_BPS, 1)
    proposal_id: uint256 = gov._create(idao_id, targets, amounts, calldatas, description, voting_period, quorum,
                                       idao.timelockDelay, self._param(GRACE_PERIOD))
    self.proposalKind[proposal_id] = kind
    self.latestDeadline[idao_id] = max(self.latestDeadline[idao_id], block.timestamp + voting_period)
    return proposal_id


@external
def propose(idaoId: uint256, targets: DynArray[address, gov.MAX_ACTIONS],
            values: DynArray[uint256, gov.MAX_ACTIONS],
            calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS], description: String[1024]) -> uint256:
    """A proposal whose calls the iDAO's executor makes once it passes and its timelock ends."""
    self._require_idao(idaoId)
    idao: IDAO = self.idaos[idaoId]
    return self._open(idaoId, targets, values, calldatas, description, idao.quorumBps, idao.votingPeriod, 0,
                      KIND_GENERIC)


@external
def proposeAdmitVerifier(idaoId: uint256, verifier: address, url: String[256], publicKey: String[1024]) -> uint256:
    """Admission of a verifier node, held to the protocol floors (stake, quorum, voting period)."""
    self._require_idao(idaoId)
    assert verifier != empty(address), "verifier is the zero address"
    idao: IDAO = self.idaos[idaoId]
    call: Bytes[gov.MAX_CALLDATA] = concat(method_id("admitVerifier(address,string,string,uint256)"),
                                           abi_encode(verifier, url, publicKey, idaoId))
    return self._open(idaoId, [self.verifiedComputing], [0], [call], "admit verifier",
                      max(idao.quorumBps, self._param(VERIFIER_MIN_QUORUM_BPS)),
                      max(idao.votingPeriod, self._param(VERIFIER_MIN_VOTING_PERIOD)),
                      max(self._param(VERIFIER_MIN_IDAO_STAKE), 1), KIND_ADMIT_VERIFIER)


@external
def castVote(proposalId: uint256, support: uint8):
    proposal: gov.Proposal = gov.proposals[proposalId]
    assert proposal.deadline != 0, "unknown proposal"
    gov._count_vote(proposalId, msg.sender, support,
                    votes._past_votes(proposal.domain, msg.sender, proposal.snapshot))


@external
def queue(proposalId: uint256, targets: DynArray[address, gov.MAX_ACTIONS],
          values: DynArray[uint256, gov.MAX_ACTIONS],
          calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS]) -> uint256:
    return gov._queue(proposalId, targets, values, calldatas)


@external
@payable
@nonreentrant
def execute(proposalId: uint256, targets: DynArray[address, gov.MAX_ACTIONS],
            values: DynArray[uint256, gov.MAX_ACTIONS],
            calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS]):
    """Anyone may execute a queued proposal once its timelock ends; msg.value goes to the executor."""
    gov._mark_executed(proposalId, targets, values, calldatas)
    if self.proposalKind[proposalId] == KIND_ADMIT_VERIFIER:
        assert msg.value == 0, "an admission carries no value"
        raw_call(targets[0], calldatas[0])
        return
    extcall Executor(self.idaos[gov.proposals[proposalId].domain].executor).run(targets, values, calldatas,
                                                                             value=msg.value)


@external
def cancel(proposalId: uint256):
    gov._cancel(proposalId)


# ------------------------------------------------------------------ views

@external
@view
def getIDAO(idaoId: uint256) -> IDAO:
    return self.idaos[idaoId]


@external
@view
def executorOf(idaoId: uint256) -> address:
    return self.idaos[idaoId].executor


@external
@view
def getProposal(proposalId: uint256) -> gov.Proposal:
    return gov.proposals[proposalId]


@external
@view
def state(proposalId: uint256) -> uint8:
    return gov._state(proposalId)


@external
@view
def proposalCount() -> uint256:
    return gov.proposal_count


@external
@view
def hasVoted(proposalId: uint256, account: address) -> bool:
    return gov.has_voted[proposalId][account]


@external
@view
def delegates(idaoId: uint256, account: address) -> address:
    return votes.delegate_of[idaoId][account]


@external
@view
def getVotes(idaoId: uint256, account: address) -> uint256:
    return votes._votes(idaoId, account)


@external
@view
def getPastVotes(idaoId: uint256, account: address, timepoint: uint256) -> uint256:
    return votes._past_votes(idaoId, account, timepoint)


@external
@view
def getPastTotalStake(idaoId: uint256, timepoint: uint256) -> uint256:
    return votes._past_total(idaoId, timepoint)
