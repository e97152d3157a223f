"""The LazAI value layer on Hyperion: DATs (ERC-8028), LazAI-compatible data
contracts, iDAOs and Holders Mining, compiled from Vyper sources in
``contracts/lazai`` and predeployed in the dev genesis (see docs/lazai.md)."""

from hyperion.lazai.artifacts_store import ArtifactError, load_artifact, artifact_names

__all__ = ["ArtifactError", "load_artifact", "artifact_names"]
