# pragma version ~=0.4.3
# @title HyperionBenchPool
# @notice A constant-product AMM (Uniswap V2 style, 0.3% fee) over two ERC-20 tokens,
#         the AMM-swap workload of Hyperion's VM benchmark. Liquidity shares are
#         tracked by the pool itself. Compiled into amm.json by
#         scripts/build_erc20_workload.py; edit this file only together with a rebuild.

from ethereum.ercs import IERC20

event Mint:
    provider: indexed(address)
    amount0: uint256
    amount1: uint256
    shares: uint256

event Swap:
    sender: indexed(address)
    token_in: indexed(address)
    amount_in: uint256
    amount_out: uint256
    receiver: indexed(address)

event Sync:
    reserve0: uint256
    reserve1: uint256

MINIMUM_LIQUIDITY: constant(uint256) = 1000
FEE_NUMERATOR: constant(uint256) = 997
FEE_DENOMINATOR: constant(uint256) = 1000

token0: public(IERC20)
token1: public(IERC20)
reserve0: public(uint256)
reserve1: public(uint256)
total_shares: public(uint256)
shares: public(HashMap[address, uint256])
swap_count: public(uint256)


@deploy
def __init__(token0: IERC20, token1: IERC20):
    assert token0 != token1, "identical tokens"
    self.token0 = token0
    self.token1 = token1


@internal
@pure
def _amount_out(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    assert amount_in > 0, "insufficient input"
    assert reserve_in > 0 and reserve_out > 0, "insufficient liquidity"
    amount_in_with_fee: uint256 = amount_in * FEE_NUMERATOR
    return amount_in_with_fee * reserve_out // (reserve_in * FEE_DENOMINATOR + amount_in_with_fee)


@external
@view
def get_amount_out(token_in: address, amount_in: uint256) -> uint256:
    if token_in == self.token0.address:
        return self._amount_out(amount_in, self.reserve0, self.reserve1)
    assert token_in == self.token1.address, "unknown token"
    return self._amount_out(amount_in, self.reserve1, self.reserve0)


@internal
def _sync(balance0: uint256, balance1: uint256):
    self.reserve0 = balance0
    self.reserve1 = balance1
    log Sync(reserve0=balance0, reserve1=balance1)


@external
@nonreentrant
def add_liquidity(amount0: uint256, amount1: uint256, min_shares: uint256) -> uint256:
    assert extcall self.token0.transferFrom(msg.sender, self, amount0, default_return_value=True)
    assert extcall self.token1.transferFrom(msg.sender, self, amount1, default_return_value=True)
    total: uint256 = self.total_shares
    minted: uint256 = 0
    if total == 0:
        minted = isqrt(amount0 * amount1) - MINIMUM_LIQUIDITY
        self.total_shares = MINIMUM_LIQUIDITY  # locked forever
        total = MINIMUM_LIQUIDITY
    else:
        minted = min(amount0 * total // self.reserve0, amount1 * total // self.reserve1)
    assert minted >= min_shares and minted > 0, "insufficient shares"
    self.shares[msg.sender] += minted
    self.total_shares = total + minted
    self._sync(staticcall self.token0.balanceOf(self), staticcall self.token1.balanceOf(self))
    log Mint(provider=msg.sender, amount0=amount0, amount1=amount1, shares=minted)
    return minted


@external
@nonreentrant
def swap(token_in: address, amount_in: uint256, min_out: uint256, receiver: address) -> uint256:
    zero_for_one: bool = token_in == self.token0.address
    assert zero_for_one or token_in == self.token1.address, "unknown token"
    reserve_in: uint256 = self.reserve0
    reserve_out: uint256 = self.reserve1
    token_out: IERC20 = self.token1
    if not zero_for_one:
        reserve_in = self.reserve1
        reserve_out = self.reserve0
        token_out = self.token0
    amount_out: uint256 = self._amount_out(amount_in, reserve_in, reserve_out)
    assert amount_out >= min_out, "slippage"
    assert extcall IERC20(token_in).transferFrom(msg.sender, self, amount_in, default_return_value=True)
    assert extcall token_out.transfer(receiver, amount_out, default_return_value=True)
    balance0: uint256 = staticcall self.token0.balanceOf(self)
    balance1: uint256 = staticcall self.token1.balanceOf(self)
    # the constant-product invariant, fees included
    assert balance0 * balance1 >= self.reserve0 * self.reserve1, "k"
    self._sync(balance0, balance1)
    self.swap_count += 1
    log Swap(sender=msg.sender, token_in=token_in, amount_in=amount_in, amount_out=amount_out, receiver=receiver)
    return amount_out
