# pragma version 0.4.3
# pragma evm-version cancun
"""
@title DigitBounty
@notice Example consumer: pays a reward to the first submitter of an 8x8 image that the
        registered digits model classifies as `target_digit`, and keeps a tally of predictions.
@dev Calls the inference precompile directly (no fee: only gas). The model answers with one
     32-byte word holding the predicted class.
"""

event Classified:
    sender: indexed(address)
    digit: uint256
    rewarded: bool

INFERENCE: constant(address) = 0x00000000000000000000000000000000000000A1
IMAGE_BYTES: constant(uint256) = 64

model_hash: public(immutable(bytes32))
target_digit: public(immutable(uint256))
reward: public(uint256)
winner: public(address)
predictions: public(HashMap[uint256, uint256])


@deploy
@payable
def __init__(digits_model: bytes32, digit: uint256):
    model_hash = digits_model
    target_digit = digit
    self.reward = msg.value


@external
def classify(image: Bytes[IMAGE_BYTES]) -> uint256:
    output: Bytes[32] = raw_call(INFERENCE, concat(model_hash, image), max_outsize=32, is_static_call=True)
    digit: uint256 = extract32(output, 0, output_type=uint256)
    self.predictions[digit] += 1
    rewarded: bool = False
    if digit == target_digit and self.winner == empty(address) and self.reward > 0:
        self.winner = msg.sender
        amount: uint256 = self.reward
        self.reward = 0
        rewarded = True
        send(msg.sender, amount)
    log Classified(sender=msg.sender, digit=digit, rewarded=rewarded)
    return digit
