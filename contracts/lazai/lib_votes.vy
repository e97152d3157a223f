# pragma version ==0.4.3
# @title Vote checkpoints with delegation (a module)
# @notice Voting power that can be read at a past time, so a vote counts the
#         weights a proposal saw when it was created (a member who joins or
#         stakes later has no weight in it). The clock is the block
#         timestamp (ERC-6372 "mode=timestamp"); block timestamps strictly
#         increase, so "the end of the previous block" is `now - 1`.
#         Weights live in domains: Holders Mining uses domain 0 for its
#         stakers, the iDAO registry one domain per iDAO. A holder's units
#         (its stake) count for the account it delegates to; the first units
#         a holder gets are delegated to itself, and `_delegate` moves them.
#         Checkpoint history is append-only; lookups are binary searches
#         bounded by MAX_SEARCH steps (2**64 checkpoints per account).

MAX_SEARCH: constant(uint256) = 64

struct Checkpoint:
    time: uint256
    votes: uint256

event DelegateChanged:
    domain: indexed(uint256)
    delegator: indexed(address)
    delegatee: indexed(address)

event DelegateVotesChanged:
    domain: indexed(uint256)
    delegatee: indexed(address)
    votes: uint256

delegate_of: HashMap[uint256, HashMap[address, address]]
units_of: HashMap[uint256, HashMap[address, uint256]]
checkpoints: HashMap[bytes32, HashMap[uint256, Checkpoint]]
checkpoint_count: HashMap[bytes32, uint256]


@internal
@pure
def _account_key(domain: uint256, account: address) -> bytes32:
    return keccak256(abi_encode(domain, account))


@internal
@pure
def _total_key(domain: uint256) -> bytes32:
    return keccak256(abi_encode(domain, b"total"))


@internal
@view
def _latest(key: bytes32) -> uint256:
    count: uint256 = self.checkpoint_count[key]
    if count == 0:
        return 0
    return self.checkpoints[key][count - 1].votes


@internal
def _write(key: bytes32, votes: uint256):
    count: uint256 = self.checkpoint_count[key]
    if count > 0 and self.checkpoints[key][count - 1].time == block.timestamp:
        self.checkpoints[key][count - 1].votes = votes
        return
    self.checkpoints[key][count] = Checkpoint(time=block.timestamp, votes=votes)
    self.checkpoint_count[key] = count + 1


@internal
@view
def _at(key: bytes32, timepoint: uint256) -> uint256:
    """Votes recorded under `key` at the end of `timepoint` (the last checkpoint at or before it)."""
    assert timepoint < block.timestamp, "future lookup"
    high: uint256 = self.checkpoint_count[key]
    low: uint256 = 0
    for _: uint256 in range(MAX_SEARCH):
        if low >= high:
            break
        middle: uint256 = (low + high) // 2
        if self.checkpoints[key][middle].time > timepoint:
            high = middle
        else:
            low = middle + 1
    if high == 0:
        return 0
    return self.checkpoints[key][high - 1].votes


@internal
def _move_votes(domain: uint256, source: address, target: address, amount: uint256):
    if amount == 0 or source == target:
        return
    if source != empty(address):
        key: bytes32 = self._account_key(domain, source)
        votes: uint256 = self._latest(key) - amount
        self._write(key, votes)
        log DelegateVotesChanged(domain=domain, delegatee=source, votes=votes)
    if target != empty(address):
        key: bytes32 = self._account_key(domain, target)
        votes: uint256 = self._latest(key) + amount
        self._write(key, votes)
        log DelegateVotesChanged(domain=domain, delegatee=target, votes=votes)


@internal
def _add_units(domain: uint256, holder: address, amount: uint256):
    """`holder` gained `amount` units (stake); its delegate gains the votes."""
    if amount == 0:
        return
    if self.delegate_of[domain][holder] == empty(address) and self.units_of[domain][holder] == 0:
        self.delegate_of[domain][holder] = holder
        log DelegateChanged(domain=domain, delegator=holder, delegatee=holder)
    self.units_of[domain][holder] += amount
    total_key: bytes32 = self._total_key(domain)
    self._write(total_key, self._latest(total_key) + amount)
    self._move_votes(domain, empty(address), self.delegate_of[domain][holder], amount)


@internal
def _remove_units(domain: uint256, holder: address, amount: uint256):
    if amount == 0:
        return
    self.units_of[domain][holder] -= amount
    total_key: bytes32 = self._total_key(domain)
    self._write(total_key, self._latest(total_key) - amount)
    self._move_votes(domain, self.delegate_of[domain][holder], empty(address), amount)


@internal
def _delegate(domain: uint256, holder: address, delegatee: address):
    """All of `holder`'s units now vote through `delegatee` (the zero address: nobody votes with them)."""
    previous: address = self.delegate_of[domain][holder]
    self.delegate_of[domain][holder] = delegatee
    log DelegateChanged(domain=domain, delegator=holder, delegatee=delegatee)
    self._move_votes(domain, previous, delegatee, self.units_of[domain][holder])


@internal
@view
def _votes(domain: uint256, account: address) -> uint256:
    return self._latest(self._account_key(domain, account))


@internal
@view
def _past_votes(domain: uint256, account: address, timepoint: uint256) -> uint256:
    return self._at(self._account_key(domain, account), timepoint)


@internal
@view
def _past_total(domain: uint256, timepoint: uint256) -> uint256:
    return self._at(self._total_key(domain), timepoint)
