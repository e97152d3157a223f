"""Property tests of the DAT revenue accumulator: exactness for any shares, settlements and claim orders."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperion.predeploys import plan as G
from tests.lazai.evm_harness import Evm

ETH = "0x" + "00" * 20

scenario = st.fixed_dictionaries({
    "shares": st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=4),
    "rounds": st.lists(
        st.tuples(st.integers(1, 10**21), st.lists(st.integers(0, 3), max_size=3)), min_size=1, max_size=5),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_claims_never_exceed_settlements_and_lose_under_one_wei_per_token(case):
    evm = Evm(base_fee=0)
    dat = evm.at("DAT", G.DAT_ADDRESS)
    creator, holder, payer = evm.accounts[1], evm.accounts[2], evm.accounts[3]
    class_id = dat.transact("createClass", "ipfs://p", b"\0" * 32, 0, "", sender=creator)
    tokens = [dat.transact("mint", class_id, holder.hex, 0, share, 0, sender=creator) for share in case["shares"]]
    total_share = sum(case["shares"])
    owed = [0] * len(tokens)  # exact entitlement times total_share
    claimed = [0] * len(tokens)
    settled = 0
    for amount, claimers in case["rounds"]:
        dat.transact("settleRevenueETH", class_id, sender=payer, value=amount)
        settled += amount
        for i, share in enumerate(case["shares"]):
            owed[i] += amount * share
        for index in claimers:
            i = index % len(tokens)
            pending = dat.call("pendingRevenue", tokens[i], ETH)
            assert (owed[i] - claimed[i] * total_share) // total_share - pending in (0, 1)
            if pending:
                claimed[i] += dat.transact("claim", tokens[i], ETH, holder.hex, sender=holder)
            assert sum(claimed) <= settled
    for i, token in enumerate(tokens):
        pending = dat.call("pendingRevenue", token, ETH)
        if pending:
            claimed[i] += dat.transact("claim", token, ETH, holder.hex, sender=holder)
        assert owed[i] // total_share - claimed[i] in (0, 1)
    assert settled - sum(claimed) <= len(tokens)
    assert evm.balance(G.DAT_ADDRESS) == settled - sum(claimed)
