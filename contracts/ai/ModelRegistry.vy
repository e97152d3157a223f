# pragma version 0.4.3
# pragma evm-version cancun
"""
@title ModelRegistry
@notice Models registered by content hash (keccak256 of the HYQM bytes), and the compute-fee split.
@dev The bytes are chain data in the ModelStore contract: with a store configured, `register`
     accepts only a model whose bytes are published and sealed there (so a registered model is
     one the inference precompiles run on every node). With a LazAI DAT contract configured,
     registration anchors the model as a new DAT class (integrityHash = model hash; the
     model owner is made a minter of the class so it can issue holder and access tokens, and
     is offered the class's management, which it may accept and hand on, e.g. to an iDAO).
     A fee is split between the model's DAT holders, the protocol vault (Holders Mining) and
     the producer of the compute (the block producer for on-chain inference, the worker for
     off-chain jobs). The two shares are staker-governed ProtocolGovernor parameters
     (fees.inferenceHoldersBps, fees.inferenceProtocolBps); the producer gets the rest.
     Every share moves in the paying call, with no flush: the holders' share is settled into
     the model's DAT class (if the class cannot take it yet -- no holders -- it accrues and
     anyone may `settle_holders` later), the protocol share is deposited into the vault as the
     compute stream, and the producer's share is sent to the producer (with the 2300-gas
     stipend; a producer that refuses it gets a credit to `withdraw`). A model without a DAT
     class pays its holders' share to its `holders` address as a credit.
"""

interface ModelStore:
    def is_available(model_hash: bytes32) -> bool: view

interface DAT:
    def createClass(metadataURI: String[512], integrityHash: bytes32, unitDecimals: uint8,
                    policyURI: String[512]) -> uint256: nonpayable
    def setClassMinter(classId: uint256, minter: address, enabled: bool): nonpayable
    def offerClassManagement(classId: uint256, to: address): nonpayable
    def settleRevenueETH(classId: uint256): payable

interface Params:
    def param(key: bytes32) -> uint256: view

interface Vault:
    def depositRevenue(stream: uint8): payable

struct Model:
    owner: address
    holders: address
    dat_class_id: uint256
    input_shape: DynArray[uint32, 4]
    output_size: uint32
    macs: uint64
    input_scale_q32: uint256
    inference_fee: uint256
    registered_at: uint256
    name: String[64]

event ModelRegistered:
    model_hash: indexed(bytes32)
    owner: indexed(address)
    dat_class_id: uint256
    macs: uint64
    name: String[64]

event ModelUpdated:
    model_hash: indexed(bytes32)
    holders: address
    dat_class_id: uint256
    inference_fee: uint256

event HoldersRevenueSettled:
    model_hash: indexed(bytes32)
    dat_class_id: indexed(uint256)
    amount: uint256

event ComputeFeePaid:
    model_hash: indexed(bytes32)
    payer: indexed(address)
    producer: indexed(address)
    holders_share: uint256
    protocol_share: uint256
    producer_share: uint256

event Withdrawal:
    account: indexed(address)
    amount: uint256

BPS: constant(uint256) = 10000
MAX_MODELS: constant(uint256) = 4096
STREAM_COMPUTE: constant(uint8) = 1
HOLDERS_BPS: constant(bytes32) = keccak256("fees.inferenceHoldersBps")
PROTOCOL_BPS: constant(bytes32) = keccak256("fees.inferenceProtocolBps")

dat: public(address)
governor: public(address)
model_store: public(address)
protocol_vault: public(address)
models: public(HashMap[bytes32, Model])
model_hashes: public(DynArray[bytes32, MAX_MODELS])
credits: public(HashMap[address, uint256])
holders_revenue: public(HashMap[bytes32, uint256])


@deploy
def __init__(protocol_vault: address, governor: address, dat: address, model_store: address):
    self.dat = dat
    self.governor = governor
    self.model_store = model_store
    self.protocol_vault = protocol_vault


@view
@external
def holders_bps() -> uint256:
    return staticcall Params(self.governor).param(HOLDERS_BPS)


@view
@external
def protocol_bps() -> uint256:
    return staticcall Params(self.governor).param(PROTOCOL_BPS)


@external
def register(model_hash: bytes32, input_shape: DynArray[uint32, 4], output_size: uint32, macs: uint64,
             input_scale_q32: uint256, inference_fee: uint256, name: String[64]) -> uint256:
    """
    @notice Register a model by its content hash; the caller becomes its owner.
    @return The DAT class anchoring the model (0 when no DAT contract is configured).
    """
    assert model_hash != empty(bytes32), "empty model hash"
    assert self.models[model_hash].owner == empty(address), "model already registered"
    if self.model_store != empty(address):
        assert staticcall ModelStore(self.model_store).is_available(model_hash), "model bytes not published"
    assert len(input_shape) > 0, "input shape required"
    for dim: uint32 in input_shape:
        assert dim > 0, "zero dimension"
    assert output_size > 0, "output size required"
    class_id: uint256 = 0
    if self.dat != empty(address):
        class_id = extcall DAT(self.dat).createClass(concat("hyperion-model:", name), model_hash, 0, "")
        extcall DAT(self.dat).setClassMinter(class_id, msg.sender, True)
        extcall DAT(self.dat).offerClassManagement(class_id, msg.sender)
    self.models[model_hash] = Model(
        owner=msg.sender, holders=msg.sender, dat_class_id=class_id, input_shape=input_shape,
        output_size=output_size, macs=macs, input_scale_q32=input_scale_q32, inference_fee=inference_fee,
        registered_at=block.number, name=name)
    self.model_hashes.append(model_hash)
    log ModelRegistered(model_hash=model_hash, owner=msg.sender, dat_class_id=class_id, macs=macs, name=name)
    return class_id


@external
def update_model(model_hash: bytes32, holders: address, dat_class_id: uint256, inference_fee: uint256):
    """
    @notice The owner reprices, re-points the holders' share (an address, or an existing DAT class).
    """
    assert self.models[model_hash].owner == msg.sender, "not the model owner"
    assert holders != empty(address), "empty holders address"
    assert dat_class_id == 0 or self.dat != empty(address), "no DAT contract configured"
    self.models[model_hash].holders = holders
    self.models[model_hash].dat_class_id = dat_class_id
    self.models[model_hash].inference_fee = inference_fee
    log ModelUpdated(model_hash=model_hash, holders=holders, dat_class_id=dat_class_id, inference_fee=inference_fee)


@view
@external
def is_registered(model_hash: bytes32) -> bool:
    return self.models[model_hash].owner != empty(address)


@view
@external
def inference_fee(model_hash: bytes32) -> uint256:
    return self.models[model_hash].inference_fee


@view
@external
def dat_class(model_hash: bytes32) -> uint256:
    return self.models[model_hash].dat_class_id


@view
@external
def model_count() -> uint256:
    return len(self.model_hashes)


@view
@internal
def _split(amount: uint256) -> (uint256, uint256, uint256):
    holders: uint256 = amount * staticcall Params(self.governor).param(HOLDERS_BPS) // BPS
    protocol: uint256 = amount * staticcall Params(self.governor).param(PROTOCOL_BPS) // BPS
    return holders, protocol, amount - holders - protocol


@view
@external
def split(amount: uint256) -> (uint256, uint256, uint256):
    """
    @notice (holders, protocol, producer) shares of `amount`; the producer gets the rounding remainder.
    """
    return self._split(amount)


@internal
def _settle_class(class_id: uint256, amount: uint256) -> bool:
    """Settles `amount` into the class; False (nothing moved) when the class cannot take revenue now."""
    return raw_call(self.dat, concat(method_id("settleRevenueETH(uint256)"), abi_encode(class_id)), value=amount,
                    revert_on_failure=False)


@payable
@external
@nonreentrant
def pay_compute_fee(model_hash: bytes32, producer: address):
    """
    @notice Split msg.value between the model's DAT holders, the protocol vault and `producer`, and pay each now.
    """
    model: Model = self.models[model_hash]
    assert model.owner != empty(address), "unknown model"
    holders: uint256 = 0
    protocol: uint256 = 0
    producer_share: uint256 = 0
    holders, protocol, producer_share = self._split(msg.value)
    log ComputeFeePaid(model_hash=model_hash, payer=msg.sender, producer=producer, holders_share=holders,
                       protocol_share=protocol, producer_share=producer_share)
    if model.dat_class_id != 0:
        waiting: uint256 = self.holders_revenue[model_hash] + holders
        if waiting > 0 and self._settle_class(model.dat_class_id, waiting):
            self.holders_revenue[model_hash] = 0
            log HoldersRevenueSettled(model_hash=model_hash, dat_class_id=model.dat_class_id, amount=waiting)
        else:
            self.holders_revenue[model_hash] = waiting
    else:
        self.credits[model.holders] += holders
    if protocol > 0:
        extcall Vault(self.protocol_vault).depositRevenue(STREAM_COMPUTE, value=protocol)
    if producer_share > 0 and not raw_call(producer, b"", value=producer_share, gas=0, revert_on_failure=False):
        self.credits[producer] += producer_share


@external
@nonreentrant
def settle_holders(model_hash: bytes32):
    """
    @notice Push the model's accrued holders' share into its DAT class (reverts while the class has no holders).
    """
    class_id: uint256 = self.models[model_hash].dat_class_id
    assert class_id != 0, "model has no DAT class"
    amount: uint256 = self.holders_revenue[model_hash]
    assert amount > 0, "nothing to settle"
    self.holders_revenue[model_hash] = 0
    extcall DAT(self.dat).settleRevenueETH(class_id, value=amount)
    log HoldersRevenueSettled(model_hash=model_hash, dat_class_id=class_id, amount=amount)


@nonreentrant
@external
def withdraw():
    self._pay_out(msg.sender)


@internal
def _pay_out(account: address):
    amount: uint256 = self.credits[account]
    assert amount > 0, "nothing to withdraw"
    self.credits[account] = 0
    raw_call(account, b"", value=amount)
    log Withdrawal(account=account, amount=amount)
