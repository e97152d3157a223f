"""The block, LazAI, AI and rollup explorer the node serves at ``/explorer/``.

Server-rendered pages (aiohttp + Jinja2) over the node's own JSON-RPC
methods, with one small script (``static/live.js``) that follows new heads
over the node's WebSocket. Nothing is built at install time. Layer 9
(interfaces): it may import every layer below; nothing imports it.
"""

from hyperion.explorer.app import PREFIX, explorer_app, mount

__all__ = ["PREFIX", "explorer_app", "mount"]
