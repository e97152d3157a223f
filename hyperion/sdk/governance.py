"""Staker governance (ProtocolGovernor): protocol parameters and proposals voted with Holders Mining stake."""

from __future__ import annotations

from typing import Iterable

from hyperion.lazai.params import PROTOCOL_PARAMS, param_key, param_named
from hyperion.sdk.client import HyperionClient
from hyperion.sdk.proposals import Call, CallLike, Proposals, actions, as_calls, proposal_id_of


class GovernanceClient(Proposals):
    """``lazai.governance``: read and change the staker-governed parameters; run staker proposals."""

    def __init__(self, client: HyperionClient) -> None:
        super().__init__(client, client.contract("ProtocolGovernor"))

    def param(self, name: str) -> int:
        param_named(name)  # a clear KeyError for a typo
        return self.contract.functions.param(param_key(name)).call()

    def params(self) -> dict[str, int]:
        return {p.name: self.param(p.name) for p in PROTOCOL_PARAMS}

    def set_param_call(self, name: str, value: int) -> Call:
        param_named(name)
        return Call.of(self.contract.functions.setParam(param_key(name), value))

    def propose(self, calls: Iterable[CallLike], description: str = "") -> int:
        """A staker proposal (needs `governor.proposalThreshold` of votes at the end of the previous block)."""
        return proposal_id_of(self.client.transact(self.contract.functions.propose(
            *actions(as_calls(calls)), description)))

    def propose_params(self, changes: dict[str, int], description: str = "") -> int:
        return self.propose([self.set_param_call(name, value) for name, value in changes.items()],
                            description or "set " + ", ".join(f"{k}={v}" for k, v in changes.items()))
