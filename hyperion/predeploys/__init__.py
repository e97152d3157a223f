"""The system contracts a Hyperion dev chain predeploys at genesis: LazAI and AI, in one place.

* ``plan``: their fixed addresses, dev parameters and constructor arguments
  (``predeploy_plan``), and the manifest ``hyperion contracts`` prints;
* ``genesis``: the genesis alloc they make (``predeploy_alloc``), a genesis
  file holding them (``genesis_json``), and the dev chain's genesis
  (``add_to_dev_genesis``), composed here and handed down to the chain layer.

Their compiled code comes from ``hyperion.artifacts`` (sets ``lazai`` and ``ai``).
"""
