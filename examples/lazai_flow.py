#!/usr/bin/env python3
"""LazAI on Hyperion, end to end: contribute data -> verify -> DAT -> usage -> revenue to DAT holders and stakers.

Run against a dev node started with LazAI's chain id:

    hyperion node --chain-id 133718            # in one terminal
    python examples/lazai_flow.py              # in another

or let the script start a throwaway node itself:

    python examples/lazai_flow.py --start-node

It uses the node's dev accounts: 0 admin, 1 data contributor, 2 verifier
(admitted by an iDAO vote), 3 AI platform (DAT operator paying for usage),
4 and 5 METIS stakers. Every step goes through ``hyperion.sdk``; the script
needs only the installed ``hyperion`` package (``pip install .``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

from hyperion.chain.genesis import ChainConfig
from hyperion.predeploys import plan as G
from hyperion.sdk import connect

ETHER = 10**18
ROLES = ["admin", "contributor", "verifier", "ai-platform", "staker-a", "staker-b"]  # verifier also runs inference


def metis(wei: int) -> str:
    return f"{wei / ETHER:,.6f}"


def step(text: str) -> None:
    print(f"\n== {text}")


def start_node(timeout: float = 120.0) -> tuple[subprocess.Popen, str]:
    """A throwaway in-memory ``hyperion node`` on a free port; returns (process, URL)."""
    command = [sys.executable, "-m", "hyperion", "node", "--in-memory", "--port", "0", "--silent",
               "--chain-id", str(G.LAZAI_CHAIN_ID), "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"Listening on ([\d.]+):(\d+)", line)
        if found:
            url = f"http://{found.group(1)}:{found.group(2)}"
            print(f"started hyperion node at {url}")
            return process, url
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"hyperion node did not start (exit status {process.wait()})")


def run(rpc_url: str) -> None:
    keys = ["0x" + key.hex() for _address, key in ChainConfig().dev_accounts()[:6]]
    admin, contributor, verifier, platform, staker_a, staker_b = (connect(rpc_url, key) for key in keys)
    everyone = dict(zip(ROLES, (admin, contributor, verifier, platform, staker_a, staker_b)))
    start = {role: user.client.balance() for role, user in everyone.items()}
    vault_start = admin.client.balance("0x" + G.FEE_VAULT_ADDRESS.hex())
    print(f"chain id {admin.client.w3.eth.chain_id}, block {admin.client.w3.eth.block_number}")

    step("Holders Mining: two METIS holders stake")
    staker_a.staking.stake(10 * ETHER)
    staker_b.staking.stake(30 * ETHER)
    print("staker-a 10 METIS, staker-b 30 METIS")

    step("iDAO: the contributor's iDAO votes a bonded verifier node in, under the protocol's floors")
    floor = contributor.governance.param("verifiers.minIDAOStake")
    bond = contributor.governance.param("verifiers.minBond")
    idao_id = contributor.idao.register("open-health-data", "ipfs://idao/open-health", quorum_bps=5_000,
                                        voting_period=30, stake=floor)
    verifier.staking.stake(bond)
    verifier.staking.bond(bond)
    contributor.client.increase_time(1)  # votes count stake from the end of its block
    proposal = contributor.idao.propose_admit_verifier(idao_id, verifier.client.address, "https://tee.verifier.dev")
    contributor.idao.vote(proposal, True)
    contributor.idao.finish(proposal)  # dev node: past the (floor) voting period and the timelock, then execute
    print(f"iDAO {idao_id} ({metis(floor)} METIS staked), proposal {proposal} {contributor.idao.state(proposal)}; "
          f"verifier with a {metis(bond)} METIS bond registered: {contributor.data.is_verifier(verifier.client.address)}")

    step("Contribute data: add the file, grant the verifier its key, pay for a proof")
    node_fee = admin.client.contract("VerifiedComputing").functions.nodeFee().call()
    url = f"ipfs://bafy-example-dataset-{admin.client.w3.eth.block_number}"
    file_id = contributor.data.add_file(url, "sha256:5e2d...")
    contributor.data.grant_permission(file_id, verifier.client.address, "rsa-encrypted-file-key")
    job_id = contributor.data.request_proof(file_id)
    print(f"file {file_id} -> proof job {job_id} for node {contributor.data.job(job_id)['node']}, "
          f"fee {metis(node_fee)} METIS (a staker-governed parameter)")

    step("Verify: the verifier completes the job and adds its signed proof")
    verifier.data.complete_job(job_id)
    verifier.data.add_proof(file_id, score=80, file_url=url, proof_url="ipfs://proof/tee-report")
    print("proof 1 recorded; signer checked against VerifiedComputing nodes")

    step("DAT: after the proof's dispute window, the contributor requests the reward")
    contributor.client.increase_time(contributor.governance.param("verifiers.disputeWindow") + 1)
    reward = contributor.data.request_reward(file_id)
    token = contributor.dat.token(reward.erc8028_token_id)
    print(f"DAT #{token.token_id} (ERC-8028 and, under the same id, ERC-1155) x{reward.amount}: "
          f"class {token.class_id}, quota {token.value}, shareRatio {token.share_ratio}")

    step("Usage: the AI platform, approved for the class, meters usage and pays for it")
    contributor.dat.approve_for_class(token.class_id, platform.client.address)
    platform.dat.record_usage(token.token_id, "inference_calls", 25)
    platform.dat.settle_eth(token.class_id, ETHER // 2)
    print(f"25 inference calls recorded (quota left {contributor.dat.token(token.token_id).value}); "
          f"0.5 METIS settled into class {token.class_id}")

    step("Compute: the AI platform pays an inference node through Settlement")
    admin.settlement.add_node("inference", verifier.client.address, "https://inference.node.dev")
    platform.settlement.add_user(ETHER)
    platform.settlement.fund_node("inference", verifier.client.address, ETHER // 2)
    nonce = 1
    signature = platform.settlement.sign_request(nonce, verifier.client.address)
    verifier.settlement.collect_fee("inference", "job-42", platform.client.address, ETHER // 5, nonce, signature)
    verifier.settlement.claim_node_earnings("inference")
    print(f"inference node collected 0.2 METIS; the platform has {metis(platform.settlement.user().total)} METIS "
          f"left in Settlement")

    step("Revenue: the DAT holder claims")
    pending = contributor.dat.pending_revenue(token.token_id)
    claimed = contributor.dat.claim(token.token_id)
    print(f"contributor claimed {metis(claimed)} METIS (pending was {metis(pending)}; other holders of the class "
          f"keep their share)")

    step("Revenue: stakers share base fees and the protocol's cut of compute and verification fees")
    staker_a.staking.wait_for_epoch()
    staker_a.staking.checkpoint()
    state = staker_a.staking.state()
    print("vault revenue by stream:", json.dumps({k: metis(v) for k, v in state.revenue_by_stream.items()}))
    paid_a = staker_a.staking.claim()
    paid_b = staker_b.staking.claim()
    print(f"staker-a claimed {metis(paid_a)} METIS, staker-b claimed {metis(paid_b)} METIS (1:3 like their stakes)")
    verifier.data.claim_node_fees()

    step("Balances (METIS, change since the start; gas included)")
    for role, user in everyone.items():
        now = user.client.balance()
        print(f"  {role:<12} {metis(now):>22}   {'+' if now >= start[role] else ''}{metis(now - start[role])}")
    vault_now = admin.client.balance("0x" + G.FEE_VAULT_ADDRESS.hex())
    print(f"  {'fee vault':<12} {metis(vault_now):>22}   {'+' if vault_now >= vault_start else ''}"
          f"{metis(vault_now - vault_start)}  (the stakes plus undistributed revenue)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc-url", "--rpc", dest="rpc_url",
                        default=os.environ.get("HYPERION_RPC_URL", "http://127.0.0.1:8545"),
                        help="the node (default $HYPERION_RPC_URL or http://127.0.0.1:8545)")
    parser.add_argument("--start-node", action="store_true", help="start a throwaway in-memory node first")
    args = parser.parse_args(argv)
    if not args.start_node:
        run(args.rpc_url)
        return 0
    process, url = start_node()
    try:
        run(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
