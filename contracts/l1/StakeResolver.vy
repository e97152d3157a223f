# pragma version ==0.4.3
# @title StakeResolver: the staked sequencer set settles the single-block step of output disputes
# @notice When a dispute in the OutputOracle has bisected down to one L2
#         block, the active sequencers of SequencerStaking attest whether
#         the proposer's output root for that block is right: each sends
#         vote(), or anyone submits their EIP-712 signed attestations with
#         attestWithSignatures(). A verdict wins once the attestors behind it
#         hold at least 2/3 of the stake that was active before the disputed
#         output was proposed; that call resolves the dispute in the oracle
#         (the winner takes the bonds there) and slashes the loser, proposer
#         or challenger, by `slashAmount` of its stake if it has one (to the
#         winner; a failed slash is logged and does not undo the verdict).
#
#         Whose stake counts: an attestor's weight is its active stake at the
#         end of the last L1 block before the disputed output was proposed
#         (SequencerStaking's checkpoints), capped by its stake now, and zero
#         once it is no longer active (ejected, slashed below the minimum,
#         exiting). So stake locked after the output was proposed (let alone
#         after the dispute was opened) cannot sway the verdict, and a voter
#         thrown out of the set stops counting, also for votes it already
#         cast: tallies are recomputed from the voters at every attestation.
#         The 2/3 is of the snapshot's total active stake and never shrinks,
#         so two verdicts cannot both reach it. Each sequencer attests once
#         per dispute. This contract trusts that 2/3 of that stake is honest
#         and live; the oracle trusts this contract.

from . import lib_owned as owned

initializes: owned

exports: (owned.owner, owned.pendingOwner, owned.transferOwnership, owned.acceptOwnership)

# SequencerStaking's bound on the active set
MAX_ATTESTORS: constant(uint256) = 32

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

interface IOutputOracle:
    def finalStep(_disputeId: uint256) -> (uint256, bytes32, bytes32, bytes32): view
    def getDispute(_disputeId: uint256) -> Dispute: view
    def getL2Output(_l2OutputIndex: uint256) -> OutputProposal: view
    def resolveDispute(_disputeId: uint256, _proposerWins: bool): nonpayable

interface ISequencerStaking:
    def isActive(_sequencer: address) -> bool: view
    def stakeOf(_sequencer: address) -> uint256: view
    def activeStakeAt(_sequencer: address, _timestamp: uint256) -> uint256: view
    def totalActiveStakeAt(_timestamp: uint256) -> uint256: view

event Attested:
    disputeId: indexed(uint256)
    attestor: indexed(address)
    proposerWins: bool
    weight: uint256

event Resolved:
    disputeId: indexed(uint256)
    proposerWins: bool
    stakeFor: uint256
    snapshotStake: uint256
    loser: indexed(address)
    slashed: uint256

event SlashFailed:
    disputeId: indexed(uint256)
    loser: indexed(address)
    amount: uint256

event SlashAmountSet:
    slashAmount: uint256

# EIP-712
DOMAIN_TYPEHASH: constant(bytes32) = keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
ATTESTATION_TYPEHASH: constant(bytes32) = keccak256(
    "Attestation(uint256 disputeId,uint256 l2BlockNumber,bytes32 agreedRoot,bytes32 proposerRoot,bytes32 challengerRoot,bool proposerWins)")
NAME_HASH: constant(bytes32) = keccak256("Hyperion StakeResolver")
VERSION_HASH: constant(bytes32) = keccak256("1")
# secp256k1n / 2: signatures with a higher s are malleable copies and are refused
HALF_ORDER: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168
SLASH_REASON: constant(bytes32) = keccak256("Hyperion output dispute lost")

oracle: public(immutable(address))
staking: public(immutable(address))
# taken from the losing party's stake (if it has one) when a dispute is settled here
slashAmount: public(uint256)
# disputeId -> attestor -> attested
hasAttested: public(HashMap[uint256, HashMap[address, bool]])
# keccak256(disputeId, proposerWins) -> attestors of that verdict
_attestors: HashMap[bytes32, DynArray[address, MAX_ATTESTORS]]


@deploy
def __init__(_owner: address, _oracle: address, _staking: address, _slashAmount: uint256):
    owned.__init__(_owner)
    assert _oracle != empty(address), "oracle is the zero address"
    assert _staking != empty(address), "staking is the zero address"
    oracle = _oracle
    staking = _staking
    self.slashAmount = _slashAmount
    log SlashAmountSet(slashAmount=_slashAmount)


@external
def setSlashAmount(_slashAmount: uint256):
    owned._only_owner()
    self.slashAmount = _slashAmount
    log SlashAmountSet(slashAmount=_slashAmount)


# -- the question and its snapshot -----------------------------------------------------------------

@internal
@view
def _open_dispute(dispute_id: uint256) -> (Dispute, uint256):
    """The dispute (it must await resolution on a live output) and its stake snapshot time."""
    # finalStep reverts unless the dispute exists and awaits resolution
    step: (uint256, bytes32, bytes32, bytes32) = staticcall IOutputOracle(oracle).finalStep(dispute_id)
    dispute: Dispute = staticcall IOutputOracle(oracle).getDispute(dispute_id)
    assert dispute.proposer != empty(address), "the disputed output was deleted"
    output: OutputProposal = staticcall IOutputOracle(oracle).getL2Output(dispute.outputIndex)
    return dispute, output.timestamp


@internal
@view
def _weight(attestor: address, snapshot: uint256) -> uint256:
    if not staticcall ISequencerStaking(staking).isActive(attestor):
        return 0
    return min(staticcall ISequencerStaking(staking).activeStakeAt(attestor, snapshot),
               staticcall ISequencerStaking(staking).stakeOf(attestor))


@internal
@view
def _tally(dispute_id: uint256, proposer_wins: bool, snapshot: uint256) -> uint256:
    total: uint256 = 0
    for attestor: address in self._attestors[keccak256(abi_encode(dispute_id, proposer_wins))]:
        total += self._weight(attestor, snapshot)
    return total


@external
@view
def snapshotTime(_disputeId: uint256) -> uint256:
    """Stakes count as they were at the end of the last L1 block before this time (the output's proposal)."""
    dispute: Dispute = empty(Dispute)
    snapshot: uint256 = 0
    dispute, snapshot = self._open_dispute(_disputeId)
    return snapshot


@external
@view
def weightOf(_disputeId: uint256, _attestor: address) -> uint256:
    """What `_attestor`'s attestation on this dispute weighs now (0: it cannot attest)."""
    dispute: Dispute = empty(Dispute)
    snapshot: uint256 = 0
    dispute, snapshot = self._open_dispute(_disputeId)
    return self._weight(_attestor, snapshot)


@external
@view
def tally(_disputeId: uint256, _proposerWins: bool) -> (uint256, uint256):
    """(stake behind this verdict now, total active stake at the snapshot); it wins at 3 * first >= 2 * second."""
    dispute: Dispute = empty(Dispute)
    snapshot: uint256 = 0
    dispute, snapshot = self._open_dispute(_disputeId)
    return self._tally(_disputeId, _proposerWins, snapshot), \
        staticcall ISequencerStaking(staking).totalActiveStakeAt(snapshot)


@internal
@view
def _digest(dispute_id: uint256, proposer_wins: bool) -> bytes32:
    l2_block: uint256 = 0
    agreed: bytes32 = empty(bytes32)
    proposer_root: bytes32 = empty(bytes32)
    challenger_root: bytes32 = empty(bytes32)
    l2_block, agreed, proposer_root, challenger_root = staticcall IOutputOracle(oracle).finalStep(dispute_id)
    domain: bytes32 = keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))
    attestation: bytes32 = keccak256(abi_encode(ATTESTATION_TYPEHASH, dispute_id, l2_block, agreed, proposer_root,
                                                challenger_root, proposer_wins))
    return keccak256(concat(b"\x19\x01", domain, attestation))


@external
@view
def attestationDigest(_disputeId: uint256, _proposerWins: bool) -> bytes32:
    """The EIP-712 digest a sequencer signs for attestWithSignatures (the dispute must await resolution)."""
    return self._digest(_disputeId, _proposerWins)


# -- attesting --------------------------------------------------------------------------------------

@internal
def _record(dispute_id: uint256, attestor: address, proposer_wins: bool, weight: uint256):
    self.hasAttested[dispute_id][attestor] = True
    self._attestors[keccak256(abi_encode(dispute_id, proposer_wins))].append(attestor)
    log Attested(disputeId=dispute_id, attestor=attestor, proposerWins=proposer_wins, weight=weight)


@internal
def _settle_if_reached(dispute: Dispute, dispute_id: uint256, proposer_wins: bool, snapshot: uint256):
    total: uint256 = staticcall ISequencerStaking(staking).totalActiveStakeAt(snapshot)
    behind: uint256 = self._tally(dispute_id, proposer_wins, snapshot)
    if total == 0 or behind * 3 < total * 2:
        return
    extcall IOutputOracle(oracle).resolveDispute(dispute_id, proposer_wins)
    loser: address = dispute.proposer
    winner: address = dispute.challenger
    if proposer_wins:
        loser = dispute.challenger
        winner = dispute.proposer
    slashed: uint256 = 0
    amount: uint256 = self.slashAmount
    if amount > 0 and staticcall ISequencerStaking(staking).stakeOf(loser) > 0:
        # the verdict stands even if the slash fails (e.g. governance has not named this contract a slasher)
        success: bool = False
        response: Bytes[32] = b""
        success, response = raw_call(
            staking, abi_encode(loser, amount, winner, SLASH_REASON,
                                method_id=method_id("slash(address,uint256,address,bytes32)")),
            max_outsize=32, revert_on_failure=False)
        if success and len(response) == 32:
            slashed = convert(response, uint256)
        else:
            log SlashFailed(disputeId=dispute_id, loser=loser, amount=amount)
    log Resolved(disputeId=dispute_id, proposerWins=proposer_wins, stakeFor=behind, snapshotStake=total,
                 loser=loser, slashed=slashed)


@external
def vote(_disputeId: uint256, _proposerWins: bool):
    """An active sequencer's attestation on a dispute awaiting resolution; the one that reaches 2/3 settles it."""
    dispute: Dispute = empty(Dispute)
    snapshot: uint256 = 0
    dispute, snapshot = self._open_dispute(_disputeId)
    assert not self.hasAttested[_disputeId][msg.sender], "already attested on this dispute"
    weight: uint256 = self._weight(msg.sender, snapshot)
    assert weight > 0, "caller had no active stake before the output was proposed, or is no longer active"
    self._record(_disputeId, msg.sender, _proposerWins, weight)
    self._settle_if_reached(dispute, _disputeId, _proposerWins, snapshot)


@external
def attestWithSignatures(_disputeId: uint256, _proposerWins: bool, _signatures: DynArray[Bytes[65], MAX_ATTESTORS]):
    """Count sequencers' EIP-712 attestations (attestationDigest, r ‖ s ‖ v each, signers in ascending order).

    Anyone may submit them. Signers who already attested are skipped (so a
    copied signature cannot make the submission fail); a signer without
    weight is refused. Settles the dispute once the verdict reaches 2/3.
    """
    dispute: Dispute = empty(Dispute)
    snapshot: uint256 = 0
    dispute, snapshot = self._open_dispute(_disputeId)
    digest: bytes32 = self._digest(_disputeId, _proposerWins)
    last: uint256 = 0
    for signature: Bytes[65] in _signatures:
        assert len(signature) == 65, "signature must be 65 bytes"
        r: uint256 = extract32(signature, 0, output_type=uint256)
        s: uint256 = extract32(signature, 32, output_type=uint256)
        v: uint256 = convert(slice(signature, 64, 1), uint256)
        assert s <= HALF_ORDER, "signature s is not in the lower half"
        assert v == 27 or v == 28, "signature v must be 27 or 28"
        signer: address = ecrecover(digest, v, r, s)
        assert signer != empty(address), "invalid signature"
        assert convert(signer, uint256) > last, "signers must be unique and in ascending order"
        last = convert(signer, uint256)
        if self.hasAttested[_disputeId][signer]:
            continue
        weight: uint256 = self._weight(signer, snapshot)
        assert weight > 0, "a signer had no active stake before the output was proposed, or is no longer active"
        self._record(_disputeId, signer, _proposerWins, weight)
    self._settle_if_reached(dispute, _disputeId, _proposerWins, snapshot)
