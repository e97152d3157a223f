"""The LazAI value layer on Hyperion: DATs (ERC-8028), LazAI-compatible data
contracts, iDAOs and Holders Mining. The contracts are Vyper sources in
``contracts/lazai`` (compiled by ``hyperion.artifacts.build``) and are
predeployed in the dev genesis by ``hyperion.predeploys``; clients reach
them through ``hyperion.sdk``. See docs/lazai.md."""
