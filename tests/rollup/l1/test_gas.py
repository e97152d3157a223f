"""L1 gas of each rollup contract operation, measured on anvil (prague): printed, and bounded so a regression fails.

Run with ``-s`` to see the table; docs/rollup.md ("L1 gas") records it.
"""

from __future__ import annotations

import random

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.clients import (
    BatchInboxClient, MessagePasserClient, OutputOracleClient, PortalClient, ThresholdResolverClient)
from hyperion.rollup.l1.deploy import deploy_rollup_contracts
from hyperion.rollup.l1.proofs import output_root_proof_from_rpc, withdrawal_proof_from_rpc
from hyperion.state.account import storage_trie_value
from hyperion.trie.hexary import HexaryTrie
from tests.rollup.l1.conftest import (
    ALICE, BATCHER, BOB, CHALLENGER, M1, M2, OWNER, PROPOSER, STRANGER, WINDOW, deploy_vyper_source, make_config)
from tests.rollup.l1.l2node import start_l2_node
from tests.rollup.l1.test_inbox import blob
from tests.rollup.l1.test_mpt import HARNESS

# upper bounds (gas): generous enough for compiler noise, tight enough to catch a regression
BOUNDS = {
    "Portal.depositTransaction (no data)": 90_000,
    "Portal.depositTransaction (1 KiB data)": 120_000,
    "OutputOracle.proposeL2Output": 160_000,
    "Portal.proveWithdrawal": 220_000,
    "Portal.finalizeWithdrawal": 160_000,
    "OutputOracle.challenge": 250_000,
    "OutputOracle.proposeMidpoint": 70_000,
    "OutputOracle.answerMidpoint": 70_000,
    "ThresholdResolver.vote (not final)": 110_000,
    "ThresholdResolver.vote (final, challenger wins)": 140_000,
    "ThresholdResolver.resolveWithSignatures (2 of 3)": 140_000,
    "OutputOracle.timeout": 90_000,
    "OutputOracle.withdrawCredit": 60_000,
    "BatchInbox calldata batch (100 KiB)": 4_200_000,  # EIP-7623 floor: 40 gas per non-zero byte
    "BatchInbox blob batch (1 blob), execution gas": 60_000,
    "lib_mpt.storage_value, 6 nodes (1M-slot trie), execution only": 90_000,
}


def _intrinsic_calldata_gas(data: bytes) -> int:
    return sum(16 if b else 4 for b in data)


def test_gas_table(w3, anvil, tmp_path):
    table: dict[str, int] = {}
    node, l2 = start_l2_node(tmp_path)
    try:
        start = l2.eth.block_number
        deployment = deploy_rollup_contracts(w3, OWNER, make_config(starting_block_number=start))
        portal = PortalClient(w3, deployment.portal, ALICE)
        oracle = OutputOracleClient(w3, deployment.output_oracle, PROPOSER)
        table["Portal.depositTransaction (no data)"] = portal.deposit_transaction(
            BOB.address, 0, 100_000, mint=10**18)["gasUsed"]
        table["Portal.depositTransaction (1 KiB data)"] = portal.deposit_transaction(
            BOB.address, 0, 100_000, data=bytes(range(256)) * 4, mint=10**18)["gasUsed"]

        passer = MessagePasserClient(l2, sender=ALICE)
        withdrawal = passer.withdrawals(passer.initiate_withdrawal(BOB.address, 50_000, value=10**17))[0]
        for i in range(40):  # a message passer with some history
            passer.initiate_withdrawal(BOB.address, 50_000, bytes([i]), value=1)
        outputs = []
        for _ in range(3):
            block = oracle.next_block_number()
            l2.provider.make_request("anvil_mine", [max(0, block - l2.eth.block_number)])
            receipt = oracle.propose_l2_output(output_root_proof_from_rpc(l2, block).output_root, block)
            outputs.append(block)
        table["OutputOracle.proposeL2Output"] = receipt["gasUsed"]  # steady state (not the first)
        proof = withdrawal_proof_from_rpc(l2, withdrawal, outputs[0])
        receipt = portal.prove_withdrawal(proof, 0)
        table["Portal.proveWithdrawal"] = receipt["gasUsed"]
        proof_nodes = len(proof.storage_proof)
        anvil.increase_time(WINDOW)
        table["Portal.finalizeWithdrawal"] = portal.finalize_withdrawal(withdrawal)["gasUsed"]
    finally:
        node.stop()

    # a dispute over 16 blocks: 3 rounds of moves, then the resolver
    deployment = deploy_rollup_contracts(w3, OWNER, make_config())
    oracle = OutputOracleClient(w3, deployment.output_oracle, PROPOSER)
    challenger = oracle.with_sender(CHALLENGER)
    resolver = ThresholdResolverClient(w3, deployment.resolver)
    for block in (16, 32):
        oracle.propose_l2_output(keccak256(b"wrong" + bytes([block])), block)
    receipt = challenger._send(challenger.contract.functions.challenge(1, keccak256(b"right")),
                               value=challenger.parameter("challengerBond"))
    table["OutputOracle.challenge"] = receipt["gasUsed"]
    dispute_id = challenger.events("DisputeOpened", receipt)[0]["args"]["disputeId"]
    mids, answers = [], []
    while oracle.get_dispute(dispute_id).hi - oracle.get_dispute(dispute_id).lo > 1:
        dispute = oracle.get_dispute(dispute_id)
        mids.append(oracle.propose_midpoint(dispute_id, keccak256(b"p" + bytes([dispute.midpoint])))["gasUsed"])
        answers.append(challenger.answer_midpoint(dispute_id, keccak256(b"c" + bytes([dispute.midpoint])))["gasUsed"])
    table["OutputOracle.proposeMidpoint"] = max(mids)
    table["OutputOracle.answerMidpoint"] = max(answers)
    table["ThresholdResolver.vote (not final)"] = resolver.with_sender(M1).vote(dispute_id, False)["gasUsed"]
    table["ThresholdResolver.vote (final, challenger wins)"] = resolver.with_sender(M2).vote(dispute_id, False)["gasUsed"]
    table["OutputOracle.withdrawCredit"] = challenger.withdraw_credit()["gasUsed"]

    oracle.propose_l2_output(keccak256(b"again"), 32)
    dispute_id = challenger.challenge(1, keccak256(b"right"))
    while oracle.get_dispute(dispute_id).hi - oracle.get_dispute(dispute_id).lo > 1:
        dispute = oracle.get_dispute(dispute_id)
        oracle.propose_midpoint(dispute_id, keccak256(b"p" + bytes([dispute.midpoint])))
        challenger.answer_midpoint(dispute_id, keccak256(b"c" + bytes([dispute.midpoint])))
    signatures = [resolver.sign_verdict(key, dispute_id, True) for key in (M1.key, M2.key)]
    table["ThresholdResolver.resolveWithSignatures (2 of 3)"] = resolver.with_sender(STRANGER).resolve_with_signatures(
        dispute_id, True, signatures)["gasUsed"]
    oracle.propose_l2_output(keccak256(b"third"), 48)
    dispute_id = challenger.challenge(2, keccak256(b"right"))
    anvil.increase_time(3600)
    table["OutputOracle.timeout"] = oracle.with_sender(STRANGER).timeout(dispute_id)["gasUsed"]

    inbox = BatchInboxClient(w3, deployment.batch_inbox, BATCHER)
    batch = b"\x00" + random.Random(1).randbytes(100 * 1024 - 1)
    table["BatchInbox calldata batch (100 KiB)"] = inbox.submit_calldata(batch)["gasUsed"]
    table["BatchInbox blob batch (1 blob), execution gas"] = inbox.submit_blobs([blob(9)])["gasUsed"]

    # the verifier alone, on a deep trie: execution gas without the 21000 base and the calldata
    verifier = deploy_vyper_source(w3, HARNESS)
    rng = random.Random(5)
    trie = HexaryTrie()
    for _ in range(3000):
        trie.set(keccak256(rng.randbytes(32)), storage_trie_value(1))
    # a path that shares a 5-nibble prefix with a key: as deep as a trie of ~1M slots
    key = keccak256(b"probe")
    trie.set(key, storage_trie_value(1))
    sibling = key[:2] + bytes([key[2] & 0xF0 | ((key[2] & 0x0F) ^ 1)]) + rng.randbytes(29)
    trie.set(sibling, storage_trie_value(1))
    nodes = trie.get_proof(key)
    call = verifier.functions.storage_value(trie.root_hash(), key, nodes)
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    table[f"lib_mpt.storage_value, {len(nodes)} nodes (1M-slot trie), execution only"] = \
        call.estimate_gas() - 21_000 - _intrinsic_calldata_gas(data)

    print(f"\nL1 gas on anvil (prague); withdrawal proof of {proof_nodes} nodes")
    for name, gas in table.items():
        print(f"  {name:<66} {gas:>9,}")
    for name, gas in table.items():
        bound = BOUNDS.get(name) or BOUNDS[next(b for b in BOUNDS if b.startswith(name.split(",")[0]))]
        assert gas <= bound, f"{name}: {gas} gas, bound {bound}"
