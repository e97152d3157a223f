# pragma version ==0.4.3
# @title BatchInbox: where the authorized batcher posts L2 batches, as calldata or as EIP-4844 blobs
# @notice A batch is a transaction to this contract from the batcher: its
#         calldata is the batch (it begins with the derivation version byte,
#         0x00, and no function of this contract has a selector beginning
#         with 0x00 or 0x01, so batches always reach __default__), or, for a
#         type-3 transaction, its blobs are. Anyone else's transaction
#         reverts, so derivation takes exactly the successful transactions
#         that emitted BatchSubmitted and ignores the rest as junk. The
#         event lists the blobs' versioned hashes (read with BLOBHASH) so a
#         follower can fetch the blobs and check them against the event.
#         The authorized batcher is one address, or, when `batcherAuthority`
#         is set, whoever that contract's isAuthorizedBatcher() accepts (the
#         hook a staked, rotating sequencer set plugs into).

from . import lib_owned as owned

initializes: owned

exports: (owned.owner, owned.pendingOwner, owned.transferOwnership, owned.acceptOwnership)

# Prague allows 9 blobs per block (Osaka caps a transaction at 6)
MAX_BLOBS: constant(uint256) = 9

interface IBatcherAuthority:
    def isAuthorizedBatcher(_sender: address) -> bool: view

event BatchSubmitted:
    batcher: indexed(address)
    dataLength: uint256
    blobHashes: DynArray[bytes32, MAX_BLOBS]

event BatcherChanged:
    previous: indexed(address)
    batcher: indexed(address)

event BatcherAuthoritySet:
    authority: indexed(address)

batcher: public(address)
batcherAuthority: public(address)


@deploy
def __init__(_owner: address, _batcher: address):
    owned.__init__(_owner)
    self.batcher = _batcher
    log BatcherChanged(previous=empty(address), batcher=_batcher)


@internal
@view
def _is_authorized(sender: address) -> bool:
    authority: address = self.batcherAuthority
    if authority != empty(address):
        return staticcall IBatcherAuthority(authority).isAuthorizedBatcher(sender)
    return sender == self.batcher


@external
@view
def isAuthorizedBatcher(_sender: address) -> bool:
    return self._is_authorized(_sender)


@external
def __default__():
    """A batch: this transaction's calldata, or its blobs. Only the authorized batcher may post."""
    assert self._is_authorized(msg.sender), "sender is not the authorized batcher"
    hashes: DynArray[bytes32, MAX_BLOBS] = []
    for i: uint256 in range(MAX_BLOBS):
        blob: bytes32 = blobhash(i)
        if blob == empty(bytes32):
            break
        hashes.append(blob)
    assert len(msg.data) > 0 or len(hashes) > 0, "empty batch"
    log BatchSubmitted(batcher=msg.sender, dataLength=len(msg.data), blobHashes=hashes)


@external
def setBatcher(_batcher: address):
    owned._only_owner()
    log BatcherChanged(previous=self.batcher, batcher=_batcher)
    self.batcher = _batcher


@external
def setBatcherAuthority(_authority: address):
    """Delegate the batcher check to a contract (empty: back to the single `batcher` address)."""
    owned._only_owner()
    self.batcherAuthority = _authority
    log BatcherAuthoritySet(authority=_authority)
