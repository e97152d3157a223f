"""What every RPC method gets as its first argument."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hyperion import __version__

CLIENT_VERSION = f"Hyperion/v{__version__}/python"


@dataclass
class RpcContext:
    """The chain facade plus the RPC layer's own state (filters, subscriptions)."""

    chain: Any
    filters: Any = None          # hyperion.rpc.filters.FilterManager
    subscriptions: Any = None    # hyperion.rpc.subscriptions.SubscriptionHub
    client_version: str = CLIENT_VERSION
    extra: dict = field(default_factory=dict)

    def block_or_none(self, spec: Any) -> Optional[Any]:
        """Resolve a block spec, or None where geth answers null (unknown block)."""
        from hyperion.rpc.dispatch import map_exception  # local: avoid an import cycle

        try:
            return self.chain.resolve_block(spec)
        except Exception as exc:
            if _is_block_not_found(exc):
                return None
            raise map_exception(exc) from exc


def _is_block_not_found(exc: BaseException) -> bool:
    try:
        from hyperion.chain.errors import BlockNotFound
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, BlockNotFound)
