# pragma version 0.4.3
# pragma evm-version cancun
"""
@title InferenceJobs
@notice Verified off-chain inference: post a job, a registered worker commits to a result and to
        the trace that produced it (a Merkle root over its per-layer states) with a bond; the
        result is final after a challenge window unless a challenger proves it wrong. A model that
        fits one transaction can be re-executed whole (`challenge`); any other verifiable model is
        disputed opML-style (`open_dispute`): bisection over the layers to one disputed layer, then
        over that layer's row chunks to one chunk, which the layer-step precompile re-executes.
@dev Lifecycle: OPEN (posted) -> SUBMITTED (result + bond) -> FINALIZED (window passed and no dispute
     open) | SLASHED (a challenge or dispute showed the worker wrong). OPEN jobs can be cancelled.
     The result commitment is keccak256(output bytes). Trace states (hyperion/ai/trace.py):
     S_0 = keccak(keccak(u32 0) ‖ input_hash), S_L = keccak(keccak(u32 L) ‖ result_hash), and the
     state after layer k is S_k = keccak(C_k ‖ h_k). Any number of disputes may run on one job,
     each between the worker and one challenger, each move with a deadline (`move_window`); a
     party that misses its deadline loses (`timeout`). The first dispute the worker loses slashes
     the job; disputes still open then are moot and refund their bonds (`close_dispute`).
     If a precompile rejects its input or runs out of gas the transaction reverts, so an
     under-funded call can never fake a result. Settlement: the job fee is split through
     ModelRegistry.pay_compute_fee with the worker as producer (the full fee goes to the worker
     for unregistered models); bonds are returned or go to the winner. All payouts are credits,
     withdrawn with `withdraw`.
"""

interface Registry:
    def is_registered(model_hash: bytes32) -> bool: view
    def pay_compute_fee(model_hash: bytes32, producer: address): payable

struct Job:
    requester: address
    model_hash: bytes32
    input_hash: bytes32
    fee: uint256
    requester_bond: uint256
    worker: address
    result_hash: bytes32
    worker_bond: uint256
    submitted_at: uint256
    status: uint8
    challenger: address
    trace_root: bytes32
    open_disputes: uint256

struct Dispute:
    job_id: uint256
    challenger: address
    bond: uint256
    phase: uint8
    deadline: uint256
    layer_count: uint256
    lo: uint256
    hi: uint256
    lo_state: bytes32
    hi_state: bytes32
    mid_state: bytes32
    carry: bytes32
    chunks: uint256
    node: bytes32
    node_depth: uint256
    node_index: uint256
    left: bytes32
    right: bytes32

event WorkerRegistered:
    worker: indexed(address)

event JobPosted:
    job_id: indexed(uint256)
    requester: indexed(address)
    model_hash: indexed(bytes32)
    input_hash: bytes32
    fee: uint256
    bond: uint256

event JobCancelled:
    job_id: indexed(uint256)

event ResultSubmitted:
    job_id: indexed(uint256)
    worker: indexed(address)
    result_hash: bytes32
    bond: uint256
    output: Bytes[1024]

event JobChallenged:
    job_id: indexed(uint256)
    challenger: indexed(address)
    bond: uint256

event ChallengeResolved:
    job_id: indexed(uint256)
    challenger: indexed(address)
    worker_slashed: bool
    canonical_hash: bytes32

event JobInput:
    job_id: indexed(uint256)
    input: Bytes[MAX_INPUT]

event DisputeOpened:
    dispute_id: indexed(uint256)
    job_id: indexed(uint256)
    challenger: indexed(address)
    bond: uint256
    layer_count: uint256

event DisputeMoved:
    dispute_id: indexed(uint256)
    phase: uint8
    lo: uint256
    hi: uint256
    node_depth: uint256
    node_index: uint256
    deadline: uint256

event DisputeResolved:
    dispute_id: indexed(uint256)
    job_id: indexed(uint256)
    challenger_won: bool
    reason: String[32]

event JobFinalized:
    job_id: indexed(uint256)
    worker: indexed(address)
    result_hash: bytes32

event Withdrawal:
    account: indexed(address)
    amount: uint256

INFERENCE: constant(address) = 0x00000000000000000000000000000000000000A1
LAYER_STEP: constant(address) = 0x00000000000000000000000000000000000000A2
MAX_INPUT: constant(uint256) = 4096
MAX_OUTPUT: constant(uint256) = 1024
MAX_STEP_STATE: constant(uint256) = 98304
MAX_DEPTH: constant(uint256) = 32

STATUS_OPEN: constant(uint8) = 1
STATUS_SUBMITTED: constant(uint8) = 2
STATUS_FINALIZED: constant(uint8) = 3
STATUS_SLASHED: constant(uint8) = 4
STATUS_CANCELLED: constant(uint8) = 5

# dispute phases: whose move it is
PHASE_MIDPOINT: constant(uint8) = 1  # worker: reveal the state at (lo + hi) / 2 with its Merkle proof
PHASE_ANSWER: constant(uint8) = 2    # challenger: agree or disagree with the revealed state
PHASE_LAYER: constant(uint8) = 3     # worker: reveal (carry, tensor root) of layer hi
PHASE_CHILDREN: constant(uint8) = 4  # worker: reveal the two children of the disputed chunk-tree node
PHASE_PICK: constant(uint8) = 5      # challenger: pick the child it disputes
PHASE_STEP: constant(uint8) = 6      # anyone (the challenger must): re-execute the chunk on chain
PHASE_DONE: constant(uint8) = 7

registry: public(immutable(address))
challenge_window: public(immutable(uint256))
min_worker_bond: public(immutable(uint256))
move_window: public(immutable(uint256))

workers: public(HashMap[address, bool])
jobs: public(HashMap[uint256, Job])
job_count: public(uint256)
credits: public(HashMap[address, uint256])
disputes: public(HashMap[uint256, Dispute])
dispute_count: public(uint256)


@deploy
def __init__(model_registry: address, window_seconds: uint256, worker_bond: uint256, move_seconds: uint256):
    registry = model_registry
    challenge_window = window_seconds
    min_worker_bond = worker_bond
    move_window = move_seconds


@external
def register_worker():
    self.workers[msg.sender] = True
    log WorkerRegistered(worker=msg.sender)


@payable
@external
def post_job(model_hash: bytes32, input_hash: bytes32, fee: uint256) -> uint256:
    """
    @notice Post a job; msg.value = fee + requester bond (the bond returns at settlement). Only the input's
            hash goes on chain: only those who know the input can check the result.
    """
    return self._post(model_hash, input_hash, fee, msg.value)


@payable
@external
def post_job_with_input(model_hash: bytes32, input: Bytes[MAX_INPUT], fee: uint256) -> uint256:
    """
    @notice Post a job whose input is published on chain (event JobInput), so that anyone can check the
            result: a watcher cannot re-execute a job whose input it never sees.
    """
    job_id: uint256 = self._post(model_hash, keccak256(input), fee, msg.value)
    log JobInput(job_id=job_id, input=input)
    return job_id


@internal
def _post(model_hash: bytes32, input_hash: bytes32, fee: uint256, paid: uint256) -> uint256:
    assert paid >= fee, "paid below fee"
    job_id: uint256 = self.job_count + 1
    self.job_count = job_id
    self.jobs[job_id] = Job(requester=msg.sender, model_hash=model_hash, input_hash=input_hash, fee=fee,
                            requester_bond=paid - fee, worker=empty(address), result_hash=empty(bytes32),
                            worker_bond=0, submitted_at=0, status=STATUS_OPEN, challenger=empty(address),
                            trace_root=empty(bytes32), open_disputes=0)
    log JobPosted(job_id=job_id, requester=msg.sender, model_hash=model_hash, input_hash=input_hash, fee=fee,
                  bond=paid - fee)
    return job_id


@external
def cancel_job(job_id: uint256):
    job: Job = self.jobs[job_id]
    assert job.status == STATUS_OPEN, "job not open"
    assert job.requester == msg.sender, "not the requester"
    self.jobs[job_id].status = STATUS_CANCELLED
    self.credits[msg.sender] += job.fee + job.requester_bond
    log JobCancelled(job_id=job_id)


@payable
@external
def submit_result(job_id: uint256, result_hash: bytes32, trace_root: bytes32, output: Bytes[MAX_OUTPUT]):
    """
    @notice Commit to a result (keccak256 of the output) and to its trace (Merkle root over the states
            S_0..S_L); `output` may be empty when it is kept off-chain.
    """
    assert self.workers[msg.sender], "not a registered worker"
    assert self.jobs[job_id].status == STATUS_OPEN, "job not open"
    assert msg.value >= min_worker_bond, "bond too small"
    if len(output) > 0:
        assert keccak256(output) == result_hash, "output does not match commitment"
    self.jobs[job_id].worker = msg.sender
    self.jobs[job_id].result_hash = result_hash
    self.jobs[job_id].trace_root = trace_root
    self.jobs[job_id].worker_bond = msg.value
    self.jobs[job_id].submitted_at = block.timestamp
    self.jobs[job_id].status = STATUS_SUBMITTED
    log ResultSubmitted(job_id=job_id, worker=msg.sender, result_hash=result_hash, bond=msg.value, output=output)


@payable
@external
def challenge(job_id: uint256, input: Bytes[MAX_INPUT]):
    """
    @notice Re-execute the whole job on-chain (models that fit one transaction); the loser's bond goes
            to the winner. A correct result stays open to other challenges until its window closes.
    @dev msg.value is the challenger's bond and must match the worker's.
    """
    job: Job = self.jobs[job_id]
    assert job.status == STATUS_SUBMITTED, "no result to challenge"
    assert block.timestamp < job.submitted_at + challenge_window, "challenge window closed"
    assert msg.value >= job.worker_bond, "bond below the worker's"
    assert keccak256(input) == job.input_hash, "input does not match the job"
    assert staticcall Registry(registry).is_registered(job.model_hash), "model has no deterministic path"
    log JobChallenged(job_id=job_id, challenger=msg.sender, bond=msg.value)
    output: Bytes[MAX_OUTPUT] = raw_call(INFERENCE, concat(job.model_hash, input), max_outsize=MAX_OUTPUT,
                                         is_static_call=True)
    canonical: bytes32 = keccak256(output)
    if canonical != job.result_hash:
        self._slash(job_id, msg.sender, msg.value)
        log ChallengeResolved(job_id=job_id, challenger=msg.sender, worker_slashed=True, canonical_hash=canonical)
    else:
        self.credits[job.worker] += msg.value
        log ChallengeResolved(job_id=job_id, challenger=msg.sender, worker_slashed=False, canonical_hash=canonical)


@internal
def _slash(job_id: uint256, challenger: address, challenger_bond: uint256):
    job: Job = self.jobs[job_id]
    self.jobs[job_id].status = STATUS_SLASHED
    self.jobs[job_id].challenger = challenger
    self.credits[challenger] += challenger_bond + job.worker_bond
    self.credits[job.requester] += job.fee + job.requester_bond


# -- opML-style disputes --------------------------------------------------------------------------


@view
@internal
def _layer_info(model_hash: bytes32, layer: uint256) -> (uint256, uint256, bool):
    """(layer count, chunks of tensor `layer`, verifiable) from the layer-step precompile (reverts for an
    unknown model)."""
    info: Bytes[160] = raw_call(LAYER_STEP, concat(model_hash, convert(convert(layer, uint32), bytes4)),
                                max_outsize=160, is_static_call=True)
    return (extract32(info, 0, output_type=uint256), extract32(info, 32, output_type=uint256),
            extract32(info, 128, output_type=uint256) == 1)


@pure
@internal
def _depth(count: uint256) -> uint256:
    depth: uint256 = 0
    for i: uint256 in range(MAX_DEPTH):
        if (1 << depth) >= count:
            break
        depth += 1
    return depth


@pure
@internal
def _state(layer: uint256, tensor_hash: bytes32) -> bytes32:
    """A state whose only tensor is `tensor_hash` (no carried tensors): S_0 and S_L."""
    return keccak256(concat(keccak256(concat(convert(convert(layer, uint32), bytes4), b"")), tensor_hash))


@internal
def _move(dispute_id: uint256, phase: uint8):
    deadline: uint256 = block.timestamp + move_window
    self.disputes[dispute_id].phase = phase
    self.disputes[dispute_id].deadline = deadline
    log DisputeMoved(dispute_id=dispute_id, phase=phase, lo=self.disputes[dispute_id].lo,
                     hi=self.disputes[dispute_id].hi, node_depth=self.disputes[dispute_id].node_depth,
                     node_index=self.disputes[dispute_id].node_index, deadline=deadline)


@internal
def _narrowed(dispute_id: uint256, lo: uint256, hi: uint256):
    if hi - lo == 1:
        self._move(dispute_id, PHASE_LAYER)
    else:
        self._move(dispute_id, PHASE_MIDPOINT)


@view
@internal
def _expect(dispute_id: uint256, phase: uint8, message: String[32]):
    assert self.disputes[dispute_id].phase == phase, message
    assert block.timestamp <= self.disputes[dispute_id].deadline, "move deadline passed"


@payable
@external
def open_dispute(job_id: uint256) -> uint256:
    """
    @notice Dispute a result by bisection (any verifiable model, however large). msg.value is the
            challenger's bond (at least the worker's); it goes to the worker if the worker wins.
    """
    job: Job = self.jobs[job_id]
    assert job.status == STATUS_SUBMITTED, "no result to dispute"
    assert block.timestamp < job.submitted_at + challenge_window, "challenge window closed"
    assert msg.value >= job.worker_bond, "bond below the worker's"
    assert staticcall Registry(registry).is_registered(job.model_hash), "model has no deterministic path"
    layer_count: uint256 = 0
    chunks: uint256 = 0
    verifiable: bool = False
    layer_count, chunks, verifiable = self._layer_info(job.model_hash, 0)
    assert verifiable, "model cannot be disputed step by step"
    dispute_id: uint256 = self.dispute_count + 1
    self.dispute_count = dispute_id
    self.disputes[dispute_id] = Dispute(
        job_id=job_id, challenger=msg.sender, bond=msg.value, phase=0, deadline=0, layer_count=layer_count,
        lo=0, hi=layer_count, lo_state=self._state(0, job.input_hash),
        hi_state=self._state(layer_count, job.result_hash), mid_state=empty(bytes32), carry=empty(bytes32),
        chunks=0, node=empty(bytes32), node_depth=0, node_index=0, left=empty(bytes32), right=empty(bytes32))
    self.jobs[job_id].open_disputes += 1
    log DisputeOpened(dispute_id=dispute_id, job_id=job_id, challenger=msg.sender, bond=msg.value,
                      layer_count=layer_count)
    self._narrowed(dispute_id, 0, layer_count)
    return dispute_id


@external
def reveal_midpoint(dispute_id: uint256, state: bytes32, proof: DynArray[bytes32, MAX_DEPTH]):
    """
    @notice The worker's state after layer (lo + hi) / 2, proven against the trace root it submitted.
    """
    self._expect(dispute_id, PHASE_MIDPOINT, "not waiting for a midpoint")
    mid: uint256 = (self.disputes[dispute_id].lo + self.disputes[dispute_id].hi) // 2
    assert len(proof) == self._depth(self.disputes[dispute_id].layer_count + 1), "wrong proof length"
    node: bytes32 = state
    index: uint256 = mid
    for sibling: bytes32 in proof:
        if index % 2 == 1:
            node = keccak256(concat(sibling, node))
        else:
            node = keccak256(concat(node, sibling))
        index //= 2
    assert node == self.jobs[self.disputes[dispute_id].job_id].trace_root, "state not in the submitted trace"
    self.disputes[dispute_id].mid_state = state
    self._move(dispute_id, PHASE_ANSWER)


@external
def answer_midpoint(dispute_id: uint256, agree: bool):
    """
    @notice The challenger agrees (the dispute moves after the midpoint) or disagrees (before it).
    """
    self._expect(dispute_id, PHASE_ANSWER, "not waiting for an answer")
    assert msg.sender == self.disputes[dispute_id].challenger, "not the challenger"
    lo: uint256 = self.disputes[dispute_id].lo
    hi: uint256 = self.disputes[dispute_id].hi
    mid: uint256 = (lo + hi) // 2
    if agree:
        lo = mid
        self.disputes[dispute_id].lo = mid
        self.disputes[dispute_id].lo_state = self.disputes[dispute_id].mid_state
    else:
        hi = mid
        self.disputes[dispute_id].hi = mid
        self.disputes[dispute_id].hi_state = self.disputes[dispute_id].mid_state
    self._narrowed(dispute_id, lo, hi)


@external
def reveal_layer(dispute_id: uint256, carry: bytes32, tensor_root: bytes32):
    """
    @notice The worker opens its state after the disputed layer: keccak(carry ‖ tensor_root) must be it.
    """
    self._expect(dispute_id, PHASE_LAYER, "not waiting for the layer")
    assert keccak256(concat(carry, tensor_root)) == self.disputes[dispute_id].hi_state, \
        "does not open the disputed state"
    chunks: uint256 = self._layer_info(self.jobs[self.disputes[dispute_id].job_id].model_hash,
                                       self.disputes[dispute_id].hi)[1]
    self.disputes[dispute_id].carry = carry
    self.disputes[dispute_id].chunks = chunks
    self.disputes[dispute_id].node = tensor_root
    self.disputes[dispute_id].node_depth = self._depth(chunks)
    self.disputes[dispute_id].node_index = 0
    if chunks == 1:
        self._move(dispute_id, PHASE_STEP)
    else:
        self._move(dispute_id, PHASE_CHILDREN)


@external
def reveal_children(dispute_id: uint256, left: bytes32, right: bytes32):
    """
    @notice The worker opens the disputed node of the layer's chunk tree.
    """
    self._expect(dispute_id, PHASE_CHILDREN, "not waiting for children")
    assert keccak256(concat(left, right)) == self.disputes[dispute_id].node, "children do not hash to the node"
    self.disputes[dispute_id].left = left
    self.disputes[dispute_id].right = right
    self._move(dispute_id, PHASE_PICK)


@external
def pick_child(dispute_id: uint256, right: bool):
    """
    @notice The challenger picks the child (chunk range) it disputes.
    """
    self._expect(dispute_id, PHASE_PICK, "not waiting for a pick")
    assert msg.sender == self.disputes[dispute_id].challenger, "not the challenger"
    index: uint256 = 2 * self.disputes[dispute_id].node_index
    node: bytes32 = self.disputes[dispute_id].left
    if right:
        index += 1
        node = self.disputes[dispute_id].right
    depth: uint256 = self.disputes[dispute_id].node_depth - 1
    self.disputes[dispute_id].node = node
    self.disputes[dispute_id].node_index = index
    self.disputes[dispute_id].node_depth = depth
    if depth == 0:
        if index >= self.disputes[dispute_id].chunks:  # a padding leaf: the honest tree has zero there
            self._resolve(dispute_id, node != empty(bytes32), "padding leaf")
            return
        self._move(dispute_id, PHASE_STEP)
    else:
        self._move(dispute_id, PHASE_CHILDREN)


@external
def step(dispute_id: uint256, state: Bytes[MAX_STEP_STATE]):
    """
    @notice Re-execute the disputed chunk of the disputed layer on chain from `state`, the tensors of
            the agreed state before it (anyone may send them; they must hash to that state).
    """
    self._expect(dispute_id, PHASE_STEP, "not waiting for a step")
    model_hash: bytes32 = self.jobs[self.disputes[dispute_id].job_id].model_hash
    layer: bytes4 = convert(convert(self.disputes[dispute_id].hi, uint32), bytes4)
    chunk: bytes4 = convert(convert(self.disputes[dispute_id].node_index, uint32), bytes4)
    result: Bytes[96] = raw_call(LAYER_STEP, concat(model_hash, layer, chunk, state), max_outsize=96,
                                 is_static_call=True)
    assert extract32(result, 0) == self.disputes[dispute_id].lo_state, "state is not the agreed state"
    worker_wrong: bool = extract32(result, 32) != self.disputes[dispute_id].carry \
        or extract32(result, 64) != self.disputes[dispute_id].node
    self._resolve(dispute_id, worker_wrong, "step")


@external
def timeout(dispute_id: uint256):
    """
    @notice The party whose move it is missed its deadline and loses the dispute.
    """
    phase: uint8 = self.disputes[dispute_id].phase
    assert phase != 0 and phase != PHASE_DONE, "no open dispute"
    assert block.timestamp > self.disputes[dispute_id].deadline, "deadline not passed"
    worker_to_move: bool = phase == PHASE_MIDPOINT or phase == PHASE_LAYER or phase == PHASE_CHILDREN
    self._resolve(dispute_id, worker_to_move, "timeout")


@external
def close_dispute(dispute_id: uint256):
    """
    @notice A dispute on a job already slashed by another challenge is moot: its bond is refunded.
    """
    phase: uint8 = self.disputes[dispute_id].phase
    assert phase != 0 and phase != PHASE_DONE, "no open dispute"
    assert self.jobs[self.disputes[dispute_id].job_id].status == STATUS_SLASHED, "job not slashed"
    self._resolve(dispute_id, True, "moot")


@internal
def _resolve(dispute_id: uint256, challenger_won: bool, reason: String[32]):
    job_id: uint256 = self.disputes[dispute_id].job_id
    challenger: address = self.disputes[dispute_id].challenger
    bond: uint256 = self.disputes[dispute_id].bond
    self.disputes[dispute_id].phase = PHASE_DONE
    self.jobs[job_id].open_disputes -= 1
    if challenger_won:
        if self.jobs[job_id].status == STATUS_SUBMITTED:
            self._slash(job_id, challenger, bond)
        else:
            self.credits[challenger] += bond  # the job was already slashed: nothing left to win
    else:
        self.credits[self.jobs[job_id].worker] += bond
    log DisputeResolved(dispute_id=dispute_id, job_id=job_id, challenger_won=challenger_won, reason=reason)


@external
def finalize(job_id: uint256):
    job: Job = self.jobs[job_id]
    assert job.status == STATUS_SUBMITTED, "no result to finalize"
    assert block.timestamp >= job.submitted_at + challenge_window, "challenge window still open"
    assert job.open_disputes == 0, "a dispute is open"
    self._settle(job_id, job)


@internal
def _settle(job_id: uint256, job: Job):
    self.jobs[job_id].status = STATUS_FINALIZED
    self.credits[job.worker] += job.worker_bond
    self.credits[job.requester] += job.requester_bond
    if job.fee > 0:
        if staticcall Registry(registry).is_registered(job.model_hash):
            extcall Registry(registry).pay_compute_fee(job.model_hash, job.worker, value=job.fee)
        else:
            self.credits[job.worker] += job.fee
    log JobFinalized(job_id=job_id, worker=job.worker, result_hash=job.result_hash)


@view
@external
def status(job_id: uint256) -> uint8:
    return self.jobs[job_id].status


@nonreentrant
@external
def withdraw():
    amount: uint256 = self.credits[msg.sender]
    assert amount > 0, "nothing to withdraw"
    self.credits[msg.sender] = 0
    raw_call(msg.sender, b"", value=amount)
    log Withdrawal(account=msg.sender, amount=amount)
