"""``hyperion.sdk.inprocess.InProcessNode`` with the helpers the agent tests use.

The chain is what ``hyperion node`` builds (the predeploys, the AI precompiles
reading models from chain data, automine) with the real RPC methods behind a
web3 provider: the contracts, the precompiles and the agents are exercised
exactly as over HTTP, minus the process start.
"""

from __future__ import annotations

from hyperion.sdk import HyperionClient
from hyperion.sdk.inprocess import InProcessNode


class DevChain(InProcessNode):
    """A dev chain in memory; ``signer(i)`` is an SDK client signing with funded dev account ``i``."""

    def __init__(self, cache=None, **overrides):
        super().__init__(model_cache=cache, **overrides)
        self._clients: dict[int, HyperionClient] = {}

    def signer(self, index: int) -> HyperionClient:
        if index not in self._clients:
            self._clients[index] = HyperionClient(web3=self.w3, private_key=self.keys[index])
        return self._clients[index]

    def address(self, index: int) -> str:
        return self.signer(index).address

    def contract(self, name: str, address: str | bytes):
        """The shipped contract ``name`` at ``address`` (a predeploy's events are decoded by every signer)."""
        return self.signer(0).artifact_contract(name, address)

    def advance(self, seconds: int) -> None:
        """Mine an empty block ``seconds`` after the head."""
        self.signer(0).increase_time(seconds)
