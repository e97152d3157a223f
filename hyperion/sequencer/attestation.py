"""The staked set settles output disputes: the StakeResolver contract from Python, and the attestor.

When a dispute in the OutputOracle has bisected to one L2 block, each staked
sequencer's attestor compares the proposer's and the challenger's output
roots for that block with the root of its own node's *safe* chain (derived
from L1 alone, so executed by that node) and attests, with its staking key,
whether the proposer is right. The StakeResolver settles the dispute once
attestors holding 2/3 of the stake (as it was before the output was
proposed) agree, and slashes the loser. ``hyperion sequencer attest`` runs
an attestor beside a node.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from eth_abi import encode as abi_encode
from eth_account import Account
from web3 import Web3

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.clients import AWAITING_RESOLUTION, OutputOracleClient
from hyperion.rollup.l1.transact import ContractReverted
from hyperion.sequencer.staking import ContractClient, deploy_contract

log = logging.getLogger("hyperion.sequencer.attestation")

_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_ATTESTATION_TYPEHASH = keccak256(b"Attestation(uint256 disputeId,uint256 l2BlockNumber,bytes32 agreedRoot,"
                                  b"bytes32 proposerRoot,bytes32 challengerRoot,bool proposerWins)")
_NAME_HASH = keccak256(b"Hyperion StakeResolver")
_VERSION_HASH = keccak256(b"1")


@dataclass(frozen=True)
class FinalStep:
    """The single-block question of a dispute: is ``proposer_root`` the output root of ``l2_block``?"""

    dispute_id: int
    l2_block: int
    agreed_root: bytes
    proposer_root: bytes
    challenger_root: bytes


def attestation_digest(l1_chain_id: int, resolver: str, step: FinalStep, proposer_wins: bool) -> bytes:
    """The EIP-712 digest a sequencer signs to attest ``proposer_wins`` on ``step`` (StakeResolver's own)."""
    domain = keccak256(abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                                  [_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, l1_chain_id, resolver]))
    attestation = keccak256(abi_encode(
        ["bytes32", "uint256", "uint256", "bytes32", "bytes32", "bytes32", "bool"],
        [_ATTESTATION_TYPEHASH, step.dispute_id, step.l2_block, step.agreed_root, step.proposer_root,
         step.challenger_root, proposer_wins]))
    return keccak256(b"\x19\x01" + domain + attestation)


def deploy_stake_resolver(w3: Web3, deployer: Any, owner: str, oracle: str, staking: str, slash_amount: int) -> str:
    """Deploy a StakeResolver; the oracle's owner still has to setResolver it, staking's owner setSlasher it."""
    return deploy_contract(w3, deployer, "StakeResolver", Web3.to_checksum_address(owner),
                           Web3.to_checksum_address(oracle), Web3.to_checksum_address(staking), slash_amount)


class StakeResolverClient(ContractClient):
    """StakeResolver from one account."""

    ARTIFACT = "StakeResolver"

    def oracle(self) -> OutputOracleClient:
        return OutputOracleClient(self.w3, self.view("oracle"))

    def final_step(self, dispute_id: int) -> FinalStep:
        """Reverts (ContractReverted) unless the dispute awaits resolution."""
        return FinalStep(dispute_id, *self.oracle().final_step(dispute_id))

    def tally(self, dispute_id: int, proposer_wins: bool) -> tuple[int, int]:
        """(stake behind the verdict now, the snapshot's total active stake)."""
        behind, total = self.view("tally", dispute_id, proposer_wins)
        return behind, total

    def weight_of(self, dispute_id: int, attestor: str) -> int:
        return self.view("weightOf", dispute_id, Web3.to_checksum_address(attestor))

    def has_attested(self, dispute_id: int, attestor: str) -> bool:
        return self.view("hasAttested", dispute_id, Web3.to_checksum_address(attestor))

    def sign(self, private_key: Any, step: FinalStep, proposer_wins: bool) -> tuple[str, bytes]:
        """(signer, 65-byte r ‖ s ‖ v signature) of an attestation, made off-chain."""
        account = Account.from_key(private_key)
        digest = attestation_digest(self.w3.eth.chain_id, self.address, step, proposer_wins)
        return account.address, account.unsafe_sign_hash(digest).signature

    def vote(self, dispute_id: int, proposer_wins: bool) -> Any:
        return self._send(self.contract.functions.vote(dispute_id, proposer_wins))

    def attest_with_signatures(self, dispute_id: int, proposer_wins: bool,
                               signatures: list[tuple[str, bytes]]) -> Any:
        """Submit signed attestations (any order: sorted by signer here, as the contract wants)."""
        ordered = [signature for _, signature in sorted(signatures, key=lambda item: int(item[0], 16))]
        return self._send(self.contract.functions.attestWithSignatures(dispute_id, proposer_wins, ordered))



# -- the attestor ---------------------------------------------------------------------------------------

# ``own_root(l2_block)``: this sequencer's output root of a block of its safe chain, None while it has not
# derived that block from L1 yet
OwnRoot = Callable[[int], Optional[bytes]]


def node_output_root(rpc: Callable[..., Any]) -> OwnRoot:
    """``own_root`` read from one's own node over JSON-RPC: only blocks the node holds as safe."""

    def own_root(l2_block: int) -> Optional[bytes]:
        if rpc("optimism_syncStatus")["safe_l2"]["number"] < l2_block:
            return None
        return bytes.fromhex(rpc("optimism_outputAtBlock", hex(l2_block))["outputRoot"][2:])

    return own_root


class Attestor:
    """Attests on every dispute that reaches its single block, once, by the node's own safe chain."""

    def __init__(self, resolver: StakeResolverClient, own_root: OwnRoot) -> None:
        if resolver.sender is None:
            raise ValueError("the attestor needs the sequencer's staking key")
        self.resolver = resolver
        self.own_root = own_root
        self.address = resolver.sender.address
        self._done: set[int] = set()     # disputes this attestor is finished with

    def verdict(self, step: FinalStep) -> Optional[bool]:
        """True when the proposer's root is this node's own, False when it is not; None: not derived yet."""
        own = self.own_root(step.l2_block)
        if own is None:
            return None
        if own != step.proposer_root and own != step.challenger_root:
            log.warning("dispute %d: neither party's root for L2 block %d is ours (0x%s): the proposer's is wrong",
                        step.dispute_id, step.l2_block, own.hex())
        return own == step.proposer_root

    def tick(self) -> None:
        """Look at every dispute not yet finished with; attest on those awaiting resolution."""
        oracle = self.resolver.oracle()
        for dispute_id in range(1, oracle.dispute_count() + 1):
            if dispute_id in self._done:
                continue
            dispute = oracle.get_dispute(dispute_id)
            if not dispute.is_open:
                self._done.add(dispute_id)
                continue
            if dispute.status != AWAITING_RESOLUTION or dispute.proposer == "0x" + "00" * 20:
                continue
            if self.resolver.has_attested(dispute_id, self.address):
                self._done.add(dispute_id)
                continue
            if self.resolver.weight_of(dispute_id, self.address) == 0:
                log.info("dispute %d: this key had no active stake before the output was proposed: not attesting",
                         dispute_id)
                self._done.add(dispute_id)
                continue
            step = self.resolver.final_step(dispute_id)
            proposer_wins = self.verdict(step)
            if proposer_wins is None:
                continue  # attest once this node has derived the block from L1
            try:
                self.resolver.vote(dispute_id, proposer_wins)
            except ContractReverted as exc:  # e.g. settled by an earlier attestation meanwhile
                log.warning("dispute %d: attestation refused: %s", dispute_id, exc)
                continue
            self._done.add(dispute_id)
            if oracle.get_dispute(dispute_id).status == AWAITING_RESOLUTION:
                behind, total = self.resolver.tally(dispute_id, proposer_wins)
                outcome = f"{behind} of {total} wei of stake so far"
            else:
                outcome = "this attestation settled it"
            log.info("dispute %d at L2 block %d: attested that the %s is right (%s)", dispute_id, step.l2_block,
                     "proposer" if proposer_wins else "challenger", outcome)

    def run(self, interval: float, stop: Callable[[], bool]) -> None:
        while not stop():
            try:
                self.tick()
            except (ContractReverted, OSError, RuntimeError, ValueError) as exc:  # an L1 or node hiccup: next round
                log.warning("attestor: %s", exc)
            time.sleep(interval)
