# pragma version ==0.4.3
# @title DataRegistry: contributed files, access keys, proofs and rewards (LazAI-compatible)
# @notice ABI-compatible with alith.lazai's DATA_REGISTRY_CONTRACT_ABI.
#         Flow: addFile -> addPermissionForFile (encrypted key per account)
#         -> VerifiedComputing.requestProof -> a verifier node signs
#         ProofData(id=fileId, score, fileUrl, proofUrl) with eth_sign over
#         keccak256(abi.encode(data)) and anyone submits it with addProof; the
#         signer must be an active node of VerifiedComputing
#         -> the owner calls requestReward(fileId, proofIndex), which mints
#         (1) `score` units of a new ERC-1155 DataAnchoringToken id to the
#         owner (alith's view of the DAT) and (2) an ERC-8028 token in the
#         data-contribution class with value = score (usage quota) and
#         shareRatio = score (revenue weight). Each file is rewarded once.

from . import lib_access as access
from . import lib_sig as sig

initializes: access

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
)

interface VerifiedComputing:
    def isNode(nodeAddress: address) -> bool: view

interface DataAnchoringToken1155:
    def mint(to: address, amount: uint256, tokenURI_: String[512], verified_: bool): nonpayable
    def tokenCount() -> uint256: view

interface DAT8028:
    def mint(classId: uint256, to: address, value_: uint256, shareRatio: uint256, expireAt: uint64) -> uint256: nonpayable

MAX_PERMISSIONS: constant(uint256) = 32

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
publicKey: public(String[2048])
filesCount: public(uint256)

files: HashMap[uint256, File]
file_id_by_url: HashMap[String[512], uint256]
permissions: HashMap[uint256, HashMap[address, String[1024]]]
proofs: HashMap[uint256, HashMap[uint256, FileProof]]
proof_scores: HashMap[uint256, HashMap[uint256, uint256]]
proof_attestors: HashMap[uint256, HashMap[uint256, address]]
rewardTokenOf: public(HashMap[uint256, uint256])
erc8028TokenOf: public(HashMap[uint256, uint256])


@deploy
def __init__(admin: address, verified_computing: address, dat_1155: address, dat_8028: address,
             erc8028_class_id: uint256, public_key: String[2048]):
    access.__init__(admin)
    self.name = "Data Registry"
    self.verifiedComputing = verified_computing
    self.token = dat_1155
    self.erc8028 = dat_8028
    self.erc8028ClassId = erc8028_class_id
    self.publicKey = public_key


@external
@pure
def version() -> uint256:
    return 1


@external
def updateVerifiedComputing(newVerifiedComputing: address):
    access._only_admin()
    self.verifiedComputing = newVerifiedComputing


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


@external
def addProof(fileId: uint256, proof: Proof):
    access._when_not_paused()
    file: File = self.files[fileId]
    assert file.id != 0, "unknown file"
    assert proof.data.id == fileId, "proof is for another file"
    data_hash: bytes32 = keccak256(abi_encode(proof.data))
    signer: address = sig._recover(data_hash, proof.signature)
    assert signer != empty(address), "invalid signature"
    assert staticcall VerifiedComputing(self.verifiedComputing).isNode(signer), "signer is not a verifier node"
    index: uint256 = file.proofIndex + 1
    self.files[fileId].proofIndex = index
    self.proofs[fileId][index] = FileProof(timestamp=block.timestamp, hash=data_hash, signature=proof.signature)
    self.proof_scores[fileId][index] = proof.data.score
    self.proof_attestors[fileId][index] = signer
    log ProofAdded(fileId=fileId, proofIndex=index, attestor=signer, score=proof.data.score)


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
    self.files[fileId].rewardAmount = score
    extcall DataAnchoringToken1155(self.token).mint(file.ownerAddress, score, file.url, True)
    dat_token_id: uint256 = staticcall DataAnchoringToken1155(self.token).tokenCount()
    self.rewardTokenOf[fileId] = dat_token_id
    erc8028_token_id: uint256 = extcall DAT8028(self.erc8028).mint(self.erc8028ClassId, file.ownerAddress, score, score, 0)
    self.erc8028TokenOf[fileId] = erc8028_token_id
    log RewardRequested(contributor=file.ownerAddress, fileId=fileId, proofIndex=proofIndex,
                        rewardAmount=score, datTokenId=dat_token_id, erc8028TokenId=erc8028_token_id)
