"""The explorer's rollup page in Chromium, served by a follower of a real devnet (anvil L1 + node processes).

The scenario: an ETH deposit through the L1 portal; three withdrawals
initiated on L2, one then proven and finalized on L1, one only proven; and a
dispute opened by a wrong challenger against a correct output root, played
move by move (the proposer defends each midpoint, the challenger disagrees)
down to one block, where the follower's resolver rules for the proposer.
The page is checked against L1 and L2 read with web3.py: the L1 batches
with their L1 transactions, every output root with its state and its
dispute, the deposit with its L2 transaction, each withdrawal's status.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.artifacts import load_artifact
from hyperion.explorer.views import short
from hyperion.rollup.l1.clients import CHALLENGER_TURN, OutputOracleClient, PortalClient
from hyperion.rollup.l1.predeploys import MESSAGE_PASSER_ADDRESS
from hyperion.rollup.l1.proofs import Withdrawal, withdrawal_proof_from_rpc
from hyperion.rollup.l1.transact import Sender
from tests.explorer.browser import Explorer, fits_a_phone, playwright_or_skip
from tests.rollup.e2e.conftest import devnet, follower, l1, sequencer, wait_safe, wait_until  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e
playwright_or_skip()

ETHER = 10**18
FINALIZATION = 20           # seconds: long enough to challenge a fresh output, short enough to wait out
DEVNET = dict(finalization_period=FINALIZATION, submission_interval=6)
WITHDRAWER, DEPOSITOR, WRONG_CHALLENGER, PROVER = 6, 7, 8, 9


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


@pytest.fixture(scope="module")
def oracle(devnet, l1):
    return OutputOracleClient(l1, devnet.deployment.output_oracle,
                              Sender(l1, Account.from_key(devnet.key(WRONG_CHALLENGER))))


@pytest.fixture(scope="module")
def scenario(devnet, l1, sequencer, follower, oracle):
    # a deposit of 1 ETH to a fresh L2 address
    fresh = Account.create().address
    portal = PortalClient(l1, devnet.deployment.portal, Sender(l1, Account.from_key(devnet.key(DEPOSITOR))))
    deposit_receipt = portal.deposit_transaction(fresh, value=ETHER, gas_limit=100_000, mint=ETHER)
    # three withdrawals initiated on L2
    account = Account.from_key(devnet.key(WITHDRAWER))
    passer = sequencer.eth.contract(address=Web3.to_checksum_address(MESSAGE_PASSER_ADDRESS),
                                    abi=load_artifact("L2ToL1MessagePasser")["abi"])
    nonce = sequencer.eth.get_transaction_count(account.address)
    hashes = []
    for i, value in enumerate((ETHER // 2, ETHER // 4, ETHER // 8)):
        tx = passer.functions.initiateWithdrawal(Account.create().address, 100_000, b"").build_transaction({
            "from": account.address, "value": value, "nonce": nonce + i, "gas": 200_000,
            "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": 901})
        hashes.append(sequencer.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    receipts = [sequencer.eth.wait_for_transaction_receipt(h, timeout=60) for h in hashes]
    assert all(r["status"] == 1 for r in receipts)
    withdrawals = [Withdrawal.from_event(passer.events.MessagePassed().process_receipt(r)[0]["args"])
                   for r in receipts]
    wait_until(lambda: follower.eth.get_balance(fresh) == ETHER, 90, "the deposit on the follower")
    return {"fresh": fresh, "deposit_receipt": deposit_receipt, "withdrawal_receipts": receipts,
            "withdrawals": withdrawals, "portal": portal}


@pytest.fixture(scope="module")
def explorer(browser, devnet):
    page = Explorer(browser, devnet.follower.url + "/explorer")
    yield page
    page.close()


def _l2_deposit_hash(node: Web3, to: str) -> str:
    for number in range(node.eth.block_number, -1, -1):
        for tx in node.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["type"] == 0x7E and tx["to"] == to:
                return _hex(tx["hash"])
    raise AssertionError(f"no deposit to {to} on L2")


def _row_with(explorer: Explorer, section: str, text: str) -> list[str]:
    rows = [row for row in explorer.rows(section) if any(text in cell for cell in row)]
    assert len(rows) == 1, (section, text, explorer.rows(section))
    return rows[0]


def test_a_dispute_is_shown_while_it_is_played_and_once_it_is_resolved(explorer, scenario, oracle, devnet):
    # a wrong challenger disputes the next correct output as soon as it is proposed, within its window
    first = oracle.next_output_index()
    wait_until(lambda: oracle.next_output_index() > first, 120, "a new output root")
    index = oracle.next_output_index() - 1
    dispute_id = oracle.challenge(index, b"\x0b" * 32)
    page_url = "/rollup"
    explorer.open(page_url, "rollup-dispute-open")
    row = _row_with(explorer, "output-roots", f"dispute {dispute_id}:")
    assert f"dispute {dispute_id}: open" in row[4] and "L2 blocks" in row[4], row
    # the challenger disagrees with every midpoint: the game goes down to one block, the resolver decides
    answers = 0
    while True:
        dispute = wait_until(lambda: (lambda d: d if d.status != 1 else None)(oracle.get_dispute(dispute_id)), 120,
                             "the proposer's move")
        if dispute.status != CHALLENGER_TURN:
            break
        oracle.answer_midpoint(dispute_id, bytes([0x0c + answers]) * 32)
        answers += 1
    wait_until(lambda: oracle.get_dispute(dispute_id).status not in (1, 2, 3), 120, "the resolver's ruling")
    assert oracle.get_dispute(dispute_id).status == 4                   # proposer won
    explorer.open(page_url, "rollup-dispute-resolved")
    row = _row_with(explorer, "output-roots", f"dispute {dispute_id}:")
    plural = "s" if answers != 1 else ""
    assert row[0] == str(index) and row[4] == (f"dispute {dispute_id}: proposer won by the resolver "
                                               f"after {answers} round{plural}"), row
    assert row[2] == _hex(oracle.get_l2_output(index).output_root)


def test_the_rollup_page_shows_batches_outputs_deposits_and_withdrawals(explorer, scenario, devnet, l1, follower):
    receipts, withdrawals, portal = scenario["withdrawal_receipts"], scenario["withdrawals"], scenario["portal"]
    owner = OutputOracleClient(l1, devnet.deployment.output_oracle, Sender(l1, Account.from_key(devnet.key(0))))
    # prove the first two withdrawals, finalize the first once its output settles
    last_block = max(r["blockNumber"] for r in receipts)
    wait_until(lambda: owner.latest_block_number() >= last_block, 120, "an output root covering the withdrawals")
    index = owner.output_index_after(last_block)
    output = owner.get_l2_output(index)
    wait_safe(devnet.follower.url, output.l2_block_number)
    prover = PortalClient(l1, devnet.deployment.portal, Sender(l1, Account.from_key(devnet.key(PROVER))))
    proofs = [prover.prove_withdrawal(withdrawal_proof_from_rpc(follower, w, output.l2_block_number), index)
              for w in withdrawals[:2]]
    wait_until(lambda: owner.is_settled(index), 120, "the proposer to settle the output")
    finalized = prover.finalize_withdrawal(withdrawals[0])
    assert finalized["status"] == 1 and all(p["status"] == 1 for p in proofs)

    inbox = l1.eth.contract(address=devnet.deployment.batch_inbox, abi=load_artifact("BatchInbox")["abi"])
    batches = inbox.events.BatchSubmitted().get_logs(from_block=0)
    outputs = owner.next_output_index()
    explorer.open("/rollup", "rollup")

    sync = explorer.value("safe-head", "sync")
    assert int(sync) >= output.l2_block_number
    # every batch posted before the page was read, with its L1 transaction and how it was carried
    shown = {row[1]: row for row in explorer.rows("l1-batches")}
    assert batches and len(shown) >= len(batches)
    for batch in batches:
        row = shown[_hex(batch["transactionHash"])]
        assert row[0] == str(batch["blockNumber"])
        blobs = len(batch["args"]["blobHashes"])
        assert row[2] == ({1: "1 blob"}.get(blobs, f"{blobs} blobs") if blobs else
                          f"calldata, {batch['args']['dataLength']:,} bytes")
    # every output root, with its L2 block, root and state
    rows = {row[0]: row for row in explorer.rows("output-roots")}
    assert len(rows) >= outputs
    for i in range(outputs):
        proposal = owner.get_l2_output(i)
        row = rows[str(i)]
        assert row[1] == str(proposal.l2_block_number) and row[2] == _hex(proposal.output_root)
        assert row[3] in ("settled", "in challenge window")
        if owner.is_settled(i) and i <= index:
            assert row[3] == "settled", row
    # the deposit: its L1 transaction, the ETH minted, its L2 transaction and block
    l2_hash = _l2_deposit_hash(follower, scenario["fresh"])
    row = _row_with(explorer, "deposits", _hex(scenario["deposit_receipt"]["transactionHash"]))
    l2_block = follower.eth.get_transaction_receipt(l2_hash)["blockNumber"]
    assert row[3] == scenario["fresh"] and row[4] == "1 ETH" and row[6] == f"in L2 block {l2_block}", row
    assert row[5] == short(l2_hash) and explorer.page.locator(f'#deposits a[href$="/tx/{l2_hash}"]').count() == 1
    # each withdrawal's status, with the L1 transaction that proved or finalized it
    statuses = {}
    for w, receipt in zip(withdrawals, receipts):
        statuses[w.nonce] = _row_with(explorer, "withdrawals", short(_hex(receipt["transactionHash"])))
    assert statuses[withdrawals[0].nonce][5] == "finalized on L1"
    assert statuses[withdrawals[0].nonce][6] == _hex(finalized["transactionHash"])
    assert statuses[withdrawals[1].nonce][5] == "proven on L1"
    assert statuses[withdrawals[1].nonce][6] == _hex(proofs[1]["transactionHash"])
    assert statuses[withdrawals[2].nonce][5] == "initiated on L2"

    # the deposit's and a withdrawal's L2 transactions open in the explorer
    explorer.page.locator(f'#deposits a[href$="/tx/{l2_hash}"]').click()
    explorer.page.wait_for_url(f"**/explorer/tx/{l2_hash}")
    assert explorer.value("status") == "success"
    explorer.shoot("rollup-deposit-transaction")
    explorer.open(f"/tx/{_hex(receipts[0]['transactionHash'])}", "rollup-withdrawal-transaction")
    assert explorer.value("function", "input") == "L2ToL1MessagePasser.initiateWithdrawal"


def test_the_rollup_page_fits_a_phone(browser, devnet, scenario):
    phone = Explorer(browser, devnet.follower.url + "/explorer", width=390, height=844)
    try:
        assert fits_a_phone(phone.open("/rollup", "phone-rollup"))
        assert phone.errors == []
    finally:
        phone.close()


def test_no_console_errors(explorer):
    assert explorer.errors == []
