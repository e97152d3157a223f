# pragma version ~=0.4.3
# @notice Moves ETH and creates contracts from inside a call, for the ots_ internal-operation tests.

event Forwarded:
    to: indexed(address)
    amount: uint256


@external
@payable
def forward(to: address):
    send(to, msg.value)
    log Forwarded(to=to, amount=msg.value)


@external
def spawn() -> address:
    return create_minimal_proxy_to(self)
