"""Tests of the dev chain (blocks, pool, sequencer, calls, persistence)."""
