# pragma version 0.4.3
# pragma evm-version cancun
"""
@title InferenceGateway
@notice Paid on-chain inference: uses up one unit of the caller's DAT quota for the model, takes the
        model's fee, runs the inference precompile, and splits the fee.
@dev A model anchored as a DAT class is licensed by that class: the caller names an access token of
     the class that it owns (or operates for its owner; 0 for a model without a class); the gateway records one "inference_calls"
     unit of usage on it (ERC-8028 recordUsage, hard quota: no quota left, no inference). The owner
     approves the gateway once as an operator of the class (DAT.approveForClass). The precompile
     (0x..a1) cannot move ETH, so fees flow through here: the fee goes to
     ModelRegistry.pay_compute_fee with the block producer (block.coinbase) as producer, which pays
     the class's holders by share, the Holders Mining vault and the producer in the same call.
"""

interface Registry:
    def is_registered(model_hash: bytes32) -> bool: view
    def inference_fee(model_hash: bytes32) -> uint256: view
    def dat_class(model_hash: bytes32) -> uint256: view
    def dat() -> address: view
    def pay_compute_fee(model_hash: bytes32, producer: address): payable

interface DAT:
    def classOf(tokenId: uint256) -> uint256: view
    def ownerOf(tokenId: uint256) -> address: view
    def isApprovedForClass(owner: address, classId: uint256, operator: address) -> bool: view
    def recordUsage(tokenId: uint256, metricType: bytes32, amount: uint256): nonpayable

event InferenceServed:
    model_hash: indexed(bytes32)
    caller: indexed(address)
    input_hash: bytes32
    output_hash: bytes32
    fee: uint256
    access_token: uint256

INFERENCE: constant(address) = 0x00000000000000000000000000000000000000A1
MAX_INPUT: constant(uint256) = 4096
MAX_OUTPUT: constant(uint256) = 1024
INFERENCE_CALLS: constant(bytes32) = keccak256("inference_calls")

registry: public(immutable(address))


@deploy
def __init__(model_registry: address):
    registry = model_registry


@internal
def _use_quota(model_hash: bytes32, access_token: uint256):
    class_id: uint256 = staticcall Registry(registry).dat_class(model_hash)
    if class_id == 0:
        return
    assert access_token != 0, "an access token of the model's DAT class is required"
    dat: address = staticcall Registry(registry).dat()
    assert staticcall DAT(dat).classOf(access_token) == class_id, "token is not of the model's DAT class"
    owner: address = staticcall DAT(dat).ownerOf(access_token)
    assert owner == msg.sender or staticcall DAT(dat).isApprovedForClass(owner, class_id, msg.sender), \
        "caller may not use this access token"
    assert staticcall DAT(dat).isApprovedForClass(owner, class_id, self), \
        "approve the gateway as an operator of the model's class (DAT.approveForClass)"
    extcall DAT(dat).recordUsage(access_token, INFERENCE_CALLS, 1)


@payable
@external
def infer(model_hash: bytes32, input: Bytes[MAX_INPUT], access_token: uint256) -> Bytes[MAX_OUTPUT]:
    assert staticcall Registry(registry).is_registered(model_hash), "unknown model"
    assert msg.value >= staticcall Registry(registry).inference_fee(model_hash), "fee too low"
    self._use_quota(model_hash, access_token)
    output: Bytes[MAX_OUTPUT] = raw_call(INFERENCE, concat(model_hash, input), max_outsize=MAX_OUTPUT,
                                         is_static_call=True)
    if msg.value > 0:
        extcall Registry(registry).pay_compute_fee(model_hash, block.coinbase, value=msg.value)
    log InferenceServed(model_hash=model_hash, caller=msg.sender, input_hash=keccak256(input),
                        output_hash=keccak256(output), fee=msg.value, access_token=access_token)
    return output
