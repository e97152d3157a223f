# pragma version ==0.4.3
# @title ProtocolGovernor: staker governance of the LazAI protocol and its parameters
# @notice METIS stakers of Holders Mining govern here. Their vote weight is
#         their stake (or the stake delegated to them) at the proposal's
#         snapshot, read from Holders Mining's checkpoints. A proposal carries
#         arbitrary calls; once it passes it is queued, and after the timelock
#         delay anyone may execute it: the calls run with this contract as
#         msg.sender. This contract also holds every protocol-wide rate and
#         floor (fee shares, verifier bond and admission floors, score bounds,
#         dispute windows, its own voting rules) as a named parameter with
#         bounds fixed at genesis; only an executed proposal changes one, and
#         only within its bounds. Other system contracts read them with
#         `param(key)`; a key is keccak256 of the parameter's name.

from . import lib_governance as gov

initializes: gov

interface Staking:
    def getPastVotes(account: address, timepoint: uint256) -> uint256: view
    def getPastTotalStake(timepoint: uint256) -> uint256: view

MAX_PARAMS: constant(uint256) = 64
MAX_BPS: constant(uint256) = 10000

VOTING_PERIOD: constant(bytes32) = keccak256("governor.votingPeriod")
QUORUM_BPS: constant(bytes32) = keccak256("governor.quorumBps")
TIMELOCK_DELAY: constant(bytes32) = keccak256("governor.timelockDelay")
GRACE_PERIOD: constant(bytes32) = keccak256("governor.gracePeriod")
PROPOSAL_THRESHOLD: constant(bytes32) = keccak256("governor.proposalThreshold")

struct Param:
    value: uint256
    minimum: uint256
    maximum: uint256
    known: bool

event ParamChanged:
    key: indexed(bytes32)
    previous: uint256
    current: uint256

staking: public(address)
params: HashMap[bytes32, Param]
paramKeys: public(DynArray[bytes32, MAX_PARAMS])


@deploy
def __init__(staking: address, keys: DynArray[bytes32, MAX_PARAMS], values: DynArray[uint256, MAX_PARAMS],
             minimums: DynArray[uint256, MAX_PARAMS], maximums: DynArray[uint256, MAX_PARAMS]):
    assert len(keys) == len(values) and len(keys) == len(minimums) and len(keys) == len(maximums), \
        "parameter arrays differ in length"
    self.staking = staking
    for i: uint256 in range(len(keys), bound=MAX_PARAMS):
        assert not self.params[keys[i]].known, "duplicate parameter"
        assert minimums[i] <= values[i] and values[i] <= maximums[i], "parameter outside its bounds"
        self.params[keys[i]] = Param(value=values[i], minimum=minimums[i], maximum=maximums[i], known=True)
        self.paramKeys.append(keys[i])
    for key: bytes32 in [VOTING_PERIOD, QUORUM_BPS, TIMELOCK_DELAY, GRACE_PERIOD, PROPOSAL_THRESHOLD]:
        assert self.params[key].known, "governor parameter missing"
    assert self.params[QUORUM_BPS].maximum <= MAX_BPS, "quorum bound above 100%"
    assert self.params[VOTING_PERIOD].minimum > 0 and self.params[GRACE_PERIOD].minimum > 0, \
        "voting period and grace period must be positive"


# ------------------------------------------------------------------ parameters

@external
@view
def param(key: bytes32) -> uint256:
    assert self.params[key].known, "unknown parameter"
    return self.params[key].value


@external
@view
def paramInfo(key: bytes32) -> Param:
    return self.params[key]


@external
def setParam(key: bytes32, newValue: uint256):
    """Only through an executed proposal (this contract calls itself)."""
    assert msg.sender == self, "only an executed proposal may change a parameter"
    info: Param = self.params[key]
    assert info.known, "unknown parameter"
    assert info.minimum <= newValue and newValue <= info.maximum, "value outside the parameter's bounds"
    self.params[key].value = newValue
    log ParamChanged(key=key, previous=info.value, current=newValue)


# ------------------------------------------------------------------ proposals

@external
def propose(targets: DynArray[address, gov.MAX_ACTIONS], values: DynArray[uint256, gov.MAX_ACTIONS],
            calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS], description: String[1024]) -> uint256:
    snapshot: uint256 = block.timestamp - 1
    weight: uint256 = staticcall Staking(self.staking).getPastVotes(msg.sender, snapshot)
    assert weight > 0 and weight >= self.params[PROPOSAL_THRESHOLD].value, "votes below the proposal threshold"
    quorum: uint256 = staticcall Staking(self.staking).getPastTotalStake(snapshot) * self.params[QUORUM_BPS].value \
        // MAX_BPS
    return gov._create(0, targets, values, calldatas, description, self.params[VOTING_PERIOD].value, max(quorum, 1),
                       self.params[TIMELOCK_DELAY].value, self.params[GRACE_PERIOD].value)


@external
def castVote(proposalId: uint256, support: uint8):
    snapshot: uint256 = gov.proposals[proposalId].snapshot
    assert gov.proposals[proposalId].deadline != 0, "unknown proposal"
    gov._count_vote(proposalId, msg.sender, support,
                    staticcall Staking(self.staking).getPastVotes(msg.sender, snapshot))


@external
def queue(proposalId: uint256, targets: DynArray[address, gov.MAX_ACTIONS],
          values: DynArray[uint256, gov.MAX_ACTIONS],
          calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS]) -> uint256:
    return gov._queue(proposalId, targets, values, calldatas)


@external
@payable
@nonreentrant
def execute(proposalId: uint256, targets: DynArray[address, gov.MAX_ACTIONS],
            values: DynArray[uint256, gov.MAX_ACTIONS],
            calldatas: DynArray[Bytes[gov.MAX_CALLDATA], gov.MAX_ACTIONS]):
    gov._mark_executed(proposalId, targets, values, calldatas)
    for i: uint256 in range(len(targets), bound=gov.MAX_ACTIONS):
        raw_call(targets[i], calldatas[i], value=values[i])


@external
def cancel(proposalId: uint256):
    gov._cancel(proposalId)


@external
@view
def state(proposalId: uint256) -> uint8:
    return gov._state(proposalId)


@external
@view
def getProposal(proposalId: uint256) -> gov.Proposal:
    return gov.proposals[proposalId]


@external
@view
def proposalCount() -> uint256:
    return gov.proposal_count


@external
@view
def hasVoted(proposalId: uint256, account: address) -> bool:
    return gov.has_voted[proposalId][account]


@external
@payable
def __default__():
    """Receives value that proposals spend (and value a proposal returns)."""
    pass
