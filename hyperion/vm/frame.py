"""Per-call execution frame and per-transaction context.

Both are ``__slots__`` classes: instruction handlers touch their attributes
on every opcode, and slot access is the cheapest attribute access CPython has.
"""

from __future__ import annotations


_FORK_TABLES: dict = {}  # Fork.cache_key -> tables (equal forks share them)
_BY_ID: dict[int, tuple] = {}  # id(fork) -> (fork, tables, precompile addresses): one int hash per transaction
_MAX_BY_ID = 1024


def fork_tables(fork) -> tuple:
    """(precompiles, instruction table, code-analysis cache, account rule) of a
    fork, built once per fork: everything that differs between forks is
    selected here, never on the per-opcode path."""
    entry = _BY_ID.get(id(fork))
    if entry is not None and entry[0] is fork:
        return entry[1]
    key = fork.cache_key
    tables = _FORK_TABLES.get(key)
    if tables is None:
        from hyperion.vm.instructions.system import account_rule
        from hyperion.vm.opcodes import table_for
        from hyperion.vm.precompiles import precompiles_for

        table = table_for(fork)
        tables = _FORK_TABLES[key] = (precompiles_for(fork), table, _analysis_cache_for(table), account_rule(fork))
    if len(_BY_ID) >= _MAX_BY_ID:
        _BY_ID.clear()
    _BY_ID[id(fork)] = (fork, tables, _precompile_set(tables[0]))  # holding the fork keeps its id from being reused
    return tables


_PRECOMPILE_ADDRESSES: dict[int, frozenset] = {}  # id(fork's precompile table) -> its addresses


def _precompile_set(precompiles: dict) -> frozenset:
    found = _PRECOMPILE_ADDRESSES.get(id(precompiles))  # (tables live as long as the process)
    if found is None:
        found = _PRECOMPILE_ADDRESSES[id(precompiles)] = frozenset(precompiles)
    return found


def precompile_addresses(fork) -> frozenset:
    """The addresses of ``fork``'s precompiles, warm at the start of every transaction (EIP-2929)."""
    entry = _BY_ID.get(id(fork))
    if entry is not None and entry[0] is fork:
        return entry[2]
    return _precompile_set(fork_tables(fork)[0])


_ANALYSIS_CACHES: dict[int, dict] = {}


def _analysis_cache_for(table: tuple) -> dict:
    """One code-analysis cache per distinct instruction table (tables are
    cached for the process's life, so their ids are stable)."""
    return _ANALYSIS_CACHES.setdefault(id(table), {})


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
        "accounts",
        "ripemd_touched",
        "halt_reason",
        "compile_budget",
    )

    def __init__(self, state, env, fork, origin: bytes, gas_price: int, blob_hashes=(), tracer=None):
        self.state = state
        self.env = env
        self.fork = fork
        self.origin = origin
        self.gas_price = gas_price
        self.blob_hashes = blob_hashes if type(blob_hashes) is tuple else tuple(blob_hashes)
        entry = _BY_ID.get(id(fork))  # (``fork_tables``'s first step, on every transaction's path)
        tables = entry[1] if entry is not None and entry[0] is fork else fork_tables(fork)
        self.precompiles, self.table, self.analysis_cache, self.accounts = tables
        if env.precompiles is not None:
            self.precompiles = env.precompiles
        self.logs: list = []
        self.refund = 0
        self.to_delete: list = []
        self.tracer = tracer
        self.ripemd_touched = False  # EIP-161's RIPEMD-160 exception (see interpreter.execute_call)
        self.halt_reason = None  # the last exceptional halt (the top frame's, once it failed)
        self.compile_budget = None  # instructions the compiled tier may still translate (compiler/program.py)


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
        "analysis",
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
        self.analysis = None
        self.static = static
        self.depth = depth
        self.return_data = b""
        self.output = b""
