"""The RPC method namespaces; importing this package registers every method."""

from hyperion.rpc.dispatch import Method, registered_methods
from hyperion.rpc.methods import debug, dev, eth, net, ots, rollup, txpool, web3  # noqa: F401  (registration)


def method_table() -> dict[str, Method]:
    """Every JSON-RPC method the node serves, by name."""
    return registered_methods()
