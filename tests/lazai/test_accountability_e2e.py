"""Issue 20 on a real ``hyperion node`` process: accountable verifiers and iDAO governance, through hyperion.sdk.

Each test first replays what an attacker or a careless member did before
(the issue's findings) and then shows it refused or fixed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("web3")

from hyperion.artifacts import load_artifact  # noqa: E402
from hyperion.sdk import Call, TransactionFailed, connect, signed  # noqa: E402
from tests.lazai.node_process import DEV_KEYS, start_lazai_node  # noqa: E402
from tests.lazai.sdk_flows import admit, fresh, settle_block, verifier_idao  # noqa: E402

ETHER = 10**18
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    process = start_lazai_node(tmp_path_factory.mktemp("accountability-node"))
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def dev(node):
    return [connect(node.url, key) for key in DEV_KEYS]


@pytest.fixture(scope="module")
def verifier_dao(node, dev):
    """An iDAO that meets the admission floors (dev account 1 holds its stake)."""
    return dev[1], verifier_idao(dev[1])


def test_self_admission_is_refused_under_the_floors(node, dev):
    """The issue's attack: fresh key, 1 wei iDAO, 1 bps quorum, 1 s vote, self-admission, score 1e9."""
    attacker = fresh(node, dev[9], "sybil")
    idao_id = attacker.idao.register("sybil", "", quorum_bps=1, voting_period=1, stake=1)
    settle_block(attacker)
    with pytest.raises(TransactionFailed, match="iDAO stake below the protocol floor for verifier admission"):
        attacker.idao.propose_admit_verifier(idao_id, attacker.client.address, "http://me", "pk")
    vc = attacker.client.contract("VerifiedComputing")
    with pytest.raises(TransactionFailed, match="admitted only by an iDAO vote"):
        attacker.client.transact(vc.functions.addNode(attacker.client.address, "http://me", "pk"))
    # nor can a generic proposal of its own iDAO reach the admission path
    proposal = attacker.idao.propose(idao_id, [vc.functions.admitVerifier(attacker.client.address, "u", "pk",
                                                                          idao_id)])
    attacker.idao.vote(proposal, True)
    with pytest.raises(TransactionFailed, match="only the iDAO registry admits verifiers"):
        attacker.idao.finish(proposal)
    file_id = attacker.data.add_file("ipfs://sybil-data")
    with pytest.raises(TransactionFailed, match="score above the per-file bound"):
        attacker.data.add_proof(file_id, 10**9, "ipfs://sybil-data", "ipfs://self-signed")
    with pytest.raises(TransactionFailed, match="signer is not a verifier node"):
        attacker.data.add_proof(file_id, 100, "ipfs://sybil-data", "ipfs://self-signed")
    assert attacker.dat.class_meta(1).total_share == 0  # it holds none of the data class's revenue


def test_scores_are_bounded_per_file_and_per_epoch(node, dev, verifier_dao):
    owner, idao_id = verifier_dao
    verifier, contributor = dev[2], dev[3]
    admit(owner, verifier, idao_id)
    per_file = owner.governance.param("verifiers.maxScorePerFile")
    per_epoch = owner.governance.param("verifiers.maxScorePerEpoch")
    urls = [f"ipfs://bounded-{i}" for i in range(per_epoch // per_file + 1)]
    files = [contributor.data.add_file(url) for url in urls]
    with pytest.raises(TransactionFailed, match="score above the per-file bound"):
        verifier.data.add_proof(files[0], per_file + 1, urls[0], "ipfs://p")
    for file_id, url in zip(files[:-1], urls):
        verifier.data.add_proof(file_id, per_file, url, "ipfs://p")
    with pytest.raises(TransactionFailed, match="score budget for this epoch is spent"):
        verifier.data.add_proof(files[-1], 1, urls[-1], "ipfs://p")
    # rewards wait out the dispute window, then mint one token seen by both interfaces
    with pytest.raises(TransactionFailed, match="dispute window"):
        contributor.data.request_reward(files[0])
    contributor.client.increase_time(owner.governance.param("verifiers.disputeWindow") + 1)
    reward = contributor.data.request_reward(files[0])
    assert reward.dat_1155_token_id == reward.erc8028_token_id
    view = contributor.client.contract("DataAnchoringToken")
    assert view.functions.balanceOf(contributor.client.address, reward.dat_1155_token_id).call() == per_file


def test_conflicting_proofs_slash_to_the_reporter_and_the_vault(node, dev, verifier_dao):
    owner, idao_id = verifier_dao
    verifier, contributor, reporter = dev[4], dev[3], dev[5]
    admit(owner, verifier, idao_id)
    file_id = contributor.data.add_file("ipfs://two-faced")
    key = DEV_KEYS[4]
    first = signed(key, file_id, 10, "ipfs://two-faced", "ipfs://report-a")
    second = signed(key, file_id, 99, "ipfs://two-faced", "ipfs://report-b")
    verifier.data.submit_proof(file_id, first)
    bond = verifier.staking.position().bonded
    slashing_before = owner.staking.state().revenue_by_stream["slashing"]
    balance_before = reporter.client.balance()
    result = reporter.client.transact(reporter.client.contract("DataRegistry").functions.reportConflictingProofs(
        first, second))
    gas_paid = result.receipt["gasUsed"] * result.receipt["effectiveGasPrice"]
    to_reporter = bond * owner.governance.param("verifiers.slashChallengerBps") // 10_000
    assert reporter.client.balance() - balance_before + gas_paid == to_reporter
    assert owner.staking.state().revenue_by_stream["slashing"] - slashing_before == bond - to_reporter
    assert verifier.staking.position().bonded == 0
    assert not owner.data.is_verifier(verifier.client.address)


def test_a_proof_shown_wrong_by_staker_governance_slashes(node, dev, verifier_dao):
    owner, idao_id = verifier_dao
    verifier, contributor, challenger, staker = dev[6], dev[3], dev[7], dev[8]
    admit(owner, verifier, idao_id)
    staker.staking.stake(100 * ETHER)
    file_id = contributor.data.add_file("ipfs://junk")
    verifier.data.add_proof(file_id, 99, "ipfs://junk", "ipfs://looks-fine")
    challenge = challenger.data.challenge_proof(file_id, 1, "ipfs://it-is-junk")
    bond = verifier.staking.position().bonded
    before = challenger.client.balance()
    settle_block(staker)
    registry = staker.client.contract("DataRegistry")
    proposal = staker.governance.propose([registry.functions.resolveChallenge(challenge, True)], "uphold")
    staker.governance.vote(proposal, True)
    staker.governance.finish(proposal)
    share = bond * owner.governance.param("verifiers.slashChallengerBps") // 10_000
    assert challenger.client.balance() - before == share + owner.governance.param("verifiers.challengeBond")
    assert contributor.data.proof_status(file_id, 1)["void"] is True
    assert not owner.data.is_verifier(verifier.client.address)
    contributor.client.increase_time(owner.governance.param("verifiers.disputeWindow") + 1)
    with pytest.raises(TransactionFailed, match="shown wrong"):
        contributor.data.request_reward(file_id)


def test_verifiers_can_be_removed_by_the_idao_that_admitted_them(node, dev, verifier_dao):
    owner, idao_id = verifier_dao
    verifier = fresh(node, dev[9], "to-be-removed", 50 * ETHER)
    admit(owner, verifier, idao_id)
    with pytest.raises(TransactionFailed, match="only the admitting iDAO"):
        dev[5].client.transact(dev[5].client.contract("VerifiedComputing").functions.removeNode(
            verifier.client.address))
    proposal = owner.idao.propose_remove_verifier(idao_id, verifier.client.address)
    owner.idao.vote(proposal, True)
    owner.idao.finish(proposal)
    assert not owner.data.is_verifier(verifier.client.address)


def test_a_late_joiners_vote_weight_is_zero(node, dev):
    """Before: a member who joined after the proposal voted 100 ETH. Now weight is read at the snapshot."""
    owner, late = dev[1], fresh(node, dev[9], "late-joiner", 200 * ETHER)
    idao_id = owner.idao.register("snapshots", "", 5_000, 600, stake=ETHER)
    settle_block(owner)
    proposal = owner.idao.propose(idao_id, [owner.client.contract("IDAORegistry").functions.setMetadata(
        idao_id, "ipfs://v2")])
    late.idao.join(idao_id, 100 * ETHER)
    assert late.idao.votes(idao_id) == 100 * ETHER
    with pytest.raises(TransactionFailed, match="no voting weight at the proposal's snapshot"):
        late.idao.vote(proposal, False)
    assert late.idao.votes(idao_id, at=owner.idao.proposal(proposal).snapshot) == 0
    owner.idao.vote(proposal, True)
    owner.idao.finish(proposal)
    assert owner.idao.info(idao_id).metadata_uri == "ipfs://v2"


def test_an_idao_member_claims_revenue_from_a_class_the_idao_governs(node, dev):
    owner, member, creator, holder, payer, runtime = dev[1], dev[2], dev[3], dev[4], dev[5], dev[6]
    idao_id = owner.idao.register("class-dao", "", 5_000, 600, stake=ETHER)
    member.idao.join(idao_id, 3 * ETHER)
    # an AI agent acting through a contract account is a member as well
    artifact = load_artifact("AgentWallet")
    agent = runtime.client.deploy(artifact["abi"], artifact["bytecode"], runtime.client.address)
    registry = runtime.client.contract("IDAORegistry")
    join = Call.of(registry.functions.join(idao_id))
    runtime.client.transact(agent.functions.execute(registry.address, join.data, ETHER), value=ETHER)
    executor = owner.idao.executor(idao_id)
    class_id = creator.dat.create_class("ipfs://governed-model")
    token = creator.dat.mint(class_id, holder.client.address, value=1_000, share_ratio=10)
    creator.dat.offer_class_management(class_id, executor)
    proposal = owner.idao.propose_govern_class(idao_id, class_id, revenue_share_bps=2_000)
    owner.idao.vote(proposal, True)
    member.idao.vote(proposal, True)
    owner.idao.finish(proposal)
    assert creator.dat.class_manager(class_id) == executor
    payer.dat.settle_eth(class_id, ETHER)
    assert holder.dat.pending_revenue(token) == 8 * ETHER // 10
    assert member.idao.pending_revenue(idao_id) == 3 * ETHER // 25   # 3/5 of the 20 % share
    before = member.client.balance()
    result_amount = member.idao.claim_revenue(idao_id)
    assert result_amount == 3 * ETHER // 25 and member.client.balance() > before
    agent_before = runtime.client.balance(agent.address)
    claim = Call.of(registry.functions.claimRevenue(idao_id))
    runtime.client.transact(agent.functions.execute(registry.address, claim.data, 0))
    assert runtime.client.balance(agent.address) - agent_before == ETHER // 25
    # and the iDAO can revoke the class it governs
    proposal = owner.idao.propose_revoke_class(idao_id, class_id)
    owner.idao.vote(proposal, True)
    member.idao.vote(proposal, True)
    owner.idao.finish(proposal)
    with pytest.raises(TransactionFailed, match="class revoked"):
        payer.dat.settle_eth(class_id, 1)
