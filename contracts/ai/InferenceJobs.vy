# pragma version 0.4.3
# pragma evm-version cancun
"""
@title InferenceJobs
@notice Verified off-chain inference: post a job, a registered worker commits to a result with a
        bond, the result is final after a challenge window unless a challenge re-executes the job
        on-chain through the deterministic inference precompile and proves it wrong.
@dev Lifecycle: OPEN (posted) -> SUBMITTED (result + bond) -> FINALIZED (window passed, or a
     challenge failed) | SLASHED (a challenge showed a different output). OPEN jobs can be cancelled.
     The result commitment is keccak256(output bytes). A challenge is possible only for models in
     the ModelRegistry (they have a deterministic path); if the precompile rejects the input the
     challenge reverts, so an under-funded call can never fake a mismatch. Settlement: the job fee
     is split through ModelRegistry.pay_compute_fee with the worker as producer (the full fee goes
     to the worker for unregistered models); bonds are returned or slashed to the winner. All
     payouts are credits, withdrawn with `withdraw`.
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

event JobFinalized:
    job_id: indexed(uint256)
    worker: indexed(address)
    result_hash: bytes32

event Withdrawal:
    account: indexed(address)
    amount: uint256

INFERENCE: constant(address) = 0x00000000000000000000000000000000000000A1
MAX_INPUT: constant(uint256) = 4096
MAX_OUTPUT: constant(uint256) = 1024

STATUS_OPEN: constant(uint8) = 1
STATUS_SUBMITTED: constant(uint8) = 2
STATUS_FINALIZED: constant(uint8) = 3
STATUS_SLASHED: constant(uint8) = 4
STATUS_CANCELLED: constant(uint8) = 5

registry: public(immutable(address))
challenge_window: public(immutable(uint256))
min_worker_bond: public(immutable(uint256))

workers: public(HashMap[address, bool])
jobs: public(HashMap[uint256, Job])
job_count: public(uint256)
credits: public(HashMap[address, uint256])


@deploy
def __init__(model_registry: address, window_seconds: uint256, worker_bond: uint256):
    registry = model_registry
    challenge_window = window_seconds
    min_worker_bond = worker_bond


@external
def register_worker():
    self.workers[msg.sender] = True
    log WorkerRegistered(worker=msg.sender)


@payable
@external
def post_job(model_hash: bytes32, input_hash: bytes32, fee: uint256) -> uint256:
    """
    @notice Post a job; msg.value = fee + requester bond (the bond returns at settlement).
    """
    assert msg.value >= fee, "value below fee"
    job_id: uint256 = self.job_count + 1
    self.job_count = job_id
    self.jobs[job_id] = Job(requester=msg.sender, model_hash=model_hash, input_hash=input_hash, fee=fee,
                            requester_bond=msg.value - fee, worker=empty(address), result_hash=empty(bytes32),
                            worker_bond=0, submitted_at=0, status=STATUS_OPEN, challenger=empty(address))
    log JobPosted(job_id=job_id, requester=msg.sender, model_hash=model_hash, input_hash=input_hash, fee=fee,
                  bond=msg.value - fee)
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
def submit_result(job_id: uint256, result_hash: bytes32, output: Bytes[MAX_OUTPUT]):
    """
    @notice Commit to a result (keccak256 of the output); `output` may be empty when it is kept off-chain.
    """
    assert self.workers[msg.sender], "not a registered worker"
    assert self.jobs[job_id].status == STATUS_OPEN, "job not open"
    assert msg.value >= min_worker_bond, "bond too small"
    if len(output) > 0:
        assert keccak256(output) == result_hash, "output does not match commitment"
    self.jobs[job_id].worker = msg.sender
    self.jobs[job_id].result_hash = result_hash
    self.jobs[job_id].worker_bond = msg.value
    self.jobs[job_id].submitted_at = block.timestamp
    self.jobs[job_id].status = STATUS_SUBMITTED
    log ResultSubmitted(job_id=job_id, worker=msg.sender, result_hash=result_hash, bond=msg.value, output=output)


@payable
@external
def challenge(job_id: uint256, input: Bytes[MAX_INPUT]):
    """
    @notice Re-execute the job on-chain; the loser's bond goes to the winner.
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
    self.jobs[job_id].challenger = msg.sender
    if canonical != job.result_hash:
        self.jobs[job_id].status = STATUS_SLASHED
        self.credits[msg.sender] += msg.value + job.worker_bond
        self.credits[job.requester] += job.fee + job.requester_bond
        log ChallengeResolved(job_id=job_id, challenger=msg.sender, worker_slashed=True, canonical_hash=canonical)
    else:
        self.credits[job.worker] += msg.value
        log ChallengeResolved(job_id=job_id, challenger=msg.sender, worker_slashed=False, canonical_hash=canonical)
        self._settle(job_id, job)


@external
def finalize(job_id: uint256):
    job: Job = self.jobs[job_id]
    assert job.status == STATUS_SUBMITTED, "no result to finalize"
    assert block.timestamp >= job.submitted_at + challenge_window, "challenge window still open"
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
