"""Three staked sequencers rotating on one chain: real anvil L1, real ``hyperion node`` processes.

The devnet (``hyperion.sequencer.devnet``) locks stakes of 50, 30 and 20 ETH
in SequencerStaking, authorizes the stakers at the batch inbox and starts
three sequencer nodes (each the others' ``--peer``) and a follower that
derives from L1 alone. Who built a block is its coinbase (each sequencer's
staking address).

- The nodes follow the schedule and agree on it: every node reports the
  order it computed for each epoch, the test computes it again from L1, and
  the builders of the follower's safe blocks are the ones that order gives.
  (That the schedule itself follows the stake weights is shown over 6000
  epochs by tests/sequencer/test_schedule.py.)
- A transaction sent to any member is passed on to the others and included
  by whoever builds.
- kill -9 of the sequencer building now: a backup builds the next block
  after T (within T plus the feed's latency), no block that was safe is lost
  or changed, and the killed node, restarted on its data dir, imports the
  others' blocks and later builds blocks of its own again.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.rollup.devnet import DevnetOptions, anvil_binary, rpc
from hyperion.sequencer.devnet import SequencerSetDevnet, SequencerSetOptions
from hyperion.sequencer.schedule import ScheduleParams
from hyperion.sequencer.staking import SequencerStakingClient, epoch_order_from_l1
from tests.rollup.e2e.conftest import BASE_OPTIONS, wait_until

pytestmark = pytest.mark.e2e

EPOCH_LENGTH = 4
TAKEOVER = 4
EPOCHS_OBSERVED = 12
GWEI = 10**9
FEED_SLACK = 4.0  # seconds a loaded machine may add between building a block and a peer importing it


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    options = DevnetOptions(workdir=tmp_path_factory.mktemp("seqset"), **dict(BASE_OPTIONS, challenge=False))
    devnet = SequencerSetDevnet(options, SequencerSetOptions(sequencers=3, epoch_length=EPOCH_LENGTH,
                                                             takeover_seconds=TAKEOVER))
    devnet.start()
    try:
        yield devnet
    finally:
        devnet.stop()


def _status(url: str) -> dict:
    return rpc(url, "optimism_syncStatus")


def _head(url: str) -> int:
    return _status(url)["unsafe_l2"]["number"]


def _safe(url: str) -> int:
    return _status(url)["safe_l2"]["number"]


def _block(url: str, number) -> dict:
    return rpc(url, "eth_getBlockByNumber", number if isinstance(number, str) else hex(number), False)


def _builder(url: str, number) -> bytes:
    return bytes.fromhex(_block(url, number)["miner"][2:])


def _safe_receipt(url: str, tx_hash: str):
    receipt = rpc(url, "eth_getTransactionReceipt", tx_hash)
    return receipt if receipt is not None and int(receipt["blockNumber"], 16) <= _safe(url) else None


def _orders_from_l1(net, epochs) -> dict[int, tuple[bytes, ...]]:
    client = SequencerStakingClient(Web3(Web3.HTTPProvider(net.l1_url)), net.staking)
    params = ScheduleParams(EPOCH_LENGTH, net.set_options.seed_lookback, TAKEOVER)
    config = net.config
    return {e: epoch_order_from_l1(client, params, e, config.genesis_timestamp, config.block_time)[1] for e in epochs}


def test_three_sequencers_follow_the_schedule_every_node_computes_alike(net):
    urls = [node.url for node in net.sequencers]
    follower = net.follower.url
    first_epoch = max(_head(url) for url in urls) // EPOCH_LENGTH + 2  # all three are running from here on
    last_epoch = first_epoch + EPOCHS_OBSERVED - 1
    last_block = (last_epoch + 1) * EPOCH_LENGTH - 1
    reported: list[dict[int, tuple]] = [{} for _ in urls]

    def collect() -> bool:
        for seen, url in zip(reported, urls):
            for epoch, order in _status(url)["hyperion"]["leadership"]["epochs"].items():
                seen[int(epoch)] = tuple(bytes.fromhex(a[2:]) for a in order)
        return _safe(follower) >= last_block

    wait_until(collect, EPOCHS_OBSERVED * EPOCH_LENGTH * 3 + 120, f"L2 block {last_block} safe on the follower",
               interval=2.0)
    expected = _orders_from_l1(net, range(first_epoch, last_epoch + 1))
    names = {net.sequencer_address(i): i for i in range(3)}
    members = set(names)
    for epoch, order in expected.items():  # a node computes an epoch's order when it asks whether to build in it
        assert set(order) == members
        for position, seen in enumerate(reported):
            assert seen.get(epoch, order) == order, f"sequencer {position} computed another order for epoch {epoch}"
    for position, seen in enumerate(reported):
        assert len(set(seen) & set(expected)) >= len(expected) // 2, f"sequencer {position} computed few epochs"

    # who built each safe block: the epoch's scheduled sequencer, or (after a takeover) the one whose turn came
    on_schedule = takeovers = 0
    scheduled_blocks: dict[bytes, int] = {}
    built_blocks: dict[bytes, int] = {}
    previous = None
    for number in range(first_epoch * EPOCH_LENGTH, last_block + 1):
        order = expected[number // EPOCH_LENGTH]
        builder = _builder(follower, number)
        assert builder in order, f"block {number} was built by 0x{builder.hex()}, not a member of the set"
        assert reported[names[builder]].get(number // EPOCH_LENGTH) == order  # it built by the order of L1
        base = order[0] if number % EPOCH_LENGTH == 0 else previous
        if builder == base:
            on_schedule += 1
        else:
            takeovers += 1
        scheduled_blocks[order[0]] = scheduled_blocks.get(order[0], 0) + 1
        built_blocks[builder] = built_blocks.get(builder, 0) + 1
        previous = builder
    total = on_schedule + takeovers
    print(f"\n{total} blocks over {EPOCHS_OBSERVED} epochs: {on_schedule} by the sequencer whose turn it was, "
          f"{takeovers} takeovers; scheduled {sorted(scheduled_blocks.values())}, "
          f"built {sorted(built_blocks.values())}")
    assert takeovers <= total // 10, f"{takeovers} of {total} blocks were not built by the sequencer whose turn it was"
    assert len(scheduled_blocks) >= 2  # the set really rotates (12 epochs all to one of 50/30/20: p < 0.001)

    # and every node holds the very same chain
    for url in urls:
        for number in range(first_epoch * EPOCH_LENGTH, last_block + 1, 5):
            assert _block(url, number)["hash"] == _block(follower, number)["hash"], f"block {number} differs at {url}"

    # a transaction sent to any member is passed on to the others: whoever builds next includes it
    sent = []
    for position, (url, key_index) in enumerate(zip(urls, (8, 9, 3))):
        account = Account.from_key(net.key(key_index))
        nonce = int(rpc(url, "eth_getTransactionCount", account.address, "pending"), 16)
        tx = {"type": 2, "chainId": net.options.l2_chain_id, "nonce": nonce, "to": Account.create().address,
              "value": 1, "gas": 21000, "maxFeePerGas": 10 * GWEI, "maxPriorityFeePerGas": GWEI}
        sent.append((position, rpc(url, "eth_sendRawTransaction",
                                   "0x" + account.sign_transaction(tx).raw_transaction.hex())))
    included_elsewhere = 0
    for position, tx_hash in sent:
        receipt = wait_until(lambda: _safe_receipt(follower, tx_hash), 120, f"tx {tx_hash} safe on the follower")
        builder = _builder(follower, int(receipt["blockNumber"], 16))
        included_elsewhere += builder != net.sequencer_address(position)
    assert included_elsewhere >= 1  # without sharing only the receiving member could ever include its tx


def test_kill_9_of_the_active_sequencer_backup_takes_over_and_the_killed_one_rejoins(net):
    follower = net.follower.url
    names = {net.sequencer_address(i): i for i in range(3)}
    # what is safe now must not move (read first: one request per block, seconds on a loaded machine, and the
    # kill below must come within the epoch it aims at)
    safe_before = _safe(follower)
    safe_hashes = {n: _block(follower, n)["hash"] for n in range(1, safe_before + 1)}
    # kill the one that built an epoch's first block, at once: the next blocks of the epoch are its own

    def epoch_just_started():
        head = max(_head(node.url) for node in net.sequencers)
        return head if head % EPOCH_LENGTH == 0 else None

    head = wait_until(epoch_just_started, 60, "the first block of an epoch", interval=0.05)
    holder = next(node.url for node in net.sequencers if _head(node.url) >= head)
    victim_index = names[_builder(holder, head)]
    victim = net.sequencers[victim_index]
    victim_address = net.sequencer_address(victim_index)
    live = [node.url for node in net.sequencers if node is not victim]
    victim.kill()
    killed_at = time.time()
    last = max(_head(url) for url in live)

    # the backup takes over: the next block appears at a live node within T of its slot (or of the kill)
    def next_block():
        for url in live:
            if _head(url) > last:
                return time.time(), url
        return None

    arrived, url = wait_until(next_block, TAKEOVER + 60, f"a block after {last} from the live sequencers", 0.1)
    slot = net.config.timestamp_of(last + 1)
    gap = arrived - max(slot, killed_at)
    builder = _builder(url, last + 1)
    assert (last + 1) % EPOCH_LENGTH != 0, "the kill came too late in the epoch to need a takeover"
    print(f"\nkilled sequencer {victim_index} at L2 block {last}: block {last + 1} by sequencer {names[builder]} "
          f"{gap:.2f}s after its slot/the kill (T = {TAKEOVER}s)")
    assert builder != victim_address
    assert TAKEOVER - 1 <= gap <= TAKEOVER + FEED_SLACK, f"fail-over took {gap:.1f}s (T = {TAKEOVER}s)"

    # the live ones go on, their blocks become safe, and nothing that was safe moved
    target = last + 4 * EPOCH_LENGTH
    wait_until(lambda: _safe(follower) >= target, 180, f"L2 block {target} safe on the follower", 1.0)
    for url in [follower, *live]:
        for number, block_hash in safe_hashes.items():
            assert _block(url, number)["hash"] == block_hash, f"safe block {number} changed at {url}"

    # the killed node comes back on its data dir: it follows the others, then builds again in its turn
    victim.start(timeout=180)
    rejoined_head = max(_head(url) for url in live)

    def caught_up() -> bool:
        mine = _block(victim.url, rejoined_head)
        return mine is not None and mine["hash"] == _block(live[0], rejoined_head)["hash"]

    wait_until(caught_up, 120, "the restarted sequencer to import the others' blocks", 0.5)

    def own_block_after_rejoining():
        for number in range(rejoined_head + 1, _safe(follower) + 1):
            if _builder(follower, number) == victim_address:
                return number
        return None

    own = wait_until(own_block_after_rejoining, 240, "a safe block built by the restarted sequencer", 1.0)
    print(f"the restarted sequencer {victim_index} built safe block {own} (rejoined at {rejoined_head})")
    assert _block(victim.url, own)["hash"] == _block(follower, own)["hash"]
