"""The RPC method namespaces; importing this package registers every method."""

from hyperion.rpc.dispatch import Method, registered_methods
from hyperion.rpc.methods import (  # noqa: F401  (registration)
    chainconfig, debug, dev, eth, net, ots, rawdata, rollup, simulate, testing, txpool, web3,
)


def method_table() -> dict[str, Method]:
    """Every JSON-RPC method the node serves, by name."""
    return registered_methods()
