"""ERC-8028 DAT: classes, minting, usage quota, expiry, revenue accounting and claims."""

from __future__ import annotations

import random

import pytest

from tests.lazai.evm_harness import ETHER, Reverted

ETH = "0x" + "00" * 20
INFERENCE = b"inference_calls".ljust(32, b"\0")
SCALE = 10**18


def new_class(dat, creator):
    return dat.transact("createClass", "ipfs://dataset", b"\x42" * 32, 6, "ipfs://policy", sender=creator)


def mint(dat, class_id, to, value=1_000, share=100, expire_at=0, sender=None):
    return dat.transact("mint", class_id, to.hex, value, share, expire_at, sender=sender)


def test_create_class_emits_events_and_stores_meta(evm, dat):
    creator = evm.accounts[1]
    class_id = new_class(dat, creator)
    events = dat.decoded_logs()
    assert [e["event"] for e in events] == ["ClassCreated", "ClassPolicyUpdated"]
    assert events[0]["classId"] == class_id and events[0]["integrityHash"] == b"\x42" * 32
    assert dat.call("getClassMeta", class_id) == ("ipfs://dataset", b"\x42" * 32, 6, "ipfs://policy")
    dat.transact("updateClassMetadata", class_id, "ipfs://v2", b"\x01" * 32, sender=creator)
    assert dat.decoded_logs("MetadataUpdated")[0]["metadataURI"] == "ipfs://v2"
    dat.transact("updateClassPolicy", class_id, "ipfs://policy2", sender=creator)
    assert dat.call("getClassMeta", class_id)[3] == "ipfs://policy2"


def test_class_management_refuses_other_accounts(evm, dat):
    class_id = new_class(dat, evm.accounts[1])
    with pytest.raises(Reverted, match="not the class manager"):
        dat.transact("updateClassPolicy", class_id, "x", sender=evm.accounts[2])
    with pytest.raises(Reverted, match="may not mint"):
        mint(dat, class_id, evm.accounts[2], sender=evm.accounts[2])
    with pytest.raises(Reverted, match="may not mint"):  # the contract admin has no power over classes
        mint(dat, class_id, evm.admin, sender=evm.admin)
    with pytest.raises(Reverted, match="not the class manager"):
        dat.transact("setClassMinter", class_id, evm.admin.hex, True, sender=evm.admin)
    with pytest.raises(Reverted, match="may not mint"):  # class 1 (data contributions): the DataRegistry only
        mint(dat, 1, evm.admin, sender=evm.admin)
    with pytest.raises(Reverted, match="unknown class"):
        mint(dat, 99, evm.accounts[2], sender=evm.accounts[1])


def test_mint_views_and_share_saturation(evm, dat):
    creator, holder = evm.accounts[1], evm.accounts[2]
    class_id = new_class(dat, creator)
    expire_at = evm.timestamp + 100
    token = mint(dat, class_id, holder, value=500, share=2**40, expire_at=expire_at, sender=creator)
    minted = dat.decoded_logs("Minted")[0]
    assert minted["shareRatio"] == 2**32 - 1  # ERC-8028: saturate on overflow
    assert dat.decoded_logs("TransferToken")[0]["receiver"] == holder.hex
    assert dat.call("classOf", token) == class_id
    assert dat.call("valueOf", token) == 500
    assert dat.call("shareRatioOf", token) == 2**32 - 1
    assert dat.call("ownerOf", token) == holder.hex
    assert dat.call("expireAtOf", token) == expire_at
    assert dat.call("totalShareOf", class_id) == 2**32 - 1
    with pytest.raises(Reverted, match="unknown token"):
        dat.call("ownerOf", 999)
    with pytest.raises(Reverted, match="expiry is in the past"):
        mint(dat, class_id, holder, expire_at=evm.timestamp - 1, sender=creator)


def test_class_minter_role(evm, dat):
    creator, minter, holder = evm.accounts[1:4]
    class_id = new_class(dat, creator)
    dat.transact("setClassMinter", class_id, minter.hex, True, sender=creator)
    token = mint(dat, class_id, holder, sender=minter)
    assert dat.call("ownerOf", token) == holder.hex
    dat.transact("setClassMinter", class_id, minter.hex, False, sender=creator)
    with pytest.raises(Reverted, match="may not mint"):
        mint(dat, class_id, holder, sender=minter)


def test_record_usage_consumes_quota_until_exhausted(evm, dat):
    creator, holder, operator, stranger = evm.accounts[1:5]
    class_id = new_class(dat, creator)
    token = mint(dat, class_id, holder, value=100, sender=creator)
    dat.transact("recordUsage", token, INFERENCE, 60, sender=holder)
    usage = dat.decoded_logs("UsageRecorded")[0]
    assert usage == {"event": "UsageRecorded", "tokenId": token, "metricType": INFERENCE, "amount": 60,
                     "actor": holder.hex}
    assert dat.call("valueOf", token) == 40
    with pytest.raises(Reverted, match="not owner nor approved operator"):
        dat.transact("recordUsage", token, INFERENCE, 1, sender=operator)
    dat.transact("approveForClass", class_id, operator.hex, True, sender=holder)
    assert dat.decoded_logs("ApprovalForClass")[0]["approved"] is True
    assert dat.call("isApprovedForClass", holder.hex, class_id, operator.hex) is True
    dat.transact("recordUsage", token, INFERENCE, 40, sender=operator)
    assert dat.call("valueOf", token) == 0
    with pytest.raises(Reverted, match="quota exhausted"):
        dat.transact("recordUsage", token, INFERENCE, 1, sender=operator)
    with pytest.raises(Reverted, match="not owner nor approved operator"):
        dat.transact("recordUsage", token, INFERENCE, 0, sender=stranger)


def test_transfer_value_rules(evm, dat):
    creator, alice, bob = evm.accounts[1:4]
    class_a = new_class(dat, creator)
    class_b = new_class(dat, creator)
    t1 = mint(dat, class_a, alice, value=100, sender=creator)
    t2 = mint(dat, class_a, bob, value=5, sender=creator)
    t3 = mint(dat, class_b, bob, value=5, sender=creator)
    dat.transact("transferValue", t1, t2, 30, sender=alice)
    assert dat.decoded_logs("ValueTransferred")[0]["value"] == 30
    assert (dat.call("valueOf", t1), dat.call("valueOf", t2)) == (70, 35)
    assert (dat.call("shareRatioOf", t1), dat.call("shareRatioOf", t2)) == (70, 130)  # 30 % of t1's share moved
    with pytest.raises(Reverted, match="class mismatch"):
        dat.transact("transferValue", t1, t3, 1, sender=alice)
    with pytest.raises(Reverted, match="insufficient value"):
        dat.transact("transferValue", t1, t2, 71, sender=alice)
    with pytest.raises(Reverted, match="zero value"):
        dat.transact("transferValue", t1, t2, 0, sender=alice)
    with pytest.raises(Reverted, match="not owner nor approved operator"):
        dat.transact("transferValue", t1, t2, 1, sender=bob)


def test_expired_token_refuses_usage_but_keeps_earned_revenue(evm, dat):
    creator, alice, bob, payer = evm.accounts[1:5]
    class_id = new_class(dat, creator)
    short = mint(dat, class_id, alice, value=100, share=1, expire_at=evm.timestamp + 10, sender=creator)
    long = mint(dat, class_id, bob, value=100, share=3, sender=creator)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=4_000)
    evm.warp(20)
    assert dat.call("isExpired", short) is True
    with pytest.raises(Reverted, match="token expired"):
        dat.transact("recordUsage", short, INFERENCE, 1, sender=alice)
    with pytest.raises(Reverted, match="token expired"):
        dat.transact("transferValue", short, long, 1, sender=alice)
    with pytest.raises(Reverted, match="token expired"):
        dat.transact("transferValue", long, short, 1, sender=bob)
    assert dat.transact("pokeExpiry", short) is True
    assert dat.decoded_logs("Expired") == [{"event": "Expired", "tokenId": short}]
    assert dat.call("totalShareOf", class_id) == 3
    dat.transact("settleRevenueETH", class_id, sender=payer, value=3_000)  # only bob shares this one
    assert dat.call("pendingRevenue", short, ETH) == 1_000
    assert dat.call("pendingRevenue", long, ETH) == 3_000 + 3_000
    receiver = evm.accounts[5]
    before = evm.balance(receiver.address)
    assert dat.transact("claim", short, ETH, receiver.hex, sender=alice) == 1_000
    assert evm.balance(receiver.address) - before == 1_000

def test_settlement_requires_active_shares(evm, dat):
    creator, payer = evm.accounts[1], evm.accounts[4]
    class_id = new_class(dat, creator)
    with pytest.raises(Reverted, match="no active shares"):
        dat.transact("settleRevenueETH", class_id, sender=payer, value=1)
    mint(dat, class_id, evm.accounts[2], share=0, sender=creator)
    with pytest.raises(Reverted, match="no active shares"):
        dat.transact("settleRevenueETH", class_id, sender=payer, value=1)


def test_claim_pays_share_once_and_refuses_double_claim(evm, dat):
    creator, alice, bob, payer = evm.accounts[1:5]
    class_id = new_class(dat, creator)
    ta = mint(dat, class_id, alice, share=1, sender=creator)
    tb = mint(dat, class_id, bob, share=2, sender=creator)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=3 * ETHER)
    assert dat.decoded_logs("RevenueSettled")[0]["amount"] == 3 * ETHER
    with pytest.raises(Reverted, match="not the token owner"):
        dat.transact("claim", ta, ETH, bob.hex, sender=bob)
    receiver = evm.accounts[5]
    before = evm.balance(receiver.address)
    assert dat.transact("claim", ta, ETH, receiver.hex, sender=alice) == ETHER
    assert evm.balance(receiver.address) - before == ETHER
    assert dat.decoded_logs("Claimed")[0] == {"event": "Claimed", "tokenId": ta, "to": receiver.hex,
                                              "asset": ETH, "amount": ETHER}
    with pytest.raises(Reverted, match="nothing to claim"):
        dat.transact("claim", ta, ETH, receiver.hex, sender=alice)
    assert dat.call("pendingRevenue", tb, ETH) == 2 * ETHER


def test_late_minted_token_does_not_share_earlier_revenue(evm, dat):
    creator, alice, bob, payer = evm.accounts[1:5]
    class_id = new_class(dat, creator)
    ta = mint(dat, class_id, alice, share=5, sender=creator)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    tb = mint(dat, class_id, bob, share=5, sender=creator)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    assert dat.call("pendingRevenue", ta, ETH) == 1_500
    assert dat.call("pendingRevenue", tb, ETH) == 500


def test_revenue_travels_with_transferred_token(evm, dat):
    creator, alice, bob, payer = evm.accounts[1:5]
    class_id = new_class(dat, creator)
    token = mint(dat, class_id, alice, share=1, sender=creator)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=777)
    with pytest.raises(Reverted, match="not the token owner"):
        dat.transact("transferToken", token, bob.hex, sender=bob)
    dat.transact("transferToken", token, bob.hex, sender=alice)
    assert dat.decoded_logs("TransferToken")[0] == {"event": "TransferToken", "tokenId": token,
                                                    "sender": alice.hex, "receiver": bob.hex}
    with pytest.raises(Reverted, match="not the token owner"):
        dat.transact("claim", token, ETH, alice.hex, sender=alice)
    assert dat.transact("claim", token, ETH, bob.hex, sender=bob) == 777


def test_erc20_settlement_and_claim(evm, dat):
    creator, alice, bob, payer = evm.accounts[1:5]
    token_contract = evm.deploy("TestToken", payer.hex, 10**24)
    class_id = new_class(dat, creator)
    ta = mint(dat, class_id, alice, share=1, sender=creator)
    tb = mint(dat, class_id, bob, share=3, sender=creator)
    token_contract.transact("approve", dat.address, 10**24, sender=payer)
    asset = "0x" + token_contract.address.hex()
    dat.transact("settleRevenueERC20", class_id, asset, 1_000_001, sender=payer)
    assert dat.call("pendingRevenue", ta, asset) == 250_000
    assert dat.call("pendingRevenue", tb, asset) == 750_000
    dat.transact("claim", tb, asset, bob.hex, sender=bob)
    assert token_contract.call("balanceOf", bob.hex) == 750_000
    assert dat.call("pendingRevenue", ta, ETH) == 0
    with pytest.raises(Reverted, match="use settleRevenueETH"):
        dat.transact("settleRevenueERC20", class_id, ETH, 1, sender=payer)


def test_revenue_arithmetic_has_no_drift(evm, dat):
    """Random settlements and claims: each claim is within 1 wei of the exact share, never above what was settled."""
    rng = random.Random(8028)
    creator, payer = evm.accounts[1], evm.accounts[4]
    holders = evm.accounts[2:4] + [evm.accounts[5]]
    class_id = new_class(dat, creator)
    shares = [3, 7, 11, 13, 17]
    tokens = [mint(dat, class_id, holders[i % 3], share=s, sender=creator) for i, s in enumerate(shares)]
    owner_of = {t: holders[i % 3] for i, t in enumerate(tokens)}
    total_share = sum(shares)
    exact_owed = {t: 0 for t in tokens}  # exact entitlement * total_share (integers, no rounding)
    claimed = {t: 0 for t in tokens}
    settled = 0
    for round_index in range(25):
        amount = rng.randrange(1, 10**15)
        dat.transact("settleRevenueETH", class_id, sender=payer, value=amount)
        settled += amount
        for t, s in zip(tokens, shares):
            exact_owed[t] += amount * s
        for t in rng.sample(tokens, 2):
            pending = dat.call("pendingRevenue", t, ETH)
            exact_pending_floor = (exact_owed[t] - claimed[t] * total_share) // total_share
            assert exact_pending_floor - pending in (0, 1)  # at most 1 wei short, never above
            if pending:
                paid = dat.transact("claim", t, ETH, owner_of[t].hex, sender=owner_of[t])
                assert paid == pending
                claimed[t] += paid
        assert sum(claimed.values()) <= settled
    for t in tokens:
        if dat.call("pendingRevenue", t, ETH):
            claimed[t] += dat.transact("claim", t, ETH, owner_of[t].hex, sender=owner_of[t])
    total_claimed = sum(claimed.values())
    assert total_claimed <= settled
    assert settled - total_claimed < len(tokens)  # < 1 wei lost per token over the whole run
    for t in tokens:
        assert exact_owed[t] // total_share - claimed[t] in (0, 1)
    assert dat.call("totalClaimed", class_id, ETH) == total_claimed
    assert evm.balance(dat.address) == settled - total_claimed


def test_reentrant_claim_is_refused(evm, dat):
    creator, payer = evm.accounts[1], evm.accounts[4]
    attacker = evm.deploy("ReentrantClaimer", "0x" + dat.address.hex(), 1, sender=evm.accounts[5])
    class_id = new_class(dat, creator)
    token = dat.transact("mint", class_id, "0x" + attacker.address.hex(), 10, 1, 0, sender=creator)
    mint(dat, class_id, evm.accounts[2], share=1, sender=creator)
    attacker.transact("setTokenId", token, sender=evm.accounts[5])
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    paid = attacker.transact("claimDat", sender=evm.accounts[5])
    assert paid == 1_000
    assert attacker.call("attempts") == 1      # it did try to re-enter
    assert attacker.call("reentered") is False  # and the guard refused
    assert attacker.call("received") == 1_000   # paid exactly once
    assert evm.balance(dat.address) == 1_000    # the other holder's share is intact


def test_class_management_is_handed_over_in_two_steps(evm, dat):
    creator, successor, stranger = evm.accounts[1:4]
    class_id = new_class(dat, creator)
    dat.transact("offerClassManagement", class_id, successor.hex, sender=creator)
    with pytest.raises(Reverted, match="was not offered"):
        dat.transact("acceptClassManagement", class_id, sender=stranger)
    dat.transact("acceptClassManagement", class_id, sender=successor)
    assert dat.call("classCreator", class_id) == successor.hex
    with pytest.raises(Reverted, match="not the class manager"):
        dat.transact("revokeClass", class_id, sender=creator)
    dat.transact("revokeClass", class_id, sender=successor)
    with pytest.raises(Reverted, match="class revoked"):
        mint(dat, class_id, stranger, sender=successor)


def test_value_carries_share_and_earned_revenue_stays(evm, dat):
    creator, alice, bob, carol, payer = evm.accounts[1:6]
    class_id = new_class(dat, creator)
    ta = mint(dat, class_id, alice, value=100, share=100, sender=creator)
    tb = mint(dat, class_id, bob, value=0, share=0, sender=creator)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    dat.transact("transferValue", ta, tb, 40, sender=alice)
    assert dat.decoded_logs("ShareTransferred")[0]["share"] == 40
    assert dat.call("totalShareOf", class_id) == 100 and dat.call("isCountedInShare", tb) is True
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    assert dat.call("pendingRevenue", ta, ETH) == 1_000 + 600
    assert dat.call("pendingRevenue", tb, ETH) == 400
    # a partial transfer to a new holder: a new token with the value and its share
    tc = dat.transact("splitToken", ta, carol.hex, 30, sender=alice)
    assert (dat.call("ownerOf", tc), dat.call("valueOf", tc), dat.call("shareRatioOf", tc)) == (carol.hex, 30, 30)
    assert (dat.call("valueOf", ta), dat.call("shareRatioOf", ta)) == (30, 30)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=1_000)
    assert dat.call("pendingRevenue", tc, ETH) == 300
    assert dat.call("pendingRevenue", ta, ETH) == 1_600 + 300
    with pytest.raises(Reverted, match="not owner nor approved operator"):
        dat.transact("splitToken", ta, bob.hex, 1, sender=bob)
    with pytest.raises(Reverted, match="insufficient value"):
        dat.transact("splitToken", ta, bob.hex, 31, sender=alice)
    paid = sum(dat.transact("claim", t, ETH, owner.hex, sender=owner) for t, owner in ((ta, alice), (tb, bob), (tc, carol)))
    assert paid == 3_000


def test_the_erc1155_view_is_the_same_token(evm, dat):
    from hyperion.predeploys import plan as G

    view = evm.at("DataAnchoringToken", G.DATA_ANCHORING_TOKEN_ADDRESS)
    creator, alice, bob, payer = evm.accounts[1:5]
    class_id = new_class(dat, creator)
    token = mint(dat, class_id, alice, value=50, share=5, sender=creator)
    assert view.decoded_logs("TransferSingle")[0]["receiver"] == alice.hex
    assert view.call("balanceOf", alice.hex, token) == 50 and view.call("balanceOf", bob.hex, token) == 0
    dat.transact("recordUsage", token, INFERENCE, 8, sender=alice)
    assert view.decoded_logs("TransferSingle")[0] == {"event": "TransferSingle", "operator": alice.hex,
                                                      "sender": alice.hex, "receiver": ETH, "id": token, "value": 8}
    assert view.call("balanceOf", alice.hex, token) == 42
    with pytest.raises(Reverted, match="one holder"):
        view.transact("safeTransferFrom", alice.hex, bob.hex, token, 10, b"", sender=alice)
    with pytest.raises(Reverted, match="not owner nor approved"):
        view.transact("safeTransferFrom", alice.hex, bob.hex, token, 42, b"", sender=bob)
    dat.transact("settleRevenueETH", class_id, sender=payer, value=700)
    view.transact("safeTransferFrom", alice.hex, bob.hex, token, 42, b"", sender=alice)
    assert dat.call("ownerOf", token) == bob.hex  # moving the 1155 moved the revenue-bearing DAT
    assert view.call("balanceOf", bob.hex, token) == 42
    assert dat.transact("claim", token, ETH, bob.hex, sender=bob) == 700
    dat.transact("transferToken", token, alice.hex, sender=bob)  # and the other way round
    assert view.call("balanceOf", alice.hex, token) == 42 and view.call("balanceOf", bob.hex, token) == 0
    with pytest.raises(Reverted, match="minted in the DAT contract"):
        view.transact("mint", alice.hex, 1, "x", True)
    with pytest.raises(Reverted, match="only the DAT contract"):
        view.transact("onDatTransfer", alice.hex, alice.hex, bob.hex, token, 1, sender=alice)
    with pytest.raises(Reverted, match="only the ERC-1155 view"):
        dat.transact("viewTransfer", alice.hex, alice.hex, bob.hex, token, sender=alice)
