"""The Hyperion dev chain: blocks, transaction pool, block building and the ``Chain`` facade."""
