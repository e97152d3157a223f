"""Per-call execution frame and per-transaction context.

Both are ``__slots__`` classes: instruction handlers touch their attributes
on every opcode, and slot access is the cheapest attribute access CPython has.
"""

from __future__ import annotations


_FORK_TABLES: dict = {}


def _fork_tables(fork):
    """(precompiles, instruction table) of a fork, built once per fork name."""
    tables = _FORK_TABLES.get(fork.name)
    if tables is None:
        from hyperion.vm.opcodes import table_for
        from hyperion.vm.precompiles import precompiles_for

        tables = _FORK_TABLES[fork.name] = (precompiles_for(fork), table_for(fork))
    return tables


class TxContext:
    """What every frame of one transaction shares.

    ``logs``, ``refund`` and ``to_delete`` are transaction-wide; a failing
    frame truncates/restores them to the marks it took when it started,
    which is equivalent to the spec's merge-child-on-success rule and avoids
    allocating per frame.
    """

    __slots__ = (
        "state",
        "env",
        "fork",
        "origin",
        "gas_price",
        "blob_hashes",
        "precompiles",
        "table",
        "logs",
        "refund",
        "to_delete",
        "tracer",
        "analysis_cache",
        "halt_reason",
    )

    def __init__(self, state, env, fork, origin: bytes, gas_price: int, blob_hashes=(), tracer=None):
        self.state = state
        self.env = env
        self.fork = fork
        self.origin = origin
        self.gas_price = gas_price
        self.blob_hashes = tuple(blob_hashes)
        self.precompiles, self.table = _fork_tables(fork)
        self.logs: list = []
        self.refund = 0
        self.to_delete: list = []
        self.tracer = tracer
        self.halt_reason = None  # the last exceptional halt (the top frame's, once it failed)


class Frame:
    """One message call or contract creation being executed."""

    __slots__ = (
        "stack",
        "memory",
        "gas",
        "ctx",
        "state",
        "address",
        "caller",
        "value",
        "data",
        "code",
        "jumpdests",
        "static",
        "depth",
        "return_data",
        "output",
    )

    def __init__(self, ctx: TxContext, address: bytes, caller: bytes, value: int, data: bytes,
                 code: bytes, gas: int, depth: int, static: bool):
        self.stack: list = []
        self.memory = bytearray()
        self.gas = gas
        self.ctx = ctx
        self.state = ctx.state
        self.address = address
        self.caller = caller
        self.value = value
        self.data = data
        self.code = code
        self.jumpdests = None
        self.static = static
        self.depth = depth
        self.return_data = b""
        self.output = b""
