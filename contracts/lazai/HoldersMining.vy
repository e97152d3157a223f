# pragma version ==0.4.3
# @title HoldersMining: the fee vault, METIS staking and fee-split governance
# @notice Predeployed at FEE_VAULT_ADDRESS. Revenue arrives two ways:
#         * the chain credits each block's base fee (gas_used * base_fee) to
#           this address's balance as a chain rule, with no call and no code
#           run; the vault finds it as the difference between its balance
#           and what it already accounts for (`tracked`) at every checkpoint
#           and books it as the base-fee stream;
#         * contracts send their protocol share of compute fees (AI process
#           settlements) and data-verification fees with depositRevenue(stream).
#         Revenue collects in `undistributed` and is shared pro rata among
#         stakers at the first checkpoint at least `epochLength` seconds after
#         the previous distribution (an epoch). Rewards use one accumulator,
#         scaled by 1e18 with the division remainder carried forward, so
#         nothing is lost or created by rounding (see docs/lazai.md).
#         Unstaking stops rewards at once and releases the METIS after
#         `unstakeDelay`. The fee-split parameters (share of compute and
#         verification fees routed here) change only through a stake-weighted
#         vote of stakers with quorum and a voting period.

STREAM_BASE_FEE: constant(uint8) = 0
STREAM_COMPUTE: constant(uint8) = 1
STREAM_VERIFICATION: constant(uint8) = 2
SCALE: constant(uint256) = 10 ** 18
MAX_BPS: constant(uint256) = 10000

struct Proposal:
    proposer: address
    computeFeeBps: uint256
    verificationFeeBps: uint256
    deadline: uint256
    forVotes: uint256
    againstVotes: uint256
    quorumVotes: uint256
    executed: bool

event Staked:
    staker: indexed(address)
    amount: uint256

event UnstakeRequested:
    staker: indexed(address)
    amount: uint256
    unlockAt: uint256

event Withdrawn:
    staker: indexed(address)
    amount: uint256

event RewardClaimed:
    staker: indexed(address)
    amount: uint256

event RevenueReceived:
    stream: indexed(uint8)
    amount: uint256

event EpochDistributed:
    epoch: indexed(uint256)
    amount: uint256
    totalStaked: uint256

event ProposalCreated:
    proposalId: indexed(uint256)
    proposer: indexed(address)
    computeFeeBps: uint256
    verificationFeeBps: uint256
    deadline: uint256

event VoteCast:
    proposalId: indexed(uint256)
    voter: indexed(address)
    support: bool
    weight: uint256

event ProposalExecuted:
    proposalId: indexed(uint256)
    passed: bool

# fee split (changed only by staker governance)
computeFeeBps: public(uint256)
verificationFeeBps: public(uint256)
# fixed at genesis
epochLength: public(uint256)
unstakeDelay: public(uint256)
votingPeriod: public(uint256)
quorumBps: public(uint256)

# staking
totalStaked: public(uint256)
stakeOf: public(HashMap[address, uint256])
pendingUnstake: public(HashMap[address, uint256])
unlockAt: public(HashMap[address, uint256])
reward_debt: HashMap[address, uint256]
reward_credit: HashMap[address, uint256]
accRewardPerStake: public(uint256)
distribute_carry: uint256

# revenue accounting
tracked: public(uint256)            # wei this contract already accounts for
undistributed: public(uint256)      # revenue waiting for the next epoch distribution
revenueByStream: public(HashMap[uint8, uint256])
totalDistributed: public(uint256)
totalClaimed: public(uint256)
currentEpoch: public(uint256)
lastDistributionAt: public(uint256)

proposals: public(HashMap[uint256, Proposal])
proposalCount: public(uint256)
hasVoted: public(HashMap[uint256, HashMap[address, bool]])


@deploy
@payable
def __init__(compute_fee_bps: uint256, verification_fee_bps: uint256, epoch_length: uint256,
             unstake_delay: uint256, voting_period: uint256, quorum_bps: uint256):
    assert compute_fee_bps <= MAX_BPS and verification_fee_bps <= MAX_BPS, "fee above 100%"
    assert quorum_bps <= MAX_BPS, "quorum above 100%"
    assert unstake_delay >= voting_period, "unstake delay shorter than a vote"
    self.computeFeeBps = compute_fee_bps
    self.verificationFeeBps = verification_fee_bps
    self.epochLength = epoch_length
    self.unstakeDelay = unstake_delay
    self.votingPeriod = voting_period
    self.quorumBps = quorum_bps
    self.lastDistributionAt = block.timestamp


# ------------------------------------------------------------------ accounting

@internal
def _sweep(incoming: uint256):
    """Books balance growth that came without a call (the base fee) as revenue."""
    known: uint256 = self.tracked + incoming
    if self.balance > known:
        untracked: uint256 = self.balance - known
        self.tracked += untracked
        self.undistributed += untracked
        self.revenueByStream[STREAM_BASE_FEE] += untracked
        log RevenueReceived(stream=STREAM_BASE_FEE, amount=untracked)


@internal
def _checkpoint(incoming: uint256):
    self._sweep(incoming)
    if block.timestamp < self.lastDistributionAt + self.epochLength:
        return
    if self.totalStaked == 0:
        return  # revenue waits for the first stakers; the epoch does not close
    amount: uint256 = self.undistributed
    scaled: uint256 = amount * SCALE + self.distribute_carry
    self.accRewardPerStake += scaled // self.totalStaked
    self.distribute_carry = scaled % self.totalStaked
    self.undistributed = 0
    self.totalDistributed += amount
    self.lastDistributionAt = block.timestamp
    self.currentEpoch += 1
    log EpochDistributed(epoch=self.currentEpoch, amount=amount, totalStaked=self.totalStaked)


@internal
def _settle_account(staker: address):
    """Moves what the account earned so far into its credit before its stake changes."""
    stake: uint256 = self.stakeOf[staker]
    self.reward_credit[staker] += stake * self.accRewardPerStake - self.reward_debt[staker]
    self.reward_debt[staker] = stake * self.accRewardPerStake


@external
@payable
def __default__():
    """Plain transfers are revenue too (booked as base-fee stream at the next checkpoint)."""
    pass


@external
@payable
@nonreentrant
def depositRevenue(stream: uint8):
    assert stream == STREAM_COMPUTE or stream == STREAM_VERIFICATION or stream == STREAM_BASE_FEE, "unknown stream"
    self._sweep(msg.value)
    self.tracked += msg.value
    self.undistributed += msg.value
    self.revenueByStream[stream] += msg.value
    log RevenueReceived(stream=stream, amount=msg.value)


@external
@nonreentrant
def checkpoint():
    """Anyone may close the epoch: books new base fees and distributes if an epoch has passed."""
    self._checkpoint(0)


# --------------------------------------------------------------------- staking

@external
@payable
@nonreentrant
def stake():
    assert msg.value > 0, "nothing to stake"
    self._checkpoint(msg.value)
    self._settle_account(msg.sender)
    self.tracked += msg.value
    self.stakeOf[msg.sender] += msg.value
    self.totalStaked += msg.value
    self.reward_debt[msg.sender] = self.stakeOf[msg.sender] * self.accRewardPerStake
    log Staked(staker=msg.sender, amount=msg.value)


@external
@nonreentrant
def requestUnstake(amount: uint256):
    assert amount > 0, "nothing to unstake"
    assert self.stakeOf[msg.sender] >= amount, "amount exceeds stake"
    self._checkpoint(0)
    self._settle_account(msg.sender)
    self.stakeOf[msg.sender] -= amount
    self.totalStaked -= amount
    self.reward_debt[msg.sender] = self.stakeOf[msg.sender] * self.accRewardPerStake
    self.pendingUnstake[msg.sender] += amount
    self.unlockAt[msg.sender] = block.timestamp + self.unstakeDelay
    log UnstakeRequested(staker=msg.sender, amount=amount, unlockAt=self.unlockAt[msg.sender])


@external
@nonreentrant
def withdraw():
    amount: uint256 = self.pendingUnstake[msg.sender]
    assert amount > 0, "nothing to withdraw"
    assert block.timestamp >= self.unlockAt[msg.sender], "unstake delay not over"
    self.pendingUnstake[msg.sender] = 0
    self.tracked -= amount
    send(msg.sender, amount)
    log Withdrawn(staker=msg.sender, amount=amount)


@external
@nonreentrant
def claim() -> uint256:
    self._checkpoint(0)
    self._settle_account(msg.sender)
    amount: uint256 = self.reward_credit[msg.sender] // SCALE
    assert amount > 0, "nothing to claim"
    self.reward_credit[msg.sender] -= amount * SCALE
    self.tracked -= amount
    self.totalClaimed += amount
    log RewardClaimed(staker=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)
    return amount


@external
@view
def pendingRewards(staker: address) -> uint256:
    """Rewards from epochs already distributed (the open epoch's revenue is in `undistributed`)."""
    stake: uint256 = self.stakeOf[staker]
    return (self.reward_credit[staker] + stake * self.accRewardPerStake - self.reward_debt[staker]) // SCALE


@external
@view
def untrackedBalance() -> uint256:
    """Base fees credited since the last checkpoint."""
    return self.balance - self.tracked


@external
@view
def nextEpochAt() -> uint256:
    return self.lastDistributionAt + self.epochLength


# ------------------------------------------------------------------ governance

@external
def propose(computeFeeBps: uint256, verificationFeeBps: uint256) -> uint256:
    assert self.stakeOf[msg.sender] > 0, "only stakers may propose"
    assert computeFeeBps <= MAX_BPS and verificationFeeBps <= MAX_BPS, "fee above 100%"
    self.proposalCount += 1
    proposal_id: uint256 = self.proposalCount
    deadline: uint256 = block.timestamp + self.votingPeriod
    self.proposals[proposal_id] = Proposal(
        proposer=msg.sender, computeFeeBps=computeFeeBps, verificationFeeBps=verificationFeeBps,
        deadline=deadline, forVotes=0, againstVotes=0,
        quorumVotes=self.totalStaked * self.quorumBps // MAX_BPS, executed=False,
    )
    log ProposalCreated(proposalId=proposal_id, proposer=msg.sender, computeFeeBps=computeFeeBps,
                        verificationFeeBps=verificationFeeBps, deadline=deadline)
    return proposal_id


@external
def vote(proposalId: uint256, support: bool):
    proposal: Proposal = self.proposals[proposalId]
    assert proposal.deadline != 0, "unknown proposal"
    assert block.timestamp <= proposal.deadline, "voting closed"
    assert not self.hasVoted[proposalId][msg.sender], "already voted"
    weight: uint256 = self.stakeOf[msg.sender]
    assert weight > 0, "no stake"
    self.hasVoted[proposalId][msg.sender] = True
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
    self.proposals[proposalId].executed = True
    passed: bool = proposal.forVotes + proposal.againstVotes >= proposal.quorumVotes \
        and proposal.forVotes > proposal.againstVotes
    if passed:
        self.computeFeeBps = proposal.computeFeeBps
        self.verificationFeeBps = proposal.verificationFeeBps
    log ProposalExecuted(proposalId=proposalId, passed=passed)
    return passed
