"""A dev chain inside this process, reached through the same SDK as a node over HTTP.

``InProcessNode`` is what ``hyperion node --in-memory`` builds (the system
contracts predeployed, the AI precompiles reading models from chain data,
funded dev accounts, automine), with the node's own JSON-RPC methods behind
``InProcessProvider``: web3.py's requests go straight to them, with no socket
and no event loop. Tests, benches and scripts that want a chain without
starting a process use it like any node:

    node = InProcessNode(funded={address: 10**24})
    hyperion = connect(web3=node.w3, private_key=key)
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Optional

from web3 import Web3
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse


class InProcessProvider(BaseProvider):
    """A web3 provider whose requests are answered by a ``Dispatcher`` in this process."""

    def __init__(self, dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        self._ids = itertools.count(1)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        message = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params or [])}
        return self.dispatcher.handle_request(message)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


class InProcessNode:
    """A dev chain in memory, one block per transaction, served to web3 by ``InProcessProvider``.

    ``funded`` maps addresses (bytes or hex) to genesis balances; ``models``
    (QuantizedModel objects or their bytes) are in the ModelStore predeploy from
    genesis, as if published; ``model_cache`` is the local folder of model bytes
    the precompiles may use (checked against the chain, never trusted);
    ``dev_accounts`` is the number of funded accounts the node unlocks (the default
    mnemonic's, ``keys``); ``predeploys=False`` leaves the system contracts out.
    """

    def __init__(self, *, chain_id: int = 133717, funded: Optional[dict] = None, models: Iterable = (),
                 model_cache=None, dev_accounts: int = 10, predeploys: bool = True, **config: Any) -> None:
        from hyperion.ai.chainstore import with_ai_precompiles
        from hyperion.chain.genesis import ChainConfig
        from hyperion.chain.node import Node
        from hyperion.predeploys.genesis import add_to_dev_genesis
        from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
        from hyperion.rpc.context import RpcContext
        from hyperion.rpc.dispatch import Dispatcher
        from hyperion.rpc.filters import FilterManager
        from hyperion.rpc.methods import method_table
        from hyperion.rpc.subscriptions import SubscriptionHub

        chain_config = ChainConfig(chain_id=chain_id, dev_account_count=dev_accounts, **config)
        for address, balance in (funded or {}).items():
            raw = bytes.fromhex(address.removeprefix("0x")) if isinstance(address, str) else bytes(address)
            chain_config.alloc[raw] = {"balance": balance, "nonce": 0, "code": b"", "storage": {}}
        chain_config.fork = with_ai_precompiles(chain_config.fork, model_cache)
        if predeploys:
            add_to_dev_genesis(chain_config)
            _install_models(chain_config, MODEL_STORE_ADDRESS, models)
        self.config = chain_config
        self.keys = [key for _address, key in chain_config.dev_accounts()]
        self.node = Node(chain_config)
        self.chain = self.node.chain
        context = RpcContext(self.chain)
        context.filters = FilterManager(context)
        context.filters.attach(self.chain)
        context.subscriptions = SubscriptionHub()
        self.provider = InProcessProvider(Dispatcher(context, None, methods=method_table()))
        self.w3 = Web3(self.provider)

    def close(self) -> None:
        self.node.close()

    def __enter__(self) -> "InProcessNode":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _install_models(config, store_address: bytes, models: Iterable) -> None:
    """Put ``models`` into the genesis alloc's ModelStore as sealed uploads (``chainstore.install_model``)."""
    models = list(models)
    if not models:
        return
    from hyperion.ai.chainstore import install_model
    from hyperion.state.memory import MemoryState

    state = MemoryState()  # the store and the chunk contracts the models add
    entry = config.alloc[store_address]
    state.set_account(store_address, nonce=entry["nonce"], balance=entry["balance"], code=entry["code"],
                      storage=dict(entry["storage"]))
    for model in models:
        install_model(state, store_address, bytes(model) if isinstance(model, (bytes, bytearray)) else model.encode())
    for address, _account in state.accounts():
        config.alloc[address] = {"balance": state.get_balance(address), "nonce": state.get_nonce(address),
                                 "code": state.get_code(address), "storage": dict(state.get_storage_items(address))}
