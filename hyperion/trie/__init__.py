"""Ethereum's hexary Merkle-Patricia trie.

- :func:`trie_root` / :func:`secure_trie_root` / :func:`ordered_trie_root`:
  one-pass roots of complete content (state, storage, tx/receipt roots).
- :class:`HexaryTrie`: updatable trie over an injectable node store, with proofs.
- :func:`verify_proof`: stand-alone EIP-1186 proof verification.
"""

from hyperion.trie.codec import EMPTY_TRIE_ROOT, BadTrieNode, MissingTrieNode, TrieError
from hyperion.trie.hexary import HexaryTrie
from hyperion.trie.proof import InvalidProof, verify_proof
from hyperion.trie.root import hashed_key_trie_root, ordered_trie_root, secure_trie_root, trie_root

__all__ = [
    "EMPTY_TRIE_ROOT",
    "BadTrieNode",
    "HexaryTrie",
    "InvalidProof",
    "MissingTrieNode",
    "TrieError",
    "hashed_key_trie_root",
    "ordered_trie_root",
    "secure_trie_root",
    "trie_root",
    "verify_proof",
]
