"""``hyperion init`` / ``hyperion import``, then ``hyperion node --data-dir`` serving the imported chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hyperion.chain.chainfile import ChainFileError, read_blocks
from hyperion.chain.genesis import Genesis
from hyperion.chain.node import genesis_hash_of, stored_genesis

from tests.chain.block_factory import build_chain, dev_config, genesis_document
from tests.e2e.harness import NodeProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
RPC_COMPAT = REPO_ROOT.parent / "shared" / "fixtures" / "rpc-compat"


def hyperion(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperion", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A genesis file and a 12-block chain file built by the node's block builder from it."""
    folder = tmp_path_factory.mktemp("built")
    config = dev_config()
    document = genesis_document(config)
    genesis_path = folder / "genesis.json"
    genesis_path.write_text(json.dumps(document))
    raws = build_chain(config, 12, Genesis.from_dict(document))
    chain_path = folder / "chain.rlp"
    chain_path.write_bytes(b"".join(raws))
    return genesis_path, chain_path, raws


def test_init_then_import_then_serve(built, tmp_path):
    genesis_path, chain_path, raws = built
    data_dir = tmp_path / "chain"
    init = hyperion("init", "--genesis", str(genesis_path), "--data-dir", str(data_dir))
    assert init.returncode == 0, init.stderr
    expected_genesis = genesis_hash_of(Genesis.from_file(genesis_path))
    assert f"genesis 0x{expected_genesis.hex()}" in init.stdout
    assert hyperion("init", "--genesis", str(genesis_path), "--data-dir", str(data_dir)).returncode == 0

    first = hyperion("import", "--data-dir", str(data_dir), str(chain_path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("imported 12 blocks; head 12 ")
    assert first.stderr == ""  # no progress lines when stderr is not a terminal
    again = hyperion("import", "--data-dir", str(data_dir), str(chain_path))
    assert again.returncode == 0 and "imported 0 blocks (12 already present)" in again.stdout

    node = NodeProcess("--data-dir", str(data_dir)).start()
    try:
        from hyperion.chain.blocks import decode_block

        head = decode_block(raws[-1])
        assert node.rpc("eth_blockNumber") == "0xc"
        assert node.rpc("eth_chainId") == hex(4711)
        assert node.rpc("eth_getBlockByNumber", "0x0", False)["hash"] == "0x" + expected_genesis.hex()
        assert node.rpc("eth_getBlockByNumber", "latest", False)["hash"] == "0x" + head.hash.hex()
        assert "Available Accounts" in "\n".join(node.banner)
        assert not any("10000 ETH" in line for line in node.banner)  # no dev accounts on an imported chain
        assert node.rpc("eth_accounts") == []
    finally:
        assert node.stop() == 0
    assert stored_genesis(data_dir).chain_id == 4711


def test_import_stops_at_the_first_invalid_block_and_keeps_the_rest(built, tmp_path):
    genesis_path, _chain_path, raws = built
    data_dir = tmp_path / "chain"
    assert hyperion("init", "--genesis", str(genesis_path), "--data-dir", str(data_dir)).returncode == 0
    broken = tmp_path / "broken.rlp"
    fourth = bytearray(raws[3])
    fourth[-40] ^= 0xFF  # inside the last transaction or withdrawal: a different block
    broken.write_bytes(b"".join(raws[:3]) + bytes(fourth) + b"".join(raws[4:]))
    result = hyperion("import", "--data-dir", str(data_dir), str(broken))
    assert result.returncode == 1
    assert result.stdout.startswith("imported 3 blocks; head 3 ")
    assert "hyperion import: error:" in result.stderr and "block 4" in result.stderr
    assert "Traceback" not in result.stderr
    resumed = hyperion("import", "--data-dir", str(data_dir), str(built[1]))
    assert resumed.returncode == 0 and "imported 9 blocks (3 already present)" in resumed.stdout


@pytest.mark.parametrize("content, message", [
    (b"\x01\x02\x03", "expected an RLP list"),
    (b"\xf9\xff\xff" + b"\x00" * 10, "truncated"),
    (b"\xc3\x01\x02\x03", "RLP_STRUCTURES_ENCODING"),
])
def test_bad_chain_files_are_one_line_errors(built, tmp_path, content, message):
    genesis_path = built[0]
    data_dir = tmp_path / "chain"
    assert hyperion("init", "--genesis", str(genesis_path), "--data-dir", str(data_dir)).returncode == 0
    bad = tmp_path / "bad.rlp"
    bad.write_bytes(content)
    result = hyperion("import", "--data-dir", str(data_dir), str(bad))
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_oversized_and_truncated_blocks_are_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.rlp"
    huge.write_bytes(b"\xfc" + (2**39).to_bytes(5, "big") + b"\x00")  # claims 512 GiB
    with pytest.raises(ChainFileError, match="truncated"):
        list(read_blocks(huge))
    big = tmp_path / "big.rlp"
    big.write_bytes(b"\xf9\x08\x00" + b"\x00" * 2048)
    with pytest.raises(ChainFileError, match="more than the 1000 allowed"):
        list(read_blocks(big, max_block_bytes=1000))
    assert [raw for _offset, raw in read_blocks(big)] == [big.read_bytes()]


def test_init_and_import_usage_errors(built, tmp_path):
    genesis_path = built[0]
    bad_genesis = tmp_path / "bad.json"
    bad_genesis.write_text('{"config": {"chainId": "many"}}')
    result = hyperion("init", "--genesis", str(bad_genesis), "--data-dir", str(tmp_path / "a"))
    assert result.returncode == 2 and "chainId" in result.stderr and "Traceback" not in result.stderr
    missing = hyperion("import", "--data-dir", str(tmp_path / "empty"), str(built[1]))
    assert missing.returncode == 1 and "hyperion init" in missing.stderr
    data_dir = tmp_path / "chain"
    assert hyperion("init", "--genesis", str(genesis_path), "--data-dir", str(data_dir)).returncode == 0
    other = tmp_path / "other.json"
    document = json.loads(genesis_path.read_text())
    document["extraData"] = "0x01"
    other.write_text(json.dumps(document))
    refused = hyperion("init", "--genesis", str(other), "--data-dir", str(data_dir))
    assert refused.returncode == 1 and "already holds" in refused.stderr


@pytest.mark.skipif(not (RPC_COMPAT / "genesis.json").is_file(), reason="rpc-compat fixtures not found")
def test_rpc_compat_genesis_is_the_parent_of_its_chain(tmp_path):
    data_dir = tmp_path / "chain"
    result = hyperion("init", "--genesis", str(RPC_COMPAT / "genesis.json"), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    _offset, first = next(read_blocks(RPC_COMPAT / "chain.rlp"))
    from hyperion.chain.blocks import decode_block

    parent = decode_block(first).header.parent_hash
    assert f"genesis 0x{parent.hex()}" in result.stdout
    assert parent.hex().startswith("44fd")
    imported = hyperion("import", "--data-dir", str(data_dir), str(RPC_COMPAT / "chain.rlp"))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported 54 blocks; head 54 ")
