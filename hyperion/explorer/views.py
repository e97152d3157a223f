"""What a page is made of: sections of key/value rows, tables, call trees and forms.

Handlers build ``Page`` objects from chain data; one Jinja2 template
(``templates/page.html``) renders every page, escaping every value, so no
handler writes HTML. Each key/value row carries ``data-key`` (its label,
slugged) and each section an id, which the browser tests read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Optional

ETHER = 10**18


class NotFound(Exception):
    """Nothing at this address: rendered as a 404 page."""


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    mono: bool = False


@dataclass(frozen=True)
class Mono:
    text: str


@dataclass(frozen=True)
class Badge:
    text: str
    kind: str = "info"     # ok, fail, warn, info


@dataclass(frozen=True)
class Amount:
    """Wei shown in ether, the exact wei in the title."""

    wei: int

    @property
    def text(self) -> str:
        value = Decimal(self.wei) / Decimal(ETHER)
        text = format(value.normalize(), "f") if self.wei else "0"
        return f"{text} ETH"


@dataclass
class Section:
    title: str
    kind: str = "kv"                        # kv, table, tree, forms, text
    rows: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    note: Optional[str] = None
    id: Optional[str] = None

    def __post_init__(self) -> None:
        if self.id is None:
            self.id = slug(self.title)


@dataclass
class Page:
    title: str
    sections: list[Section] = field(default_factory=list)
    subtitle: Optional[str] = None
    live: bool = False                       # the home page: updated over the node's WebSocket


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def short(value: str, keep: int = 10) -> str:
    return value if len(value) <= 2 * keep + 1 else f"{value[:keep]}…{value[-keep + 2:]}"


def checksum(address: str) -> str:
    from hyperion.primitives.address import to_checksum_address

    return to_checksum_address(bytes.fromhex(address[2:]))


def address_link(prefix: str, address: Optional[str], name: Optional[str] = None) -> Any:
    if not address:
        return "—"
    address = checksum(address)
    return Link(f"{prefix}/address/{address}", f"{name} ({address})" if name else address, mono=True)


def tx_link(prefix: str, tx_hash: str, shorten: bool = False) -> Link:
    return Link(f"{prefix}/tx/{tx_hash}", short(tx_hash) if shorten else tx_hash, mono=True)


def block_link(prefix: str, number: int) -> Link:
    return Link(f"{prefix}/block/{number}", str(number))


def status_badge(status: Optional[str]) -> Badge:
    if status is None:
        return Badge("pending", "warn")
    return Badge("success", "ok") if int(status, 16) == 1 else Badge("reverted", "fail")


def render_value(value: Any) -> Any:
    """Decoded ABI values for display: nested lists and dicts as compact text."""
    if isinstance(value, (list, dict)):
        import json

        return Mono(json.dumps(value, default=str))
    if isinstance(value, bool):
        return str(value).lower()
    return value
