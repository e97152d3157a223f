# pragma version ==0.4.3
# @title DataAnchoringToken: the ERC-1155 interface of the DAT ledger (alith's view of a DAT)
# @notice ABI-compatible with alith.lazai's DATA_ANCHORING_TOKEN_CONTRACT_ABI.
#         It holds no balances of its own: token id N here *is* ERC-8028
#         token N of the DAT contract, and balanceOf(account, N) is that
#         token's value when `account` owns it (0 otherwise). A transfer here
#         moves the DAT token itself (DAT.viewTransfer), and every change made
#         in the DAT (mint, transfer, value moved, quota used) is reported
#         back with onDatTransfer and logged here as TransferSingle, so the
#         two interfaces cannot disagree. Each id has one holder: a transfer
#         moves the whole token; partial amounts move with DAT.transferValue
#         or DAT.splitToken (which also carry the revenue share).
#         New DATs are minted in the DAT contract (DataRegistry.requestReward
#         for data contributions); this contract keeps each token's URI and
#         verified flag, set by the DataRegistry.

from . import lib_access as access

initializes: access

exports: (
    access.admin, access.maintainers, access.paused, access.transferAdmin,
    access.setMaintainer, access.pause, access.unpause,
)

interface DAT:
    def positionOf(tokenId: uint256) -> (address, uint256): view
    def viewTransfer(operator: address, sender: address, to: address, tokenId: uint256): nonpayable
    def tokenCount() -> uint256: view

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

dat: public(address)
dataRegistry: public(address)
operator_approvals: HashMap[address, HashMap[address, bool]]
token_uris: HashMap[uint256, String[512]]
token_verified: HashMap[uint256, bool]


@deploy
def __init__(admin: address, dat: address, data_registry: address):
    access.__init__(admin)
    self.dat = dat
    self.dataRegistry = data_registry


@external
def onDatTransfer(operator: address, sender: address, receiver: address, id: uint256, amount: uint256):
    """The DAT reports a change of one of its tokens; logged as the ERC-1155 event."""
    assert msg.sender == self.dat, "only the DAT contract"
    log TransferSingle(operator=operator, sender=sender, receiver=receiver, id=id, value=amount)


@external
def setTokenData(tokenId: uint256, tokenURI_: String[512], verified_: bool):
    """The DataRegistry records a rewarded file's URL and verification on its DAT token."""
    assert msg.sender == self.dataRegistry, "only the data registry"
    owner: address = empty(address)
    amount: uint256 = 0
    owner, amount = staticcall DAT(self.dat).positionOf(tokenId)
    assert owner != empty(address), "unknown token"
    self.token_uris[tokenId] = tokenURI_
    self.token_verified[tokenId] = verified_
    log URI(value=tokenURI_, id=tokenId)
    log TokenMinted(to=owner, tokenId=tokenId, tokenURI=tokenURI_)


@external
def mint(to: address, amount: uint256, tokenURI_: String[512], verified_: bool):
    """Kept for alith's ABI: DATs are minted by the DAT contract's class minters."""
    raise "DATs are minted in the DAT contract (DataRegistry.requestReward for data contributions)"


@external
def batchMint(to: address, ids: DynArray[uint256, MAX_BATCH], amounts: DynArray[uint256, MAX_BATCH],
              tokenURIs: DynArray[String[512], MAX_BATCH]):
    """Kept for alith's ABI: DATs are minted by the DAT contract's class minters."""
    raise "DATs are minted in the DAT contract (DataRegistry.requestReward for data contributions)"


@external
@view
def tokenCount() -> uint256:
    return staticcall DAT(self.dat).tokenCount()


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


@internal
@view
def _balance(account: address, id: uint256) -> uint256:
    owner: address = empty(address)
    amount: uint256 = 0
    owner, amount = staticcall DAT(self.dat).positionOf(id)
    if owner == account and account != empty(address):
        return amount
    return 0


@external
@view
def balanceOf(account: address, id: uint256) -> uint256:
    return self._balance(account, id)


@external
@view
def balanceOfBatch(accounts: DynArray[address, MAX_BATCH], ids: DynArray[uint256, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    assert len(accounts) == len(ids), "length mismatch"
    result: DynArray[uint256, MAX_BATCH] = []
    for i: uint256 in range(len(ids), bound=MAX_BATCH):
        result.append(self._balance(accounts[i], ids[i]))
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
    balance: uint256 = self._balance(sender, id)
    assert balance >= amount, "insufficient balance"
    if amount == 0:
        log TransferSingle(operator=msg.sender, sender=sender, receiver=receiver, id=id, value=0)
        return
    assert amount == balance, "each id has one holder: move part of a DAT with DAT.transferValue or DAT.splitToken"
    extcall DAT(self.dat).viewTransfer(msg.sender, sender, receiver, id)


@external
@nonreentrant
def safeTransferFrom(sender: address, receiver: address, id: uint256, amount: uint256, data: Bytes[1024]):
    assert msg.sender == sender or self.operator_approvals[sender][msg.sender], "caller is not owner nor approved"
    access._when_not_paused()
    self._move(sender, receiver, id, amount)
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
    if receiver.is_contract:
        answer: bytes4 = extcall ERC1155Receiver(receiver).onERC1155BatchReceived(msg.sender, sender, ids, amounts, data)
        assert answer == ERC1155_BATCH_RECEIVED, "receiver rejected tokens"


@external
@view
def supportsInterface(interfaceId: bytes4) -> bool:
    # ERC-165, ERC-1155, ERC-1155 metadata URI
    return interfaceId in [0x01ffc9a7, 0xd9b67a26, 0x0e89341c]
