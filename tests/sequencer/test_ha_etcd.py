"""A highly available sequencer (``--ha etcd://...``): three real etcd processes, a real anvil L1, real replicas.

Only etcd's leader replica sequences; every block it builds is committed to
etcd (a transaction conditioned on its leadership and on the committed head)
before anything publishes it; the other replicas apply the committed blocks.
Killing the leader's process (kill -9) moves sequencing to another replica,
and the survivors' unsafe chains have no gap and no fork.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from web3 import Web3

from hyperion.chain.blocks import Block, decode_block
from hyperion.cli import main as hyperion_main
from hyperion.rollup.config import L1BlockId
from hyperion.rollup.derivation import attributes
from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1client import L1Client
from hyperion.rollup.devnet import Devnet, DevnetOptions, NodeProcess, anvil_binary, free_port, rpc
from hyperion.sequencer.ha import (
    Both,
    Committed,
    EtcdCluster,
    EtcdLeadership,
    EtcdUnavailable,
    GroupLog,
    HAConfigError,
    parse_etcd_url,
)
from tests.rollup.e2e.conftest import BASE_OPTIONS, wait_until
from tests.rollup.test_engine import _config, _l1, _transfer

ETCD = shutil.which("etcd")
pytestmark = pytest.mark.skipif(ETCD is None, reason="etcd is not installed (Debian etcd-server; "
                                                     "scripts/setup-system.sh installs it)")


class EtcdProcesses:
    """Three etcd members on free 127.0.0.1 ports forming one cluster (temp data dirs)."""

    def __init__(self, workdir: Path, size: int = 3):
        self.workdir = workdir
        self.names = [f"etcd{i}" for i in range(size)]
        self.client_ports = [free_port() for _ in self.names]
        self.peer_ports = [free_port() for _ in self.names]
        self.processes: list[subprocess.Popen] = []

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.client_ports]

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(f"{h}:{p}" for h, p in self.endpoints)

    def start(self) -> None:
        cluster = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer_ports))
        for name, client, peer in zip(self.names, self.client_ports, self.peer_ports):
            # a loaded 2-core machine: a slower heartbeat and election timeout than etcd's LAN defaults
            command = [ETCD, "--name", name, "--data-dir", str(self.workdir / name),
                       "--listen-client-urls", f"http://127.0.0.1:{client}",
                       "--advertise-client-urls", f"http://127.0.0.1:{client}",
                       "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                       "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                       "--initial-cluster", cluster, "--initial-cluster-token", f"hyperion-test-{self.client_ports[0]}",
                       "--initial-cluster-state", "new", "--heartbeat-interval", "250", "--election-timeout", "2500",
                       "--logger", "zap", "--log-level", "warn"]
            with open(self.workdir / f"{name}.log", "ab") as log_file:
                self.processes.append(subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                                       start_new_session=True))
        cluster_client = EtcdCluster(self.endpoints)

        def has_leader():
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"etcd exited with {process.returncode} (logs in {self.workdir})")
            try:
                return cluster_client.call(lambda c: c.status()).get("leader")
            except EtcdUnavailable:
                return None

        wait_until(has_leader, 60, "the etcd cluster to elect a leader")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    cluster = EtcdProcesses(tmp_path_factory.mktemp("etcd"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# -- the commit rule, against the real etcd cluster ------------------------------------------------------------
def test_a_stale_leaders_commit_is_refused(etcd):
    log = GroupLog(EtcdCluster(etcd.endpoints), "commit-rule")
    a_lease, ttl = log.grant(1)  # etcd raises it to its minimum (1.5 election timeouts: 4 s here)
    a = f"a@{a_lease:x}".encode()
    assert log.campaign(a, a_lease) == a
    assert log.commit(a, None, 1, b"\x11" * 32, b"block one")
    assert not log.commit(a, None, 1, b"\x12" * 32, b"a second block one"), "the head is no longer empty"
    first = log.head()
    assert (first.number, first.hash) == (1, b"\x11" * 32)

    b_lease, _ = log.grant(ttl)
    b = f"b@{b_lease:x}".encode()
    assert log.campaign(b, b_lease) == a, "a leads while its lease lives"
    assert not log.commit(b, first, 2, b"\x22" * 32, b"b's block two"), "only the leader commits"
    log.keep_alive(b_lease)

    # a stops renewing its lease (a stalled or killed leader): etcd deletes its leader key after the TTL
    wait_until(lambda: log.keep_alive(b_lease) > 0 and log.leader() is None, 3 * ttl + 30, "a's lease to expire")
    assert log.campaign(b, b_lease) == b
    assert log.commit(b, first, 2, b"\x22" * 32, b"b's block two")
    assert not log.commit(a, first, 2, b"\x23" * 32, b"a's block two"), "a stale leader's commit is refused"
    assert not log.commit(b, first, 2, b"\x24" * 32, b"another block two"), "a commit on a stale head is refused"
    head = log.head()
    assert (head.number, head.hash) == (2, b"\x22" * 32)
    assert log.blocks(1, 5) == {1: b"block one", 2: b"b's block two"}
    log.resign(b, b_lease)
    assert log.leader() is None


async def tick(replica) -> None:
    """The driver asks to build, then one HA round (health, lease, campaign)."""
    await replica.may_build(replica.chain.head().number + 1, 0)
    await replica._round(None)


def build(replica, config, origin: int, nonce: int):
    """A block with one transfer on the replica's head, from L1 origin ``origin``."""
    chain = replica.chain
    chain.submit_transaction(_transfer(nonce))
    return chain.build_block(attributes(config, chain.head_ref(), _l1(origin), []), from_pool=True)


def _close(ha: dict, chains: dict) -> None:
    for replica in ha.values():
        if replica.lease is not None:
            replica.log.resign(replica.token, replica.lease)
    for chain in chains.values():
        chain.close()


def test_replicas_apply_the_committed_chain_refuse_a_forged_block_and_drop_uncommitted_ones(etcd):
    """Two in-process replicas (EtcdLeadership over RollupChain) on the real etcd cluster, driven step by step."""
    config = _config()

    async def scenario():
        chains = {m: RollupChain(config) for m in "ab"}
        ha = {m: EtcdLeadership(chains[m], etcd.url, "replication", m, rpc_url=f"http://{m}.invalid:1") for m in "ab"}
        try:
            a, b = ha["a"], ha["b"]

            await tick(a)
            assert a.is_leader() and not (await tick(b) or b.is_leader())
            assert b.chain.forward_url == "http://a.invalid:1" and a.chain.forward_url is None
            for origin in (6, 7):
                assert await a.may_build(a.chain.head().number + 1, 0)
                assert await a.built(build(a, config, origin, origin - 6))
            assert not await b.may_build(1, 0)
            assert await b.catch_up() and b.chain.head().hash == a.chain.head().hash == a.committed.hash
            assert b.stats["applied"] == 2

            # a committed block that block import refuses is not applied (and b does not count as caught up)
            good = build(a, config, 8, 2)
            forged = Block(dataclasses.replace(good.header, state_root=b"\x66" * 32), good.transactions, [],
                           good.withdrawals)
            assert a.log.commit(a.token, a.committed, 3, forged.hash, forged.encode())
            assert not await b.catch_up() and b.chain.head().number == 2
            a.chain.rollback_to(2)

            # a stale leader: its lease is gone (as after a stall longer than the TTL); its next commit is refused
            a.log.revoke(a.lease)
            stale = build(a, config, 8, 2)
            assert a.is_leader(), "a still believes it leads"
            assert not await a.built(stale) and not a.is_leader() and a.stats["refused"] == 1

            # b takes over from the committed head ... which holds the forged block 3: put the group back on 2
            a.log.etcd.call(lambda c: c.put(a.log.head_key, Committed(2, b.chain.head().hash).encode()))
            await tick(b)
            assert b.is_leader()
            assert await b.may_build(3, 0)
            assert await b.built(build(b, config, 9, 2))
            # a kept its uncommitted block 3 (a leader killed before its commit): it drops it for b's
            assert a.chain.head().number == 3 and a.chain.head().hash != b.chain.head().hash
            assert await a.catch_up() and a.chain.head().hash == b.chain.head().hash

            # the health check: a leader whose L1 does not answer resigns (the key is free at once), and so
            # does one whose driver loop stopped asking to build
            dead_l1 = L1Client(f"http://127.0.0.1:{free_port()}", timeout=1)
            try:
                assert "L1 unreachable" in await b.health(dead_l1)
                await b._round(dead_l1)
            finally:
                await dead_l1.close()
            assert not b.is_leader() and b.log.leader() is None and b.stats["resigned"] == 1
            await tick(a)
            assert a.is_leader()
            a.last_driver_call -= a.stall + 1
            assert "driver loop" in await a.health(None)
            await a._round(None)
            assert not a.is_leader() and a.log.leader() is None
        finally:
            _close(ha, chains)

    asyncio.run(scenario())


def test_when_l1_replaces_committed_blocks_the_group_continues_from_l1(etcd):
    """Derivation replaced a committed block (its sequencing window passed): L1 wins over etcd too."""
    config = _config()

    async def scenario():
        chains = {m: RollupChain(config) for m in "ab"}
        ha = {m: EtcdLeadership(chains[m], etcd.url, "l1-wins", m) for m in "ab"}
        try:
            a, b = ha["a"], ha["b"]

            await tick(a)
            for origin in (6, 7, 8):
                assert await a.may_build(a.chain.head().number + 1, 0)
                assert await a.built(build(a, config, origin, origin - 6))
            assert await b.catch_up() and b.chain.head().hash == a.committed.hash
            # on b, derivation replaces block 2 with the block L1 says (another origin) and marks it safe
            b.chain.rollback_to(1)
            derived = [build(b, config, 9, 1)]
            b.chain.mark_safe(2, L1BlockId(9, b"\x09" * 32))
            assert derived[0].hash != a.chain.block_by_number(2).hash
            assert await b.catch_up() and b.l1_overrides == a.committed, "b is caught up: L1's chain"
            await a._resign("test: hand over")
            await tick(b)
            assert b.is_leader()
            assert not await b.may_build(3, 0), "the group committed a block 3: b builds none until L1 decides it"
            derived.append(build(b, config, 10, 2))
            b.chain.mark_safe(3, L1BlockId(10, b"\x0a" * 32))
            assert await b.may_build(4, 0)
            assert await b.built(build(b, config, 11, 3))
            assert b.log.blocks(2, 3) == {2: derived[0].encode(), 3: derived[1].encode()}, "L1's blocks in etcd"
            # a still holds the replaced blocks 2, 3 (unsafe): it drops them and applies L1's and b's block 4
            assert await a.catch_up() and a.chain.head().hash == b.chain.head().hash
            assert [a.chain.block_by_number(n).hash for n in (2, 3)] == [d.hash for d in derived]
        finally:
            _close(ha, chains)

    asyncio.run(scenario())


def test_endpoints_fail_over_and_bad_settings_are_refused(etcd):
    dead = ("127.0.0.1", free_port())
    cluster = EtcdCluster([dead, *etcd.endpoints])
    assert cluster.call(lambda c: c.status())["version"].startswith("3.")
    with pytest.raises(EtcdUnavailable, match="no etcd endpoint answered"):
        EtcdCluster([dead], timeout=1).call(lambda c: c.status())
    assert parse_etcd_url("etcd://127.0.0.1:2379,localhost:2380") == (("127.0.0.1", 2379), ("localhost", 2380))
    for bad in ("http://127.0.0.1:2379", "etcd://127.0.0.1", "127.0.0.1:2379", "etcd://h:1,", "etcd://h:99999"):
        with pytest.raises(HAConfigError):
            parse_etcd_url(bad)
    with pytest.raises(HAConfigError):
        GroupLog(cluster, "a/b")


def test_the_ha_gate_composes_with_another_gate():
    class Gate:
        def __init__(self, answer):
            self.answer, self.asked = answer, 0

        async def may_build(self, number, timestamp):
            self.asked += 1
            return self.answer

        async def built(self, block):
            return self.answer

    async def check():
        yes, no = Gate(True), Gate(False)
        assert await Both(yes, yes).may_build(1, 0) and await Both(yes, yes).built(None)
        assert not await Both(yes, no).may_build(1, 0) and not await Both(no, yes).built(None)
        assert not await Both(no, yes).may_build(1, 0) and yes.asked == 3  # stops at the first no

    asyncio.run(check())


def test_bad_ha_options_are_usage_errors(capsys, tmp_path):
    base = ["node", "--rollup", str(tmp_path / "rollup.json"), "--l1-rpc-url", "http://127.0.0.1:1"]
    for extra, message in ((["--role", "sequencer", "--ha", "http://127.0.0.1:2379"], "only etcd://"),
                           (["--role", "sequencer", "--ha", "etcd://127.0.0.1"], "not host:port"),
                           (["--role", "follower", "--ha", "etcd://127.0.0.1:2379"], "--role sequencer"),
                           (["--role", "sequencer", "--ha-member", "x"], "need --ha")):
        assert hyperion_main(base + extra) == 2
        assert message in capsys.readouterr().err


# -- three replicas of one sequencer ----------------------------------------------------------------------------
GROUP = "e2e"
TTL = 4


def _replicas(net: Devnet, etcd_url: str) -> dict[str, NodeProcess]:
    template = net.make_sequencer()
    return {member: NodeProcess(f"replica-{member}", [*template.args, "--ha", etcd_url, "--ha-group", GROUP,
                                                       "--ha-member", member, "--ha-ttl", str(TTL)],
                                template.env, net.workdir, free_port())
            for member in ("a", "b", "c")}


def _start_all(nodes) -> None:
    errors = []

    def start(node):
        try:
            node.start(timeout=120)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _head(url: str) -> int:
    return int(rpc(url, "eth_blockNumber", timeout=10), 16)


def _chain(url: str, upto: int) -> list[dict]:
    return [rpc(url, "eth_getBlockByNumber", hex(n), False, timeout=10) for n in range(upto + 1)]


def _leader(log: GroupLog):
    token = log.leader()
    return token.decode().split("@")[0] if token else None


def test_killing_the_leader_moves_sequencing_without_a_gap_or_a_fork(etcd, tmp_path):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    net = Devnet(DevnetOptions(workdir=tmp_path, **dict(BASE_OPTIONS, follower=False, challenge=False)))
    log = GroupLog(EtcdCluster(etcd.endpoints), GROUP)
    replicas: dict[str, NodeProcess] = {}
    lost = None
    try:
        net.start_l1()
        net.deploy()
        replicas = _replicas(net, etcd.url)
        template = net.make_sequencer()
        lost = NodeProcess("replica-lost", [*template.args, "--ha", f"etcd://127.0.0.1:{free_port()}",
                                            "--ha-member", "lost"], template.env, tmp_path, free_port())
        _start_all([*replicas.values(), lost])

        wait_until(lambda: (log.head() or Committed(0, b"")).number >= 4, 120, "the group to commit 4 blocks")
        leader = wait_until(lambda: _leader(log), 30, "a leader")
        survivors = [m for m in replicas if m != leader]
        for member in survivors:
            wait_until(lambda: _head(replicas[member].url) >= 4, 60, f"replica {member} to apply 4 blocks")

        replicas[leader].kill()  # kill -9
        killed = time.monotonic()
        killed_at = log.head().number
        new_leader = wait_until(lambda: (m := _leader(log)) not in (None, leader) and m, 60,
                                "another replica to lead")
        assert new_leader in survivors
        wait_until(lambda: log.head().number > killed_at, 60, "the new leader's first block")
        print(f"fail-over: {time.monotonic() - killed:.1f}s from kill -9 to the next committed block "
              f"(lease TTL {TTL}s; new leader {new_leader})")
        target = killed_at + 6  # blocks keep coming after the fail-over
        wait_until(lambda: log.head().number >= target, 90, f"the group to commit block {target}")
        for member in survivors:
            wait_until(lambda: _head(replicas[member].url) >= target, 60, f"replica {member} to reach {target}")

        chains = {m: _chain(replicas[m].url, target) for m in survivors}
        first, second = (chains[m] for m in survivors)
        for number in range(target + 1):
            a, b = first[number], second[number]
            assert int(a["number"], 16) == number, f"block {number} missing"
            assert a["hash"] == b["hash"], f"the survivors fork at block {number}"
            if number:
                assert a["parentHash"] == first[number - 1]["hash"], f"block {number} does not extend {number - 1}"
        committed = log.blocks(target, target)
        assert "0x" + decode_block(committed[target]).hash.hex() == first[target]["hash"]

        # a transaction sent to the replica that does not lead is forwarded to the new leader and sequenced
        other = next(m for m in survivors if m != new_leader)
        sender = net.accounts[5]
        w3 = Web3(Web3.HTTPProvider(replicas[other].url, request_kwargs={"timeout": 30}))
        signed = w3.eth.account.sign_transaction(
            {"to": "0x" + "77" * 20, "value": 1, "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
             "nonce": w3.eth.get_transaction_count(Web3.to_checksum_address(sender[0])),
             "chainId": net.options.l2_chain_id},
            sender[1])
        assert log.leader_rpc() == replicas[new_leader].url
        wait_until(lambda: rpc(replicas[other].url, "optimism_syncStatus")["hyperion"]["ha"]["forward_to"]
                   == replicas[new_leader].url, 30, "the replica to forward to the new leader")
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        assert receipt["status"] == 1
        leaders_block = rpc(replicas[new_leader].url, "eth_getBlockByNumber", hex(receipt["blockNumber"]), False)
        assert leaders_block["hash"] == Web3.to_hex(receipt["blockHash"])
        assert Web3.to_hex(tx_hash) in leaders_block["transactions"]

        # batching moved too: the new leader posts the blocks after the kill, and they become safe unchanged
        new_url = replicas[new_leader].url
        wait_until(lambda: rpc(new_url, "optimism_syncStatus")["safe_l2"]["number"] >= killed_at + 2, 120,
                   f"L2 block {killed_at + 2} to be safe")
        for number in range(killed_at + 3):
            assert rpc(new_url, "eth_getBlockByNumber", hex(number), False)["hash"] == first[number]["hash"]

        # the killed replica comes back as a replica and ends on the same chain
        replicas[leader].start(timeout=120)
        head = log.head().number
        wait_until(lambda: _head(replicas[leader].url) >= head, 90, "the restarted replica to catch up")
        for number in range(head + 1):
            block = rpc(replicas[leader].url, "eth_getBlockByNumber", hex(number), False)
            expected = rpc(new_url, "eth_getBlockByNumber", hex(number), False)
            assert block["hash"] == expected["hash"], f"the restarted replica differs at block {number}"

        # a replica that cannot reach etcd stays up and never sequences
        status = rpc(lost.url, "optimism_syncStatus")["hyperion"]
        assert status["ha"]["elected"] == 0 and not status["ha"]["leading"]
        assert "HA: etcd unreachable, not leading" in lost.log_text()
        # a replica that never led never built a block nor posted a batch (only the leader's batcher posts)
        for node in [*replicas.values(), lost]:
            status = rpc(node.url, "optimism_syncStatus")["hyperion"]
            if status["ha"]["elected"] == 0:
                assert status["sequencer"]["blocks"] == 0 and status["batcher"]["posts"] == 0, node.name
    finally:
        for node in [*replicas.values(), lost]:
            if node is not None:
                node.stop()
        net.stop()
