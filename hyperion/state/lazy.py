"""A dict of accounts that loads each missing address once, on first read.

MetisDB's pending state (loads from an LMDB snapshot) and the parallel
executor's recording state (loads from a worker's view) share this
mapping behaviour; each subclass supplies ``_load`` and the ``absent``
(known not to exist) and ``loaded`` (already tried) collections.
"""

from __future__ import annotations

from typing import Optional

from hyperion.state.account import Account


class LazyAccountMap(dict):
    __slots__ = ()
    absent: set
    loaded: dict

    def _load(self, address: bytes) -> Optional[Account]:
        raise NotImplementedError

    def get(self, address: bytes, default=None):  # type: ignore[override]
        account = dict.get(self, address)
        if account is not None:
            return account
        if address in self.absent or address in self.loaded:
            return default
        account = self._load(address)
        return default if account is None else account

    def __getitem__(self, address: bytes) -> Account:
        account = self.get(address)
        if account is None:
            raise KeyError(address)
        return account

    def __contains__(self, address: object) -> bool:
        return self.get(address) is not None  # type: ignore[arg-type]

    def __setitem__(self, address: bytes, account: Account) -> None:
        dict.__setitem__(self, address, account)
        self.absent.discard(address)

    def __delitem__(self, address: bytes) -> None:
        if self.get(address) is None:
            raise KeyError(address)
        dict.__delitem__(self, address)
        self.absent.add(address)

    def pop(self, address: bytes, default=None):  # type: ignore[override]
        account = self.get(address)
        if account is None:
            return default
        dict.__delitem__(self, address)
        self.absent.add(address)
        return account
