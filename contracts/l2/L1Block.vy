# pragma version ==0.4.3
# @title L1Block: the L1 origin of the current L2 block (L2 predeploy at 0x4200...0015)
# @notice The first transaction of every L2 block is a deposit from the
#         depositor system account that calls setL1BlockValues with the
#         values of the L1 block the L2 block derives from (its L1 origin)
#         and its position in that origin's epoch. Contracts on L2 read them
#         here. Nobody else can write them.

DEPOSITOR_ACCOUNT: constant(address) = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001

number: public(uint64)
timestamp: public(uint64)
basefee: public(uint256)
hash: public(bytes32)
# index of this L2 block among the L2 blocks with the same L1 origin (0 for the first)
sequenceNumber: public(uint64)
# the authorized batcher at the L1 origin, left-padded to 32 bytes
batcherHash: public(bytes32)
blobBaseFee: public(uint256)
baseFeeScalar: public(uint32)
blobBaseFeeScalar: public(uint32)


@external
@view
def DEPOSITOR() -> address:
    return DEPOSITOR_ACCOUNT


@external
def setL1BlockValues(
    _number: uint64,
    _timestamp: uint64,
    _basefee: uint256,
    _hash: bytes32,
    _sequenceNumber: uint64,
    _batcherHash: bytes32,
    _blobBaseFee: uint256,
    _baseFeeScalar: uint32,
    _blobBaseFeeScalar: uint32,
):
    assert msg.sender == DEPOSITOR_ACCOUNT, "only the depositor account may set L1 block values"
    self.number = _number
    self.timestamp = _timestamp
    self.basefee = _basefee
    self.hash = _hash
    self.sequenceNumber = _sequenceNumber
    self.batcherHash = _batcherHash
    self.blobBaseFee = _blobBaseFee
    self.baseFeeScalar = _baseFeeScalar
    self.blobBaseFeeScalar = _blobBaseFeeScalar
