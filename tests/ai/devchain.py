"""A real dev chain in this process, reached through web3.py without a socket.

``DevChain`` is what ``hyperion node`` builds (the predeploys, the AI
precompiles reading models from chain data, automine) with the real RPC
dispatcher behind a web3 provider: the contracts, the precompiles and the
watcher are exercised exactly as over HTTP, minus the process start.
"""

from __future__ import annotations

import asyncio
import itertools
import json

from eth_account import Account
from web3 import Web3
from web3.providers.base import BaseProvider

from hyperion.ai.chainstore import with_ai_precompiles
from hyperion.ai.store import MemoryModelStore
from hyperion.ai.web3tx import Signer
from hyperion.chain.genesis import ChainConfig
from hyperion.chain.node import Node
from hyperion.predeploys.genesis import add_to_dev_genesis
from hyperion.rpc.context import RpcContext
from hyperion.rpc.dispatch import Dispatcher
from hyperion.rpc.filters import FilterManager
from hyperion.rpc.methods import method_table
from hyperion.rpc.subscriptions import SubscriptionHub


def _json_value(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if hasattr(value, "items"):  # web3's AttributeDict
        return dict(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


class DispatcherProvider(BaseProvider):
    """web3 requests answered by a ``Dispatcher`` in this process."""

    def __init__(self, dispatcher: Dispatcher):
        super().__init__()
        self.dispatcher = dispatcher
        self.loop = asyncio.new_event_loop()
        self.ids = itertools.count(1)

    def make_request(self, method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params},
                          default=_json_value)
        return json.loads(self.loop.run_until_complete(self.dispatcher.handle_body(body)))

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


class DevChain:
    """A ``hyperion node``-like chain in memory; ``keys`` are its funded dev accounts' private keys."""

    def __init__(self, cache=None, **overrides):
        config = ChainConfig(**overrides)
        config.fork = with_ai_precompiles(config.fork, cache if cache is not None else MemoryModelStore())
        add_to_dev_genesis(config)
        self.config = config
        self.node = Node(config)
        context = RpcContext(self.node.chain)
        context.filters = FilterManager(context)
        context.filters.attach(self.node.chain)
        context.subscriptions = SubscriptionHub()
        self.dispatcher = Dispatcher(context, None, methods=method_table())
        self.w3 = Web3(DispatcherProvider(self.dispatcher))
        self.keys = [key for _, key in config.dev_accounts()]

    def signer(self, index: int) -> Signer:
        return Signer(self.w3, self.keys[index])

    def address(self, index: int) -> str:
        return Account.from_key(self.keys[index]).address

    def advance(self, seconds: int) -> None:
        """Mine an empty block ``seconds`` after the head."""
        head = self.w3.eth.get_block("latest")
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [head["timestamp"] + seconds])
        self.w3.provider.make_request("evm_mine", [])

    def close(self) -> None:
        self.node.close()
        self.w3.provider.loop.close()
