# pragma version ==0.4.3
# @title DataAnchoringToken: the ERC-1155 form of LazAI's DAT
# @notice ABI-compatible with alith.lazai's DATA_ANCHORING_TOKEN_CONTRACT_ABI
#         (mint, batchMint, uri, verified, setTokenVerified, balanceOf), plus the
#         rest of ERC-1155. Each `mint` creates a new token id. Minting is
#         limited to maintainers and the authorised minter (the DataRegistry,
#         which mints one token per rewarded file). The usage-metered,
#         revenue-bearing record of the same contribution lives in the
#         ERC-8028 contract (DAT.vy); see docs/lazai.md.

from . import lib_access as access

initializes: access

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
)

interface ERC1155Receiver:
    def onERC1155Received(operator: address, sender: address, id: uint256, amount: uint256, data: Bytes[1024]) -> bytes4: nonpayable
    def onERC1155BatchReceived(operator: address, sender: address, ids: DynArray[uint256, 128], amounts: DynArray[uint256, 128], data: Bytes[1024]) -> bytes4: nonpayable

MAX_BATCH: constant(uint256) = 128
ERC1155_RECEIVED: constant(bytes4) = 0xf23a6e61
ERC1155_BATCH_RECEIVED: constant(bytes4) = 0xbc197c81

event TokenMinted:
    to: indexed(address)
    tokenId: indexed(uint256)
    tokenURI: String[512]

event TransferSingle:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    id: uint256
    value: uint256

event TransferBatch:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    ids: DynArray[uint256, MAX_BATCH]
    values: DynArray[uint256, MAX_BATCH]

event ApprovalForAll:
    account: indexed(address)
    operator: indexed(address)
    approved: bool

event URI:
    value: String[512]
    id: indexed(uint256)

balances: HashMap[uint256, HashMap[address, uint256]]
operator_approvals: HashMap[address, HashMap[address, bool]]
token_uris: HashMap[uint256, String[512]]
token_verified: HashMap[uint256, bool]
minters: public(HashMap[address, bool])
tokenCount: public(uint256)


@deploy
def __init__(admin: address, minter: address):
    access.__init__(admin)
    self.minters[minter] = True


@internal
@view
def _only_minter():
    assert self.minters[msg.sender] or msg.sender == access.admin or access.maintainers[msg.sender], \
        "caller is not a minter"


@external
def setMinter(minter: address, enabled: bool):
    access._only_admin()
    self.minters[minter] = enabled


@internal
def _mint_one(to: address, token_id: uint256, amount: uint256, token_uri: String[512]):
    assert to != empty(address), "mint to the zero address"
    self.balances[token_id][to] += amount
    if len(token_uri) > 0:
        self.token_uris[token_id] = token_uri
    log TransferSingle(operator=msg.sender, sender=empty(address), receiver=to, id=token_id, value=amount)
    log TokenMinted(to=to, tokenId=token_id, tokenURI=token_uri)


@external
def mint(to: address, amount: uint256, tokenURI_: String[512], verified_: bool):
    self._only_minter()
    access._when_not_paused()
    self.tokenCount += 1
    token_id: uint256 = self.tokenCount
    self.token_verified[token_id] = verified_
    self._mint_one(to, token_id, amount, tokenURI_)


@external
def batchMint(to: address, ids: DynArray[uint256, MAX_BATCH], amounts: DynArray[uint256, MAX_BATCH],
              tokenURIs: DynArray[String[512], MAX_BATCH]):
    """Mint more of existing or new ids; ids above tokenCount raise it."""
    self._only_minter()
    access._when_not_paused()
    assert len(ids) == len(amounts) and len(ids) == len(tokenURIs), "length mismatch"
    for i: uint256 in range(len(ids), bound=MAX_BATCH):
        assert ids[i] != 0, "token id 0 is reserved"
        if ids[i] > self.tokenCount:
            self.tokenCount = ids[i]
        self._mint_one(to, ids[i], amounts[i], tokenURIs[i])


@external
@view
def uri(tokenId: uint256) -> String[512]:
    return self.token_uris[tokenId]


@external
@view
def verified(tokenId: uint256) -> bool:
    return self.token_verified[tokenId]


@external
def setTokenVerified(tokenId: uint256, verified_: bool):
    access._only_maintainer()
    self.token_verified[tokenId] = verified_


@external
@view
def balanceOf(account: address, id: uint256) -> uint256:
    return self.balances[id][account]


@external
@view
def balanceOfBatch(accounts: DynArray[address, MAX_BATCH], ids: DynArray[uint256, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    assert len(accounts) == len(ids), "length mismatch"
    result: DynArray[uint256, MAX_BATCH] = []
    for i: uint256 in range(len(ids), bound=MAX_BATCH):
        result.append(self.balances[ids[i]][accounts[i]])
    return result


@external
def setApprovalForAll(operator: address, approved: bool):
    assert operator != msg.sender, "approving self"
    self.operator_approvals[msg.sender][operator] = approved
    log ApprovalForAll(account=msg.sender, operator=operator, approved=approved)


@external
@view
def isApprovedForAll(account: address, operator: address) -> bool:
    return self.operator_approvals[account][operator]


@internal
def _move(sender: address, receiver: address, id: uint256, amount: uint256):
    assert receiver != empty(address), "transfer to the zero address"
    assert self.balances[id][sender] >= amount, "insufficient balance"
    self.balances[id][sender] -= amount
    self.balances[id][receiver] += amount


@external
@nonreentrant
def safeTransferFrom(sender: address, receiver: address, id: uint256, amount: uint256, data: Bytes[1024]):
    assert msg.sender == sender or self.operator_approvals[sender][msg.sender], "caller is not owner nor approved"
    access._when_not_paused()
    self._move(sender, receiver, id, amount)
    log TransferSingle(operator=msg.sender, sender=sender, receiver=receiver, id=id, value=amount)
    if receiver.is_contract:
        answer: bytes4 = extcall ERC1155Receiver(receiver).onERC1155Received(msg.sender, sender, id, amount, data)
        assert answer == ERC1155_RECEIVED, "receiver rejected tokens"


@external
@nonreentrant
def safeBatchTransferFrom(sender: address, receiver: address, ids: DynArray[uint256, MAX_BATCH],
                          amounts: DynArray[uint256, MAX_BATCH], data: Bytes[1024]):
    assert msg.sender == sender or self.operator_approvals[sender][msg.sender], "caller is not owner nor approved"
    assert len(ids) == len(amounts), "length mismatch"
    access._when_not_paused()
    for i: uint256 in range(len(ids), bound=MAX_BATCH):
        self._move(sender, receiver, ids[i], amounts[i])
    log TransferBatch(operator=msg.sender, sender=sender, receiver=receiver, ids=ids, values=amounts)
    if receiver.is_contract:
        answer: bytes4 = extcall ERC1155Receiver(receiver).onERC1155BatchReceived(msg.sender, sender, ids, amounts, data)
        assert answer == ERC1155_BATCH_RECEIVED, "receiver rejected tokens"


@external
@view
def supportsInterface(interfaceId: bytes4) -> bool:
    # ERC-165, ERC-1155, ERC-1155 metadata URI
    return interfaceId in [0x01ffc9a7, 0xd9b67a26, 0x0e89341c]
