# pragma version ==0.4.3
# @title Proposal bookkeeping shared by the staker governor and the iDAO registry (a module)
# @notice A proposal carries up to MAX_ACTIONS calls (target, value, calldata);
#         only their hash is stored, and whoever queues or executes the
#         proposal passes them again (they are in the ProposalCreated event).
#         Life cycle, after OpenZeppelin's Governor and TimelockController:
#           Active (until the deadline) -> Defeated | Succeeded
#           Succeeded -> queue -> Queued (eta = queue time + delay)
#           Queued -> execute (eta <= now <= eta + grace) -> Executed | Expired
#           Active -> cancel (by the proposer) -> Canceled
#         Votes: 0 against, 1 for, 2 abstain. A proposal passes when the
#         votes cast (all three kinds) reach its quorum and for > against.
#         The weight of a vote is read at the proposal's snapshot (the end of
#         the block before the one that created it), so weight acquired after
#         the proposal has none in it.

MAX_ACTIONS: constant(uint256) = 8
MAX_CALLDATA: constant(uint256) = 2048

STATE_ACTIVE: constant(uint8) = 1
STATE_CANCELED: constant(uint8) = 2
STATE_DEFEATED: constant(uint8) = 3
STATE_SUCCEEDED: constant(uint8) = 4
STATE_QUEUED: constant(uint8) = 5
STATE_EXPIRED: constant(uint8) = 6
STATE_EXECUTED: constant(uint8) = 7

VOTE_AGAINST: constant(uint8) = 0
VOTE_FOR: constant(uint8) = 1
VOTE_ABSTAIN: constant(uint8) = 2

struct Proposal:
    domain: uint256
    proposer: address
    actionsHash: bytes32
    snapshot: uint256
    deadline: uint256
    quorumVotes: uint256
    forVotes: uint256
    againstVotes: uint256
    abstainVotes: uint256
    timelockDelay: uint256
    gracePeriod: uint256
    eta: uint256
    executed: bool
    canceled: bool

event ProposalCreated:
    proposalId: indexed(uint256)
    domain: indexed(uint256)
    proposer: indexed(address)
    targets: DynArray[address, MAX_ACTIONS]
    values: DynArray[uint256, MAX_ACTIONS]
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS]
    description: String[1024]
    snapshot: uint256
    deadline: uint256
    quorumVotes: uint256

event VoteCast:
    proposalId: indexed(uint256)
    voter: indexed(address)
    support: uint8
    weight: uint256

event ProposalQueued:
    proposalId: indexed(uint256)
    eta: uint256

event ProposalExecuted:
    proposalId: indexed(uint256)

event ProposalCanceled:
    proposalId: indexed(uint256)

proposals: HashMap[uint256, Proposal]
proposal_count: uint256
has_voted: HashMap[uint256, HashMap[address, bool]]


@internal
@pure
def _actions_hash(targets: DynArray[address, MAX_ACTIONS], values: DynArray[uint256, MAX_ACTIONS],
                  calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS]) -> bytes32:
    return keccak256(abi_encode(targets, values, calldatas))


@internal
def _create(domain: uint256, targets: DynArray[address, MAX_ACTIONS], values: DynArray[uint256, MAX_ACTIONS],
            calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS], description: String[1024],
            voting_period: uint256, quorum_votes: uint256, timelock_delay: uint256, grace_period: uint256) -> uint256:
    assert len(targets) > 0, "no actions"
    assert len(targets) == len(values) and len(targets) == len(calldatas), "actions length mismatch"
    self.proposal_count += 1
    proposal_id: uint256 = self.proposal_count
    snapshot: uint256 = block.timestamp - 1
    deadline: uint256 = block.timestamp + voting_period
    self.proposals[proposal_id] = Proposal(
        domain=domain, proposer=msg.sender, actionsHash=self._actions_hash(targets, values, calldatas),
        snapshot=snapshot, deadline=deadline, quorumVotes=quorum_votes, forVotes=0, againstVotes=0,
        abstainVotes=0, timelockDelay=timelock_delay, gracePeriod=grace_period, eta=0, executed=False,
        canceled=False,
    )
    log ProposalCreated(proposalId=proposal_id, domain=domain, proposer=msg.sender, targets=targets,
                        values=values, calldatas=calldatas, description=description, snapshot=snapshot,
                        deadline=deadline, quorumVotes=quorum_votes)
    return proposal_id


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    proposal: Proposal = self.proposals[proposal_id]
    assert proposal.deadline != 0, "unknown proposal"
    if proposal.executed:
        return STATE_EXECUTED
    if proposal.canceled:
        return STATE_CANCELED
    if block.timestamp <= proposal.deadline:
        return STATE_ACTIVE
    cast: uint256 = proposal.forVotes + proposal.againstVotes + proposal.abstainVotes
    if cast < proposal.quorumVotes or proposal.forVotes <= proposal.againstVotes:
        return STATE_DEFEATED
    if proposal.eta == 0:
        return STATE_SUCCEEDED
    if block.timestamp > proposal.eta + proposal.gracePeriod:
        return STATE_EXPIRED
    return STATE_QUEUED


@internal
def _count_vote(proposal_id: uint256, voter: address, support: uint8, weight: uint256):
    assert self._state(proposal_id) == STATE_ACTIVE, "voting closed"
    assert support <= VOTE_ABSTAIN, "support must be 0 (against), 1 (for) or 2 (abstain)"
    assert not self.has_voted[proposal_id][voter], "already voted"
    assert weight > 0, "no voting weight at the proposal's snapshot"
    self.has_voted[proposal_id][voter] = True
    if support == VOTE_FOR:
        self.proposals[proposal_id].forVotes += weight
    elif support == VOTE_AGAINST:
        self.proposals[proposal_id].againstVotes += weight
    else:
        self.proposals[proposal_id].abstainVotes += weight
    log VoteCast(proposalId=proposal_id, voter=voter, support=support, weight=weight)


@internal
def _queue(proposal_id: uint256, targets: DynArray[address, MAX_ACTIONS], values: DynArray[uint256, MAX_ACTIONS],
           calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS]) -> uint256:
    assert self._state(proposal_id) == STATE_SUCCEEDED, "proposal has not succeeded (or is already queued)"
    assert self.proposals[proposal_id].actionsHash == self._actions_hash(targets, values, calldatas), \
        "actions differ from the proposal"
    eta: uint256 = block.timestamp + self.proposals[proposal_id].timelockDelay
    self.proposals[proposal_id].eta = eta
    log ProposalQueued(proposalId=proposal_id, eta=eta)
    return eta


@internal
def _mark_executed(proposal_id: uint256, targets: DynArray[address, MAX_ACTIONS],
                   values: DynArray[uint256, MAX_ACTIONS], calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS]):
    """Checks that the proposal may run now with these actions; marks it executed (before the calls run)."""
    assert self._state(proposal_id) == STATE_QUEUED, "proposal is not queued (or has expired)"
    assert block.timestamp >= self.proposals[proposal_id].eta, "timelock not over"
    assert self.proposals[proposal_id].actionsHash == self._actions_hash(targets, values, calldatas), \
        "actions differ from the proposal"
    self.proposals[proposal_id].executed = True
    log ProposalExecuted(proposalId=proposal_id)


@internal
def _cancel(proposal_id: uint256):
    assert self._state(proposal_id) == STATE_ACTIVE, "only an active proposal can be canceled"
    assert msg.sender == self.proposals[proposal_id].proposer, "only the proposer may cancel"
    self.proposals[proposal_id].canceled = True
    log ProposalCanceled(proposalId=proposal_id)
