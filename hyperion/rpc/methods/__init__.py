"""The RPC method namespaces; importing this package registers every method."""

from hyperion.rpc.methods import debug, dev, eth, net, txpool, web3  # noqa: F401
