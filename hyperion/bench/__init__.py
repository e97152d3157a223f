"""Benchmarks that compare Hyperion's MetisVM with other EVM implementations.

``hyperion.bench.vm`` runs the same workloads (pre-state plus a batch of
signed transactions) on MetisVM, py-evm and pyrevm and reports gas
throughput, so a speed claim always comes with the reference it beats or
loses to. ``hyperion.bench.workloads`` builds the workloads and
``hyperion.bench.engines`` wraps each EVM behind one small interface.
"""

# The peers the benchmarks compare with (py-evm, pyrevm, py-trie) come with this extra.
INSTALL_BENCH_EXTRA = "`make bench-setup` or `pip install -e '.[bench]'`"


def missing_peer(package: str, detail: str = "") -> str:
    """What to say when a peer is not installed: the extra it comes with and the command that installs it."""
    because = f" ({detail})" if detail else ""
    return f"{package} is not installed{because}; it comes with the [bench] extra: {INSTALL_BENCH_EXTRA}"
