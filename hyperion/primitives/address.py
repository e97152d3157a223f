"""Address helpers: EIP-55 checksums, parsing, CREATE / CREATE2 addresses."""

from __future__ import annotations

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256

ADDRESS_LENGTH = 20


class InvalidAddress(ValueError):
    """Raised for a string or byte value that is not a valid 20-byte address."""


def to_checksum_address(address: bytes) -> str:
    """EIP-55 mixed-case hex form (``0x``-prefixed) of a 20-byte address."""
    if not isinstance(address, (bytes, bytearray)) or len(address) != ADDRESS_LENGTH:
        raise InvalidAddress("address must be 20 bytes")
    lower = address.hex()
    nibbles = keccak256(lower.encode()).hex()
    return "0x" + "".join(
        char.upper() if char > "9" and nibble >= "8" else char for char, nibble in zip(lower, nibbles)
    )


def parse_address(text: str, *, strict_checksum: bool = False) -> bytes:
    """Parse a 40-hex-digit address (``0x`` prefix optional) into 20 bytes.

    With ``strict_checksum`` a mixed-case string must carry a valid EIP-55
    checksum; all-lower or all-upper strings are always accepted.
    """
    if not isinstance(text, str):
        raise InvalidAddress(f"address must be a string, got {type(text).__name__}")
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) != 2 * ADDRESS_LENGTH:
        raise InvalidAddress(f"address {text!r} must have 40 hex digits, has {len(digits)}")
    try:
        address = bytes.fromhex(digits)
    except ValueError:
        raise InvalidAddress(f"address {text!r} is not hexadecimal") from None
    if strict_checksum and digits != digits.lower() and digits != digits.upper():
        if to_checksum_address(address)[2:] != digits:
            raise InvalidAddress(f"address {text!r} has an invalid EIP-55 checksum")
    return address


def compute_create_address(sender: bytes, nonce: int) -> bytes:
    """Address of a contract created by CREATE (or a creation tx): keccak(rlp([sender, nonce]))[12:]."""
    return keccak256(rlp.encode([sender, nonce]))[12:]


def compute_create2_address(
    sender: bytes, salt: bytes | int, initcode: bytes | None = None, *, initcode_hash: bytes | None = None
) -> bytes:
    """Address of a CREATE2 contract: keccak(0xff || sender || salt || keccak(initcode))[12:].

    Pass the init code positionally, or its precomputed hash as ``initcode_hash``
    (exactly one of them). ``salt`` is 32 bytes or an integer below 2**256.
    """
    if (initcode is None) == (initcode_hash is None):
        raise ValueError("pass exactly one of initcode or initcode_hash")
    if initcode_hash is None:
        initcode_hash = keccak256(initcode)
    elif len(initcode_hash) != 32:
        raise ValueError("initcode_hash must be 32 bytes")
    if isinstance(salt, int):
        salt = salt.to_bytes(32, "big")
    elif len(salt) != 32:
        raise ValueError("CREATE2 salt must be 32 bytes")
    if len(sender) != ADDRESS_LENGTH:
        raise InvalidAddress("sender must be 20 bytes")
    return keccak256(b"\xff" + bytes(sender) + bytes(salt) + bytes(initcode_hash))[12:]
