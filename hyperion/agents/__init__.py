"""Off-chain agents that keep a Hyperion chain honest, built on ``hyperion.sdk``.

* ``watcher``: re-executes every submitted inference job result and disputes the wrong ones
  (``hyperion ai watch``);
* ``worker``: serves inference jobs and defends its results (``hyperion ai work``);
* ``follower``: what both share (events, jobs, inputs, models from chain data).

They are clients of a node, like the CLI: the rules they play by are ``hyperion.ai``'s
(traces, dispute moves) and the contracts'.
"""
