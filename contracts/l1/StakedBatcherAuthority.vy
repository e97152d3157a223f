# pragma version ==0.4.3
# @title StakedBatcherAuthority: only an active staked sequencer may post batches
# @notice BatchInbox.setBatcherAuthority(this) makes the inbox ask this
#         contract who may post: exactly the sequencers active in
#         SequencerStaking (locked, not exiting, not ejected) at the time of
#         the batch. A sequencer posts with its staking key; a slashed and
#         ejected one is refused from then on. Derivation asks the same
#         question at the batch's L1 block (the rollup config's
#         `batcher_authority`), so a batch the inbox was made to accept
#         otherwise is still ignored. Which staked sequencer built which
#         block is checked off-chain, by block signatures and the schedule.

interface ISequencerStaking:
    def isActive(_sequencer: address) -> bool: view

staking: public(immutable(address))


@deploy
def __init__(_staking: address):
    assert _staking != empty(address), "staking is the zero address"
    staking = _staking


@external
@view
def isAuthorizedBatcher(_sender: address) -> bool:
    return staticcall ISequencerStaking(staking).isActive(_sender)
