"""The L2 predeploys on a real Hyperion node: L1Block (depositor-only writes) and the message passer."""

from __future__ import annotations

import pytest
from web3 import Web3

from hyperion.rollup.l1.clients import L1BlockClient, MessagePasserClient, encode_set_l1_block_values
from hyperion.rollup.l1.deploy import create_address
from hyperion.rollup.l1.predeploys import DEPOSITOR_ACCOUNT, L1_BLOCK_ADDRESS
from hyperion.rollup.l1.proofs import Withdrawal, sent_message_slot
from hyperion.rollup.l1.transact import ContractReverted, Sender
from tests.rollup.l1.conftest import ALICE, BOB

DEPOSITOR = Web3.to_checksum_address(DEPOSITOR_ACCOUNT)


def test_only_the_depositor_account_sets_l1_block_values(l2):
    values = dict(number=19_000_000, timestamp=1_700_000_000, basefee=7 * 10**9, block_hash=b"\xab" * 32,
                  sequence_number=3, batcher_hash=b"\0" * 12 + bytes.fromhex(BOB.address[2:]),
                  blob_base_fee=1, base_fee_scalar=1368, blob_base_fee_scalar=810949)
    data = encode_set_l1_block_values(**values)
    with pytest.raises(ContractReverted, match="only the depositor account"):
        Sender(l2, ALICE).send({"to": Web3.to_checksum_address(L1_BLOCK_ADDRESS), "data": data})
    # the depositor system account (impersonated here; derivation sends it as a deposit)
    l2.provider.make_request("anvil_setBalance", [DEPOSITOR, hex(10**18)])
    l2.provider.make_request("anvil_impersonateAccount", [DEPOSITOR])
    Sender(l2, DEPOSITOR).send({"to": Web3.to_checksum_address(L1_BLOCK_ADDRESS), "data": data})
    read = L1BlockClient(l2).values()
    assert read == {"number": 19_000_000, "timestamp": 1_700_000_000, "basefee": 7 * 10**9,
                    "hash": b"\xab" * 32, "sequenceNumber": 3, "batcherHash": values["batcher_hash"],
                    "blobBaseFee": 1, "baseFeeScalar": 1368, "blobBaseFeeScalar": 810949}
    assert L1BlockClient(l2).contract.functions.DEPOSITOR().call() == DEPOSITOR


def test_message_passer_records_withdrawals_and_burns_their_eth(l2):
    passer = MessagePasserClient(l2, sender=ALICE)
    nonce = passer.message_nonce()
    receipt = passer.initiate_withdrawal(BOB.address, 123_456, b"\x01\x02", value=10**16)
    (withdrawal,) = passer.withdrawals(receipt)
    assert withdrawal == Withdrawal(nonce, ALICE.address, BOB.address, 10**16, 123_456, b"\x01\x02")
    assert passer.is_sent(withdrawal.hash) and passer.message_nonce() == nonce + 1
    slot = l2.eth.get_storage_at(passer.address, sent_message_slot(withdrawal.hash))
    assert int.from_bytes(slot, "big") == 1
    # plain ETH is a withdrawal to the sender itself with 100,000 gas
    receipt = Sender(l2, BOB).send({"to": passer.address, "value": 5})
    (plain,) = passer.withdrawals(receipt)
    assert (plain.sender, plain.target, plain.value, plain.gas_limit, plain.data) == \
        (bytes.fromhex(BOB.address[2:]), bytes.fromhex(BOB.address[2:]), 5, 100_000, b"")
    # burn() removes the withdrawn ETH from L2
    held = l2.eth.get_balance(passer.address)
    assert held >= 10**16 + 5
    burner = create_address(passer.address, l2.eth.get_transaction_count(passer.address))
    receipt = passer.with_sender(BOB)._send(passer.contract.functions.burn())
    (burnt,) = passer.events("WithdrawerBalanceBurnt", receipt)
    assert burnt["args"]["amount"] == held
    assert l2.eth.get_balance(passer.address) == 0
    assert l2.eth.get_balance(burner) == 0 and l2.eth.get_code(burner) == b""
