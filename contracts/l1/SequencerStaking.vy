# pragma version ==0.4.3
# @title SequencerStaking: the L1 locking pool of Hyperion's staked sequencer set
# @notice Sequencers lock ETH here (between `minLock` and `maxLock`); the
#         active set and its stakes, read at an L1 block, are what every node
#         feeds into the schedule (hyperion.sequencer.schedule). Leaving takes
#         two steps: requestUnlock() removes the sequencer from the set at
#         once, withdraw() pays the stake out after `exitDelay` seconds, and
#         until then the stake can still be slashed. Sequencers earn
#         `rewardPerBlock` per L2 block, credited by the `rewarder` (who
#         counts each block range's blocks by builder, once, in order) from
#         a reward pool that anyone funds. Slashing: anyone may prove an
#         equivocation (two different blocks signed for one L2 height, EIP-712
#         `SignedL2Block`), which takes `equivocationSlashBps` of the stake
#         (a `reporterShareBps` part to the reporter, the rest to the reward
#         pool) and ejects the signer; contracts that governance names
#         slashers (the dispute game) take any amount to a beneficiary. Every
#         parameter is set by the owner (lib_owned: a multisig or timelock).
#         Payouts are pull credits (claim()) except the stake itself.
#         Every change of a sequencer's active stake and of the total is
#         checkpointed by L1 time, so a stake-weighted vote (StakeResolver)
#         can weigh voters by their stake at a moment before the question
#         existed (activeStakeAt / totalActiveStakeAt).

from . import lib_owned as owned

initializes: owned

exports: (owned.owner, owned.pendingOwner, owned.transferOwnership, owned.acceptOwnership)

MAX_SEQUENCERS: constant(uint256) = 32
BPS: constant(uint256) = 10000
MAX_EXIT_DELAY: constant(uint256) = 365 * 86400
# checkpoints pack (L1 timestamp << 128 | amount)
MASK128: constant(uint256) = 2**128 - 1

# EIP-712: sequencers sign SignedL2Block over every L2 block they produce
DOMAIN_TYPEHASH: constant(bytes32) = keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
BLOCK_TYPEHASH: constant(bytes32) = keccak256("SignedL2Block(uint256 l2ChainId,uint256 number,bytes32 blockHash)")
NAME_HASH: constant(bytes32) = keccak256("Hyperion SequencerStaking")
VERSION_HASH: constant(bytes32) = keccak256("1")
# secp256k1n / 2: a signature with a higher s is a malleable copy of another one
HALF_ORDER: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

event Locked:
    sequencer: indexed(address)
    amount: uint256
    stake: uint256

event UnlockRequested:
    sequencer: indexed(address)
    stake: uint256
    unlockAt: uint256

event Withdrawn:
    sequencer: indexed(address)
    amount: uint256

event RewardsFunded:
    funder: indexed(address)
    amount: uint256

event Rewarded:
    sequencer: indexed(address)
    blocks: uint256
    amount: uint256

event BlockRangeRewarded:
    firstBlock: indexed(uint256)
    lastBlock: indexed(uint256)
    blocks: uint256
    amount: uint256

event Claimed:
    account: indexed(address)
    amount: uint256

event Slashed:
    sequencer: indexed(address)
    amount: uint256
    beneficiary: indexed(address)
    reason: bytes32

event EquivocationProven:
    signer: indexed(address)
    number: indexed(uint256)
    blockHashA: bytes32
    blockHashB: bytes32
    reporter: address
    penalty: uint256

event Ejected:
    sequencer: indexed(address)
    unlockAt: uint256

event LockLimitsSet:
    minLock: uint256
    maxLock: uint256

event ExitDelaySet:
    exitDelay: uint256

event RewardPerBlockSet:
    rewardPerBlock: uint256

event RewarderSet:
    rewarder: indexed(address)

event SlasherSet:
    slasher: indexed(address)
    allowed: bool

event EquivocationPenaltySet:
    slashBps: uint256
    reporterShareBps: uint256

l2ChainId: public(immutable(uint256))

# governance parameters
minLock: public(uint256)
maxLock: public(uint256)
exitDelay: public(uint256)
rewardPerBlock: public(uint256)
rewarder: public(address)
isSlasher: public(HashMap[address, bool])
equivocationSlashBps: public(uint256)
reporterShareBps: public(uint256)

# stakes: locked amount per sequencer (active or exiting)
stakeOf: public(HashMap[address, uint256])
# 0 while active (or never staked); the time withdraw() opens once exiting
unlockAt: public(HashMap[address, uint256])
# the active set, in the order of joining; position + 1 (0 = not active)
sequencers: public(DynArray[address, MAX_SEQUENCERS])
_position: HashMap[address, uint256]
totalActiveStake: public(uint256)

# checkpoints of the active stake (0 while not active) per sequencer, and of totalActiveStake
_stakeHistory: HashMap[address, HashMap[uint256, uint256]]
_stakeHistoryLength: HashMap[address, uint256]
_totalHistory: HashMap[uint256, uint256]
_totalHistoryLength: uint256

rewardPool: public(uint256)
# the last L2 block whose rewards were paid (block 0, the genesis, has none)
rewardedThrough: public(uint256)
# claimable: rewards, slashing proceeds, reporter shares
credit: public(HashMap[address, uint256])
# keccak256(signer, number) -> an equivocation at that height was already punished
equivocationProven: public(HashMap[bytes32, bool])


@deploy
def __init__(_owner: address, _l2ChainId: uint256, _minLock: uint256, _maxLock: uint256, _exitDelay: uint256,
             _rewardPerBlock: uint256, _equivocationSlashBps: uint256, _reporterShareBps: uint256):
    owned.__init__(_owner)
    assert _l2ChainId != 0, "L2 chain id is zero"
    l2ChainId = _l2ChainId
    self._set_lock_limits(_minLock, _maxLock)
    self._set_exit_delay(_exitDelay)
    self.rewardPerBlock = _rewardPerBlock
    log RewardPerBlockSet(rewardPerBlock=_rewardPerBlock)
    self._set_equivocation_penalty(_equivocationSlashBps, _reporterShareBps)


# -- governance ------------------------------------------------------------------------------------


@internal
def _set_lock_limits(min_lock: uint256, max_lock: uint256):
    assert min_lock > 0, "minimum lock is zero"
    assert min_lock <= max_lock, "minimum lock above the maximum"
    self.minLock = min_lock
    self.maxLock = max_lock
    log LockLimitsSet(minLock=min_lock, maxLock=max_lock)


@internal
def _set_exit_delay(delay: uint256):
    assert delay <= MAX_EXIT_DELAY, "exit delay above one year"
    self.exitDelay = delay
    log ExitDelaySet(exitDelay=delay)


@internal
def _set_equivocation_penalty(slash_bps: uint256, reporter_bps: uint256):
    assert slash_bps <= BPS, "slash share above 100%"
    assert reporter_bps <= BPS, "reporter share above 100%"
    self.equivocationSlashBps = slash_bps
    self.reporterShareBps = reporter_bps
    log EquivocationPenaltySet(slashBps=slash_bps, reporterShareBps=reporter_bps)


@external
def setLockLimits(_minLock: uint256, _maxLock: uint256):
    """New limits bind later locks; stakes already locked stay as they are."""
    owned._only_owner()
    self._set_lock_limits(_minLock, _maxLock)


@external
def setExitDelay(_exitDelay: uint256):
    """Binds later unlock requests; a pending exit keeps the time it was given."""
    owned._only_owner()
    self._set_exit_delay(_exitDelay)


@external
def setRewardPerBlock(_rewardPerBlock: uint256):
    owned._only_owner()
    self.rewardPerBlock = _rewardPerBlock
    log RewardPerBlockSet(rewardPerBlock=_rewardPerBlock)


@external
def setRewarder(_rewarder: address):
    owned._only_owner()
    self.rewarder = _rewarder
    log RewarderSet(rewarder=_rewarder)


@external
def setSlasher(_slasher: address, _allowed: bool):
    owned._only_owner()
    assert _slasher != empty(address), "slasher is the zero address"
    self.isSlasher[_slasher] = _allowed
    log SlasherSet(slasher=_slasher, allowed=_allowed)


@external
def setEquivocationPenalty(_slashBps: uint256, _reporterShareBps: uint256):
    owned._only_owner()
    self._set_equivocation_penalty(_slashBps, _reporterShareBps)


# -- stake checkpoints -----------------------------------------------------------------------------


@internal
def _checkpoint(sequencer: address):
    """Record the sequencer's active stake and the total as of this L1 block (one entry per timestamp)."""
    active: uint256 = 0
    if self._position[sequencer] != 0:
        active = self.stakeOf[sequencer]
    entry: uint256 = (block.timestamp << 128) | active
    count: uint256 = self._stakeHistoryLength[sequencer]
    if count > 0 and self._stakeHistory[sequencer][count - 1] >> 128 == block.timestamp:
        self._stakeHistory[sequencer][count - 1] = entry
    else:
        self._stakeHistory[sequencer][count] = entry
        self._stakeHistoryLength[sequencer] = count + 1
    entry = (block.timestamp << 128) | self.totalActiveStake
    count = self._totalHistoryLength
    if count > 0 and self._totalHistory[count - 1] >> 128 == block.timestamp:
        self._totalHistory[count - 1] = entry
    else:
        self._totalHistory[count] = entry
        self._totalHistoryLength = count + 1


@external
@view
def activeStakeAt(_sequencer: address, _timestamp: uint256) -> uint256:
    """The sequencer's active stake (0 if not in the set) at the end of the last L1 block older than `_timestamp`."""
    assert _timestamp <= block.timestamp, "the time is in the future"
    count: uint256 = self._stakeHistoryLength[_sequencer]
    lo: uint256 = 0
    hi: uint256 = count  # the answer is entry lo - 1 once lo == hi: entries before lo are older than _timestamp
    for _: uint256 in range(128):
        if lo >= hi:
            break
        mid: uint256 = (lo + hi) // 2
        if self._stakeHistory[_sequencer][mid] >> 128 < _timestamp:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0
    return self._stakeHistory[_sequencer][lo - 1] & MASK128


@external
@view
def totalActiveStakeAt(_timestamp: uint256) -> uint256:
    """totalActiveStake at the end of the last L1 block older than `_timestamp`."""
    assert _timestamp <= block.timestamp, "the time is in the future"
    count: uint256 = self._totalHistoryLength
    lo: uint256 = 0
    hi: uint256 = count
    for _: uint256 in range(128):
        if lo >= hi:
            break
        mid: uint256 = (lo + hi) // 2
        if self._totalHistory[mid] >> 128 < _timestamp:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0
    return self._totalHistory[lo - 1] & MASK128


# -- locking ---------------------------------------------------------------------------------------


@external
@payable
def lock():
    """Lock msg.value: join the active set, or add to a stake already in it."""
    assert msg.value > 0, "nothing to lock"
    assert self.unlockAt[msg.sender] == 0, "an exit is pending: withdraw first"
    stake: uint256 = self.stakeOf[msg.sender] + msg.value
    assert stake >= self.minLock, "stake below the minimum lock"
    assert stake <= self.maxLock, "stake above the maximum lock"
    if self._position[msg.sender] == 0:
        assert len(self.sequencers) < MAX_SEQUENCERS, "the sequencer set is full"
        self.sequencers.append(msg.sender)
        self._position[msg.sender] = len(self.sequencers)
    self.stakeOf[msg.sender] = stake
    self.totalActiveStake += msg.value
    self._checkpoint(msg.sender)
    log Locked(sequencer=msg.sender, amount=msg.value, stake=stake)


@internal
def _leave(sequencer: address) -> uint256:
    """Take an active sequencer out of the set and start its exit delay; returns the unlock time."""
    index: uint256 = self._position[sequencer] - 1
    last: address = self.sequencers[len(self.sequencers) - 1]
    self.sequencers[index] = last
    self._position[last] = index + 1
    self.sequencers.pop()
    self._position[sequencer] = 0
    self.totalActiveStake -= self.stakeOf[sequencer]
    unlock_at: uint256 = block.timestamp + self.exitDelay
    self.unlockAt[sequencer] = unlock_at
    self._checkpoint(sequencer)
    return unlock_at


@external
def requestUnlock():
    """Leave the set now; the stake can be withdrawn (and is slashable) until `exitDelay` has passed."""
    assert self._position[msg.sender] != 0, "not an active sequencer"
    unlock_at: uint256 = self._leave(msg.sender)
    log UnlockRequested(sequencer=msg.sender, stake=self.stakeOf[msg.sender], unlockAt=unlock_at)


@external
@nonreentrant
def withdraw():
    unlock_at: uint256 = self.unlockAt[msg.sender]
    assert unlock_at != 0, "no exit requested"
    assert block.timestamp >= unlock_at, "exit delay not over"
    amount: uint256 = self.stakeOf[msg.sender]
    self.stakeOf[msg.sender] = 0
    self.unlockAt[msg.sender] = 0
    if amount > 0:
        raw_call(msg.sender, b"", value=amount)
    log Withdrawn(sequencer=msg.sender, amount=amount)


@external
@view
def activeSet() -> (DynArray[address, MAX_SEQUENCERS], DynArray[uint256, MAX_SEQUENCERS]):
    """The active sequencers and their stakes, in one call (what the schedule reads at an L1 block)."""
    stakes: DynArray[uint256, MAX_SEQUENCERS] = []
    for sequencer: address in self.sequencers:
        stakes.append(self.stakeOf[sequencer])
    return self.sequencers, stakes


@external
@view
def sequencerCount() -> uint256:
    return len(self.sequencers)


@external
@view
def isActive(_sequencer: address) -> bool:
    return self._position[_sequencer] != 0


# -- rewards ---------------------------------------------------------------------------------------


@external
@payable
def fundRewards():
    assert msg.value > 0, "nothing to fund"
    self.rewardPool += msg.value
    log RewardsFunded(funder=msg.sender, amount=msg.value)


@external
def payBlockRewards(_firstBlock: uint256, _lastBlock: uint256, _sequencers: DynArray[address, MAX_SEQUENCERS],
                    _blocks: DynArray[uint256, MAX_SEQUENCERS]):
    """Credit the rewards of L2 blocks `_firstBlock`..`_lastBlock`: `_blocks[i]` of them built by `_sequencers[i]`.

    The rewarder counts the blocks (by their builder); ranges are paid in
    order and each once (`_firstBlock` must be rewardedThrough + 1), so a
    rewarder that restarts or runs twice cannot pay a block twice. Blocks
    built by no staked sequencer earn nothing: the counts may sum to less
    than the range. Sequencers are listed in ascending address order.
    """
    assert msg.sender == self.rewarder, "caller is not the rewarder"
    assert _firstBlock == self.rewardedThrough + 1, "block rewards are paid in order: start at rewardedThrough + 1"
    assert _lastBlock >= _firstBlock, "the block range is empty"
    assert len(_sequencers) == len(_blocks), "one block count per sequencer"
    reward: uint256 = self.rewardPerBlock
    counted: uint256 = 0
    paid: uint256 = 0
    last: uint256 = 0
    for i: uint256 in range(len(_sequencers), bound=MAX_SEQUENCERS):
        sequencer: address = _sequencers[i]
        assert convert(sequencer, uint256) > last, "sequencers must be unique and in ascending order"
        last = convert(sequencer, uint256)
        assert self.stakeOf[sequencer] > 0, "only staked sequencers earn block rewards"
        amount: uint256 = _blocks[i] * reward
        counted += _blocks[i]
        paid += amount
        self.credit[sequencer] += amount
        log Rewarded(sequencer=sequencer, blocks=_blocks[i], amount=amount)
    assert counted <= _lastBlock - _firstBlock + 1, "more blocks counted than the range holds"
    assert paid <= self.rewardPool, "reward pool too small"
    self.rewardPool -= paid
    self.rewardedThrough = _lastBlock
    log BlockRangeRewarded(firstBlock=_firstBlock, lastBlock=_lastBlock, blocks=counted, amount=paid)


@external
@nonreentrant
def claim():
    amount: uint256 = self.credit[msg.sender]
    assert amount > 0, "nothing to claim"
    self.credit[msg.sender] = 0
    raw_call(msg.sender, b"", value=amount)
    log Claimed(account=msg.sender, amount=amount)


# -- slashing --------------------------------------------------------------------------------------


@internal
def _take(sequencer: address, amount: uint256) -> uint256:
    """Remove up to `amount` from a stake (active or exiting); an active one left below the minimum is ejected."""
    taken: uint256 = min(amount, self.stakeOf[sequencer])
    self.stakeOf[sequencer] -= taken
    if self._position[sequencer] != 0:
        self.totalActiveStake -= taken
        if self.stakeOf[sequencer] < self.minLock:
            log Ejected(sequencer=sequencer, unlockAt=self._leave(sequencer))
        else:
            self._checkpoint(sequencer)
    return taken


@external
def slash(_sequencer: address, _amount: uint256, _beneficiary: address, _reason: bytes32) -> uint256:
    """A slasher (the dispute game) takes up to `_amount` of a stake for `_beneficiary`; returns what it took."""
    assert self.isSlasher[msg.sender], "caller is not a slasher"
    assert _beneficiary != empty(address), "beneficiary is the zero address"
    taken: uint256 = self._take(_sequencer, _amount)
    self.credit[_beneficiary] += taken
    log Slashed(sequencer=_sequencer, amount=taken, beneficiary=_beneficiary, reason=_reason)
    return taken


@internal
@view
def _block_digest(number: uint256, block_hash: bytes32) -> bytes32:
    domain: bytes32 = keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))
    signed: bytes32 = keccak256(abi_encode(BLOCK_TYPEHASH, l2ChainId, number, block_hash))
    return keccak256(concat(b"\x19\x01", domain, signed))


@external
@view
def blockDigest(_number: uint256, _blockHash: bytes32) -> bytes32:
    """The EIP-712 digest a sequencer signs for L2 block `_number` with hash `_blockHash`."""
    return self._block_digest(_number, _blockHash)


@internal
@view
def _signer(digest: bytes32, signature: Bytes[65]) -> address:
    assert len(signature) == 65, "signature must be 65 bytes"
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert s <= HALF_ORDER, "signature s is not in the lower half"
    assert v == 27 or v == 28, "signature v must be 27 or 28"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address), "invalid signature"
    return signer


@external
def proveEquivocation(_number: uint256, _blockHashA: bytes32, _signatureA: Bytes[65], _blockHashB: bytes32,
                      _signatureB: Bytes[65]) -> uint256:
    """Two different blocks signed by one staked key for one L2 height: slash and eject the signer.

    Returns the penalty. Anyone may call; the caller gets `reporterShareBps` of the penalty.
    """
    assert _blockHashA != _blockHashB, "the two blocks are the same"
    signer: address = self._signer(self._block_digest(_number, _blockHashA), _signatureA)
    assert self._signer(self._block_digest(_number, _blockHashB), _signatureB) == signer, \
        "the blocks are signed by different keys"
    assert self.stakeOf[signer] > 0, "the signer has no stake"
    key: bytes32 = keccak256(abi_encode(signer, _number))
    assert not self.equivocationProven[key], "equivocation already proven"
    self.equivocationProven[key] = True
    if self._position[signer] != 0:
        log Ejected(sequencer=signer, unlockAt=self._leave(signer))
    penalty: uint256 = self.stakeOf[signer] * self.equivocationSlashBps // BPS
    self.stakeOf[signer] -= penalty
    share: uint256 = penalty * self.reporterShareBps // BPS
    self.credit[msg.sender] += share
    self.rewardPool += penalty - share
    log EquivocationProven(signer=signer, number=_number, blockHashA=_blockHashA, blockHashB=_blockHashB,
                           reporter=msg.sender, penalty=penalty)
    return penalty
