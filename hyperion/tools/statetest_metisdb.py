"""Running a state-test case on MetisDB instead of the in-memory state (state-test glue: tools, not state).

``execute_case_on_metisdb`` is an executor for ``hyperion.tools.statetest``'s
``check_case(case, executor)``: the fixture's pre-state is committed as block
0 of a fresh database, the transaction executes on a ``PendingState`` over
block 0 (every account and slot is read back from LMDB), and the result is
committed as block 1; the outcome's root is block 1's committed root.
"""

from __future__ import annotations

import tempfile

from hyperion.execution.transaction import InvalidTransaction, apply_transaction
from hyperion.primitives.logs import logs_hash
from hyperion.primitives.transactions import TransactionDecodeError, decode_transaction
from hyperion.state.metisdb import MetisDB
from hyperion.tools.statetest import EMPTY_LOGS_HASH, ExecutionOutcome, StateTestCase


def execute_case_on_metisdb(case: StateTestCase, retention: int | None = None) -> ExecutionOutcome:
    """Execute a ``StateTestCase`` on MetisDB; returns an ``ExecutionOutcome``."""
    with tempfile.TemporaryDirectory(prefix="metisdb-statetest-") as path:
        with MetisDB(path, retention=retention, map_size=1 << 26, sync=False) as db:
            genesis = db.pending()
            for address, account in case.pre.items():
                genesis.set_account(address, nonce=account.nonce, balance=account.balance,
                                    code=account.code, storage=dict(account.storage))
            db.commit(genesis, 0)
            state = db.pending()
            rejection = None
            logs = EMPTY_LOGS_HASH
            try:
                tx = decode_transaction(case.tx_bytes)
                result = apply_transaction(state, case.env, tx)
                logs = logs_hash(result.logs)
            except (TransactionDecodeError, InvalidTransaction) as exc:
                rejection = f"{type(exc).__name__}: {exc}"
                state.base_snapshot.close()
                state = db.pending()  # a rejected transaction leaves the state untouched
            root = db.commit(state, 1)
            return ExecutionOutcome(root, logs, rejection, None)
