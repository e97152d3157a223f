"""The explorer in a real browser: Debian's Chromium driven by Playwright, against a real node process.

One node for the module. The scenario makes transactions (a transfer, a
reverted call), a model inference paid through the gateway (DAT usage and
revenue), an iDAO proposal with votes for and against, and a job whose
wrong result is challenged and slashed. Each page is then checked against
the chain (read over JSON-RPC), at desktop and phone width, with no console
errors, and a screenshot of every page goes to ``.ci/artifacts/explorer/``
(``HYPERION_DOCS_SCREENSHOTS=1`` also writes the ones the docs show).
"""

from __future__ import annotations

import pytest

from tests.explorer.browser import Explorer, fits_a_phone, playwright_or_skip

pytestmark = pytest.mark.e2e
ETHER = 10**18
FEE = 10**15
BOND = 10**16

playwright_or_skip()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from hyperion.predeploys.plan import LAZAI_CHAIN_ID
    from tests.lazai.node_process import LazaiNode

    folder = tmp_path_factory.mktemp("explorer-node")
    process = LazaiNode(["--port", "0", "--in-memory", "--chain-id", str(LAZAI_CHAIN_ID), "--silent"],
                        folder / "node.log").start()
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def scenario(node):
    from hyperion.ai.digits import load_digits_model, sample_inputs
    from hyperion.sdk import connect
    from tests.lazai.node_process import DEV_KEYS

    dev = [connect(node.url, key) for key in DEV_KEYS]
    owner, holder, user, member, voter, worker, challenger = dev[0], dev[1], dev[2], dev[3], dev[4], dev[5], dev[6]
    transfer = node.rpc("eth_sendTransaction", {"from": owner.client.address, "to": holder.client.address,
                                                "value": hex(3 * ETHER)})
    # a model on chain, its DAT class with a revenue share and an access token, one paid inference
    model = load_digits_model()
    ai = owner.ai
    ai.register_model(model, name="digits", inference_fee=FEE)
    registry = owner.client.contract("ModelRegistry")
    gateway = owner.client.contract("InferenceGateway")
    class_id = registry.functions.dat_class(model.content_hash).call()
    share = owner.dat.mint(class_id, holder.client.address, value=0, share_ratio=3)
    access = owner.dat.mint(class_id, user.client.address, value=5, share_ratio=0)
    user.dat.approve_for_class(class_id, gateway.address)
    image = sample_inputs(1)[0]
    inference = user.client.transact(gateway.functions.infer(model.content_hash, image, access), value=FEE)
    # a call that reverts with a reason: an inference without an access token, mined with an explicit gas limit
    data = gateway.functions.infer(model.content_hash, image, 0)._encode_transaction_data()
    reverted = node.rpc("eth_sendTransaction", {"from": user.client.address, "to": gateway.address, "data": data,
                                                "value": hex(FEE), "gas": hex(2_000_000)})
    # an iDAO with two members and a proposal voted for and against
    idao_id = owner.idao.register("explorers", "ipfs://explorers", 5_000, 600, stake=2 * ETHER)
    member.idao.join(idao_id, ETHER)
    owner.client.increase_time(1)
    proposal = owner.idao.propose(idao_id, [owner.client.contract("IDAORegistry").functions.setMetadata(
        idao_id, "ipfs://explorers-v2")], "update the metadata")
    owner.idao.vote(proposal, True)
    member.idao.vote(proposal, False)
    # a job with a wrong result, challenged by re-execution: the worker is slashed
    worker_key, challenger_key = bytes.fromhex(DEV_KEYS[5][2:]), bytes.fromhex(DEV_KEYS[6][2:])
    ai.register_worker(sender=worker_key)
    job_id = ai.post_public_job(model.content_hash, image, FEE, sender=bytes.fromhex(DEV_KEYS[0][2:]))
    ai.submit_result(job_id, b"\x01" * len(ai.infer(model.content_hash, image)), BOND, sender=worker_key)
    ai.challenge(job_id, image, BOND, sender=challenger_key)
    disputed_job = _bisection_dispute(owner, worker, challenger)
    return {"dev": dev, "owner": owner, "holder": holder, "user": user, "member": member, "voter": voter,
            "worker": worker, "challenger": challenger, "transfer": transfer, "inference": inference,
            "reverted": reverted, "class_id": class_id, "share": share, "access": access, "idao_id": idao_id,
            "proposal": proposal, "job_id": job_id, "model": model, "image": image, "node": node,
            "disputed_job": disputed_job}


def _bisection_dispute(owner, worker, watcher) -> int:
    """A job on a 2-layer conv tower whose worker lies about one layer; a watcher disputes it by bisection.

    Both run as the project's agents (``hyperion.agents``), ticked here against the node until the
    chain has re-executed the one disputed chunk and slashed the worker.
    """
    import time

    import numpy as np

    from hyperion.agents.follower import JOB_FIELDS, STATUS_SLASHED
    from hyperion.agents.watcher import Watcher
    from hyperion.agents.worker import Worker
    from hyperion.ai.synthetic import conv_tower, wrong_result_trace
    from hyperion.ai.trace import DisputePlan
    from hyperion.predeploys.plan import INFERENCE_JOBS_ADDRESS

    tower = conv_tower(channels=64, size=32, layers=2, seed=3)
    owner.ai.publish_model(tower)
    registry = owner.client.contract("ModelRegistry")
    owner.client.transact(registry.functions.register(tower.content_hash, list(tower.input_shape), tower.output_size,
                                                      tower.macs, 0, 0, "tower"))
    data = np.random.default_rng(4).integers(-100, 101, tower.input_size).astype(np.int8).tobytes()
    lying = wrong_result_trace(DisputePlan(tower), data, 2)
    start = owner.client.w3.eth.block_number + 1
    agents = [Worker(worker.client, INFERENCE_JOBS_ADDRESS, from_block=start, compute=lambda model, x: lying),
              Watcher(watcher.client, INFERENCE_JOBS_ADDRESS, from_block=start, direct_gas=0)]
    jobs = owner.client.contract("InferenceJobs")
    job_id = owner.client.transact(jobs.functions.post_job_with_input(tower.content_hash, data, FEE),
                                   value=2 * FEE).event("JobPosted")["job_id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for agent in agents:
            agent.tick()
        job = dict(zip(JOB_FIELDS, jobs.functions.jobs(job_id).call()))
        if job["status"] == STATUS_SLASHED and job["open_disputes"] == 0:
            return job_id
        time.sleep(0.1)
    raise AssertionError(f"the bisection dispute of job {job_id} did not end in time")


@pytest.fixture(scope="module")
def explorer(browser, node):
    page = Explorer(browser, node.url + "/explorer")
    yield page
    page.close()


def _ether(wei: int) -> str:
    from decimal import Decimal

    return (format((Decimal(wei) / Decimal(ETHER)).normalize(), "f") if wei else "0") + " ETH"


def test_home_shows_the_latest_blocks_and_updates_live(explorer, scenario, node):
    page = explorer.open("/", "home")
    head = int(node.rpc("eth_blockNumber"), 16)
    assert explorer.value("latest-block") == str(head)
    newest = node.rpc("eth_getBlockByNumber", hex(head), False)["transactions"][0]
    assert newest[:10] in explorer.section_text("latest-transactions")
    page.wait_for_timeout(500)                                            # the WebSocket subscription is set up
    node.rpc("evm_mine")
    page.wait_for_function(f"() => document.querySelector('#latest-blocks').innerText.includes('{head + 1}')",
                           timeout=15_000)
    assert explorer.value("latest-block") == str(head + 1)
    explorer.shoot("home-after-new-block")


def test_block_page(explorer, scenario, node):
    receipt = node.rpc("eth_getTransactionReceipt", scenario["transfer"])
    number = int(receipt["blockNumber"], 16)
    block = node.rpc("eth_getBlockByNumber", hex(number), False)
    explorer.open(f"/block/{number}", "block")
    assert explorer.value("hash") == block["hash"]
    assert explorer.value("transactions") == "1"
    assert explorer.value("gas-used") == str(int(block["gasUsed"], 16))
    assert scenario["transfer"][:10] in explorer.section_text("transactions")


def test_transaction_page_decodes_input_events_call_tree_and_fees(explorer, scenario, node):
    tx_hash = scenario["inference"].tx_hash
    tx_hash = tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash
    receipt = node.rpc("eth_getTransactionReceipt", tx_hash)
    explorer.open(f"/tx/{tx_hash}", "transaction")
    assert explorer.value("status") == "success"
    assert explorer.value("gas-used") == str(int(receipt["gasUsed"], 16))
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert explorer.value("fee") == _ether(fee)
    assert explorer.value("function", "input") == "InferenceGateway.infer"
    assert explorer.value("access-token-uint256", "input") == str(scenario["access"])
    events = explorer.section_text("events")
    assert "InferenceServed(" in events and "UsageRecorded(" in events and "ComputeFeePaid(" in events
    tree = explorer.section_text("call-tree")
    assert "ModelRegistry" in tree and "pay_compute_fee" in tree and "recordUsage" in tree

    explorer.open(f"/tx/{scenario['reverted']}", "transaction-reverted")
    assert explorer.value("status") == "reverted"
    assert "access token of the model's DAT class is required" in explorer.value("revert-reason")


def test_address_page_balance_nonce_transactions_and_read_contract(explorer, scenario, node):
    user = scenario["user"].client.address
    page = explorer.open(f"/address/{user}", "address")
    assert explorer.value("balance") == _ether(int(node.rpc("eth_getBalance", user, "latest"), 16))
    assert explorer.value("nonce") == str(int(node.rpc("eth_getTransactionCount", user, "latest"), 16))
    history = explorer.section_text("transactions")
    assert scenario["reverted"][:10] in history
    # read-contract form of a known ABI (the DAT): valueOf(access token) is the quota left
    explorer.open("/address/0x4200000000000000000000000000000000008028", "address-contract")
    form = page.locator("#read-valueOf")
    form.locator("input[name=arg]").fill(str(scenario["access"]))
    form.locator("button").click()
    page.wait_for_selector('output[data-fn="valueOf"]')
    assert page.locator('output[data-fn="valueOf"]').inner_text().strip() == "4"
    explorer.shoot("address-read-contract")


def test_search_finds_a_block_a_transaction_and_an_address(explorer, scenario):
    page = explorer.page
    for query, expected in ((str(2), "/explorer/block/2"), (scenario["transfer"], f"/explorer/tx/{scenario['transfer']}"),
                            (scenario["holder"].client.address, f"/explorer/address/{scenario['holder'].client.address}")):
        explorer.open("/", "search")
        page.fill("#search", query)
        page.press("#search", "Enter")
        page.wait_for_url(f"**{expected}")
        assert page.locator("#title").inner_text()
    explorer.shoot("search-result")


def test_dat_class_page_shows_usage_revenue_and_holders(explorer, scenario):
    class_id, owner = scenario["class_id"], scenario["owner"]
    explorer.open(f"/dat/{class_id}", "dat-class")
    assert explorer.value("class-id") == str(class_id)
    assert explorer.value("total-share") == "3"
    holders = explorer.section_text("holders-and-shares")
    assert scenario["holder"].client.address in holders and "100.00%" in holders
    tokens = explorer.page.locator("#tokens tbody tr")
    access_row = tokens.filter(has_text=scenario["user"].client.address)
    assert access_row.locator("td").nth(2).inner_text() == "4"     # quota left: 5 minted, 1 used
    assert access_row.locator("td").nth(3).inner_text() == "1"     # usage recorded
    registry = owner.client.contract("ModelRegistry")
    holders_share = registry.functions.split(FEE).call()[0]
    revenue = explorer.section_text("revenue-per-asset")
    assert "ETH" in revenue and _ether(holders_share) in revenue
    explorer.open("/dat", "dat-classes")


def test_idao_page_shows_members_proposal_and_votes(explorer, scenario):
    explorer.open(f"/idao/{scenario['idao_id']}", "idao")
    assert explorer.value("name") == "explorers"
    assert explorer.value("members") == "2"
    members = explorer.section_text("members")
    assert scenario["owner"].client.address in members and scenario["member"].client.address in members
    assert "human (key)" in members
    proposals = explorer.section_text("proposals")
    assert "update the metadata" in proposals and "active" in proposals
    votes = explorer.section_text("votes")
    assert "for" in votes and "against" in votes and _ether(2 * ETHER) in votes and _ether(ETHER) in votes
    explorer.open("/idao", "idaos")


def test_model_page(explorer, scenario, node):
    model = scenario["model"]
    explorer.open(f"/model/0x{model.content_hash.hex()}", "model")
    assert explorer.value("hash") == "0x" + model.content_hash.hex()
    assert explorer.value("size") == f"{len(model.encode())} bytes"
    assert explorer.value("macs") == str(model.macs)
    assert explorer.value("dat-class") == str(scenario["class_id"])
    assert explorer.value("paid-inferences") == "1"
    assert explorer.value("jobs") == "1"
    assert explorer.value("fees-earned") == _ether(FEE)
    explorer.open("/models", "models")


def test_job_page_shows_a_bisection_dispute_round_by_round(explorer, scenario):
    from hyperion.explorer.views import short

    owner, job_id = scenario["owner"], scenario["disputed_job"]
    jobs = owner.client.contract("InferenceJobs")
    opened = [e for e in jobs.events.DisputeOpened().get_logs(from_block=0) if e["args"]["job_id"] == job_id]
    assert len(opened) == 1
    dispute_id = opened[0]["args"]["dispute_id"]
    moves = [e for e in jobs.events.DisputeMoved().get_logs(from_block=0) if e["args"]["dispute_id"] == dispute_id]
    (end,) = [e for e in jobs.events.DisputeResolved().get_logs(from_block=0) if e["args"]["dispute_id"] == dispute_id]
    assert len(moves) > 2 and end["args"]["challenger_won"]
    explorer.open(f"/job/{job_id}", "job-bisection")
    assert explorer.value("status") == "slashed"
    assert explorer.value("challenge-state") == "worker slashed by a bisection dispute"
    section = f"dispute-{dispute_id}"
    assert explorer.value("challenger", section) == scenario["challenger"].client.address
    assert explorer.value("rounds", section) == str(len(moves))
    assert explorer.value("outcome", section) == f"challenger won ({end['args']['reason']})"
    rows = explorer.rows(f"bisection-rounds-of-dispute-{dispute_id}")
    assert len(rows) == len(moves)
    for number, (row, move) in enumerate(zip(rows, moves), 1):
        args = move["args"]
        assert row[0] == str(number) and row[2:7] == [str(args[k]) for k in ("lo", "hi", "node_depth", "node_index",
                                                                            "deadline")], row
        assert row[7] == short("0x" + bytes(move["transactionHash"]).hex())


def test_job_page_shows_bond_result_and_challenge(explorer, scenario):
    explorer.open(f"/job/{scenario['job_id']}", "job")
    assert explorer.value("status") == "slashed"
    assert explorer.value("challenge-state") == "worker slashed"
    assert explorer.value("worker-bond") == _ether(BOND)
    assert explorer.value("worker") .startswith(scenario["worker"].client.address)
    assert "worker slashed" in explorer.section_text("challenges")
    explorer.open("/jobs", "jobs")


def test_holders_mining_and_rollup_pages(explorer, scenario):
    explorer.open("/mining", "holders-mining")
    streams = explorer.section_text("fee-streams")
    assert "compute" in streams and "transaction fees" in streams
    explorer.open("/rollup", "rollup-not-a-rollup-node")
    assert "Not a rollup node" in explorer.section_text("not-a-rollup-node")


def test_pages_fit_a_phone(browser, node, scenario):
    phone = Explorer(browser, node.url + "/explorer", width=390, height=844)
    try:
        for path, name in (("/", "phone-home"), (f"/tx/{scenario['transfer']}", "phone-transaction"),
                           (f"/dat/{scenario['class_id']}", "phone-dat-class"),
                           (f"/job/{scenario['job_id']}", "phone-job")):
            assert fits_a_phone(phone.open(path, name)), path
        assert phone.errors == []
    finally:
        phone.close()


def test_no_console_errors(explorer):
    assert explorer.errors == []
