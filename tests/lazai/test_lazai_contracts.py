"""LazAI-compatible contracts in-process: files, permissions, proof jobs, signed proofs, rewards, settlement."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode

from hyperion.predeploys import plan as G
from hyperion.primitives.keccak import keccak256
from tests.lazai.evm_harness import ETHER, Reverted
from tests.lazai.protocol import eth_sign, param, signed_proof, verifier_world

ETH = "0x" + "00" * 20


@pytest.fixture
def lazai(evm):
    return {
        "registry": evm.at("DataRegistry", G.DATA_REGISTRY_ADDRESS),
        "vc": evm.at("VerifiedComputing", G.VERIFIED_COMPUTING_ADDRESS),
        "dat1155": evm.at("DataAnchoringToken", G.DATA_ANCHORING_TOKEN_ADDRESS),
        "dat": evm.at("DAT", G.DAT_ADDRESS),
        "settlement": evm.at("Settlement", G.SETTLEMENT_ADDRESS),
        "query": evm.at("AIProcess", G.QUERY_ADDRESS),
        "inference": evm.at("AIProcess", G.INFERENCE_ADDRESS),
        "vault": evm.at("HoldersMining", G.FEE_VAULT_ADDRESS),
    }


def test_admin_roles_come_from_genesis(evm, lazai):
    assert lazai["vc"].call("admin") == evm.admin.hex
    assert lazai["registry"].call("maintainers", evm.admin.hex) is True
    assert lazai["registry"].call("name") == "Data Registry"
    assert lazai["registry"].call("token") == "0x" + G.DATA_ANCHORING_TOKEN_ADDRESS.hex()
    assert lazai["registry"].call("verifiedComputing") == "0x" + G.VERIFIED_COMPUTING_ADDRESS.hex()
    assert lazai["registry"].call("publicKey").startswith("-----BEGIN PUBLIC KEY-----")
    assert lazai["settlement"].call("query") == "0x" + G.QUERY_ADDRESS.hex()


def test_files_and_permissions(evm, lazai):
    registry = lazai["registry"]
    owner, reader, stranger = evm.accounts[1:4]
    file_id = registry.transact("addFile", "ipfs://data-1", "hash-1", sender=owner)
    assert file_id == 1 and registry.call("filesCount") == 1
    assert registry.call("getFileIdByUrl", "ipfs://data-1") == 1
    assert registry.call("getFileIdByUrl", "ipfs://missing") == 0
    assert registry.call("getFile", 1) == (1, owner.hex, "ipfs://data-1", "hash-1", 0, 0)
    with pytest.raises(Reverted, match="file already added"):
        registry.transact("addFile", "ipfs://data-1", "", sender=stranger)
    registry.transact("addPermissionForFile", 1, reader.hex, "encrypted-key", sender=owner)
    assert registry.call("getFilePermission", 1, reader.hex) == "encrypted-key"
    with pytest.raises(Reverted, match="not the file owner"):
        registry.transact("addPermissionForFile", 1, stranger.hex, "k", sender=stranger)
    second = registry.transact("addFileWithPermissions", "ipfs://data-2", "h2", owner.hex,
                               [(reader.hex, "k2")], sender=stranger)
    assert registry.call("getFile", second)[1] == owner.hex
    assert registry.call("getFilePermission", second, reader.hex) == "k2"


def test_contribution_flow_proof_job_reward_and_node_fee(evm, lazai):
    registry, vc, dat1155, dat, vault = (lazai[k] for k in ("registry", "vc", "dat1155", "dat", "vault"))
    protocol, idao, idao_owner = verifier_world(evm)
    owner, node, impostor = evm.accounts[3], evm.accounts[2], evm.accounts[4]
    protocol.admit_verifier(idao, node, [idao_owner])
    assert vc.call("nodeList") == [node.hex]
    assert vc.call("getNode", node.hex) == (node.hex, "http://verifier", 1, 0, 0, "pk")
    assert vc.call("activeNodesCount") == 1
    fee = vc.call("nodeFee")
    file_id = registry.transact("addFile", "ipfs://dataset", "sha256:abc", sender=owner)
    with pytest.raises(Reverted, match="insufficient fee"):
        vc.transact("requestProof", file_id, sender=owner, value=fee - 1)
    vc.transact("requestProof", file_id, sender=owner, value=fee)
    job_id = vc.call("jobsCount")
    assert vc.call("fileJobIds", file_id) == [job_id]
    job = vc.call("getJob", job_id)
    assert job[0] == file_id and job[1] == fee and job[2] == 1 and job[5] == node.hex
    with pytest.raises(Reverted, match="not the job's node"):
        vc.transact("completeJob", job_id, sender=impostor)
    vc.transact("completeJob", job_id, sender=node)
    assert vc.call("getJob", job_id)[2] == 2
    protocol_cut = fee * param("fees.verificationBps") // 10_000
    assert protocol_cut > 0 and vault.call("revenueByStream", 2) == protocol_cut
    assert vc.call("getNode", node.hex)[3] == fee - protocol_cut
    with pytest.raises(Reverted, match="job is not pending"):
        vc.transact("completeJob", job_id, sender=node)
    # proofs: the signer must be an admitted verifier node
    with pytest.raises(Reverted, match="signer is not a verifier node"):
        registry.transact("addProof", file_id, signed_proof(impostor.key, file_id, 90, "ipfs://dataset"), sender=impostor)
    with pytest.raises(Reverted, match="proof is for another file"):
        registry.transact("addProof", file_id, signed_proof(node.key, 77, 90, "ipfs://dataset"), sender=node)
    registry.transact("addProof", file_id, signed_proof(node.key, file_id, 90, "ipfs://dataset"), sender=impostor)
    assert registry.call("getFile", file_id)[4] == 1
    timestamp, digest, signature = registry.call("getFileProof", file_id, 1)
    assert len(signature) == 65 and registry.call("getProofAttestor", file_id, 1) == node.hex
    evm.warp(param("verifiers.disputeWindow"))
    with pytest.raises(Reverted, match="not the file owner"):
        registry.transact("requestReward", file_id, 1, sender=impostor)
    with pytest.raises(Reverted, match="no such proof"):
        registry.transact("requestReward", file_id, 2, sender=owner)
    registry.transact("requestReward", file_id, 1, sender=owner)
    token_id = registry.call("rewardTokenOf", file_id)
    assert dat1155.call("balanceOf", owner.hex, token_id) == 90
    assert dat1155.call("uri", token_id) == "ipfs://dataset"
    assert dat1155.call("verified", token_id) is True
    assert registry.call("erc8028TokenOf", file_id) == token_id
    assert dat.call("ownerOf", token_id) == owner.hex
    assert dat.call("classOf", token_id) == 1
    assert (dat.call("valueOf", token_id), dat.call("shareRatioOf", token_id)) == (90, 90)
    assert registry.call("getFile", file_id)[5] == 90
    with pytest.raises(Reverted, match="reward already requested"):
        registry.transact("requestReward", file_id, 1, sender=owner)
    # node fee withdrawal
    evm.base_fee = 0
    before = evm.balance(node.address)
    vc.transact("claim", sender=node)
    assert evm.balance(node.address) - before == fee - protocol_cut
    with pytest.raises(Reverted, match="nothing to claim"):
        vc.transact("claim", sender=node)


def _user_signature(user_key: bytes, nonce: int, user: str, node: str) -> bytes:
    return eth_sign(user_key, keccak256(abi_encode(["uint256", "address", "address"], [nonce, user, node])))


def _settlement_proof(node_key: bytes, request_id: str, user: str, cost: int, nonce: int, user_sig: bytes):
    data = (request_id, user, cost, nonce, user_sig)
    digest = keccak256(abi_encode(["(string,address,uint256,uint256,bytes)"], [data]))
    return (eth_sign(node_key, digest), data)


def test_settlement_accounts_fees_and_refunds(evm, lazai):
    settlement, query, vault = lazai["settlement"], lazai["query"], lazai["vault"]
    user, node, other_node = evm.accounts[1], evm.accounts[2], evm.accounts[3]
    query.transact("addNode", node.hex, "http://query-node", "pk")
    with pytest.raises(Reverted, match="user does not exist"):
        settlement.transact("deposit", sender=user, value=1)
    settlement.transact("addUser", sender=user, value=ETHER)
    with pytest.raises(Reverted, match="user already exists"):
        settlement.transact("addUser", sender=user, value=1)
    settlement.transact("deposit", sender=user, value=ETHER)
    assert settlement.call("getUser", user.hex) == (user.hex, 2 * ETHER, 2 * ETHER, [], [], [])
    with pytest.raises(Reverted, match="node is not active"):
        settlement.transact("depositQuery", other_node.hex, ETHER, sender=user)
    settlement.transact("depositQuery", node.hex, ETHER, sender=user)
    assert settlement.call("getUser", user.hex) == (user.hex, ETHER, 2 * ETHER, [node.hex], [], [])
    account = query.call("getAccount", user.hex, node.hex)
    assert account[:5] == (user.hex, node.hex, 0, ETHER, 0)
    with pytest.raises(Reverted, match="not the settlement contract"):
        query.transact("addAccount", user.hex, node.hex, sender=user, value=1)
    # the node collects a fee signed by the user
    user_sig = _user_signature(user.key, 5, user.hex, node.hex)
    proof = _settlement_proof(node.key, "req-1", user.hex, 10**17, 5, user_sig)
    with pytest.raises(Reverted, match="caller is not an active node"):
        query.transact("settlementFees", proof, sender=other_node)
    query.transact("settlementFees", proof, sender=node)
    assert query.call("getAccount", user.hex, node.hex)[2:4] == (5, ETHER - 10**17)
    assert settlement.call("getUser", user.hex)[1:3] == (ETHER, 2 * ETHER - 10**17)
    fee = 10**17 * param("fees.computeBps") // 10_000
    assert vault.call("revenueByStream", 1) == fee
    assert query.call("nodeEarnings", node.hex) == 10**17 - fee
    with pytest.raises(Reverted, match="nonce already used"):
        query.transact("settlementFees", proof, sender=node)
    forged = _settlement_proof(node.key, "req-2", user.hex, 10**17, 6, _user_signature(node.key, 6, user.hex, node.hex))
    with pytest.raises(Reverted, match="invalid user signature"):
        query.transact("settlementFees", forged, sender=node)
    too_much = _settlement_proof(node.key, "req-3", user.hex, 5 * ETHER, 7, _user_signature(user.key, 7, user.hex, node.hex))
    with pytest.raises(Reverted, match="insufficient balance"):
        query.transact("settlementFees", too_much, sender=node)
    # refunds back to the available balance
    settlement.transact("retrieveQuery", [node.hex], sender=user)
    assert settlement.call("getUser", user.hex)[1:3] == (2 * ETHER - 10**17, 2 * ETHER - 10**17)
    assert query.call("getAccount", user.hex, node.hex)[3:5] == (0, 0)
    evm.base_fee = 0
    before = evm.balance(user.address)
    settlement.transact("withdraw", ETHER, sender=user)
    assert evm.balance(user.address) - before == ETHER
    with pytest.raises(Reverted, match="insufficient available balance"):
        settlement.transact("withdraw", 2 * ETHER, sender=user)
    assert len(settlement.call("getAllUsers")) == 1
    settlement.transact("deleteUser", sender=user)
    assert settlement.call("getAllUsers") == []
