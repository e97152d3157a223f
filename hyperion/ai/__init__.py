"""Verifiable AI compute for Hyperion.

* ``model``: the quantized model format (HYQM), canonical bytes and content hash;
* ``engine``: integer-only inference (int8 activations, int32 accumulators, fixed-point requantization);
* ``onnx_loader`` / ``quantizer`` / ``float_graph``: the offline path from ONNX to a quantized model;
* ``store``: model stores addressed by hash (memory, directory);
* ``backends`` / ``sdk`` / ``abi``: talking to the AI contracts (in-process EVM or JSON-RPC);
* ``build``: compiles ``contracts/ai/*.vy`` into ``artifacts/``;
* ``digits``: the shipped digits classifier;
* ``genesis``: the predeployed system contracts (ModelRegistry, InferenceGateway, InferenceJobs);

The precompile itself is ``hyperion.vm.precompiles.inference``; the ``hyperion model|job``
commands are ``hyperion.cli.ai``. See docs/ai.md.
"""
