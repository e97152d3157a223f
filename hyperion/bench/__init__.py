"""Benchmarks that compare Hyperion's MetisVM with other EVM implementations.

``hyperion.bench.vm`` runs the same workloads (pre-state plus a batch of
signed transactions) on MetisVM, py-evm and pyrevm and reports gas
throughput, so a speed claim always comes with the reference it beats or
loses to. ``hyperion.bench.workloads`` builds the workloads and
``hyperion.bench.engines`` wraps each EVM behind one small interface.
"""
