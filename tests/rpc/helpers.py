"""Signed transactions and a dispatcher over the fake chain, shared by the RPC unit tests."""

from __future__ import annotations

import asyncio

import orjson

from hyperion.primitives.transactions import (
    FeeMarketTransaction,
    LegacyTransaction,
    SetCodeTransaction,
    sign_authorization,
)
from hyperion.rpc.context import RpcContext
from hyperion.rpc.dispatch import Dispatcher
from hyperion.rpc.filters import FilterManager
from hyperion.rpc.methods import method_table
from hyperion.rpc.subscriptions import SubscriptionHub
from tests.rpc.fake_chain import FakeChain

KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
KEY_ADDRESS = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
RECIPIENT = b"\x42" * 20


def legacy_tx(nonce: int = 0, chain_id: int | None = 1337) -> LegacyTransaction:
    return LegacyTransaction(nonce, 2_000_000_000, 21_000, RECIPIENT, 5, b"").signed(KEY, chain_id)


def fee_market_tx(nonce: int = 0) -> FeeMarketTransaction:
    return FeeMarketTransaction(1337, nonce, 1_000_000_000, 3_000_000_000, 21_000, RECIPIENT, 7, b"\x01\x02",
                                ((RECIPIENT, (b"\0" * 32,)),)).signed(KEY)


def set_code_tx(nonce: int = 0) -> SetCodeTransaction:
    auth = sign_authorization(1337, b"\x55" * 20, 1, KEY)
    return SetCodeTransaction(1337, nonce, 1, 3_000_000_000, 100_000, RECIPIENT, 0, b"", (), (auth,)).signed(KEY)


def make_dispatcher(chain: FakeChain | None = None, **kwargs) -> Dispatcher:
    context = RpcContext(chain or FakeChain())
    context.filters = FilterManager(context)
    context.filters.attach(context.chain)
    context.subscriptions = SubscriptionHub()
    return Dispatcher(context, None, methods=method_table(), **kwargs)


def call(dispatcher: Dispatcher, body, session=None):
    """Send a request (object, list or raw bytes) and decode the answer."""
    raw = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
    answer = asyncio.run(dispatcher.handle_body(raw, session))
    return None if answer is None else orjson.loads(answer)


def request(method: str, *params, request_id=1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
