from hyperion.rpc.formatting import format_block, format_header, format_receipt, format_transaction, nonce8
from tests.rpc.fake_chain import FakeChain
from tests.rpc.helpers import KEY_ADDRESS, RECIPIENT, fee_market_tx, legacy_tx, set_code_tx


def test_legacy_transaction_fields():
    tx = legacy_tx(nonce=3)
    out = format_transaction(tx, b"\x01" * 32, 5, 0, 1_000_000_000)
    assert out["type"] == "0x0" and out["nonce"] == "0x3"
    assert out["from"] == "0x" + KEY_ADDRESS.hex() and out["to"] == "0x" + RECIPIENT.hex()
    assert out["gasPrice"] == hex(2_000_000_000) and out["chainId"] == "0x539"
    assert out["v"] in (hex(1337 * 2 + 35), hex(1337 * 2 + 36))
    assert "yParity" not in out and "accessList" not in out and "maxFeePerGas" not in out
    assert out["blockNumber"] == "0x5" and out["transactionIndex"] == "0x0"


def test_pre_eip155_legacy_has_no_chain_id():
    out = format_transaction(legacy_tx(chain_id=None))
    assert "chainId" not in out and out["v"] in ("0x1b", "0x1c")
    assert out["blockHash"] is None and out["blockNumber"] is None and out["transactionIndex"] is None


def test_fee_market_transaction_fields():
    tx = fee_market_tx()
    pending = format_transaction(tx)
    assert pending["gasPrice"] == hex(3_000_000_000)  # max fee while pending
    mined = format_transaction(tx, b"\x01" * 32, 1, 0, 1_500_000_000)
    assert mined["gasPrice"] == hex(2_500_000_000)
    assert mined["yParity"] == mined["v"] and mined["yParity"] in ("0x0", "0x1")
    assert mined["accessList"] == [{"address": "0x" + RECIPIENT.hex(), "storageKeys": ["0x" + "00" * 32]}]
    assert mined["input"] == "0x0102" and mined["value"] == "0x7"
    assert "authorizationList" not in mined and "blobVersionedHashes" not in mined


def test_set_code_transaction_lists_authorizations():
    out = format_transaction(set_code_tx())
    assert out["type"] == "0x4"
    auth = out["authorizationList"][0]
    assert auth["address"] == "0x" + "55" * 20 and auth["nonce"] == "0x1" and auth["chainId"] == "0x539"
    assert set(auth) == {"chainId", "address", "nonce", "yParity", "r", "s"}


def test_block_has_geth_fields():
    chain = FakeChain()
    chain.send_raw_transaction(legacy_tx().encode())
    block = chain.head()
    out = format_block(block, False)
    for key in ("baseFeePerGas", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot", "requestsHash",
                "withdrawalsRoot", "mixHash", "sha3Uncles", "logsBloom", "size"):
        assert key in out
    assert out["withdrawals"] == [] and out["uncles"] == [] and "totalDifficulty" not in out
    assert out["transactions"] == ["0x" + block.transactions[0].hash.hex()]
    assert out["nonce"] == "0x0000000000000000" and out["number"] == "0x1"
    assert out["size"] == hex(len(block.encode()))
    assert "transactions" not in format_header(block)


def test_receipt_shape():
    chain = FakeChain()
    tx_hash = chain.send_raw_transaction(fee_market_tx().encode())
    out = format_receipt(chain.receipt(tx_hash), 1234)
    assert out["contractAddress"] is None and out["status"] == "0x1" and out["type"] == "0x2"
    assert out["logs"][0]["logIndex"] == "0x0" and out["logs"][0]["removed"] is False
    assert out["logs"][0]["blockTimestamp"] == hex(1234)
    assert "blobGasUsed" not in out


def test_nonce8():
    assert nonce8(b"\0" * 8) == "0x0000000000000000"
    assert nonce8(66) == "0x0000000000000042"
