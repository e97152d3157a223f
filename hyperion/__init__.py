"""Hyperion: a Python implementation of the Metis AI-chain stack."""

__version__ = "0.1.0"
