# pragma version ==0.4.3
# @title DAT: Data Anchoring Token per ERC-8028 (draft)
# @notice Classes of AI assets; tokens carry a usage quota (`value`), a revenue
#         weight (`shareRatio`) and an optional expiry. Revenue settled into a
#         class (ETH or ERC-20) is shared by the class's live tokens in
#         proportion to shareRatio through one accumulator per (class, asset):
#         settlement and claim are O(1), there is no loop over holders.
#
#         Arithmetic (exact, see docs/lazai.md):
#           acc[c][a] grows by (amount * 1e18 + carry) // totalShare, the
#           remainder is carried to the next settlement of (c, a), so the
#           scaled amount distributed equals the scaled amount settled.
#           A token's unclaimed revenue, scaled by 1e18, is
#             credit[t][a] + shareRatio * acc[c][a] - debt[t][a]   (while counted)
#           and a claim pays the floor of it / 1e18 and keeps the fraction
#           for later, so the sum claimed never exceeds the sum settled and
#           each token loses less than 1 wei in total to rounding.
#
#         Choices where ERC-8028 is silent:
#         * createClass is open to anyone; the creator manages the class
#           (metadata, policy, minters, revocation, governance share) and may
#           hand management over (offer, then accept) -- to an iDAO's
#           executor, which then governs the class by proposals. Mint: the
#           class manager or its minters. Nobody else, the admin included.
#         * One token, two interfaces: the ERC-1155 DataAnchoringToken shows
#           every DAT token under the same id, with balance = value, and
#           moves it through `viewTransfer`; every change of value or owner
#           here is reported to it (`onDatTransfer`), which logs the ERC-1155
#           event. There is no second ledger to fall out of step.
#         * Value carries share: transferValue moves `value` units and the
#           same proportion of the source's shareRatio (revenue earned so far
#           stays with the source). splitToken does the same into a new token
#           for another holder (ERC-3525's transfer of value to an address).
#         * A class manager may revoke its class: no more mints, usage, value
#           moves or settlements; revenue already settled stays claimable.
#         * A class governed by an iDAO may send a share (bounded by the
#           staker-governed `idao.maxClassShareBps`) of each settlement to the
#           iDAO's members (IDAORegistry.depositRevenue; ERC-20 revenue goes
#           to the iDAO's executor, its treasury).
#         * Unclaimed revenue belongs to the token, not the holder: after
#           transferToken the new owner claims it.
#         * Expiry is observed lazily (claim, settle, pokeExpiry). Calls that
#           must revert on an expired token cannot persist the observation.
#           At observation the token's accrued revenue for every asset
#           settled in its class is moved to `credit` (bounded: at most
#           MAX_ASSETS assets per class), so it stays claimable.
#         * claim with nothing pending reverts ("nothing to claim").
#         * recordUsage uses the hard-quota profile: amount > value reverts
#           with "quota exhausted".

from . import lib_access as access

initializes: access

exports: (access.admin, access.maintainers, access.transferAdmin, access.setMaintainer)

interface IDAORegistry:
    def executorOf(idaoId: uint256) -> address: view
    def depositRevenue(idaoId: uint256): payable

interface Params:
    def param(key: bytes32) -> uint256: view

interface TokenView:
    def onDatTransfer(operator: address, sender: address, receiver: address, id: uint256, amount: uint256): nonpayable

interface ERC20:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transferFrom(sender: address, receiver: address, amount: uint256) -> bool: nonpayable
    def balanceOf(owner: address) -> uint256: view

SCALE: constant(uint256) = 10 ** 18
MAX_BPS: constant(uint256) = 10000
MAX_CLASS_SHARE_BPS: constant(bytes32) = keccak256("idao.maxClassShareBps")
MAX_SEED_MINTERS: constant(uint256) = 4
MAX_ASSETS: constant(uint256) = 8
MAX_SHARE_RATIO: constant(uint256) = 4294967295  # uint32 max
ETH: constant(address) = empty(address)

struct ClassInfo:
    metadataURI: String[512]
    integrityHash: bytes32
    unitDecimals: uint8
    policyURI: String[512]
    creator: address
    totalShare: uint256
    pendingManager: address
    revoked: bool
    governanceIDAO: uint256
    governanceShareBps: uint256

struct Token:
    classId: uint256
    value: uint256
    shareRatio: uint256
    expireAt: uint64
    owner: address
    countedInShare: bool

event ClassCreated:
    classId: indexed(uint256)
    metadataURI: String[512]
    integrityHash: bytes32

event ClassPolicyUpdated:
    classId: indexed(uint256)
    policyURI: String[512]

event MetadataUpdated:
    classId: indexed(uint256)
    metadataURI: String[512]
    integrityHash: bytes32

event Minted:
    tokenId: indexed(uint256)
    classId: indexed(uint256)
    to: address
    value: uint256
    shareRatio: uint256
    expireAt: uint64

event TransferToken:
    tokenId: indexed(uint256)
    sender: indexed(address)
    receiver: indexed(address)

event ValueTransferred:
    fromTokenId: indexed(uint256)
    toTokenId: indexed(uint256)
    value: uint256

event Expired:
    tokenId: indexed(uint256)

event UsageRecorded:
    tokenId: indexed(uint256)
    metricType: bytes32
    amount: uint256
    actor: address

event RevenueSettled:
    classId: indexed(uint256)
    asset: indexed(address)
    amount: uint256

event Claimed:
    tokenId: indexed(uint256)
    to: indexed(address)
    asset: indexed(address)
    amount: uint256

event ApprovalForClass:
    owner: indexed(address)
    classId: indexed(uint256)
    operator: indexed(address)
    approved: bool

event ProofAdded:
    tokenId: indexed(uint256)
    proofType: bytes32
    uri: String[512]
    signature: Bytes[65]

event ClassManagementOffered:
    classId: indexed(uint256)
    manager: indexed(address)
    offeredTo: indexed(address)

event ClassManagementTransferred:
    classId: indexed(uint256)
    previous: indexed(address)
    current: indexed(address)

event ClassRevoked:
    classId: indexed(uint256)

event ClassGovernanceSet:
    classId: indexed(uint256)
    idaoId: indexed(uint256)
    shareBps: uint256

event GovernanceRevenuePaid:
    classId: indexed(uint256)
    idaoId: indexed(uint256)
    asset: indexed(address)
    amount: uint256

event ShareTransferred:
    fromTokenId: indexed(uint256)
    toTokenId: indexed(uint256)
    share: uint256

event ClassMinterSet:
    classId: indexed(uint256)
    minter: indexed(address)
    enabled: bool

classes: HashMap[uint256, ClassInfo]
classCount: public(uint256)
classMinters: public(HashMap[uint256, HashMap[address, bool]])
class_assets: HashMap[uint256, DynArray[address, MAX_ASSETS]]
accRevenuePerShare: public(HashMap[uint256, HashMap[address, uint256]])
settle_carry: HashMap[uint256, HashMap[address, uint256]]
totalSettled: public(HashMap[uint256, HashMap[address, uint256]])
totalClaimed: public(HashMap[uint256, HashMap[address, uint256]])
totalGovernanceShare: public(HashMap[uint256, HashMap[address, uint256]])
idaoRegistry: public(address)
governor: public(address)
tokenView: public(address)

tokens: HashMap[uint256, Token]
tokenCount: public(uint256)
reward_debt: HashMap[uint256, HashMap[address, uint256]]
reward_credit: HashMap[uint256, HashMap[address, uint256]]
class_operators: HashMap[address, HashMap[uint256, HashMap[address, bool]]]


@deploy
def __init__(admin: address, seed_class_manager: address, seed_class_minters: DynArray[address, MAX_SEED_MINTERS],
             seed_metadata_uri: String[512], seed_policy_uri: String[512], idao_registry: address, governor: address,
             token_view: address):
    """Creates class 1, the class of LazAI data contributions (managed by staker governance, minted by the DataRegistry)."""
    access.__init__(admin)
    self.idaoRegistry = idao_registry
    self.governor = governor
    self.tokenView = token_view
    class_id: uint256 = self._create_class(seed_class_manager, seed_metadata_uri, empty(bytes32), 0, seed_policy_uri)
    for minter: address in seed_class_minters:
        self.classMinters[class_id][minter] = True
        log ClassMinterSet(classId=class_id, minter=minter, enabled=True)


# ---------------------------------------------------------------- internals

@internal
def _create_class(creator: address, metadata_uri: String[512], integrity_hash: bytes32, unit_decimals: uint8,
                  policy_uri: String[512]) -> uint256:
    self.classCount += 1
    class_id: uint256 = self.classCount
    self.classes[class_id] = ClassInfo(
        metadataURI=metadata_uri, integrityHash=integrity_hash, unitDecimals=unit_decimals,
        policyURI=policy_uri, creator=creator, totalShare=0, pendingManager=empty(address), revoked=False,
        governanceIDAO=0, governanceShareBps=0,
    )
    log ClassCreated(classId=class_id, metadataURI=metadata_uri, integrityHash=integrity_hash)
    if len(policy_uri) > 0:
        log ClassPolicyUpdated(classId=class_id, policyURI=policy_uri)
    return class_id


@internal
@view
def _require_class(class_id: uint256):
    assert class_id != 0 and class_id <= self.classCount, "unknown class"


@internal
@view
def _require_token(token_id: uint256) -> Token:
    token: Token = self.tokens[token_id]
    assert token.owner != empty(address), "unknown token"
    return token


@internal
@view
def _is_past_expiry(token: Token) -> bool:
    return token.expireAt != 0 and block.timestamp > convert(token.expireAt, uint256)


@internal
@view
def _only_class_manager(class_id: uint256):
    assert msg.sender == self.classes[class_id].creator, "caller is not the class manager"


@internal
@view
def _require_live_class(class_id: uint256):
    assert not self.classes[class_id].revoked, "class revoked"


@internal
def _notify(operator: address, sender: address, receiver: address, token_id: uint256, amount: uint256):
    """Lets the ERC-1155 view log the same change (one token, two interfaces)."""
    if self.tokenView != empty(address):
        extcall TokenView(self.tokenView).onDatTransfer(operator, sender, receiver, token_id, amount)


@internal
def _accrue(token_id: uint256, token: Token):
    """Moves what the token earned so far into its credit, so its share can change."""
    if not token.countedInShare:
        return
    for asset: address in self.class_assets[token.classId]:
        self.reward_credit[token_id][asset] = self._pending_scaled(token_id, token, asset)
        self.reward_debt[token_id][asset] = 0


@internal
def _set_share(token_id: uint256, class_id: uint256, share: uint256):
    """After _accrue: the token's share is `share` from now on (it counts in totalShare when > 0)."""
    self.tokens[token_id].shareRatio = share
    self.tokens[token_id].countedInShare = share > 0
    for asset: address in self.class_assets[class_id]:
        self.reward_debt[token_id][asset] = share * self.accRevenuePerShare[class_id][asset]


@internal
@view
def _only_owner_or_operator(token: Token):
    assert msg.sender == token.owner or self.class_operators[token.owner][token.classId][msg.sender], \
        "caller is not owner nor approved operator"


@internal
@view
def _pending_scaled(token_id: uint256, token: Token, asset: address) -> uint256:
    pending: uint256 = self.reward_credit[token_id][asset]
    if token.countedInShare:
        pending += token.shareRatio * self.accRevenuePerShare[token.classId][asset] - self.reward_debt[token_id][asset]
    return pending


@internal
def _observe_expiry(token_id: uint256) -> bool:
    """Takes an expired token out of its class's totalShare (once), keeping what it earned."""
    token: Token = self.tokens[token_id]
    if not self._is_past_expiry(token):
        return False
    if token.countedInShare:
        for asset: address in self.class_assets[token.classId]:
            self.reward_credit[token_id][asset] = self._pending_scaled(token_id, token, asset)
            self.reward_debt[token_id][asset] = 0
        self.tokens[token_id].countedInShare = False
        self.classes[token.classId].totalShare -= token.shareRatio
        log Expired(tokenId=token_id)
    return True


@internal
def _settle(class_id: uint256, asset: address, amount: uint256):
    self._require_class(class_id)
    self._require_live_class(class_id)
    assert amount > 0, "nothing to settle"
    info: ClassInfo = self.classes[class_id]
    assert info.totalShare > 0, "class has no active shares"
    if asset not in self.class_assets[class_id]:
        assert len(self.class_assets[class_id]) < MAX_ASSETS, "too many settlement assets in class"
        self.class_assets[class_id].append(asset)
    governance: uint256 = 0
    if info.governanceIDAO != 0:
        governance = amount * info.governanceShareBps // MAX_BPS
    holders: uint256 = amount - governance
    scaled: uint256 = holders * SCALE + self.settle_carry[class_id][asset]
    self.accRevenuePerShare[class_id][asset] += scaled // info.totalShare
    self.settle_carry[class_id][asset] = scaled % info.totalShare
    self.totalSettled[class_id][asset] += amount
    log RevenueSettled(classId=class_id, asset=asset, amount=amount)
    if governance > 0:
        self.totalGovernanceShare[class_id][asset] += governance
        log GovernanceRevenuePaid(classId=class_id, idaoId=info.governanceIDAO, asset=asset, amount=governance)
        if asset == ETH:
            extcall IDAORegistry(self.idaoRegistry).depositRevenue(info.governanceIDAO, value=governance)
        else:
            treasury: address = staticcall IDAORegistry(self.idaoRegistry).executorOf(info.governanceIDAO)
            assert extcall ERC20(asset).transfer(treasury, governance, default_return_value=True), "transfer failed"


# ------------------------------------------------------------ class management

@external
def createClass(metadataURI: String[512], integrityHash: bytes32, unitDecimals: uint8,
                policyURI: String[512]) -> uint256:
    return self._create_class(msg.sender, metadataURI, integrityHash, unitDecimals, policyURI)


@external
def updateClassMetadata(classId: uint256, metadataURI: String[512], integrityHash: bytes32):
    self._require_class(classId)
    self._only_class_manager(classId)
    self.classes[classId].metadataURI = metadataURI
    self.classes[classId].integrityHash = integrityHash
    log MetadataUpdated(classId=classId, metadataURI=metadataURI, integrityHash=integrityHash)


@external
def updateClassPolicy(classId: uint256, policyURI: String[512]):
    self._require_class(classId)
    self._only_class_manager(classId)
    self.classes[classId].policyURI = policyURI
    log ClassPolicyUpdated(classId=classId, policyURI=policyURI)


@external
def setClassMinter(classId: uint256, minter: address, enabled: bool):
    self._require_class(classId)
    self._only_class_manager(classId)
    self.classMinters[classId][minter] = enabled
    log ClassMinterSet(classId=classId, minter=minter, enabled=enabled)


@external
def offerClassManagement(classId: uint256, to: address):
    """First step of handing the class over (e.g. to an iDAO's executor); `to` accepts."""
    self._require_class(classId)
    self._only_class_manager(classId)
    self.classes[classId].pendingManager = to
    log ClassManagementOffered(classId=classId, manager=msg.sender, offeredTo=to)


@external
def acceptClassManagement(classId: uint256):
    self._require_class(classId)
    info: ClassInfo = self.classes[classId]
    assert info.pendingManager != empty(address) and msg.sender == info.pendingManager, \
        "caller was not offered the class"
    self.classes[classId].creator = msg.sender
    self.classes[classId].pendingManager = empty(address)
    log ClassManagementTransferred(classId=classId, previous=info.creator, current=msg.sender)


@external
def revokeClass(classId: uint256):
    """No more mints, usage, value moves or settlements in the class; earned revenue stays claimable."""
    self._require_class(classId)
    self._only_class_manager(classId)
    self._require_live_class(classId)
    self.classes[classId].revoked = True
    log ClassRevoked(classId=classId)


@external
def setClassGovernance(classId: uint256, idaoId: uint256, shareBps: uint256):
    """The class manager, when it is the iDAO's executor, sends `shareBps` of each settlement to the iDAO's members."""
    self._require_class(classId)
    self._only_class_manager(classId)
    if idaoId != 0:
        assert staticcall IDAORegistry(self.idaoRegistry).executorOf(idaoId) == msg.sender, \
            "only the iDAO's own executor may direct class revenue to it"
        assert shareBps <= staticcall Params(self.governor).param(MAX_CLASS_SHARE_BPS), \
            "share above the protocol maximum"
    else:
        assert shareBps == 0, "a share needs an iDAO"
    self.classes[classId].governanceIDAO = idaoId
    self.classes[classId].governanceShareBps = shareBps
    log ClassGovernanceSet(classId=classId, idaoId=idaoId, shareBps=shareBps)


# -------------------------------------------------------------- mint & transfer

@external
def mint(classId: uint256, to: address, value_: uint256, shareRatio: uint256, expireAt: uint64) -> uint256:
    self._require_class(classId)
    self._require_live_class(classId)
    assert msg.sender == self.classes[classId].creator or self.classMinters[classId][msg.sender], \
        "caller may not mint in this class"
    assert to != empty(address), "mint to the zero address"
    assert expireAt == 0 or convert(expireAt, uint256) >= block.timestamp, "expiry is in the past"
    share: uint256 = min(shareRatio, MAX_SHARE_RATIO)  # ERC-8028: shareRatio saturates
    self.tokenCount += 1
    token_id: uint256 = self.tokenCount
    self.tokens[token_id] = Token(
        classId=classId, value=value_, shareRatio=share, expireAt=expireAt, owner=to, countedInShare=share > 0,
    )
    if share > 0:
        self.classes[classId].totalShare += share
        for asset: address in self.class_assets[classId]:
            self.reward_debt[token_id][asset] = share * self.accRevenuePerShare[classId][asset]
    log Minted(tokenId=token_id, classId=classId, to=to, value=value_, shareRatio=share, expireAt=expireAt)
    log TransferToken(tokenId=token_id, sender=empty(address), receiver=to)
    self._notify(msg.sender, empty(address), to, token_id, value_)
    return token_id


@internal
def _transfer_token(operator: address, token_id: uint256, sender: address, to: address):
    assert to != empty(address), "transfer to the zero address"
    self.tokens[token_id].owner = to
    log TransferToken(tokenId=token_id, sender=sender, receiver=to)
    self._notify(operator, sender, to, token_id, self.tokens[token_id].value)


@external
def transferToken(tokenId: uint256, to: address):
    token: Token = self._require_token(tokenId)
    assert msg.sender == token.owner, "caller is not the token owner"
    self._transfer_token(msg.sender, tokenId, token.owner, to)


@external
def viewTransfer(operator: address, sender: address, to: address, tokenId: uint256):
    """The ERC-1155 view moves a whole token for `operator`, which it checked is `sender` or approved by it."""
    assert msg.sender == self.tokenView, "only the ERC-1155 view"
    token: Token = self._require_token(tokenId)
    assert token.owner == sender, "sender does not own the token"
    self._transfer_token(operator, tokenId, sender, to)


# --------------------------------------------------------------------- approvals

@external
def approveForClass(classId: uint256, operator: address, approved: bool):
    self._require_class(classId)
    assert operator != msg.sender, "approving self"
    self.class_operators[msg.sender][classId][operator] = approved
    log ApprovalForClass(owner=msg.sender, classId=classId, operator=operator, approved=approved)


@external
@view
def isApprovedForClass(owner: address, classId: uint256, operator: address) -> bool:
    return self.class_operators[owner][classId][operator]


# --------------------------------------------------------------- value & usage

@internal
def _move_value(from_token_id: uint256, source: Token, to_token_id: uint256, target: Token, value_: uint256):
    """Moves `value_` units and the same proportion of the source's share (earned revenue stays put)."""
    self._require_live_class(source.classId)
    assert value_ > 0, "zero value"
    assert not self._is_past_expiry(source) and not self._is_past_expiry(target), "token expired"
    assert source.value >= value_, "insufficient value"
    share: uint256 = source.shareRatio * value_ // source.value
    self.tokens[from_token_id].value = source.value - value_
    self.tokens[to_token_id].value = target.value + value_
    log ValueTransferred(fromTokenId=from_token_id, toTokenId=to_token_id, value=value_)
    if share > 0:
        assert target.shareRatio + share <= MAX_SHARE_RATIO, "share ratio above its maximum"
        self._accrue(from_token_id, source)
        self._accrue(to_token_id, target)
        self._set_share(from_token_id, source.classId, source.shareRatio - share)
        self._set_share(to_token_id, source.classId, target.shareRatio + share)
        log ShareTransferred(fromTokenId=from_token_id, toTokenId=to_token_id, share=share)
    self._notify(msg.sender, source.owner, empty(address), from_token_id, value_)
    self._notify(msg.sender, empty(address), target.owner, to_token_id, value_)


@external
def transferValue(fromTokenId: uint256, toTokenId: uint256, value_: uint256):
    source: Token = self._require_token(fromTokenId)
    target: Token = self._require_token(toTokenId)
    assert fromTokenId != toTokenId, "same token"
    assert source.classId == target.classId, "class mismatch"
    self._only_owner_or_operator(source)
    self._move_value(fromTokenId, source, toTokenId, target, value_)


@external
def splitToken(fromTokenId: uint256, to: address, value_: uint256) -> uint256:
    """Moves part of a token (value and the same proportion of share) into a new token owned by `to`."""
    source: Token = self._require_token(fromTokenId)
    self._only_owner_or_operator(source)
    assert to != empty(address), "transfer to the zero address"
    self.tokenCount += 1
    token_id: uint256 = self.tokenCount
    target: Token = Token(classId=source.classId, value=0, shareRatio=0, expireAt=source.expireAt, owner=to,
                          countedInShare=False)
    self.tokens[token_id] = target
    log Minted(tokenId=token_id, classId=source.classId, to=to, value=0, shareRatio=0, expireAt=source.expireAt)
    log TransferToken(tokenId=token_id, sender=empty(address), receiver=to)
    self._move_value(fromTokenId, source, token_id, target, value_)
    return token_id


@external
def recordUsage(tokenId: uint256, metricType: bytes32, amount: uint256):
    token: Token = self._require_token(tokenId)
    self._only_owner_or_operator(token)
    self._require_live_class(token.classId)
    assert not self._is_past_expiry(token), "token expired"
    if amount > 0:
        assert token.value >= amount, "quota exhausted"
        self.tokens[tokenId].value = token.value - amount
        self._notify(msg.sender, token.owner, empty(address), tokenId, amount)
    log UsageRecorded(tokenId=tokenId, metricType=metricType, amount=amount, actor=msg.sender)


@external
def pokeExpiry(tokenId: uint256) -> bool:
    """Records an expiry now (anyone may call), so later settlements skip the token."""
    self._require_token(tokenId)
    return self._observe_expiry(tokenId)


@external
def addProof(tokenId: uint256, proofType: bytes32, uri: String[512], signature: Bytes[65]):
    token: Token = self._require_token(tokenId)
    self._only_owner_or_operator(token)
    log ProofAdded(tokenId=tokenId, proofType=proofType, uri=uri, signature=signature)


# --------------------------------------------------------- settlement & claims

@external
@payable
@nonreentrant
def settleRevenueETH(classId: uint256):
    self._settle(classId, ETH, msg.value)


@external
@nonreentrant
def settleRevenueERC20(classId: uint256, asset: address, amount: uint256):
    assert asset != ETH, "use settleRevenueETH for ETH"
    before: uint256 = staticcall ERC20(asset).balanceOf(self)
    assert extcall ERC20(asset).transferFrom(msg.sender, self, amount, default_return_value=True), "transferFrom failed"
    received: uint256 = staticcall ERC20(asset).balanceOf(self) - before
    self._settle(classId, asset, received)


@external
@nonreentrant
def claim(tokenId: uint256, asset: address, to: address) -> uint256:
    self._require_token(tokenId)
    self._observe_expiry(tokenId)
    token: Token = self.tokens[tokenId]
    assert msg.sender == token.owner, "caller is not the token owner"
    assert to != empty(address), "claim to the zero address"
    pending: uint256 = self._pending_scaled(tokenId, token, asset)
    amount: uint256 = pending // SCALE
    assert amount > 0, "nothing to claim"
    # effects before the transfer (checks-effects-interactions)
    if token.countedInShare:
        self.reward_debt[tokenId][asset] = token.shareRatio * self.accRevenuePerShare[token.classId][asset]
    self.reward_credit[tokenId][asset] = pending - amount * SCALE
    self.totalClaimed[token.classId][asset] += amount
    log Claimed(tokenId=tokenId, to=to, asset=asset, amount=amount)
    if asset == ETH:
        raw_call(to, b"", value=amount)
    else:
        assert extcall ERC20(asset).transfer(to, amount, default_return_value=True), "transfer failed"
    return amount


# ------------------------------------------------------------------------ views

@external
@view
def getClassMeta(classId: uint256) -> (String[512], bytes32, uint8, String[512]):
    info: ClassInfo = self.classes[classId]
    return info.metadataURI, info.integrityHash, info.unitDecimals, info.policyURI


@external
@view
def classCreator(classId: uint256) -> address:
    """The class manager (its creator until management is handed over)."""
    return self.classes[classId].creator


@external
@view
def classInfo(classId: uint256) -> ClassInfo:
    return self.classes[classId]


@external
@view
def positionOf(tokenId: uint256) -> (address, uint256):
    """(owner, value) without reverting for unknown tokens (the ERC-1155 view's balance)."""
    return self.tokens[tokenId].owner, self.tokens[tokenId].value


@external
@view
def totalShareOf(classId: uint256) -> uint256:
    return self.classes[classId].totalShare


@external
@view
def classOf(tokenId: uint256) -> uint256:
    return self._require_token(tokenId).classId


@external
@view
def valueOf(tokenId: uint256) -> uint256:
    return self._require_token(tokenId).value


@external
@view
def shareRatioOf(tokenId: uint256) -> uint256:
    return self._require_token(tokenId).shareRatio


@external
@view
def expireAtOf(tokenId: uint256) -> uint64:
    return self._require_token(tokenId).expireAt


@external
@view
def ownerOf(tokenId: uint256) -> address:
    return self._require_token(tokenId).owner


@external
@view
def isExpired(tokenId: uint256) -> bool:
    return self._is_past_expiry(self._require_token(tokenId))


@external
@view
def isCountedInShare(tokenId: uint256) -> bool:
    return self.tokens[tokenId].countedInShare


@external
@view
def pendingRevenue(tokenId: uint256, asset: address) -> uint256:
    token: Token = self._require_token(tokenId)
    return self._pending_scaled(tokenId, token, asset) // SCALE
