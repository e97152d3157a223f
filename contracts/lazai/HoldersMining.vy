# pragma version ==0.4.3
# @title HoldersMining: the fee vault, METIS staking, staker votes and verifier bonds
# @notice Predeployed at FEE_VAULT_ADDRESS. Revenue arrives in streams:
#         * 0 transaction fees: the chain credits each transaction's base fee
#           (gas_used * base_fee) to this address's balance as a chain rule,
#           with no call and no code run; the vault finds it as the difference
#           between its balance and what it already accounts for (`tracked`)
#           at every checkpoint;
#         * 1 compute fees (the protocol share of gateway inferences, off-chain
#           jobs and AI-process settlements) and 2 data-verification fees (the
#           protocol share of proof fees) arrive with depositRevenue(stream);
#         * 3 slashing: the vault's part of a slashed verifier bond;
#         * 4 direct: plain transfers (they need more than the 2300-gas stipend).
#         Revenue collects in `undistributed` and is shared pro rata among
#         stakers at the first checkpoint at least `epochLength` seconds after
#         the previous distribution (an epoch). Rewards use one accumulator,
#         scaled by 1e18 with the division remainder carried forward, so
#         nothing is lost or created by rounding (see docs/lazai.md).
#         Unstaking stops rewards at once and releases the METIS after
#         `unstakeDelay`.
#         Stake is also voting weight in the ProtocolGovernor: checkpointed
#         (lib_votes, domain 0), delegable, read at each proposal's snapshot.
#         The rates this vault applies (computeFeeBps, verificationFeeBps) are
#         parameters of the ProtocolGovernor, so only stakers change them.
#         A verifier bond is stake its owner locks with `bond`: it keeps
#         earning and voting, cannot be unstaked, and the verifier registry
#         (VerifiedComputing) may slash it; `unbond` is possible only when the
#         registry says the bond is releasable (the verifier is inactive, its
#         dispute window has passed and no challenge against it is open).

from . import lib_votes as votes

initializes: votes

interface Params:
    def param(key: bytes32) -> uint256: view

interface VerifierRegistry:
    def bondReleasableAt(verifier: address) -> uint256: view

STREAM_TRANSACTION_FEES: constant(uint8) = 0
STREAM_COMPUTE: constant(uint8) = 1
STREAM_VERIFICATION: constant(uint8) = 2
STREAM_SLASHING: constant(uint8) = 3
STREAM_DIRECT: constant(uint8) = 4
SCALE: constant(uint256) = 10 ** 18
MAX_BPS: constant(uint256) = 10000
STAKERS: constant(uint256) = 0  # the lib_votes domain of Holders Mining stake

COMPUTE_FEE_BPS: constant(bytes32) = keccak256("fees.computeBps")
VERIFICATION_FEE_BPS: constant(bytes32) = keccak256("fees.verificationBps")
SLASH_CHALLENGER_BPS: constant(bytes32) = keccak256("verifiers.slashChallengerBps")

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

event Bonded:
    verifier: indexed(address)
    amount: uint256

event Unbonded:
    verifier: indexed(address)
    amount: uint256

event BondSlashed:
    verifier: indexed(address)
    challenger: indexed(address)
    amount: uint256
    toChallenger: uint256
    toVault: uint256

governor: public(address)
verifierRegistry: public(address)
# fixed at genesis
epochLength: public(uint256)
unstakeDelay: public(uint256)

# staking
totalStaked: public(uint256)
stakeOf: public(HashMap[address, uint256])
bondOf: public(HashMap[address, uint256])
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


@deploy
@payable
def __init__(governor: address, verifier_registry: address, epoch_length: uint256, unstake_delay: uint256):
    self.governor = governor
    self.verifierRegistry = verifier_registry
    self.epochLength = epoch_length
    self.unstakeDelay = unstake_delay
    self.lastDistributionAt = block.timestamp


@external
@view
def computeFeeBps() -> uint256:
    """Share of compute fees (AI-process settlements) routed here; a ProtocolGovernor parameter."""
    return staticcall Params(self.governor).param(COMPUTE_FEE_BPS)


@external
@view
def verificationFeeBps() -> uint256:
    """Share of data-verification (proof) fees routed here; a ProtocolGovernor parameter."""
    return staticcall Params(self.governor).param(VERIFICATION_FEE_BPS)


# ------------------------------------------------------------------ accounting

@internal
def _sweep(incoming: uint256):
    """Books balance growth that came without a call (the base fee) as revenue."""
    known: uint256 = self.tracked + incoming
    if self.balance > known:
        untracked: uint256 = self.balance - known
        self.tracked += untracked
        self.undistributed += untracked
        self.revenueByStream[STREAM_TRANSACTION_FEES] += untracked
        log RevenueReceived(stream=STREAM_TRANSACTION_FEES, amount=untracked)


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


@internal
def _book(stream: uint8, amount: uint256):
    """Books `amount` that arrived with this call (already in the balance) as revenue of `stream`."""
    self._sweep(amount)
    self.tracked += amount
    self.undistributed += amount
    self.revenueByStream[stream] += amount
    log RevenueReceived(stream=stream, amount=amount)


@external
@payable
@nonreentrant
def __default__():
    """Plain transfers are revenue of the direct stream."""
    self._book(STREAM_DIRECT, msg.value)


@external
@payable
@nonreentrant
def depositRevenue(stream: uint8):
    """Contracts deliver their protocol share here: 1 compute, 2 data verification."""
    assert stream == STREAM_COMPUTE or stream == STREAM_VERIFICATION, "unknown stream"
    self._book(stream, msg.value)


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
    votes._add_units(STAKERS, msg.sender, msg.value)
    log Staked(staker=msg.sender, amount=msg.value)


@external
@nonreentrant
def requestUnstake(amount: uint256):
    assert amount > 0, "nothing to unstake"
    assert self.stakeOf[msg.sender] >= amount, "amount exceeds stake"
    assert self.stakeOf[msg.sender] - amount >= self.bondOf[msg.sender], "stake is bonded (unbond first)"
    self._checkpoint(0)
    self._settle_account(msg.sender)
    self.stakeOf[msg.sender] -= amount
    self.totalStaked -= amount
    self.reward_debt[msg.sender] = self.stakeOf[msg.sender] * self.accRewardPerStake
    votes._remove_units(STAKERS, msg.sender, amount)
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


# ----------------------------------------------------------------- staker votes

@external
def delegate(delegatee: address):
    """The caller's stake votes through `delegatee` in the ProtocolGovernor from now on."""
    votes._delegate(STAKERS, msg.sender, delegatee)


@external
@view
def delegates(account: address) -> address:
    return votes.delegate_of[STAKERS][account]


@external
@view
def getVotes(account: address) -> uint256:
    return votes._votes(STAKERS, account)


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    return votes._past_votes(STAKERS, account, timepoint)


@external
@view
def getPastTotalStake(timepoint: uint256) -> uint256:
    return votes._past_total(STAKERS, timepoint)


@external
@view
def clock() -> uint48:
    return convert(block.timestamp, uint48)


@external
@pure
def CLOCK_MODE() -> String[32]:
    return "mode=timestamp"


# -------------------------------------------------------------- verifier bonds

@external
def bond(amount: uint256):
    """Locks `amount` of the caller's stake as its verifier bond (it keeps earning and voting)."""
    assert amount > 0, "nothing to bond"
    assert self.stakeOf[msg.sender] - self.bondOf[msg.sender] >= amount, "amount exceeds unbonded stake"
    self.bondOf[msg.sender] += amount
    log Bonded(verifier=msg.sender, amount=amount)


@external
def unbond(amount: uint256):
    """Unlocks bonded stake once the verifier registry releases it (then unstake as usual)."""
    assert amount > 0, "nothing to unbond"
    assert self.bondOf[msg.sender] >= amount, "amount exceeds bond"
    assert staticcall VerifierRegistry(self.verifierRegistry).bondReleasableAt(msg.sender) <= block.timestamp, \
        "bond is locked: active verifier, open challenge or dispute window"
    self.bondOf[msg.sender] -= amount
    log Unbonded(verifier=msg.sender, amount=amount)


@external
@nonreentrant
def slashBond(verifier: address, challenger: address) -> uint256:
    """Takes the verifier's whole bond: the challenger gets its share, the rest is vault revenue (stream 3)."""
    assert msg.sender == self.verifierRegistry, "only the verifier registry may slash"
    amount: uint256 = self.bondOf[verifier]
    if amount == 0:
        return 0
    self._checkpoint(0)
    self._settle_account(verifier)
    self.bondOf[verifier] = 0
    self.stakeOf[verifier] -= amount
    self.totalStaked -= amount
    self.reward_debt[verifier] = self.stakeOf[verifier] * self.accRewardPerStake
    votes._remove_units(STAKERS, verifier, amount)
    to_challenger: uint256 = 0
    if challenger != empty(address):
        to_challenger = amount * staticcall Params(self.governor).param(SLASH_CHALLENGER_BPS) // MAX_BPS
    to_vault: uint256 = amount - to_challenger
    self.undistributed += to_vault
    self.revenueByStream[STREAM_SLASHING] += to_vault
    self.tracked -= to_challenger
    log RevenueReceived(stream=STREAM_SLASHING, amount=to_vault)
    log BondSlashed(verifier=verifier, challenger=challenger, amount=amount, toChallenger=to_challenger,
                    toVault=to_vault)
    if to_challenger > 0:
        raw_call(challenger, b"", value=to_challenger)
    return amount
