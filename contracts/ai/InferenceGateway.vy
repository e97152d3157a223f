# pragma version 0.4.3
# pragma evm-version cancun
"""
@title InferenceGateway
@notice Paid on-chain inference: takes the model's fee, runs the inference precompile, splits the fee.
@dev The precompile (0x..a1) cannot move ETH, so fees flow through here: the fee goes to
     ModelRegistry.pay_compute_fee with the block producer (block.coinbase) as producer.
"""

interface Registry:
    def is_registered(model_hash: bytes32) -> bool: view
    def inference_fee(model_hash: bytes32) -> uint256: view
    def pay_compute_fee(model_hash: bytes32, producer: address): payable

event InferenceServed:
    model_hash: indexed(bytes32)
    caller: indexed(address)
    input_hash: bytes32
    output_hash: bytes32
    fee: uint256

INFERENCE: constant(address) = 0x00000000000000000000000000000000000000A1
MAX_INPUT: constant(uint256) = 4096
MAX_OUTPUT: constant(uint256) = 1024

registry: public(immutable(address))


@deploy
def __init__(model_registry: address):
    registry = model_registry


@payable
@external
def infer(model_hash: bytes32, input: Bytes[MAX_INPUT]) -> Bytes[MAX_OUTPUT]:
    assert staticcall Registry(registry).is_registered(model_hash), "unknown model"
    assert msg.value >= staticcall Registry(registry).inference_fee(model_hash), "fee too low"
    output: Bytes[MAX_OUTPUT] = raw_call(INFERENCE, concat(model_hash, input), max_outsize=MAX_OUTPUT,
                                         is_static_call=True)
    if msg.value > 0:
        extcall Registry(registry).pay_compute_fee(model_hash, block.coinbase, value=msg.value)
    log InferenceServed(model_hash=model_hash, caller=msg.sender, input_hash=keccak256(input),
                        output_hash=keccak256(output), fee=msg.value)
    return output
