"""The staked sequencer set (issue 15): stakes on L1 (contracts/l1/SequencerStaking.vy), the schedule every
node computes from L1 state (``schedule``), and the typed L1 client of the staking contract (``staking``)."""
