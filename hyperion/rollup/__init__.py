"""The rollup: L1 contracts and their clients (``rollup.l1``), derivation, batches and the node roles."""
