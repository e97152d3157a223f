"""ERC-8028 Data Anchoring Token helpers: classes, minting, usage, revenue settlement and claims."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from hyperion.sdk.client import HyperionClient, TxResult
from hyperion.sdk.errors import SdkError

ETH_ASSET = "0x0000000000000000000000000000000000000000"


def metric(label: str | bytes) -> bytes:
    """A ``bytes32`` metric label for recordUsage: ``keccak256(label)``, as ERC-8028 suggests."""
    data = label.encode() if isinstance(label, str) else label
    return Web3.keccak(data)


@dataclass(frozen=True)
class ClassMeta:
    class_id: int
    metadata_uri: str
    integrity_hash: bytes
    unit_decimals: int
    policy_uri: str
    total_share: int


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    class_id: int
    owner: str
    value: int
    share_ratio: int
    expire_at: int
    expired: bool


class DatClient:
    """Typed calls on the predeployed ERC-8028 DAT contract."""

    def __init__(self, client: HyperionClient) -> None:
        self.client = client
        self.contract = client.contract("DAT")

    def create_class(self, metadata_uri: str, integrity_hash: bytes = b"\0" * 32, unit_decimals: int = 0,
                     policy_uri: str = "") -> int:
        if len(integrity_hash) != 32:
            raise SdkError("integrity_hash must be 32 bytes")
        result = self.client.transact(self.contract.functions.createClass(
            metadata_uri, integrity_hash, unit_decimals, policy_uri))
        return result.event("ClassCreated")["classId"]

    def set_class_minter(self, class_id: int, minter: str, enabled: bool = True) -> TxResult:
        return self.client.transact(self.contract.functions.setClassMinter(
            class_id, Web3.to_checksum_address(minter), enabled))

    def mint(self, class_id: int, to: str, value: int, share_ratio: int, expire_at: int = 0) -> int:
        result = self.client.transact(self.contract.functions.mint(
            class_id, Web3.to_checksum_address(to), value, share_ratio, expire_at))
        return result.event("Minted")["tokenId"]

    def transfer_token(self, token_id: int, to: str) -> TxResult:
        return self.client.transact(self.contract.functions.transferToken(token_id, Web3.to_checksum_address(to)))

    def transfer_value(self, from_token: int, to_token: int, value: int) -> TxResult:
        return self.client.transact(self.contract.functions.transferValue(from_token, to_token, value))

    def split_token(self, token_id: int, to: str, value: int) -> int:
        """Move ``value`` units (and the same proportion of the revenue share) into a new token for ``to``."""
        result = self.client.transact(self.contract.functions.splitToken(token_id, Web3.to_checksum_address(to),
                                                                         value))
        return result.event("Minted")["tokenId"]

    def offer_class_management(self, class_id: int, to: str) -> TxResult:
        return self.client.transact(self.contract.functions.offerClassManagement(class_id,
                                                                                 Web3.to_checksum_address(to)))

    def accept_class_management(self, class_id: int) -> TxResult:
        return self.client.transact(self.contract.functions.acceptClassManagement(class_id))

    def revoke_class(self, class_id: int) -> TxResult:
        return self.client.transact(self.contract.functions.revokeClass(class_id))

    def class_manager(self, class_id: int) -> str:
        return self.contract.functions.classCreator(class_id).call()

    def approve_for_class(self, class_id: int, operator: str, approved: bool = True) -> TxResult:
        return self.client.transact(self.contract.functions.approveForClass(
            class_id, Web3.to_checksum_address(operator), approved))

    def record_usage(self, token_id: int, metric_label: str | bytes, amount: int) -> TxResult:
        metric_type = metric_label if isinstance(metric_label, bytes) and len(metric_label) == 32 else metric(metric_label)
        return self.client.transact(self.contract.functions.recordUsage(token_id, metric_type, amount))

    def settle_eth(self, class_id: int, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.settleRevenueETH(class_id), value=amount)

    def settle_erc20(self, class_id: int, asset: str, amount: int) -> TxResult:
        """The caller must have approved the DAT contract for ``amount`` of ``asset`` first."""
        return self.client.transact(self.contract.functions.settleRevenueERC20(
            class_id, Web3.to_checksum_address(asset), amount))

    def claim(self, token_id: int, asset: str = ETH_ASSET, to: str | None = None) -> int:
        result = self.client.transact(self.contract.functions.claim(
            token_id, Web3.to_checksum_address(asset), Web3.to_checksum_address(to or self.client.address)))
        return result.event("Claimed")["amount"]

    def pending_revenue(self, token_id: int, asset: str = ETH_ASSET) -> int:
        return self.contract.functions.pendingRevenue(token_id, Web3.to_checksum_address(asset)).call()

    def class_meta(self, class_id: int) -> ClassMeta:
        uri, integrity, decimals, policy = self.contract.functions.getClassMeta(class_id).call()
        return ClassMeta(class_id, uri, bytes(integrity), decimals, policy,
                         self.contract.functions.totalShareOf(class_id).call())

    def token(self, token_id: int) -> TokenInfo:
        f = self.contract.functions
        return TokenInfo(token_id, f.classOf(token_id).call(), f.ownerOf(token_id).call(), f.valueOf(token_id).call(),
                         f.shareRatioOf(token_id).call(), f.expireAtOf(token_id).call(), f.isExpired(token_id).call())
