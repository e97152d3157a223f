# pragma version ==0.4.3
# @title OutputOracle: L2 output roots committed on L1, and the bisection dispute game over them
# @notice The proposer posts, every `submissionInterval` L2 blocks, the output
#         root of that block:
#             keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)
#         (version = bytes32(0)), with a bond of exactly `proposerBond`. For
#         `finalizationPeriodSeconds` after posting, anyone may challenge it
#         with a bond of `challengerBond` and a root of their own for that
#         block. A dispute bisects the L2 blocks between the previous output
#         (agreed) and the disputed one: the proposer posts its output root at
#         the midpoint, the challenger answers with its own root there (equal:
#         they agree up to the midpoint; different: the disagreement lies
#         before it), until one block separates the last agreed root from the
#         first disputed one. A party that lets `moveTimeout` pass on its turn
#         loses. The single-block step is decided by `resolver` (a contract
#         that calls resolveDispute: today a threshold of L1 keys, later the
#         staked sequencer set). The winner takes the loser's bond. An output
#         that loses is deleted with every output after it. Outputs whose
#         window has passed with no open dispute on them or before them are
#         settled, in order, by `settle`; only settled outputs back withdrawals.
#         This is NOT a fault-proof VM: the last step trusts the resolver.
#         All bond payouts are credits, claimed with withdrawCredit().

from . import lib_owned as owned

initializes: owned

exports: (owned.owner, owned.pendingOwner, owned.transferOwnership, owned.acceptOwnership)

OUTPUT_VERSION: constant(bytes32) = empty(bytes32)
MAX_SETTLE_STEPS: constant(uint256) = 256

# dispute status
STATUS_NONE: constant(uint256) = 0
PROPOSER_TURN: constant(uint256) = 1
CHALLENGER_TURN: constant(uint256) = 2
AWAITING_RESOLUTION: constant(uint256) = 3
PROPOSER_WON: constant(uint256) = 4
CHALLENGER_WON: constant(uint256) = 5
VOID: constant(uint256) = 6

# how a dispute ended (DisputeResolved.reason)
BY_RESOLVER: constant(uint256) = 0
BY_TIMEOUT: constant(uint256) = 1
BY_VOID: constant(uint256) = 2

MASK64: constant(uint256) = 2**64 - 1
# deadlines are packed into 64 bits
MAX_MOVE_TIMEOUT: constant(uint256) = 2**32
MASK128: constant(uint256) = 2**128 - 1

struct OutputProposal:
    outputRoot: bytes32
    timestamp: uint256
    l2BlockNumber: uint256
    proposer: address
    bond: uint256

struct Dispute:
    outputIndex: uint256
    proposalId: uint256
    challenger: address
    proposer: address
    status: uint256
    deadline: uint256
    lo: uint256
    hi: uint256
    agreedRoot: bytes32
    proposerRoot: bytes32
    challengerRoot: bytes32
    midRoot: bytes32
    bond: uint256

event OutputProposed:
    outputRoot: indexed(bytes32)
    l2OutputIndex: indexed(uint256)
    l2BlockNumber: indexed(uint256)
    l1Timestamp: uint256
    proposer: address
    bond: uint256

event OutputsDeleted:
    prevNextOutputIndex: indexed(uint256)
    newNextOutputIndex: indexed(uint256)

event OutputsSettled:
    settledCount: indexed(uint256)

event DisputeOpened:
    disputeId: indexed(uint256)
    l2OutputIndex: indexed(uint256)
    challenger: indexed(address)
    lo: uint256
    hi: uint256
    agreedRoot: bytes32
    proposerRoot: bytes32
    challengerRoot: bytes32
    deadline: uint256

event MidpointProposed:
    disputeId: indexed(uint256)
    l2BlockNumber: uint256
    outputRoot: bytes32
    deadline: uint256

event MidpointAnswered:
    disputeId: indexed(uint256)
    l2BlockNumber: uint256
    outputRoot: bytes32
    agreed: bool
    lo: uint256
    hi: uint256
    deadline: uint256

event DisputeAwaitingResolution:
    disputeId: indexed(uint256)
    l2BlockNumber: uint256
    agreedRoot: bytes32
    proposerRoot: bytes32
    challengerRoot: bytes32

event DisputeResolved:
    disputeId: indexed(uint256)
    proposerWins: bool
    winner: indexed(address)
    reason: uint256

event CreditWithdrawn:
    account: indexed(address)
    amount: uint256

event ParameterSet:
    name: String[32]
    value: uint256

event RoleSet:
    name: String[32]
    account: indexed(address)

# -- parameters (set at deploy, changed only by the owner) ---------------------
submissionInterval: public(uint256)
finalizationPeriodSeconds: public(uint256)
proposerBond: public(uint256)
challengerBond: public(uint256)
moveTimeout: public(uint256)
proposer: public(address)
resolver: public(address)
startingBlockNumber: public(uint256)
startingOutputRoot: public(bytes32)

# -- outputs --------------------------------------------------------------------
nextOutputIndex: public(uint256)
settledCount: public(uint256)
proposalCount: public(uint256)
_roots: HashMap[uint256, bytes32]
# proposer << 96 | L1 timestamp
_meta1: HashMap[uint256, uint256]
# l2BlockNumber << 192 | proposalId << 128 | cumulative bond of outputs 0..i
_meta2: HashMap[uint256, uint256]
# open disputes per proposal (a proposal id never repeats, even after deletion)
openDisputes: public(HashMap[uint256, uint256])

# -- disputes -------------------------------------------------------------------
disputeCount: public(uint256)
# proposalId << 192 | outputIndex << 128 | lo << 64 | hi
_game: HashMap[uint256, uint256]
# challenger << 96 | status << 64 | deadline
_state: HashMap[uint256, uint256]
_agreedRoot: HashMap[uint256, bytes32]
_proposerRoot: HashMap[uint256, bytes32]
_challengerRoot: HashMap[uint256, bytes32]
_midRoot: HashMap[uint256, bytes32]
_challengerBond: HashMap[uint256, uint256]

credit: public(HashMap[address, uint256])


@deploy
def __init__(
    _owner: address,
    _proposer: address,
    _resolver: address,
    _submissionInterval: uint256,
    _finalizationPeriodSeconds: uint256,
    _proposerBond: uint256,
    _challengerBond: uint256,
    _moveTimeout: uint256,
    _startingBlockNumber: uint256,
    _startingOutputRoot: bytes32,
):
    owned.__init__(_owner)
    assert _submissionInterval > 0, "submission interval is zero"
    assert _moveTimeout > 0 and _moveTimeout <= MAX_MOVE_TIMEOUT, "move timeout must be 1..2^32 seconds"
    assert _startingBlockNumber <= MASK64, "starting block number too large"
    self.proposer = _proposer
    self.resolver = _resolver
    self.submissionInterval = _submissionInterval
    self.finalizationPeriodSeconds = _finalizationPeriodSeconds
    self.proposerBond = _proposerBond
    self.challengerBond = _challengerBond
    self.moveTimeout = _moveTimeout
    self.startingBlockNumber = _startingBlockNumber
    self.startingOutputRoot = _startingOutputRoot


# -- output storage helpers -------------------------------------------------------

@internal
@view
def _block_of(index: uint256) -> uint256:
    return self._meta2[index] >> 192


@internal
@view
def _cum_bond_before(index: uint256) -> uint256:
    if index == 0:
        return 0
    return self._meta2[index - 1] & MASK128


@internal
@view
def _proposal_id(index: uint256) -> uint256:
    return (self._meta2[index] >> 128) & MASK64


@internal
@view
def _output(index: uint256) -> OutputProposal:
    meta1: uint256 = self._meta1[index]
    meta2: uint256 = self._meta2[index]
    return OutputProposal(
        outputRoot=self._roots[index],
        timestamp=meta1 & MASK64,
        l2BlockNumber=meta2 >> 192,
        proposer=convert(meta1 >> 96, address),
        bond=(meta2 & MASK128) - self._cum_bond_before(index),
    )


@external
@view
def getL2Output(_l2OutputIndex: uint256) -> OutputProposal:
    assert _l2OutputIndex < self.nextOutputIndex, "no output at this index"
    return self._output(_l2OutputIndex)


@external
@view
def latestOutputIndex() -> uint256:
    """Index of the newest output; reverts when there is none."""
    assert self.nextOutputIndex > 0, "no outputs yet"
    return self.nextOutputIndex - 1


@internal
@view
def _latest_block_number() -> uint256:
    if self.nextOutputIndex == 0:
        return self.startingBlockNumber
    return self._block_of(self.nextOutputIndex - 1)


@external
@view
def latestBlockNumber() -> uint256:
    """L2 block of the newest output (the starting block when there is none)."""
    return self._latest_block_number()


@external
@view
def nextBlockNumber() -> uint256:
    """The L2 block the next proposal must be for."""
    return self._latest_block_number() + self.submissionInterval


@external
@view
def getL2OutputIndexAfter(_l2BlockNumber: uint256) -> uint256:
    """Index of the first output whose L2 block is at or after `_l2BlockNumber`."""
    count: uint256 = self.nextOutputIndex
    assert count > 0 and self._block_of(count - 1) >= _l2BlockNumber, "no output covers this block yet"
    lo: uint256 = 0
    hi: uint256 = count - 1
    for _: uint256 in range(64):
        if lo >= hi:
            break
        mid: uint256 = (lo + hi) // 2
        if self._block_of(mid) < _l2BlockNumber:
            lo = mid + 1
        else:
            hi = mid
    return lo


@external
@view
def isOutputSettled(_l2OutputIndex: uint256) -> bool:
    """True when the output's window has passed with no dispute left open on it or before it."""
    return _l2OutputIndex < self.settledCount


# -- proposing ------------------------------------------------------------------

@external
@payable
def proposeL2Output(_outputRoot: bytes32, _l2BlockNumber: uint256, _l1BlockHash: bytes32, _l1BlockNumber: uint256):
    """Commit the output root of L2 block `_l2BlockNumber`; the bond must be exactly `proposerBond`.

    A non-zero `_l1BlockHash` must be the hash of L1 block `_l1BlockNumber`
    (one of the last 256), so a proposal made on an L1 fork that was reorged
    away does not land.
    """
    assert msg.sender == self.proposer, "caller is not the proposer"
    assert msg.value == self.proposerBond, "bond must equal proposerBond"
    assert _outputRoot != empty(bytes32), "output root is empty"
    assert _l2BlockNumber == self._latest_block_number() + self.submissionInterval, \
        "L2 block number must be latestBlockNumber + submissionInterval"
    assert _l2BlockNumber <= MASK64, "L2 block number too large"
    if _l1BlockHash != empty(bytes32):
        assert _l1BlockNumber < block.number and _l1BlockNumber + 256 >= block.number, \
            "L1 block is not one of the last 256"
        assert blockhash(_l1BlockNumber) == _l1BlockHash, "L1 block hash does not match (reorg?)"
    index: uint256 = self.nextOutputIndex
    proposal_id: uint256 = self.proposalCount + 1
    self.proposalCount = proposal_id
    cumulative: uint256 = self._cum_bond_before(index) + msg.value
    assert cumulative <= MASK128, "bond total overflow"
    self._roots[index] = _outputRoot
    self._meta1[index] = (convert(msg.sender, uint256) << 96) | block.timestamp
    self._meta2[index] = (_l2BlockNumber << 192) | (proposal_id << 128) | cumulative
    self.nextOutputIndex = index + 1
    log OutputProposed(outputRoot=_outputRoot, l2OutputIndex=index, l2BlockNumber=_l2BlockNumber,
                       l1Timestamp=block.timestamp, proposer=msg.sender, bond=msg.value)


@external
def settle(_l2OutputIndex: uint256) -> bool:
    """Settle outputs in order, up to `_l2OutputIndex` (at most 256 per call), returning their proposers' bonds.

    An output settles once its challenge window has passed with no dispute
    open on it; the outputs before it must have settled first. Returns True
    when `_l2OutputIndex` is settled.
    """
    i: uint256 = self.settledCount
    if _l2OutputIndex < i:
        return True
    window: uint256 = self.finalizationPeriodSeconds
    count: uint256 = self.nextOutputIndex
    cumulative: uint256 = self._cum_bond_before(i)
    recipient: address = empty(address)
    amount: uint256 = 0
    for _: uint256 in range(MAX_SETTLE_STEPS):
        if i > _l2OutputIndex or i >= count:
            break
        meta1: uint256 = self._meta1[i]
        if (meta1 & MASK64) + window > block.timestamp:
            break
        meta2: uint256 = self._meta2[i]
        if self.openDisputes[(meta2 >> 128) & MASK64] != 0:
            break
        owner_of: address = convert(meta1 >> 96, address)
        if owner_of != recipient:
            if amount != 0:
                self.credit[recipient] += amount
            recipient = owner_of
            amount = 0
        amount += (meta2 & MASK128) - cumulative
        cumulative = meta2 & MASK128
        i += 1
    if amount != 0:
        self.credit[recipient] += amount
    if i != self.settledCount:
        self.settledCount = i
        log OutputsSettled(settledCount=i)
    return _l2OutputIndex < i


# -- the dispute game -------------------------------------------------------------

@internal
@view
def _live(dispute_id: uint256) -> bool:
    """Is the disputed output still the one the dispute was opened against?"""
    game: uint256 = self._game[dispute_id]
    index: uint256 = (game >> 128) & MASK64
    return index < self.nextOutputIndex and self._proposal_id(index) == game >> 192


@internal
def _set_state(dispute_id: uint256, challenger: address, status: uint256, deadline: uint256):
    self._state[dispute_id] = (convert(challenger, uint256) << 96) | (status << 64) | deadline


@external
@payable
def challenge(_l2OutputIndex: uint256, _challengerRoot: bytes32) -> uint256:
    """Dispute output `_l2OutputIndex`, claiming `_challengerRoot` is its root; the bond is `challengerBond`."""
    assert _l2OutputIndex < self.nextOutputIndex, "no output at this index"
    assert msg.value == self.challengerBond, "bond must equal challengerBond"
    output: OutputProposal = self._output(_l2OutputIndex)
    assert block.timestamp < output.timestamp + self.finalizationPeriodSeconds, "challenge window is over"
    assert _challengerRoot != empty(bytes32), "challenger root is empty"
    assert _challengerRoot != output.outputRoot, "challenger root equals the output root"
    assert msg.sender != output.proposer, "the proposer cannot challenge its own output"
    lo: uint256 = self.startingBlockNumber
    agreed: bytes32 = self.startingOutputRoot
    if _l2OutputIndex > 0:
        lo = self._block_of(_l2OutputIndex - 1)
        agreed = self._roots[_l2OutputIndex - 1]
    hi: uint256 = output.l2BlockNumber
    proposal_id: uint256 = self._proposal_id(_l2OutputIndex)
    dispute_id: uint256 = self.disputeCount + 1
    self.disputeCount = dispute_id
    self.openDisputes[proposal_id] += 1
    self._game[dispute_id] = (proposal_id << 192) | (_l2OutputIndex << 128) | (lo << 64) | hi
    self._agreedRoot[dispute_id] = agreed
    self._proposerRoot[dispute_id] = output.outputRoot
    self._challengerRoot[dispute_id] = _challengerRoot
    self._challengerBond[dispute_id] = msg.value
    deadline: uint256 = 0
    if hi - lo == 1:
        self._set_state(dispute_id, msg.sender, AWAITING_RESOLUTION, 0)
    else:
        deadline = block.timestamp + self.moveTimeout
        self._set_state(dispute_id, msg.sender, PROPOSER_TURN, deadline)
    log DisputeOpened(disputeId=dispute_id, l2OutputIndex=_l2OutputIndex, challenger=msg.sender, lo=lo, hi=hi,
                      agreedRoot=agreed, proposerRoot=output.outputRoot, challengerRoot=_challengerRoot,
                      deadline=deadline)
    if hi - lo == 1:
        log DisputeAwaitingResolution(disputeId=dispute_id, l2BlockNumber=hi, agreedRoot=agreed,
                                      proposerRoot=output.outputRoot, challengerRoot=_challengerRoot)
    return dispute_id


@external
def proposeMidpoint(_disputeId: uint256, _outputRoot: bytes32):
    """The proposer's move: its output root at the midpoint of the disputed range."""
    state: uint256 = self._state[_disputeId]
    assert (state >> 64) & 255 == PROPOSER_TURN, "not the proposer's turn"
    assert block.timestamp <= state & MASK64, "move deadline has passed"
    assert self._live(_disputeId), "the disputed output was deleted"
    game: uint256 = self._game[_disputeId]
    assert msg.sender == convert(self._meta1[(game >> 128) & MASK64] >> 96, address), "caller is not the output's proposer"
    assert _outputRoot != empty(bytes32), "output root is empty"
    lo: uint256 = (game >> 64) & MASK64
    hi: uint256 = game & MASK64
    deadline: uint256 = block.timestamp + self.moveTimeout
    self._midRoot[_disputeId] = _outputRoot
    self._set_state(_disputeId, convert(state >> 96, address), CHALLENGER_TURN, deadline)
    log MidpointProposed(disputeId=_disputeId, l2BlockNumber=(lo + hi) // 2, outputRoot=_outputRoot, deadline=deadline)


@external
def answerMidpoint(_disputeId: uint256, _outputRoot: bytes32):
    """The challenger's move: its own output root at the midpoint (equal to the proposer's = agree)."""
    state: uint256 = self._state[_disputeId]
    assert (state >> 64) & 255 == CHALLENGER_TURN, "not the challenger's turn"
    assert block.timestamp <= state & MASK64, "move deadline has passed"
    challenger: address = convert(state >> 96, address)
    assert msg.sender == challenger, "caller is not the challenger"
    assert self._live(_disputeId), "the disputed output was deleted"
    assert _outputRoot != empty(bytes32), "output root is empty"
    game: uint256 = self._game[_disputeId]
    lo: uint256 = (game >> 64) & MASK64
    hi: uint256 = game & MASK64
    mid: uint256 = (lo + hi) // 2
    mid_root: bytes32 = self._midRoot[_disputeId]
    agreed: bool = _outputRoot == mid_root
    if agreed:
        lo = mid
        self._agreedRoot[_disputeId] = mid_root
    else:
        hi = mid
        self._proposerRoot[_disputeId] = mid_root
        self._challengerRoot[_disputeId] = _outputRoot
    self._game[_disputeId] = (game >> 128 << 128) | (lo << 64) | hi
    deadline: uint256 = 0
    if hi - lo == 1:
        self._set_state(_disputeId, challenger, AWAITING_RESOLUTION, 0)
    else:
        deadline = block.timestamp + self.moveTimeout
        self._set_state(_disputeId, challenger, PROPOSER_TURN, deadline)
    log MidpointAnswered(disputeId=_disputeId, l2BlockNumber=mid, outputRoot=_outputRoot, agreed=agreed,
                         lo=lo, hi=hi, deadline=deadline)
    if hi - lo == 1:
        log DisputeAwaitingResolution(disputeId=_disputeId, l2BlockNumber=hi,
                                      agreedRoot=self._agreedRoot[_disputeId],
                                      proposerRoot=self._proposerRoot[_disputeId],
                                      challengerRoot=self._challengerRoot[_disputeId])


@internal
def _finish(dispute_id: uint256, proposer_wins: bool, reason: uint256):
    state: uint256 = self._state[dispute_id]
    game: uint256 = self._game[dispute_id]
    challenger: address = convert(state >> 96, address)
    index: uint256 = (game >> 128) & MASK64
    bond: uint256 = self._challengerBond[dispute_id]
    self.openDisputes[game >> 192] -= 1
    winner: address = challenger
    if proposer_wins:
        winner = convert(self._meta1[index] >> 96, address)
        self.credit[winner] += bond
        self._set_state(dispute_id, challenger, PROPOSER_WON, 0)
    else:
        # the challenger takes the bonds of the wrong output and of every output after it
        last: uint256 = self.nextOutputIndex
        assert self.settledCount <= index  # an output with an open dispute cannot have settled
        forfeited: uint256 = (self._meta2[last - 1] & MASK128) - self._cum_bond_before(index)
        self.credit[challenger] += bond + forfeited
        self.nextOutputIndex = index
        self._set_state(dispute_id, challenger, CHALLENGER_WON, 0)
        log OutputsDeleted(prevNextOutputIndex=last, newNextOutputIndex=index)
    log DisputeResolved(disputeId=dispute_id, proposerWins=proposer_wins, winner=winner, reason=reason)


@external
def resolveDispute(_disputeId: uint256, _proposerWins: bool):
    """The resolver's verdict on the single-block step: is the proposer's root at that block right?"""
    assert msg.sender == self.resolver, "caller is not the resolver"
    assert (self._state[_disputeId] >> 64) & 255 == AWAITING_RESOLUTION, "dispute is not awaiting resolution"
    assert self._live(_disputeId), "the disputed output was deleted: void the dispute"
    self._finish(_disputeId, _proposerWins, BY_RESOLVER)


@external
def timeout(_disputeId: uint256):
    """Anyone: end a dispute whose party to move let its deadline pass; that party loses."""
    state: uint256 = self._state[_disputeId]
    status: uint256 = (state >> 64) & 255
    assert status == PROPOSER_TURN or status == CHALLENGER_TURN, "no move is pending"
    assert self._live(_disputeId), "the disputed output was deleted: void the dispute"
    assert block.timestamp > state & MASK64, "the move deadline has not passed"
    self._finish(_disputeId, status == CHALLENGER_TURN, BY_TIMEOUT)


@external
def voidDispute(_disputeId: uint256):
    """Anyone: close an open dispute whose output was deleted by another dispute; the challenger gets its bond back."""
    state: uint256 = self._state[_disputeId]
    status: uint256 = (state >> 64) & 255
    assert status >= PROPOSER_TURN and status <= AWAITING_RESOLUTION, "dispute is not open"
    assert not self._live(_disputeId), "the disputed output still exists"
    challenger: address = convert(state >> 96, address)
    self.credit[challenger] += self._challengerBond[_disputeId]
    self._set_state(_disputeId, challenger, VOID, 0)
    log DisputeResolved(disputeId=_disputeId, proposerWins=False, winner=empty(address), reason=BY_VOID)


@external
@view
def getDispute(_disputeId: uint256) -> Dispute:
    assert _disputeId >= 1 and _disputeId <= self.disputeCount, "no such dispute"
    game: uint256 = self._game[_disputeId]
    state: uint256 = self._state[_disputeId]
    index: uint256 = (game >> 128) & MASK64
    proposer_of: address = empty(address)
    if self._live(_disputeId):
        proposer_of = convert(self._meta1[index] >> 96, address)
    return Dispute(
        outputIndex=index,
        proposalId=game >> 192,
        challenger=convert(state >> 96, address),
        proposer=proposer_of,
        status=(state >> 64) & 255,
        deadline=state & MASK64,
        lo=(game >> 64) & MASK64,
        hi=game & MASK64,
        agreedRoot=self._agreedRoot[_disputeId],
        proposerRoot=self._proposerRoot[_disputeId],
        challengerRoot=self._challengerRoot[_disputeId],
        midRoot=self._midRoot[_disputeId],
        bond=self._challengerBond[_disputeId],
    )


@external
@view
def finalStep(_disputeId: uint256) -> (uint256, bytes32, bytes32, bytes32):
    """(L2 block, agreed root of the block before it, proposer's root, challenger's root) of a dispute awaiting resolution."""
    assert (self._state[_disputeId] >> 64) & 255 == AWAITING_RESOLUTION, "dispute is not awaiting resolution"
    return (self._game[_disputeId] & MASK64, self._agreedRoot[_disputeId], self._proposerRoot[_disputeId],
            self._challengerRoot[_disputeId])


# -- credits ------------------------------------------------------------------------

@external
@nonreentrant
def withdrawCredit():
    """Pay out the caller's credit (bonds returned or won)."""
    amount: uint256 = self.credit[msg.sender]
    assert amount > 0, "no credit"
    self.credit[msg.sender] = 0
    # all gas forwarded: proposers and challengers may be contract wallets
    raw_call(msg.sender, b"", value=amount)
    log CreditWithdrawn(account=msg.sender, amount=amount)


# -- governance ---------------------------------------------------------------------

@external
def setProposer(_proposer: address):
    owned._only_owner()
    self.proposer = _proposer
    log RoleSet(name="proposer", account=_proposer)


@external
def setResolver(_resolver: address):
    """Hand the single-block verdict to another contract (e.g. the staked sequencer set)."""
    owned._only_owner()
    self.resolver = _resolver
    log RoleSet(name="resolver", account=_resolver)


@external
def setSubmissionInterval(_submissionInterval: uint256):
    owned._only_owner()
    assert _submissionInterval > 0, "submission interval is zero"
    self.submissionInterval = _submissionInterval
    log ParameterSet(name="submissionInterval", value=_submissionInterval)


@external
def setFinalizationPeriod(_seconds: uint256):
    owned._only_owner()
    self.finalizationPeriodSeconds = _seconds
    log ParameterSet(name="finalizationPeriodSeconds", value=_seconds)


@external
def setBonds(_proposerBond: uint256, _challengerBond: uint256):
    owned._only_owner()
    self.proposerBond = _proposerBond
    self.challengerBond = _challengerBond
    log ParameterSet(name="proposerBond", value=_proposerBond)
    log ParameterSet(name="challengerBond", value=_challengerBond)


@external
def setMoveTimeout(_seconds: uint256):
    owned._only_owner()
    assert _seconds > 0 and _seconds <= MAX_MOVE_TIMEOUT, "move timeout must be 1..2^32 seconds"
    self.moveTimeout = _seconds
    log ParameterSet(name="moveTimeout", value=_seconds)


@external
def setStartingOutput(_l2BlockNumber: uint256, _outputRoot: bytes32):
    """The agreed output the first proposal builds on; only while no output exists."""
    owned._only_owner()
    assert self.nextOutputIndex == 0, "outputs exist"
    assert _l2BlockNumber <= MASK64, "starting block number too large"
    self.startingBlockNumber = _l2BlockNumber
    self.startingOutputRoot = _outputRoot
    log ParameterSet(name="startingBlockNumber", value=_l2BlockNumber)
