"""Python helpers for the AI contracts: deploy, register, infer, and the off-chain job game.

``AIClient`` talks to any backend from ``hyperion.ai.backends`` (in-process
EVM or JSON-RPC node). The CLI (``hyperion model|job ...``) is a thin layer
over it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

from hyperion.ai.abi import ContractABI
from hyperion.ai.backends import CallFailed, Receipt, address_of_key, revert_reason
from hyperion.artifacts import load_artifact
from hyperion.ai.errors import AIError
from hyperion.ai.model import QuantizedModel
from hyperion.primitives.keccak import keccak256
from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS, inference_gas

ZERO_ADDRESS = b"\x00" * 20
JOB_STATUS = {0: "none", 1: "open", 2: "submitted", 3: "finalized", 4: "slashed", 5: "cancelled"}
DEFAULT_CHALLENGE_WINDOW = 3_600
DEFAULT_WORKER_BOND = 10**16
DEFAULT_MOVE_WINDOW = 600
CHUNK_GAS = 6_000_000


@lru_cache(maxsize=None)
def contract_abi(name: str) -> ContractABI:
    return ContractABI(load_artifact(name)["abi"])


@dataclass
class ModelInfo:
    model_hash: bytes
    owner: bytes
    holders: bytes  # receives the holders' share while the model has no DAT class
    dat_class_id: int  # the LazAI DAT class anchoring the model (0: none)
    input_shape: list[int]
    output_size: int
    macs: int
    input_scale_q32: int
    inference_fee: int
    registered_at: int
    name: str


@dataclass
class JobInfo:
    job_id: int
    requester: bytes
    model_hash: bytes
    input_hash: bytes
    fee: int
    requester_bond: int
    worker: bytes
    result_hash: bytes
    worker_bond: int
    submitted_at: int
    status: str
    challenger: bytes
    trace_root: bytes = b"\x00" * 32
    open_disputes: int = 0


@dataclass
class Deployment:
    """Addresses of one deployment of the AI contracts (saved by the CLI as JSON)."""

    registry: bytes
    gateway: bytes = ZERO_ADDRESS
    jobs: bytes = ZERO_ADDRESS

    def to_json(self) -> str:
        return json.dumps({k: "0x" + v.hex() for k, v in asdict(self).items()}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Deployment":
        data = json.loads(text)
        return cls(**{k: bytes.fromhex(v.removeprefix("0x")) for k, v in data.items() if k in ("registry", "gateway", "jobs")})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Deployment":
        return cls.from_json(Path(path).read_text())

    @classmethod
    def predeployed(cls) -> "Deployment":
        """The system contracts every ``hyperion node`` has from genesis (``hyperion.predeploys``)."""
        from hyperion.predeploys.plan import INFERENCE_GATEWAY_ADDRESS, INFERENCE_JOBS_ADDRESS, MODEL_REGISTRY_ADDRESS

        return cls(MODEL_REGISTRY_ADDRESS, INFERENCE_GATEWAY_ADDRESS, INFERENCE_JOBS_ADDRESS)


class AIClient:
    """The AI contracts on one backend; ``sender`` is the default transaction signer.

    Without ``deployment`` (or ``registry``) the client talks to the
    predeployed system contracts of ``hyperion node`` (``Deployment.predeployed()``).
    """

    def __init__(self, backend, deployment: Deployment | None = None, sender: Optional[bytes] = None,
                 registry: Optional[bytes] = None):
        self.backend = backend
        if deployment is None:
            deployment = Deployment(registry) if registry is not None else Deployment.predeployed()
        self.deployment = deployment
        self.sender = sender

    def require_code(self) -> None:
        """Raise ``AIError`` unless every contract of the deployment has code on the backend's chain."""
        for name, address in (("ModelRegistry", self.deployment.registry),
                              ("InferenceGateway", self.deployment.gateway),
                              ("InferenceJobs", self.deployment.jobs)):
            if address != ZERO_ADDRESS and not self.backend.code(address):
                raise AIError(f"no {name} contract at 0x{address.hex()} on this chain")

    # -- plumbing --------------------------------------------------------------------
    def _signer(self, sender: Optional[bytes]) -> bytes:
        signer = sender if sender is not None else self.sender
        if signer is None:
            raise AIError("no sender given")
        return signer

    def transact(self, contract: str, address: bytes, function: str, *args: Any, value: int = 0,
                 sender: Optional[bytes] = None, gas: int = 3_000_000) -> Receipt:
        data = contract_abi(contract).encode_call(function, *args)
        receipt = self.backend.send(self._signer(sender), address, data, value, gas)
        if not receipt.success:
            reason = revert_reason(receipt.output)
            raise CallFailed(f"{contract}.{function} reverted" + (f": {reason}" if reason else ""), reason, receipt)
        return receipt

    def read(self, contract: str, address: bytes, function: str, *args: Any) -> Any:
        abi = contract_abi(contract)
        return abi.decode_result(function, self.backend.call(address, abi.encode_call(function, *args)))

    def deploy_contract(self, name: str, *args: Any, value: int = 0, sender: Optional[bytes] = None) -> bytes:
        artifact = load_artifact(name)
        code = artifact["bytecode"] + contract_abi(name).encode_constructor(*args)
        receipt = self.backend.send(self._signer(sender), None, code, value, 6_000_000)
        if not receipt.success or receipt.contract_address is None:
            raise CallFailed(f"deploying {name} failed", revert_reason(receipt.output), receipt)
        return receipt.contract_address

    @classmethod
    def deploy(cls, backend, sender: bytes, protocol_vault: bytes, governor: bytes, *,
               challenge_window: int = DEFAULT_CHALLENGE_WINDOW, worker_bond: int = DEFAULT_WORKER_BOND,
               dat: bytes = ZERO_ADDRESS, move_window: int = DEFAULT_MOVE_WINDOW) -> "AIClient":
        """Deploy ModelRegistry, InferenceGateway and InferenceJobs.

        ``protocol_vault`` receives the protocol share (the LazAI HoldersMining
        contract: it needs ``depositRevenue``); ``governor`` is the LazAI
        ProtocolGovernor whose staker-governed parameters set the fee split;
        ``dat`` is the LazAI DAT contract in which registered models become
        classes (zero: no anchoring, holders' share to the owner).
        The registry accepts only models published in the chain's ModelStore predeploy,
        the one the inference precompiles read.
        """
        from hyperion.predeploys.plan import MODEL_STORE_ADDRESS

        client = cls(backend, sender=sender)
        registry = client.deploy_contract("ModelRegistry", protocol_vault, governor, dat, MODEL_STORE_ADDRESS)
        gateway = client.deploy_contract("InferenceGateway", registry)
        jobs = client.deploy_contract("InferenceJobs", registry, challenge_window, worker_bond, move_window)
        client.deployment = Deployment(registry, gateway, jobs)
        return client

    # -- models ----------------------------------------------------------------------
    def publish_model(self, model: QuantizedModel, sender: Optional[bytes] = None,
                      on_progress: Optional[Callable[[int, int, str], None]] = None) -> bytes:
        """Publish the model's bytes to the ModelStore predeploy (chunks, then seal); returns its hash.

        ``on_progress(done, total, what)`` is told each transaction as it is sent (a command draws a bar).
        """
        from hyperion.ai.chainstore import CHUNK_BYTES
        from hyperion.predeploys.plan import MODEL_STORE_ADDRESS

        data, digest = model.encode(), model.content_hash
        if self.read("ModelStore", MODEL_STORE_ADDRESS, "is_available", digest):
            return digest
        chunks = range(0, len(data), CHUNK_BYTES)
        for index, start in enumerate(chunks):
            if on_progress is not None:
                on_progress(index, len(chunks) + 1, f"chunk {index + 1} of {len(chunks)}")
            self.transact("ModelStore", MODEL_STORE_ADDRESS, "publish_chunk", digest, len(data), index,
                          data[start:start + CHUNK_BYTES], sender=sender, gas=CHUNK_GAS)
        if on_progress is not None:
            on_progress(len(chunks), len(chunks) + 1, "sealing")
        signer = self._signer(sender)
        publisher = address_of_key(signer) if len(signer) == 32 else signer
        self.transact("ModelStore", MODEL_STORE_ADDRESS, "seal", digest, publisher, sender=sender)
        return digest

    def fetch_model(self, digest: bytes) -> QuantizedModel:
        """A model rebuilt from chain data alone (the ModelStore's chunk contracts), checked against its hash."""
        from hyperion.ai.chainstore import CHUNK_BYTES
        from hyperion.ai.errors import UnknownModel
        from hyperion.ai.model import decode_model, model_hash
        from hyperion.predeploys.plan import MODEL_STORE_ADDRESS

        if not self.read("ModelStore", MODEL_STORE_ADDRESS, "is_available", digest):
            raise UnknownModel(f"model 0x{bytes(digest).hex()} is not on chain")
        size = self.read("ModelStore", MODEL_STORE_ADDRESS, "model_size", digest)
        data = b"".join(self.backend.code(self.read("ModelStore", MODEL_STORE_ADDRESS, "chunk", digest, i))[1:]
                        for i in range(-(-size // CHUNK_BYTES)))
        if model_hash(data) != bytes(digest):
            raise UnknownModel(f"chain data of model 0x{bytes(digest).hex()} does not hash to it")
        return decode_model(data)

    def register_model(self, model: QuantizedModel, *, name: str = "", inference_fee: int = 0,
                       sender: Optional[bytes] = None,
                       on_progress: Optional[Callable[[int, int, str], None]] = None) -> Receipt:
        """Publish the bytes on chain (unless they already are) and register the hash."""
        published = 0                                   # publishing's transactions; registering is one more

        def publishing(done: int, total: int, what: str) -> None:
            nonlocal published
            published = total
            on_progress(done, total + 1, what)

        self.publish_model(model, sender=sender, on_progress=publishing if on_progress is not None else None)
        if on_progress is not None:
            on_progress(published, published + 1, "registering")
        return self.transact("ModelRegistry", self.deployment.registry, "register", model.content_hash,
                             list(model.input_shape), model.output_size, model.macs, model.input_scale_q32,
                             inference_fee, name, sender=sender)

    def update_model(self, model_hash: bytes, holders: bytes, dat_class_id: int, inference_fee: int,
                     sender: Optional[bytes] = None) -> Receipt:
        return self.transact("ModelRegistry", self.deployment.registry, "update_model", model_hash, holders,
                             dat_class_id, inference_fee, sender=sender)

    def settle_holders(self, model_hash: bytes, sender: Optional[bytes] = None) -> Receipt:
        """Push a model's accrued holders' share into its DAT class."""
        return self.transact("ModelRegistry", self.deployment.registry, "settle_holders", model_hash, sender=sender)

    def model_info(self, model_hash: bytes) -> Optional[ModelInfo]:
        fields = self.read("ModelRegistry", self.deployment.registry, "models", model_hash)
        if fields[0] == ZERO_ADDRESS:
            return None
        owner, holders, class_id, shape, out_size, macs, scale, fee, at, name = fields
        return ModelInfo(model_hash, owner, holders, class_id, list(shape), out_size, macs, scale, fee, at, name)

    def list_models(self) -> list[ModelInfo]:
        count = self.read("ModelRegistry", self.deployment.registry, "model_count")
        hashes = [self.read("ModelRegistry", self.deployment.registry, "model_hashes", i) for i in range(count)]
        return [info for info in map(self.model_info, hashes) if info is not None]

    def infer(self, model_hash: bytes, input_bytes: bytes) -> bytes:
        """Free read-only inference: an ``eth_call`` straight to the precompile."""
        return self.backend.call(INFERENCE_ADDRESS, bytes(model_hash) + bytes(input_bytes))

    def infer_paid(self, model_hash: bytes, input_bytes: bytes, fee: int, sender: Optional[bytes] = None,
                   access_token: int = 0) -> Receipt:
        """Inference through the gateway, paying ``fee`` (split by the registry).

        A model anchored as a DAT class needs ``access_token``: a token of that
        class the sender owns (or operates), which loses one unit of quota.
        """
        return self.transact("InferenceGateway", self.deployment.gateway, "infer", model_hash, input_bytes,
                             access_token, value=fee, sender=sender)

    def split(self, amount: int) -> tuple[int, int, int]:
        return self.read("ModelRegistry", self.deployment.registry, "split", amount)

    def credits(self, account: bytes, contract: str = "ModelRegistry") -> int:
        address = self.deployment.registry if contract == "ModelRegistry" else self.deployment.jobs
        return self.read(contract, address, "credits", account)

    def withdraw(self, contract: str = "ModelRegistry", sender: Optional[bytes] = None) -> Receipt:
        address = self.deployment.registry if contract == "ModelRegistry" else self.deployment.jobs
        return self.transact(contract, address, "withdraw", sender=sender)

    # -- off-chain jobs --------------------------------------------------------------
    def register_worker(self, sender: Optional[bytes] = None) -> Receipt:
        return self.transact("InferenceJobs", self.deployment.jobs, "register_worker", sender=sender)

    def post_job(self, model_hash: bytes, input_bytes: bytes, fee: int, bond: int = 0,
                 sender: Optional[bytes] = None) -> int:
        """Post a job for ``input_bytes`` (only its hash goes on chain); returns the job id."""
        receipt = self.transact("InferenceJobs", self.deployment.jobs, "post_job", model_hash,
                                keccak256(bytes(input_bytes)), fee, value=fee + bond, sender=sender)
        return self._job_id(receipt)

    def post_public_job(self, model_hash: bytes, input_bytes: bytes, fee: int, bond: int = 0,
                        sender: Optional[bytes] = None) -> int:
        """Post a job whose input goes on chain, so that watchers can check its result; returns the job id."""
        receipt = self.transact("InferenceJobs", self.deployment.jobs, "post_job_with_input", model_hash,
                                bytes(input_bytes), fee, value=fee + bond, sender=sender)
        return self._job_id(receipt)

    def _job_id(self, receipt: Receipt) -> int:
        for name, fields in self._events(receipt, "InferenceJobs"):
            if name == "JobPosted":
                return fields["job_id"]
        raise AIError("JobPosted event missing from the receipt")

    def submit_result(self, job_id: int, output: bytes, bond: int, sender: Optional[bytes] = None,
                      publish_output: bool = True, trace_root: bytes = b"\x00" * 32) -> Receipt:
        """Commit to ``output`` and to the root of the trace that produced it (``hyperion.ai.trace``)."""
        return self.transact("InferenceJobs", self.deployment.jobs, "submit_result", job_id, keccak256(output),
                             trace_root, output if publish_output else b"", value=bond, sender=sender)

    def challenge(self, job_id: int, input_bytes: bytes, bond: int, sender: Optional[bytes] = None) -> Receipt:
        return self.transact("InferenceJobs", self.deployment.jobs, "challenge", job_id, input_bytes,
                             value=bond, sender=sender, gas=5_000_000)

    def finalize(self, job_id: int, sender: Optional[bytes] = None) -> Receipt:
        return self.transact("InferenceJobs", self.deployment.jobs, "finalize", job_id, sender=sender)

    def cancel_job(self, job_id: int, sender: Optional[bytes] = None) -> Receipt:
        return self.transact("InferenceJobs", self.deployment.jobs, "cancel_job", job_id, sender=sender)

    def job(self, job_id: int) -> JobInfo:
        fields = list(self.read("InferenceJobs", self.deployment.jobs, "jobs", job_id))
        fields[9] = JOB_STATUS.get(fields[9], str(fields[9]))
        return JobInfo(job_id, *fields)

    def job_trail(self, job_id: int) -> list[tuple[str, dict]]:
        """Every event of ``job_id`` in order: the queryable history of one inference job."""
        abi = contract_abi("InferenceJobs")
        trail = []
        for _, topics, data in self.backend.get_logs(self.deployment.jobs):
            decoded = abi.decode_log(topics, data)
            if decoded is not None and decoded[1].get("job_id") == job_id:
                trail.append(decoded)
        return trail

    def _events(self, receipt: Receipt, contract: str) -> list[tuple[str, dict]]:
        abi = contract_abi(contract)
        return [d for d in (abi.decode_log(topics, data) for _, topics, data in receipt.logs) if d is not None]

    def events(self, receipt: Receipt) -> list[tuple[str, dict]]:
        """Decoded events of every AI contract in a receipt."""
        found = []
        for name in ("ModelRegistry", "InferenceGateway", "InferenceJobs", "DigitBounty"):
            found += self._events(receipt, name)
        return found


def expected_precompile_gas(model: QuantizedModel) -> int:
    """What one precompile call to ``model`` costs (the documented formula)."""
    return inference_gas(model.macs, model.input_size, model.output_size)
