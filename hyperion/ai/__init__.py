"""Verifiable AI compute for Hyperion.

* ``model``: the quantized model format (HYQM), canonical bytes and content hash;
* ``engine``: integer-only inference (int8 activations, int32 accumulators, fixed-point requantization);
* ``onnx_loader`` / ``quantizer`` / ``float_graph``: the offline path from ONNX to a quantized model;
* ``store``: model stores addressed by hash (memory, directory);
* ``backends`` / ``sdk`` / ``abi``: talking to the AI contracts (in-process EVM or JSON-RPC);
* ``build``: compiles ``contracts/ai/*.vy`` into ``artifacts/``;
* ``digits``: the shipped digits classifier;
* ``genesis``: the predeployed system contracts (ModelRegistry, InferenceGateway, InferenceJobs);
* ``devnode``: an alias of ``hyperion node`` (which binds the precompile to a model store folder);
* ``cli_model`` / ``cli_job``: the ``hyperion model|job`` entry points (``hyperion.ai_cli``).

The precompile itself is ``hyperion.vm.precompiles.inference``. See docs/ai.md.
"""
