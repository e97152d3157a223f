# pragma version ==0.4.3
# @title ThresholdResolver: a set of L1 keys that settles the single-block step of output disputes
# @notice When a dispute in the OutputOracle has bisected down to one L2
#         block, this contract decides it: `threshold` of its `members` must
#         say whether the proposer's output root for that block is right.
#         They say so either by each sending vote(), or all at once through
#         resolveWithSignatures() with EIP-712 signatures (any account may
#         submit them). Reaching the threshold calls
#         OutputOracle.resolveDispute. The oracle trusts whatever this
#         contract decides; this contract trusts `threshold` of its members.
#         Any contract that calls resolveDispute can replace it (the staked
#         sequencer set's 2/3 attestation).

from . import lib_owned as owned

initializes: owned

exports: (owned.owner, owned.pendingOwner, owned.transferOwnership, owned.acceptOwnership)

MAX_MEMBERS: constant(uint256) = 64

interface IResolvableOracle:
    def finalStep(_disputeId: uint256) -> (uint256, bytes32, bytes32, bytes32): view
    def resolveDispute(_disputeId: uint256, _proposerWins: bool): nonpayable

event Voted:
    disputeId: indexed(uint256)
    member: indexed(address)
    proposerWins: bool
    votes: uint256

event Resolved:
    disputeId: indexed(uint256)
    proposerWins: bool

event MembersSet:
    configVersion: indexed(uint256)
    members: DynArray[address, MAX_MEMBERS]
    threshold: uint256

# EIP-712
DOMAIN_TYPEHASH: constant(bytes32) = keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
VERDICT_TYPEHASH: constant(bytes32) = keccak256(
    "Verdict(uint256 disputeId,uint256 l2BlockNumber,bytes32 agreedRoot,bytes32 proposerRoot,bytes32 challengerRoot,bool proposerWins)")
NAME_HASH: constant(bytes32) = keccak256("Hyperion ThresholdResolver")
VERSION_HASH: constant(bytes32) = keccak256("1")
# secp256k1n / 2: signatures with a higher s are malleable copies and are refused
HALF_ORDER: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

oracle: public(immutable(address))
members: public(DynArray[address, MAX_MEMBERS])
isMember: public(HashMap[address, bool])
threshold: public(uint256)
# bumped whenever the member set changes: votes cast under an older set do not count
configVersion: public(uint256)
# keccak256(configVersion, disputeId, proposerWins) -> votes
_tally: HashMap[bytes32, uint256]
# keccak256(configVersion, disputeId, member) -> voted
_voted: HashMap[bytes32, bool]


@deploy
def __init__(_owner: address, _oracle: address, _members: DynArray[address, MAX_MEMBERS], _threshold: uint256):
    owned.__init__(_owner)
    assert _oracle != empty(address), "oracle is the zero address"
    oracle = _oracle
    self._set_members(_members, _threshold)


@internal
def _set_members(new_members: DynArray[address, MAX_MEMBERS], new_threshold: uint256):
    assert new_threshold >= 1 and new_threshold <= len(new_members), "threshold must be 1..len(members)"
    for member: address in self.members:
        self.isMember[member] = False
    for member: address in new_members:
        assert member != empty(address), "member is the zero address"
        assert not self.isMember[member], "duplicate member"
        self.isMember[member] = True
    self.members = new_members
    self.threshold = new_threshold
    self.configVersion += 1
    log MembersSet(configVersion=self.configVersion, members=new_members, threshold=new_threshold)


@external
@view
def memberCount() -> uint256:
    return len(self.members)


@internal
@view
def _digest(dispute_id: uint256, proposer_wins: bool) -> bytes32:
    l2_block: uint256 = 0
    agreed: bytes32 = empty(bytes32)
    proposer_root: bytes32 = empty(bytes32)
    challenger_root: bytes32 = empty(bytes32)
    l2_block, agreed, proposer_root, challenger_root = staticcall IResolvableOracle(oracle).finalStep(dispute_id)
    domain: bytes32 = keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))
    verdict: bytes32 = keccak256(abi_encode(VERDICT_TYPEHASH, dispute_id, l2_block, agreed, proposer_root,
                                            challenger_root, proposer_wins))
    return keccak256(concat(b"\x19\x01", domain, verdict))


@external
@view
def verdictDigest(_disputeId: uint256, _proposerWins: bool) -> bytes32:
    """The EIP-712 digest members sign for resolveWithSignatures (the dispute must await resolution)."""
    return self._digest(_disputeId, _proposerWins)


@internal
def _count(dispute_id: uint256, member: address, proposer_wins: bool) -> uint256:
    version: uint256 = self.configVersion
    voted_key: bytes32 = keccak256(abi_encode(version, dispute_id, member))
    assert not self._voted[voted_key], "member already voted on this dispute"
    self._voted[voted_key] = True
    tally_key: bytes32 = keccak256(abi_encode(version, dispute_id, proposer_wins))
    votes: uint256 = self._tally[tally_key] + 1
    self._tally[tally_key] = votes
    log Voted(disputeId=dispute_id, member=member, proposerWins=proposer_wins, votes=votes)
    return votes


@internal
def _resolve(dispute_id: uint256, proposer_wins: bool):
    extcall IResolvableOracle(oracle).resolveDispute(dispute_id, proposer_wins)
    log Resolved(disputeId=dispute_id, proposerWins=proposer_wins)


@external
def vote(_disputeId: uint256, _proposerWins: bool):
    """A member's verdict on a dispute awaiting resolution; the vote that reaches the threshold resolves it."""
    assert self.isMember[msg.sender], "caller is not a member"
    step: (uint256, bytes32, bytes32, bytes32) = staticcall IResolvableOracle(oracle).finalStep(_disputeId)  # reverts unless awaiting
    if self._count(_disputeId, msg.sender, _proposerWins) == self.threshold:
        self._resolve(_disputeId, _proposerWins)


@external
@view
def votes(_disputeId: uint256, _proposerWins: bool) -> uint256:
    """Votes for this verdict under the current member set."""
    return self._tally[keccak256(abi_encode(self.configVersion, _disputeId, _proposerWins))]


@external
def resolveWithSignatures(_disputeId: uint256, _proposerWins: bool, _signatures: DynArray[Bytes[65], MAX_MEMBERS]):
    """Resolve with `threshold` members' EIP-712 signatures over verdictDigest (r ‖ s ‖ v each), signers in ascending order."""
    digest: bytes32 = self._digest(_disputeId, _proposerWins)
    last: uint256 = 0
    valid: uint256 = 0
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
        assert self.isMember[signer], "signer is not a member"
        valid += 1
    assert valid >= self.threshold, "not enough member signatures"
    self._resolve(_disputeId, _proposerWins)


@external
def setMembers(_members: DynArray[address, MAX_MEMBERS], _threshold: uint256):
    """Replace the member set and threshold; votes already cast stop counting."""
    owned._only_owner()
    self._set_members(_members, _threshold)
