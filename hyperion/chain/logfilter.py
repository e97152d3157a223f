"""eth_getLogs filtering: topic filter normalisation, bloom pre-checks and exact log matching."""

from __future__ import annotations

from hyperion.chain.records import LogEntry
from hyperion.primitives.bloom import bloom_contains


def topic_filter(topics) -> list:
    """Normalise topics to a list of (None | set of 32-byte topics) per position."""
    result = []
    for position in topics or []:
        if position is None:
            result.append(None)
        elif isinstance(position, (bytes, bytearray)):
            result.append({bytes(position)})
        else:
            options = {bytes(t) for t in position if t is not None}
            result.append(options or None)
    return result


def bloom_may_match(bloom: bytes, addresses, topic_sets) -> bool:
    if addresses and not any(bloom_contains(bloom, a) for a in addresses):
        return False
    for options in topic_sets:
        if options and not any(bloom_contains(bloom, t) for t in options):
            return False
    return True


def log_matches(entry: LogEntry, addresses, topic_sets) -> bool:
    if addresses and entry.address not in addresses:
        return False
    if len(topic_sets) > len(entry.topics):
        return False
    for options, topic in zip(topic_sets, entry.topics):
        if options and topic not in options:
            return False
    return True
