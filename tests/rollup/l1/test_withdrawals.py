"""Withdrawals end to end across two real chains: a Hyperion node (L2, MetisDB) and anvil (L1).

A withdrawal is initiated on the L2 node through the L2ToL1MessagePasser
predeploy, its output root and storage proof come from the node's
eth_getProof, and the Portal on anvil proves and pays it.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from hyperion.rollup.l1.clients import MessagePasserClient, OutputOracleClient, PortalClient
from hyperion.rollup.l1.deploy import deploy_rollup_contracts
from hyperion.rollup.l1.proofs import (
    OutputRootProof, ProofError, Withdrawal, WithdrawalProof, output_root_proof_from_rpc, sent_message_slot,
    withdrawal_proof_from_rpc, withdrawal_proof_from_state)
from hyperion.rollup.l1.transact import ContractReverted
from tests.rollup.l1.conftest import (
    ALICE, BOB, CHALLENGER, MOVE_TIMEOUT, OWNER, PROPOSER, WINDOW, deploy_vyper_source, make_config)
from tests.rollup.l1.l2node import start_l2_node

TARGET = """
# pragma version ==0.4.3
interface IPortal:
    def l2Sender() -> address: view

portal: public(address)
open: public(bool)
calls: public(uint256)
lastValue: public(uint256)
lastNote: public(Bytes[64])
lastL2Sender: public(address)

@deploy
def __init__(_portal: address):
    self.portal = _portal
    self.open = True

@external
def setOpen(_open: bool):
    self.open = _open

@external
@payable
def record(note: Bytes[64]):
    assert self.open, "target is closed"
    self.calls += 1
    self.lastValue = msg.value
    self.lastNote = note
    self.lastL2Sender = staticcall IPortal(self.portal).l2Sender()
"""


class Bridge:
    """One fresh L1 deployment whose outputs count from the L2 node's current head."""

    def __init__(self, w3: Web3, l2: Web3, anvil) -> None:
        self.w3, self.l2, self.anvil = w3, l2, anvil
        self.start = l2.eth.block_number
        self.deployment = deploy_rollup_contracts(w3, OWNER, make_config(starting_block_number=self.start))
        self.portal = PortalClient(w3, self.deployment.portal, ALICE)
        self.oracle = OutputOracleClient(w3, self.deployment.output_oracle, PROPOSER)
        self.passer = MessagePasserClient(l2, sender=ALICE)
        # the Portal holds what it pays out: deposits put ETH there
        self.portal.deposit_transaction(ALICE.address, 0, 100_000, mint=20 * 10**18)

    def withdraw(self, target: str, value: int, data: bytes = b"", gas_limit: int = 200_000) -> Withdrawal:
        receipt = self.passer.initiate_withdrawal(target, gas_limit, data, value=value)
        (withdrawal,) = self.passer.withdrawals(receipt)
        return withdrawal

    def propose_next(self, *, root: bytes | None = None) -> tuple[int, int]:
        """Mine L2 up to the next output block and post its output root; (output index, L2 block)."""
        block = self.oracle.next_block_number()
        head = self.l2.eth.block_number
        assert head <= block, "the L2 moved past the next output block"
        if head < block:
            self.l2.provider.make_request("anvil_mine", [block - head])
        if root is None:
            root = output_root_proof_from_rpc(self.l2, block).output_root
        index = self.oracle.next_output_index()
        self.oracle.propose_l2_output(root, block)
        return index, block


@pytest.fixture()
def bridge(w3, l2, anvil):
    return Bridge(w3, l2, anvil)


def test_withdrawal_proven_refused_early_finalized_after_the_window_and_never_twice(bridge, w3, anvil):
    target = deploy_vyper_source(w3, TARGET, bridge.portal.address)
    call_data = bytes.fromhex(target.functions.record(b"hello L1")._encode_transaction_data()[2:])
    withdrawal = bridge.withdraw(target.address, 3 * 10**18, call_data)
    assert bridge.passer.is_sent(withdrawal.hash)
    index, block = bridge.propose_next()

    proof = withdrawal_proof_from_rpc(bridge.l2, withdrawal, block)
    assert proof.output_root_proof.output_root == bridge.oracle.get_l2_output(index).output_root
    assert bridge.portal.hash_withdrawal(withdrawal) == withdrawal.hash  # L2 hashing == the Portal's
    receipt = bridge.portal.prove_withdrawal(proof, index)
    (event,) = bridge.portal.events("WithdrawalProven", receipt)
    assert bytes(event["args"]["withdrawalHash"]) == withdrawal.hash
    assert bridge.portal.proven_withdrawal(withdrawal.hash)[2] == index
    with pytest.raises(ContractReverted, match="withdrawal already proven"):
        bridge.portal.prove_withdrawal(proof, index)

    # inside the challenge window: refused
    with pytest.raises(ContractReverted, match="output is not settled yet"):
        bridge.portal.finalize_withdrawal(withdrawal)
    anvil.increase_time(WINDOW - 120)
    with pytest.raises(ContractReverted, match="output is not settled yet"):
        bridge.portal.finalize_withdrawal(withdrawal)

    anvil.increase_time(120)
    before = w3.eth.get_balance(target.address)
    receipt = bridge.portal.with_sender(BOB).finalize_withdrawal(withdrawal)  # anyone may finalize
    assert w3.eth.get_balance(target.address) - before == 3 * 10**18
    assert target.functions.calls().call() == 1
    assert target.functions.lastNote().call() == b"hello L1"
    assert target.functions.lastValue().call() == 3 * 10**18
    assert target.functions.lastL2Sender().call() == ALICE.address  # Portal.l2Sender() during the call
    assert bridge.portal.contract.functions.l2Sender().call() == "0x" + "00" * 20
    assert bridge.portal.is_finalized(withdrawal.hash)
    assert bridge.oracle.is_settled(index)

    with pytest.raises(ContractReverted, match="withdrawal already finalized"):
        bridge.portal.finalize_withdrawal(withdrawal)
    with pytest.raises(ContractReverted, match="withdrawal already finalized"):
        bridge.portal.prove_withdrawal(proof, index)


def test_bad_proofs_are_refused(bridge):
    withdrawal = bridge.withdraw(BOB.address, 10**18)
    other = bridge.withdraw(BOB.address, 2 * 10**18)
    index, block = bridge.propose_next()
    proof = withdrawal_proof_from_rpc(bridge.l2, withdrawal, block)
    good = proof.output_root_proof

    def with_fields(**changes) -> WithdrawalProof:
        fields = dict(withdrawal=proof.withdrawal, l2_block_number=block, output_root_proof=good,
                      storage_proof=proof.storage_proof)
        fields.update(changes)
        return WithdrawalProof(**fields)

    # the output root preimage must match the committed root
    for bad_root_proof in (OutputRootProof(b"\x01" * 32, good.message_passer_storage_root, good.latest_blockhash),
                           OutputRootProof(good.state_root, b"\x02" * 32, good.latest_blockhash),
                           OutputRootProof(good.state_root, good.message_passer_storage_root, good.latest_blockhash,
                                           version=b"\0" * 31 + b"\x01")):
        with pytest.raises(ContractReverted, match="output root proof does not match|unknown output root version"):
            bridge.portal.prove_withdrawal(with_fields(output_root_proof=bad_root_proof), index)
    with pytest.raises(ContractReverted, match="no output at this index"):
        bridge.portal.prove_withdrawal(proof, index + 1)
    # a withdrawal that was never initiated (more value), with the real proof of the other slot
    inflated = Withdrawal(withdrawal.nonce, withdrawal.sender, withdrawal.target, 50 * 10**18, withdrawal.gas_limit,
                          withdrawal.data)
    with pytest.raises(ContractReverted, match="mpt:|not in the message passer"):
        bridge.portal.prove_withdrawal(with_fields(withdrawal=inflated), index)
    # the proof of another withdrawal
    other_proof = withdrawal_proof_from_rpc(bridge.l2, other, block)
    with pytest.raises(ContractReverted, match="mpt:|not in the message passer"):
        bridge.portal.prove_withdrawal(with_fields(storage_proof=other_proof.storage_proof), index)
    # altered and truncated nodes
    nodes = list(proof.storage_proof)
    altered = nodes[:-1] + [nodes[-1][:-1] + bytes([nodes[-1][-1] ^ 1])]
    for bad_nodes in (altered, nodes[:-1], nodes + [nodes[0]]):
        with pytest.raises(ContractReverted, match="mpt:"):
            bridge.portal.prove_withdrawal(with_fields(storage_proof=tuple(bad_nodes)), index)
    # a withdrawal initiated after the output's block is provably absent from it
    late = bridge.withdraw(BOB.address, 1)
    with pytest.raises(ProofError, match="not in sentMessages"):
        withdrawal_proof_from_rpc(bridge.l2, late, block)
    slot_absent = with_fields(withdrawal=late)
    with pytest.raises(ContractReverted, match="mpt:|not in the message passer"):
        bridge.portal.prove_withdrawal(slot_absent, index)
    # a withdrawal may not target the Portal itself
    to_portal = Withdrawal(0, ALICE.address, bridge.portal.address, 0, 100_000, b"")
    with pytest.raises(ContractReverted, match="withdrawals cannot target the portal"):
        bridge.portal.prove_withdrawal(with_fields(withdrawal=to_portal), index)
    # and the good proof still works
    bridge.portal.prove_withdrawal(proof, index)


def _delete_by_timeout(bridge, index: int) -> None:
    """A challenger disputes output ``index`` and the proposer never answers: the output is deleted."""
    challenger = bridge.oracle.with_sender(CHALLENGER)
    dispute = challenger.challenge(index, b"\x66" * 32)
    bridge.anvil.increase_time(MOVE_TIMEOUT + 1)
    challenger.timeout(dispute)
    assert bridge.oracle.next_output_index() == index


def test_a_proof_against_a_deleted_output_cannot_be_finalized(bridge, anvil):
    withdrawal = bridge.withdraw(BOB.address, 10**18)
    index, block = bridge.propose_next()
    proof = withdrawal_proof_from_rpc(bridge.l2, withdrawal, block)
    bridge.portal.prove_withdrawal(proof, index)
    _delete_by_timeout(bridge, index)
    anvil.increase_time(WINDOW)
    with pytest.raises(ContractReverted, match="was deleted: prove it again"):
        bridge.portal.finalize_withdrawal(withdrawal)
    # the index is filled again with another root: the old proof stays refused
    assert bridge.propose_next(root=b"\x77" * 32) == (index, block)
    with pytest.raises(ContractReverted, match="was deleted: prove it again"):
        bridge.portal.finalize_withdrawal(withdrawal)
    # proven again against the next (right) output, it is paid once both outputs have settled
    next_index, next_block = bridge.propose_next()
    bridge.portal.prove_withdrawal(withdrawal_proof_from_rpc(bridge.l2, withdrawal, next_block), next_index)
    with pytest.raises(ContractReverted, match="output is not settled yet"):
        bridge.portal.finalize_withdrawal(withdrawal)
    anvil.increase_time(WINDOW)
    before = bridge.w3.eth.get_balance(BOB.address)
    bridge.portal.finalize_withdrawal(withdrawal)
    assert bridge.w3.eth.get_balance(BOB.address) - before == 10**18


def test_a_proof_stands_when_the_same_root_is_posted_again(bridge, anvil):
    withdrawal = bridge.withdraw(BOB.address, 10**18)
    index, block = bridge.propose_next()
    proof = withdrawal_proof_from_rpc(bridge.l2, withdrawal, block)
    bridge.portal.prove_withdrawal(proof, index)
    _delete_by_timeout(bridge, index)
    assert bridge.propose_next() == (index, block)  # the right root again, with a new window
    with pytest.raises(ContractReverted, match="withdrawal already proven"):
        bridge.portal.prove_withdrawal(proof, index)
    with pytest.raises(ContractReverted, match="output is not settled yet"):
        bridge.portal.finalize_withdrawal(withdrawal)
    anvil.increase_time(WINDOW)
    bridge.portal.finalize_withdrawal(withdrawal)
    assert bridge.portal.is_finalized(withdrawal.hash)


def test_a_failing_target_keeps_the_withdrawal_finalizable(bridge, w3, anvil):
    target = deploy_vyper_source(w3, TARGET, bridge.portal.address)
    target.functions.setOpen(False).transact({"from": OWNER.address})
    call_data = bytes.fromhex(target.functions.record(b"x")._encode_transaction_data()[2:])
    withdrawal = bridge.withdraw(target.address, 5, call_data)
    index, block = bridge.propose_next()
    bridge.portal.prove_withdrawal(withdrawal_proof_from_rpc(bridge.l2, withdrawal, block), index)
    anvil.increase_time(WINDOW)
    with pytest.raises(ContractReverted, match="withdrawal call failed"):
        bridge.portal.finalize_withdrawal(withdrawal)
    assert not bridge.portal.is_finalized(withdrawal.hash)
    # too little gas for the withdrawal's own gas limit is refused up front
    with pytest.raises(ContractReverted, match="not enough gas left"):
        bridge.portal.finalize_withdrawal(withdrawal, gas=150_000)
    target.functions.setOpen(True).transact({"from": OWNER.address})
    bridge.portal.finalize_withdrawal(withdrawal)
    assert target.functions.calls().call() == 1 and bridge.portal.is_finalized(withdrawal.hash)


def test_proof_from_the_metisdb_state_matches_eth_get_proof(tmp_path):
    """withdrawal_proof_from_state on the node's own MetisDB, opened in-process after the node stopped."""
    from hyperion.chain.genesis import ChainConfig
    from hyperion.chain.node import Node

    node, l2 = start_l2_node(tmp_path)
    try:
        passer = MessagePasserClient(l2, sender=ALICE)
        withdrawals = [passer.withdrawals(passer.initiate_withdrawal(BOB.address, 100_000, bytes([i]), value=i))[0]
                       for i in range(1, 6)]
        block = l2.eth.block_number
        by_rpc = [withdrawal_proof_from_rpc(l2, w, block) for w in withdrawals]
        stored = l2.eth.get_storage_at(passer.address, sent_message_slot(withdrawals[0].hash), block)
        assert int.from_bytes(stored, "big") == 1
    finally:
        node.stop()
    with Node(ChainConfig.from_genesis_file(tmp_path / "l2-genesis.json"), tmp_path / "l2-data") as reopened:
        header_block = reopened.chain.block_by_number(block)
        state = reopened.chain.state_at(block)
        for withdrawal, expected in zip(withdrawals, by_rpc):
            proof = withdrawal_proof_from_state(state, withdrawal, l2_block_number=block,
                                                state_root=header_block.header.state_root,
                                                block_hash=header_block.hash)
            assert proof == expected
