"""The rollup's contracts and their Python side.

L1: Portal (deposits, withdrawals), BatchInbox, OutputOracle (output roots and
the dispute game), ThresholdResolver. L2 predeploys: L1Block and
L2ToL1MessagePasser (contract sets ``l1`` and ``l2`` of ``hyperion.artifacts``).
``deploy`` puts the L1 set on an L1, ``clients`` wraps each call and event,
``proofs`` builds output roots and withdrawal proofs, ``predeploys`` gives
the L2 genesis alloc entries, ``blobs`` makes type-3 batch transactions and
``transact`` signs and sends (simulating first, so reverts carry reasons).
"""
