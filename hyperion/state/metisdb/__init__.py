"""MetisDB: the persistent, MVCC, crash-safe state database (LMDB).

See ``engine`` for the design. Public API: ``MetisDB(path, *, retention=None,
map_size=..., sync=True)``, its ``Snapshot`` readers and ``PendingState``, and
the error types in ``errors``.
"""

from hyperion.state.metisdb.engine import FORMAT_VERSION, MetisDB
from hyperion.state.metisdb.errors import (
    ConfigurationMismatch,
    CorruptDatabase,
    DatabaseFull,
    DatabaseLocked,
    DataDirReadOnly,
    IncompatibleFormat,
    MetisDBError,
)
from hyperion.state.metisdb.pending import PendingState
from hyperion.state.metisdb.snapshot import Snapshot

__all__ = [
    "FORMAT_VERSION",
    "MetisDB",
    "PendingState",
    "Snapshot",
    "MetisDBError",
    "DatabaseFull",
    "DatabaseLocked",
    "DataDirReadOnly",
    "IncompatibleFormat",
    "ConfigurationMismatch",
    "CorruptDatabase",
]
