# Hyperion developer commands. The fixtures live outside the repository at
# ../shared/fixtures (see ../shared/README.md).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install; re-install (and rebuild the C extension)
# only when pyproject.toml or a C source changes.
INSTALLED := $(VENV)/.hyperion-installed
C_SOURCES := $(shell find hyperion -name '*.[ch]')
FIXTURES := ../shared/fixtures
JOBS ?= 2

.PHONY: setup bench-setup test statetests statetests-compiled blocktests parallel-fixtures node devnet rollup-slow soak

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml $(C_SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# The peers `hyperion bench` compares with (py-evm, pyrevm, py-trie): the [bench] extra.
bench-setup: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'

# -rs: each skip's reason (a missing extra names its install command); --durations: where CI's time goes.
# HYPERION_LATENCY_STRICT=1: CI has a machine to itself, so the node-limits tests also hold each answer
# to a cheap request made while bad ones run to issue 12's 100 ms (a timing a shared machine misses).
test: setup
	bash scripts/setup-e2e.sh
	bash scripts/setup-system.sh
	HYPERION_LATENCY_STRICT=1 $(BIN)/python -m pytest -q -rs --durations=25

# The whole conformance suite: every state-test fixture, on $(JOBS) processes.
statetests: setup
	$(BIN)/hyperion statetest --jobs $(JOBS) $(FIXTURES)/ethereum-tests/GeneralStateTests $(FIXTURES)/eest/state_tests $(FIXTURES)/eest-v5.4/state_tests

# The same with MetisVM's compiled tier forced on for every contract (threshold 0).
statetests-compiled: setup
	HYPERION_VM_COMPILE_THRESHOLD=0 HYPERION_VM_COMPILE_BUDGET=unlimited $(BIN)/hyperion statetest --jobs $(JOBS) $(FIXTURES)/ethereum-tests/GeneralStateTests $(FIXTURES)/eest/state_tests $(FIXTURES)/eest-v5.4/state_tests

# Every blockchain-test fixture (both formats) through block import, on $(JOBS) processes.
blocktests: setup
	$(BIN)/hyperion blocktest --jobs $(JOBS) $(FIXTURES)/eest-v5.4/blockchain_tests $(FIXTURES)/ethereum-tests/BlockchainTests

# Every blockchain- and state-test fixture through the parallel executor (2 worker processes, every
# block forced down the parallel path): the same roots as sequential execution (issue 14).
parallel-fixtures: setup
	$(BIN)/python -m pytest -q -m slow tests/execution/parallel/test_fixtures_parallel.py

# The long rollup tests (marked slow): MPT fuzzing, a 2^20-block bisection, ... against anvil.
rollup-slow: setup
	bash scripts/setup-e2e.sh
	$(BIN)/python -m pytest -q -m slow tests/rollup

# The node under 8 clients of mixed and bad load for 5 minutes, then kill -9 (SOAK_SECONDS to change).
SOAK_SECONDS ?= 300
soak: setup
	bash scripts/setup-e2e.sh
	HYPERION_SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m pytest -q -s -m slow tests/e2e/test_soak.py

# A dev node on 127.0.0.1:8545 (pass flags with ARGS, e.g. make node ARGS=--in-memory).
node: setup
	bash scripts/setup-e2e.sh
	$(BIN)/hyperion node $(ARGS)

# A local rollup: anvil as L1, the rollup's L1 contracts, a sequencer and a follower (Ctrl-C stops all).
devnet: setup
	bash scripts/setup-e2e.sh
	$(BIN)/hyperion devnet $(ARGS)
