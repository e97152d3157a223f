"""web3_* methods."""

from __future__ import annotations

from hyperion.primitives.keccak import keccak256
from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.formatting import d
from hyperion.rpc.params import Param, data


@rpc_method("web3_clientVersion", blocking=False)
def client_version(ctx) -> str:
    return ctx.client_version


@rpc_method("web3_sha3", Param(data), blocking=False)
def sha3(ctx, payload: bytes) -> str:
    return d(keccak256(payload))
