"""The L1 SequencerStaking contract from Python: deploy it, read the staked set at an L1 block, sign blocks.

``block_digest`` computes here the EIP-712 digest the contract checks in
proveEquivocation, so a node signs its L2 blocks without asking L1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from eth_abi import encode as abi_encode
from eth_account import Account
from web3 import Web3

from hyperion.artifacts import load_artifact
from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.transact import ContractReverted, Sender, call
from hyperion.sequencer.schedule import ScheduleParams, Stake, epoch_order, seed_cutoff_time

_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_BLOCK_TYPEHASH = keccak256(b"SignedL2Block(uint256 l2ChainId,uint256 number,bytes32 blockHash)")
_NAME_HASH = keccak256(b"Hyperion SequencerStaking")
_VERSION_HASH = keccak256(b"1")


@dataclass(frozen=True)
class StakingConfig:
    """Constructor parameters; every one can be changed later by the owner."""

    owner: str
    l2_chain_id: int
    min_lock: int
    max_lock: int
    exit_delay: int                  # seconds
    reward_per_block: int            # wei per L2 block
    equivocation_slash_bps: int = 10_000
    reporter_share_bps: int = 1_000


def block_digest(l1_chain_id: int, staking_address: str, l2_chain_id: int, number: int,
                 block_hash: bytes) -> bytes:
    """The EIP-712 digest a sequencer signs over L2 block ``number`` with hash ``block_hash``."""
    if len(block_hash) != 32:
        raise ValueError("a block hash is 32 bytes")
    domain = keccak256(abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                                  [_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, l1_chain_id, staking_address]))
    signed = keccak256(abi_encode(["bytes32", "uint256", "uint256", "bytes32"],
                                  [_BLOCK_TYPEHASH, l2_chain_id, number, bytes(block_hash)]))
    return keccak256(b"\x19\x01" + domain + signed)


def deploy_contract(w3: Web3, deployer: Any, name: str, *args: Any) -> str:
    """Deploy the L1 artifact ``name`` with constructor ``args`` from ``deployer``; its address."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = Sender(w3, deployer).send({"to": None, "data": factory.constructor(*args).data_in_transaction})
    if not receipt["contractAddress"]:
        raise ContractReverted(f"deploying {name} created no contract", receipt)
    return Web3.to_checksum_address(receipt["contractAddress"])


def deploy_sequencer_staking(w3: Web3, deployer: Any, config: StakingConfig) -> str:
    return deploy_contract(w3, deployer, "SequencerStaking", config.owner, config.l2_chain_id, config.min_lock,
                           config.max_lock, config.exit_delay, config.reward_per_block,
                           config.equivocation_slash_bps, config.reporter_share_bps)


class ContractClient:
    """One account's view of an L1 contract (``ARTIFACT``): views, and transactions signed by ``account`` (if given)."""

    ARTIFACT = ""

    def __init__(self, w3: Web3, address: str, account: Any = None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact(self.ARTIFACT)["abi"])
        self.sender: Optional[Sender] = Sender(w3, account) if account is not None else None

    def as_account(self, account: Any):
        return type(self)(self.w3, self.address, account)

    def _send(self, function: Any, value: int = 0) -> Any:
        if self.sender is None:
            raise ValueError("this client has no account to send transactions from: use as_account()")
        return self.sender.transact(function, value=value)

    def view(self, name: str, *args: Any) -> Any:
        return call(getattr(self.contract.functions, name)(*args))

    def govern(self, name: str, *args: Any) -> Any:
        """An owner-only setter (setRewarder, setSlasher, setSlashAmount, ...)."""
        return self._send(getattr(self.contract.functions, name)(*args))


class SequencerStakingClient(ContractClient):
    """SequencerStaking from one account."""

    ARTIFACT = "SequencerStaking"

    # -- views
    def active_set(self, block_identifier: Any = "latest") -> list[Stake]:
        """The staked set as of an L1 block (what the schedule of an epoch reads at its seed block)."""
        addresses, amounts = self.contract.functions.activeSet().call(block_identifier=block_identifier)
        return [Stake(bytes.fromhex(a[2:]), amount) for a, amount in zip(addresses, amounts)]

    def block_digest(self, number: int, block_hash: bytes) -> bytes:
        return block_digest(self.w3.eth.chain_id, self.address, self.view("l2ChainId"), number, block_hash)

    def sign_block(self, private_key: Any, number: int, block_hash: bytes) -> bytes:
        """A sequencer's 65-byte (r ‖ s ‖ v) signature over an L2 block."""
        return Account.from_key(private_key).unsafe_sign_hash(self.block_digest(number, block_hash)).signature

    # -- transactions
    def lock(self, amount: int) -> Any:
        return self._send(self.contract.functions.lock(), value=amount)

    def request_unlock(self) -> Any:
        return self._send(self.contract.functions.requestUnlock())

    def withdraw(self) -> Any:
        return self._send(self.contract.functions.withdraw())

    def fund_rewards(self, amount: int) -> Any:
        return self._send(self.contract.functions.fundRewards(), value=amount)

    def pay_block_rewards(self, first_block: int, last_block: int, blocks_by_sequencer: dict[str, int]) -> Any:
        """Pay L2 blocks ``first_block..last_block``'s rewards: ``{sequencer: blocks it built in that range}``."""
        ordered = sorted(blocks_by_sequencer.items(), key=lambda item: int(item[0], 16))
        return self._send(self.contract.functions.payBlockRewards(
            first_block, last_block, [Web3.to_checksum_address(a) for a, _ in ordered], [n for _, n in ordered]))

    def claim(self) -> Any:
        return self._send(self.contract.functions.claim())

    def slash(self, sequencer: str, amount: int, beneficiary: str, reason: bytes) -> Any:
        return self._send(self.contract.functions.slash(sequencer, amount, beneficiary, reason))

    def prove_equivocation(self, number: int, hash_a: bytes, signature_a: bytes, hash_b: bytes,
                           signature_b: bytes) -> Any:
        return self._send(self.contract.functions.proveEquivocation(number, hash_a, signature_a, hash_b,
                                                                    signature_b))

class SeedNotYetKnown(ValueError):
    """L1 has no block at or after the seed time yet (the epoch's schedule cannot be known yet), or none before."""


def seed_block_number(w3: Web3, cutoff_time: int) -> int:
    """The newest L1 block whose timestamp is at most ``cutoff_time`` (binary search over L1 headers).

    Refused while L1's head is older than the cutoff: a later block could still
    take the place, so the answer would not yet be final.
    """
    head = w3.eth.get_block("latest")
    if head["timestamp"] <= cutoff_time:
        raise SeedNotYetKnown(f"L1 head {head['number']} (time {head['timestamp']}) has not passed the seed time "
                              f"{cutoff_time}")
    low, high = 0, head["number"]  # invariant: timestamp(high) > cutoff
    if w3.eth.get_block(low)["timestamp"] > cutoff_time:
        raise SeedNotYetKnown(f"the seed time {cutoff_time} is before L1's first block")
    while high - low > 1:
        middle = (low + high) // 2
        if w3.eth.get_block(middle)["timestamp"] <= cutoff_time:
            low = middle
        else:
            high = middle
    return low


def epoch_order_from_l1(client: SequencerStakingClient, params: ScheduleParams, epoch: int, l2_genesis_time: int,
                        l2_block_time: int) -> tuple[int, tuple[bytes, ...]]:
    """(seed L1 block number, order) of ``epoch``: the seed block's hash and the staked set read at that block."""
    number = seed_block_number(client.w3, seed_cutoff_time(epoch, params, l2_genesis_time, l2_block_time))
    seed = bytes(client.w3.eth.get_block(number)["hash"])
    return number, epoch_order(client.active_set(number), seed, epoch)
