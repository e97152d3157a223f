# pragma version ==0.4.3
# @title DataRegistry: contributed files, access keys, proofs and rewards (LazAI-compatible)
# @notice ABI-compatible with alith.lazai's DATA_REGISTRY_CONTRACT_ABI.
#         Flow: addFile -> addPermissionForFile (encrypted key per account)
#         -> VerifiedComputing.requestProof -> a verifier node signs
#         ProofData(id=fileId, score, fileUrl, proofUrl) with eth_sign over
#         keccak256(abi.encode(data)) and anyone submits it with addProof; the
#         signer must be an active, bonded verifier of VerifiedComputing, the
#         score at most `verifiers.maxScorePerFile` and within the signer's
#         epoch budget, the URL the file's own; one proof per signer and file
#         -> during `verifiers.disputeWindow` anyone may challenge the proof
#         with a bond; staker governance (the ProtocolGovernor) upholds or
#         rejects it; an upheld challenge voids the proof and slashes the
#         signer (the challenger gets its bond back plus part of the slash)
#         -> two different proofs signed by one verifier for one file are
#         proof of equivocation: anyone reporting them slashes the verifier
#         -> after the window, the owner calls requestReward(fileId,
#         proofIndex), which mints one DAT token in the data-contribution
#         class (ERC-8028, value = shareRatio = score); the ERC-1155
#         DataAnchoringToken shows the same token under the same id (alith's
#         view). Each file is rewarded once.

from . import lib_access as access
from . import lib_sig as sig

initializes: access

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
)

interface VerifiedComputing:
    def recordAttestation(nodeAddress: address, score: uint256): nonpayable
    def slash(nodeAddress: address, challenger: address) -> uint256: nonpayable
    def slashCount(nodeAddress: address) -> uint256: view

interface DataAnchoringToken1155:
    def setTokenData(tokenId: uint256, tokenURI_: String[512], verified_: bool): nonpayable

interface Params:
    def param(key: bytes32) -> uint256: view

interface DAT8028:
    def mint(classId: uint256, to: address, value_: uint256, shareRatio: uint256, expireAt: uint64) -> uint256: nonpayable

MAX_PERMISSIONS: constant(uint256) = 32
MAX_SCORE_PER_FILE: constant(bytes32) = keccak256("verifiers.maxScorePerFile")
DISPUTE_WINDOW: constant(bytes32) = keccak256("verifiers.disputeWindow")
CHALLENGE_BOND: constant(bytes32) = keccak256("verifiers.challengeBond")
CHALLENGE_TIMEOUT: constant(bytes32) = keccak256("verifiers.challengeTimeout")
CHALLENGE_OPEN: constant(uint8) = 1
CHALLENGE_UPHELD: constant(uint8) = 2
CHALLENGE_REJECTED: constant(uint8) = 3
CHALLENGE_EXPIRED: constant(uint8) = 4

struct File:
    id: uint256
    ownerAddress: address
    url: String[512]
    hash: String[256]
    proofIndex: uint256
    rewardAmount: uint256

struct Permission:
    account: address
    key: String[1024]

struct ProofData:
    id: uint256
    score: uint256
    fileUrl: String[512]
    proofUrl: String[512]

struct Proof:
    signature: Bytes[65]
    data: ProofData

struct FileProof:
    timestamp: uint256
    hash: bytes32
    signature: Bytes[65]

struct Challenge:
    fileId: uint256
    proofIndex: uint256
    attestor: address
    challenger: address
    bond: uint256
    openedAt: uint256
    status: uint8

event FileAdded:
    fileId: indexed(uint256)
    ownerAddress: indexed(address)
    url: String[512]

event PermissionGranted:
    fileId: indexed(uint256)
    account: indexed(address)

event ProofAdded:
    fileId: indexed(uint256)
    proofIndex: indexed(uint256)
    attestor: indexed(address)
    score: uint256

event ProofChallenged:
    challengeId: indexed(uint256)
    fileId: indexed(uint256)
    attestor: indexed(address)
    proofIndex: uint256
    challenger: address
    bond: uint256
    reasonURI: String[512]

event ChallengeResolved:
    challengeId: indexed(uint256)
    status: uint8
    slashed: uint256

event EquivocationReported:
    attestor: indexed(address)
    fileId: indexed(uint256)
    reporter: indexed(address)
    slashed: uint256

event RewardRequested:
    contributor: indexed(address)
    fileId: indexed(uint256)
    proofIndex: indexed(uint256)
    rewardAmount: uint256
    datTokenId: uint256
    erc8028TokenId: uint256

name: public(String[64])
token: public(address)
erc8028: public(address)
erc8028ClassId: public(uint256)
verifiedComputing: public(address)
governor: public(address)
feeVault: public(address)
publicKey: public(String[2048])
filesCount: public(uint256)

files: HashMap[uint256, File]
file_id_by_url: HashMap[String[512], uint256]
permissions: HashMap[uint256, HashMap[address, String[1024]]]
proofs: HashMap[uint256, HashMap[uint256, FileProof]]
proof_scores: HashMap[uint256, HashMap[uint256, uint256]]
proof_attestors: HashMap[uint256, HashMap[uint256, address]]
proof_by_signer: HashMap[uint256, HashMap[address, uint256]]
proof_void: HashMap[uint256, HashMap[uint256, bool]]
proof_challenge: HashMap[uint256, HashMap[uint256, uint256]]
attestor_slashes_at_proof: HashMap[uint256, HashMap[uint256, uint256]]
challenges: HashMap[uint256, Challenge]
challengeCount: public(uint256)
openChallengesAgainst: public(HashMap[address, uint256])
rewardTokenOf: public(HashMap[uint256, uint256])
erc8028TokenOf: public(HashMap[uint256, uint256])


@deploy
def __init__(admin: address, verified_computing: address, dat_1155: address, dat_8028: address,
             erc8028_class_id: uint256, public_key: String[2048], governor: address, fee_vault: address):
    access.__init__(admin)
    self.name = "Data Registry"
    self.verifiedComputing = verified_computing
    self.governor = governor
    self.feeVault = fee_vault
    self.token = dat_1155
    self.erc8028 = dat_8028
    self.erc8028ClassId = erc8028_class_id
    self.publicKey = public_key


@external
@pure
def version() -> uint256:
    return 1


@internal
@view
def _param(key: bytes32) -> uint256:
    return staticcall Params(self.governor).param(key)


@external
def updateVerifiedComputing(newVerifiedComputing: address):
    """Kept for alith's ABI: the verifier registry is fixed, it holds the bonds that back the proofs."""
    raise "the verifier registry is fixed at genesis"


@external
def updatePublicKey(newPublicKey: String[2048]):
    access._only_maintainer()
    self.publicKey = newPublicKey


@internal
def _add_file(url: String[512], hash: String[256], owner: address) -> uint256:
    access._when_not_paused()
    assert len(url) > 0, "empty url"
    assert self.file_id_by_url[url] == 0, "file already added"
    self.filesCount += 1
    file_id: uint256 = self.filesCount
    self.files[file_id] = File(id=file_id, ownerAddress=owner, url=url, hash=hash, proofIndex=0, rewardAmount=0)
    self.file_id_by_url[url] = file_id
    log FileAdded(fileId=file_id, ownerAddress=owner, url=url)
    return file_id


@external
def addFile(url: String[512], hash: String[256]) -> uint256:
    return self._add_file(url, hash, msg.sender)


@external
def addFileWithPermissions(url: String[512], hash: String[256], ownerAddress: address,
                           permissions: DynArray[Permission, MAX_PERMISSIONS]) -> uint256:
    assert ownerAddress != empty(address), "owner is the zero address"
    file_id: uint256 = self._add_file(url, hash, ownerAddress)
    for permission: Permission in permissions:
        self.permissions[file_id][permission.account] = permission.key
        log PermissionGranted(fileId=file_id, account=permission.account)
    return file_id


@external
def addPermissionForFile(fileId: uint256, account: address, key: String[1024]):
    assert self.files[fileId].ownerAddress == msg.sender, "caller is not the file owner"
    self.permissions[fileId][account] = key
    log PermissionGranted(fileId=fileId, account=account)


@external
@view
def getFile(fileId: uint256) -> File:
    return self.files[fileId]


@external
@view
def getFileIdByUrl(url: String[512]) -> uint256:
    return self.file_id_by_url[url]


@external
@view
def getFilePermission(fileId: uint256, account: address) -> String[1024]:
    return self.permissions[fileId][account]


@external
@view
def getFileProof(fileId: uint256, index: uint256) -> FileProof:
    return self.proofs[fileId][index]


@external
@view
def getProofScore(fileId: uint256, index: uint256) -> uint256:
    return self.proof_scores[fileId][index]


@external
@view
def getProofAttestor(fileId: uint256, index: uint256) -> address:
    return self.proof_attestors[fileId][index]


@internal
@view
def _signer(proof: Proof) -> (address, bytes32):
    data_hash: bytes32 = keccak256(abi_encode(proof.data))
    return sig._recover(data_hash, proof.signature), data_hash


@external
def addProof(fileId: uint256, proof: Proof):
    access._when_not_paused()
    file: File = self.files[fileId]
    assert file.id != 0, "unknown file"
    assert proof.data.id == fileId, "proof is for another file"
    assert proof.data.fileUrl == file.url, "proof names another file URL"
    assert proof.data.score <= self._param(MAX_SCORE_PER_FILE), "score above the per-file bound"
    signer: address = empty(address)
    data_hash: bytes32 = empty(bytes32)
    signer, data_hash = self._signer(proof)
    assert signer != empty(address), "invalid signature"
    assert self.proof_by_signer[fileId][signer] == 0, "signer already attested this file"
    extcall VerifiedComputing(self.verifiedComputing).recordAttestation(signer, proof.data.score)
    index: uint256 = file.proofIndex + 1
    self.files[fileId].proofIndex = index
    self.proofs[fileId][index] = FileProof(timestamp=block.timestamp, hash=data_hash, signature=proof.signature)
    self.proof_scores[fileId][index] = proof.data.score
    self.proof_attestors[fileId][index] = signer
    self.proof_by_signer[fileId][signer] = index
    self.attestor_slashes_at_proof[fileId][index] = staticcall VerifiedComputing(self.verifiedComputing).slashCount(signer)
    log ProofAdded(fileId=fileId, proofIndex=index, attestor=signer, score=proof.data.score)


# ------------------------------------------------------------------ accountability

@external
@nonreentrant
def reportConflictingProofs(first: Proof, second: Proof) -> uint256:
    """Two different proofs signed by one verifier for one file: the verifier is slashed, the reporter paid."""
    assert first.data.id == second.data.id, "proofs are for different files"
    signer_a: address = empty(address)
    signer_b: address = empty(address)
    hash_a: bytes32 = empty(bytes32)
    hash_b: bytes32 = empty(bytes32)
    signer_a, hash_a = self._signer(first)
    signer_b, hash_b = self._signer(second)
    assert signer_a != empty(address) and signer_a == signer_b, "proofs are not signed by the same verifier"
    assert hash_a != hash_b, "the proofs are identical"
    slashed: uint256 = extcall VerifiedComputing(self.verifiedComputing).slash(signer_a, msg.sender)
    assert slashed > 0, "verifier has no bond left to slash"
    log EquivocationReported(attestor=signer_a, fileId=first.data.id, reporter=msg.sender, slashed=slashed)
    return slashed


@external
@payable
def challengeProof(fileId: uint256, proofIndex: uint256, reasonURI: String[512]) -> uint256:
    """Disputes a proof within its dispute window; staker governance decides (resolveChallenge)."""
    assert proofIndex != 0 and proofIndex <= self.files[fileId].proofIndex, "no such proof"
    assert msg.value >= self._param(CHALLENGE_BOND), "challenge bond too low"
    assert block.timestamp <= self.proofs[fileId][proofIndex].timestamp + self._param(DISPUTE_WINDOW), \
        "the proof's dispute window is over"
    assert self.proof_challenge[fileId][proofIndex] == 0, "proof already challenged"
    attestor: address = self.proof_attestors[fileId][proofIndex]
    self.challengeCount += 1
    challenge_id: uint256 = self.challengeCount
    self.challenges[challenge_id] = Challenge(fileId=fileId, proofIndex=proofIndex, attestor=attestor,
                                              challenger=msg.sender, bond=msg.value, openedAt=block.timestamp,
                                              status=CHALLENGE_OPEN)
    self.proof_challenge[fileId][proofIndex] = challenge_id
    self.openChallengesAgainst[attestor] += 1
    log ProofChallenged(challengeId=challenge_id, fileId=fileId, attestor=attestor, proofIndex=proofIndex,
                        challenger=msg.sender, bond=msg.value, reasonURI=reasonURI)
    return challenge_id


@internal
def _close(challenge_id: uint256, status: uint8) -> Challenge:
    challenge: Challenge = self.challenges[challenge_id]
    assert challenge.status == CHALLENGE_OPEN, "challenge is not open"
    self.challenges[challenge_id].status = status
    self.openChallengesAgainst[challenge.attestor] -= 1
    return challenge


@external
@nonreentrant
def resolveChallenge(challengeId: uint256, upheld: bool):
    """Staker governance's verdict. Upheld: proof void, verifier slashed, bond back; rejected: bond to the vault."""
    assert msg.sender == self.governor, "only staker governance resolves challenges"
    if not upheld:
        challenge: Challenge = self._close(challengeId, CHALLENGE_REJECTED)
        log ChallengeResolved(challengeId=challengeId, status=CHALLENGE_REJECTED, slashed=0)
        raw_call(self.feeVault, b"", value=challenge.bond)
        return
    challenge: Challenge = self._close(challengeId, CHALLENGE_UPHELD)
    self.proof_void[challenge.fileId][challenge.proofIndex] = True
    slashed: uint256 = extcall VerifiedComputing(self.verifiedComputing).slash(challenge.attestor, challenge.challenger)
    log ChallengeResolved(challengeId=challengeId, status=CHALLENGE_UPHELD, slashed=slashed)
    raw_call(challenge.challenger, b"", value=challenge.bond)


@external
@nonreentrant
def expireChallenge(challengeId: uint256):
    """A challenge governance left undecided for `verifiers.challengeTimeout`: the bond goes back, nothing is slashed."""
    assert block.timestamp > self.challenges[challengeId].openedAt + self._param(CHALLENGE_TIMEOUT), \
        "challenge still awaits a verdict"
    challenge: Challenge = self._close(challengeId, CHALLENGE_EXPIRED)
    log ChallengeResolved(challengeId=challengeId, status=CHALLENGE_EXPIRED, slashed=0)
    raw_call(challenge.challenger, b"", value=challenge.bond)


@external
@view
def getChallenge(challengeId: uint256) -> Challenge:
    return self.challenges[challengeId]


@external
@view
def proofStatus(fileId: uint256, proofIndex: uint256) -> (bool, uint256, uint256):
    """(void, challenge id or 0, end of the dispute window)."""
    return self.proof_void[fileId][proofIndex], self.proof_challenge[fileId][proofIndex], \
        self.proofs[fileId][proofIndex].timestamp + self._param(DISPUTE_WINDOW)


@external
@nonreentrant
def requestReward(fileId: uint256, proofIndex: uint256):
    access._when_not_paused()
    file: File = self.files[fileId]
    assert file.id != 0, "unknown file"
    assert msg.sender == file.ownerAddress, "caller is not the file owner"
    assert file.rewardAmount == 0, "reward already requested"
    assert proofIndex != 0 and proofIndex <= file.proofIndex, "no such proof"
    score: uint256 = self.proof_scores[fileId][proofIndex]
    assert score > 0, "proof score is zero"
    assert not self.proof_void[fileId][proofIndex], "proof was shown wrong"
    challenge_id: uint256 = self.proof_challenge[fileId][proofIndex]
    assert challenge_id == 0 or self.challenges[challenge_id].status != CHALLENGE_OPEN, "proof is under challenge"
    assert block.timestamp > self.proofs[fileId][proofIndex].timestamp + self._param(DISPUTE_WINDOW), \
        "proof is still in its dispute window"
    attestor: address = self.proof_attestors[fileId][proofIndex]
    assert staticcall VerifiedComputing(self.verifiedComputing).slashCount(attestor) \
        == self.attestor_slashes_at_proof[fileId][proofIndex], "the proof's verifier was slashed"
    self.files[fileId].rewardAmount = score
    token_id: uint256 = extcall DAT8028(self.erc8028).mint(self.erc8028ClassId, file.ownerAddress, score, score, 0)
    extcall DataAnchoringToken1155(self.token).setTokenData(token_id, file.url, True)
    self.rewardTokenOf[fileId] = token_id
    self.erc8028TokenOf[fileId] = token_id
    log RewardRequested(contributor=file.ownerAddress, fileId=fileId, proofIndex=proofIndex,
                        rewardAmount=score, datTokenId=token_id, erc8028TokenId=token_id)
