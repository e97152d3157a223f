"""JSON-RPC 2.0 over HTTP and WebSocket for the dev node.

``server.RpcServer`` is the transport (aiohttp), ``dispatch.Dispatcher`` the
request handling, ``methods`` the namespaces, ``params`` and ``formatting``
the translation between JSON and the chain facade's Python objects.
"""
