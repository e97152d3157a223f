"""Verifiable AI compute for Hyperion.

* ``model``: the quantized model format (HYQM), canonical bytes and content hash;
* ``engine``: integer-only inference (int8 activations, int32 accumulators, fixed-point requantization),
  ``reference``: the same arithmetic in plain Python integers, to hold the engine to it;
* ``transformer``: a small decoder's float reference and quantizer; ``onnx_loader`` / ``quantizer`` /
  ``float_graph``: the offline path from ONNX to a quantized model;
* ``store``: model byte stores addressed by hash (memory, directory: a node's cache);
* ``chainstore``: models as chain data, read by the precompiles from the executing state (ModelStore);
* ``trace`` / ``disputes``: the per-layer commitment of an inference and the moves of a dispute;
* ``digits``: the shipped models' files; ``synthetic``: random models and lying traces for tests and benches.

The precompiles are ``hyperion.vm.precompiles.inference``. Clients of the AI contracts
(publishing models, jobs, disputes) use ``hyperion.sdk`` (``AIClient``); the agents that
check and defend results are ``hyperion.agents``; the ``hyperion model|job|ai`` commands
are ``hyperion.cli.ai``. See docs/ai.md.
"""
