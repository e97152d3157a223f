"""MetisDB's error types: each says what went wrong with the data dir and what to do.

They subclass ``OSError`` (environment problems: disk full, read-only dir,
lock held) or ``ValueError`` (the data itself: incompatible format,
configuration mismatch, corruption), so callers can catch them by kind.
"""

from __future__ import annotations


class MetisDBError(Exception):
    """Base class of every MetisDB failure."""


class DatabaseFull(MetisDBError, OSError):
    """The LMDB map or the disk is full and the map could not grow."""


class DataDirReadOnly(MetisDBError, PermissionError):
    """The data directory cannot be written (permissions or a read-only mount)."""


class DatabaseLocked(MetisDBError, OSError):
    """Another process holds the data directory's writer lock."""


class IncompatibleFormat(MetisDBError, ValueError):
    """The data directory was written by an incompatible MetisDB version (or is not MetisDB)."""


class ConfigurationMismatch(MetisDBError, ValueError):
    """Opening options contradict how the database was created (e.g. archive vs pruned)."""


class CorruptDatabase(MetisDBError, ValueError):
    """A stored record cannot be decoded."""


__all__ = [
    "MetisDBError",
    "DatabaseFull",
    "DataDirReadOnly",
    "DatabaseLocked",
    "IncompatibleFormat",
    "ConfigurationMismatch",
    "CorruptDatabase",
]
