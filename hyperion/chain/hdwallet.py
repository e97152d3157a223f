"""BIP-39 seeds and BIP-32 key derivation for the dev accounts (m/44'/60'/0'/0/i).

Only derivation is needed (no wordlist checks): the dev node turns a
mnemonic into the same 10 accounts anvil and hardhat print.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from coincurve import PrivateKey

from hyperion.primitives.secp256k1 import SECP256K1_N, private_key_to_address

TEST_MNEMONIC = "test test test test test test test test test test test junk"
ETHEREUM_PATH_PREFIX = "m/44'/60'/0'/0"
HARDENED = 0x80000000


class InvalidDerivationPath(ValueError):
    """A BIP-32 path that is not of the form m/a/b'/..."""


def mnemonic_to_seed(mnemonic: str, passphrase: str = "") -> bytes:
    """BIP-39: PBKDF2-HMAC-SHA512(NFKD mnemonic, "mnemonic"+passphrase, 2048 rounds)."""
    words = unicodedata.normalize("NFKD", " ".join(mnemonic.split()))
    salt = unicodedata.normalize("NFKD", "mnemonic" + passphrase)
    return hashlib.pbkdf2_hmac("sha512", words.encode(), salt.encode(), 2048)


def _parse_path(path: str) -> list[int]:
    parts = path.strip().split("/")
    if not parts or parts[0] != "m":
        raise InvalidDerivationPath(f"derivation path must start with 'm/': {path!r}")
    indexes = []
    for part in parts[1:]:
        hardened = part.endswith("'") or part.endswith("h")
        digits = part[:-1] if hardened else part
        if not digits.isdigit() or int(digits) >= HARDENED:
            raise InvalidDerivationPath(f"bad path component {part!r} in {path!r}")
        indexes.append(int(digits) + (HARDENED if hardened else 0))
    return indexes


def derive_private_key(seed: bytes, path: str) -> bytes:
    """BIP-32 private child derivation of ``path`` from a BIP-39 seed."""
    digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
    key, chain_code = digest[:32], digest[32:]
    for index in _parse_path(path):
        if index & HARDENED:
            data = b"\x00" + key + index.to_bytes(4, "big")
        else:
            data = PrivateKey(key).public_key.format(compressed=True) + index.to_bytes(4, "big")
        digest = hmac.new(chain_code, data, hashlib.sha512).digest()
        tweak = int.from_bytes(digest[:32], "big")
        child = (tweak + int.from_bytes(key, "big")) % SECP256K1_N
        if tweak >= SECP256K1_N or child == 0:  # astronomically rare; BIP-32 says skip the index
            raise InvalidDerivationPath(f"index {index} yields an invalid key; use the next one")
        key, chain_code = child.to_bytes(32, "big"), digest[32:]
    return key


def dev_accounts(mnemonic: str = TEST_MNEMONIC, count: int = 10, passphrase: str = "") -> list[tuple[bytes, bytes]]:
    """``(address, private_key)`` for accounts 0..count-1 of m/44'/60'/0'/0/i."""
    seed = mnemonic_to_seed(mnemonic, passphrase)
    accounts = []
    for i in range(count):
        key = derive_private_key(seed, f"{ETHEREUM_PATH_PREFIX}/{i}")
        accounts.append((private_key_to_address(key), key))
    return accounts


__all__ = ["TEST_MNEMONIC", "mnemonic_to_seed", "derive_private_key", "dev_accounts", "InvalidDerivationPath"]
