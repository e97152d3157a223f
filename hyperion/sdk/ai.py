"""The AI contracts: deploy, register models, infer (free or paid), and the off-chain job game.

``AIClient`` works on one ``HyperionClient`` (any node: a URL or a dev chain
in this process). Without a ``Deployment`` it talks to the system contracts
every ``hyperion node`` predeploys (``hyperion.predeploys``). Every
transaction method takes ``sender=`` (a key, an account, or an unlocked
address), defaulting to the client's own key. Addresses are checksum
strings, hashes and payloads bytes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from web3 import Web3

from hyperion.ai.chainstore import CHUNK_BYTES, MAX_MODEL_BYTES
from hyperion.ai.errors import AIError, UnknownModel
from hyperion.ai.model import QuantizedModel, decode_model, model_hash
from hyperion.artifacts import load_artifact
from hyperion.predeploys import plan
from hyperion.sdk.client import HyperionClient, TxResult, to_address
from hyperion.sdk.errors import SdkError
from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS

log = logging.getLogger("hyperion.sdk.ai")

ZERO_ADDRESS = "0x" + "00" * 20
JOB_STATUS = {0: "none", 1: "open", 2: "submitted", 3: "finalized", 4: "slashed", 5: "cancelled"}
AI_CONTRACTS = ("ModelRegistry", "InferenceGateway", "InferenceJobs")
CHUNK_GAS = 6_000_000  # publishing a full 24,000-byte model chunk costs about 5.4M gas


@dataclass
class ModelInfo:
    model_hash: bytes
    owner: str
    holders: str  # receives the holders' share while the model has no DAT class
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
    requester: str
    model_hash: bytes
    input_hash: bytes
    fee: int
    requester_bond: int
    worker: str
    result_hash: bytes
    worker_bond: int
    submitted_at: int
    status: str
    challenger: str
    trace_root: bytes = b"\x00" * 32
    open_disputes: int = 0


@dataclass
class Deployment:
    """Addresses of one deployment of the AI contracts (saved by ``hyperion model deploy`` as JSON)."""

    registry: str
    gateway: str = ZERO_ADDRESS
    jobs: str = ZERO_ADDRESS

    def __post_init__(self) -> None:
        self.registry, self.gateway, self.jobs = (to_address(a) for a in (self.registry, self.gateway, self.jobs))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Deployment":
        try:
            data = json.loads(text)
            return cls(**{k: v for k, v in data.items() if k in ("registry", "gateway", "jobs")})
        except (ValueError, TypeError, AttributeError) as exc:
            raise SdkError(f"not a deployment file: {exc}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Deployment":
        return cls.from_json(Path(path).read_text())

    @classmethod
    def predeployed(cls) -> "Deployment":
        """The system contracts every ``hyperion node`` has from genesis."""
        return cls(plan.MODEL_REGISTRY_ADDRESS, plan.INFERENCE_GATEWAY_ADDRESS, plan.INFERENCE_JOBS_ADDRESS)

    def address_of(self, contract: str) -> str:
        return {"ModelRegistry": self.registry, "InferenceGateway": self.gateway, "InferenceJobs": self.jobs}[contract]


class AIClient:
    """The AI contracts of one deployment, over one ``HyperionClient``."""

    def __init__(self, client: HyperionClient, deployment: Deployment | None = None) -> None:
        self.client = client
        self.deployment = deployment or Deployment.predeployed()
        self._bind()

    def _bind(self) -> None:
        self.registry, self.gateway, self.jobs = (
            self.client.contract_at(self.deployment.address_of(name), load_artifact(name)["abi"])
            for name in AI_CONTRACTS)

    def contract(self, name: str):
        """The web3 contract object of ``ModelRegistry``, ``InferenceGateway`` or ``InferenceJobs``."""
        return {"ModelRegistry": self.registry, "InferenceGateway": self.gateway, "InferenceJobs": self.jobs}[name]

    def require_code(self) -> None:
        """``SdkError`` unless every contract of the deployment has code on the node's chain."""
        for name in AI_CONTRACTS:
            address = self.deployment.address_of(name)
            if address != ZERO_ADDRESS and not self.client.code(address):
                raise SdkError(f"no {name} contract at {address} on this chain")

    # -- deploying -------------------------------------------------------------------
    def deploy_contract(self, name: str, *args: Any, value: int = 0, sender=None):
        """Deploy the artifact ``name`` (e.g. ``DigitBounty``); returns its web3 contract object."""
        artifact = load_artifact(name)
        return self.client.deploy(artifact["abi"], artifact["bytecode"], *args, value=value, sender=sender)

    @classmethod
    def deploy(cls, client: HyperionClient, protocol_vault: str | bytes, governor: str | bytes, *,
               challenge_window: int = plan.CHALLENGE_WINDOW, worker_bond: int = plan.WORKER_BOND,
               dat: str | bytes = ZERO_ADDRESS, move_window: int = plan.MOVE_WINDOW, sender=None) -> "AIClient":
        """Deploy ModelRegistry, InferenceGateway and InferenceJobs (a custom deployment).

        ``protocol_vault`` receives the protocol share (the LazAI HoldersMining
        contract: it needs ``depositRevenue``); ``governor`` is the LazAI
        ProtocolGovernor whose staker-governed parameters set the fee split;
        ``dat`` is the LazAI DAT contract in which registered models become
        classes (zero: no anchoring, the holders' share goes to the owner).
        The registry accepts only models published in the chain's ModelStore
        predeploy, the one the inference precompiles read.
        """
        ai = cls.__new__(cls)
        ai.client = client
        registry = ai.deploy_contract("ModelRegistry", to_address(protocol_vault), to_address(governor),
                                      to_address(dat), to_address(plan.MODEL_STORE_ADDRESS), sender=sender)
        gateway = ai.deploy_contract("InferenceGateway", registry.address, sender=sender)
        jobs = ai.deploy_contract("InferenceJobs", registry.address, challenge_window, worker_bond, move_window,
                                  sender=sender)
        ai.deployment = Deployment(registry.address, gateway.address, jobs.address)
        ai._bind()
        return ai

    # -- model bytes on chain ------------------------------------------------------------
    @property
    def model_store(self):
        """The ModelStore predeploy, where model bytes are published for every node to read."""
        return self.client.artifact_contract("ModelStore", plan.MODEL_STORE_ADDRESS)

    def publish_model(self, model: QuantizedModel | bytes, sender=None,
                      on_progress: Optional[Callable[[int, int, str], None]] = None) -> bytes:
        """Put a model's bytes on chain (chunks, then seal); returns its hash.

        A model already available is left as is; an upload this sender began
        resumes after the chunks it already sent. ``on_progress(done, total,
        what)`` is told each transaction before it is sent (a command draws a bar).
        """
        data = model.encode() if isinstance(model, QuantizedModel) else bytes(model)
        decode_model(data)  # refuse to publish what no node could run
        if len(data) > MAX_MODEL_BYTES:
            raise AIError(f"a model on chain is at most {MAX_MODEL_BYTES} bytes, this one is {len(data)}")
        digest = model_hash(data)
        store = self.model_store
        if store.functions.is_available(digest).call():
            log.info("model 0x%s is already on chain", digest.hex())
            return digest
        publisher = self.client.sender_address(sender)
        key = store.functions.upload_key(digest, publisher).call()
        chunks = range(0, len(data), CHUNK_BYTES)
        for index, start in enumerate(chunks):
            if int(store.functions.upload_chunks(key, index).call(), 16):
                continue  # this sender already sent the chunk: resume after it
            if on_progress is not None:
                on_progress(index, len(chunks) + 1, f"chunk {index + 1} of {len(chunks)}")
            chunk = data[start:start + CHUNK_BYTES]
            self.client.transact(store.functions.publish_chunk(digest, len(data), index, chunk), gas=CHUNK_GAS,
                                 sender=sender)
            log.info("published chunk %d of model 0x%s (%d bytes)", index, digest.hex(), len(chunk))
        if on_progress is not None:
            on_progress(len(chunks), len(chunks) + 1, "sealing")
        self.client.transact(store.functions.seal(digest, publisher), sender=sender)
        log.info("sealed model 0x%s (%d bytes)", digest.hex(), len(data))
        return digest

    def fetch_model_bytes(self, digest: bytes) -> bytes:
        """A sealed model's bytes, rebuilt from chain data alone and checked against its hash."""
        store = self.model_store
        if not store.functions.is_available(digest).call():
            raise UnknownModel(f"model 0x{bytes(digest).hex()} is not on chain")
        size = store.functions.model_size(digest).call()
        data = b"".join(self.client.code(store.functions.chunk(digest, index).call())[1:]
                        for index in range(-(-size // CHUNK_BYTES)))
        if len(data) != size or model_hash(data) != bytes(digest):
            raise UnknownModel(f"chain data for model 0x{bytes(digest).hex()} does not hash to it")
        return data

    def fetch_model(self, digest: bytes, cache=None) -> QuantizedModel:
        """``fetch_model_bytes`` through an optional local ``ModelStore`` cache (checked by hash either way)."""
        data: Optional[bytes] = None
        if cache is not None:
            try:
                data = cache.get_bytes(digest)
            except AIError:
                data = None
        if data is None:
            data = self.fetch_model_bytes(digest)
            if cache is not None:
                cache.put(data)
        return decode_model(data)

    # -- models ----------------------------------------------------------------------
    def register_model(self, model: QuantizedModel, *, name: str = "", inference_fee: int = 0,
                       sender=None, on_progress: Optional[Callable[[int, int, str], None]] = None) -> TxResult:
        """Publish the bytes on chain (unless they already are) and register the hash."""
        published = 0                                   # publishing's transactions; registering is one more

        def publishing(done: int, total: int, what: str) -> None:
            nonlocal published
            published = total
            on_progress(done, total + 1, what)

        self.publish_model(model, sender=sender, on_progress=publishing if on_progress is not None else None)
        if on_progress is not None:
            on_progress(published, published + 1, "registering")
        return self.client.transact(self.registry.functions.register(
            model.content_hash, list(model.input_shape), model.output_size, model.macs, model.input_scale_q32,
            inference_fee, name), sender=sender)

    def update_model(self, model_hash: bytes, holders: str | bytes, dat_class_id: int, inference_fee: int,
                     sender=None) -> TxResult:
        return self.client.transact(self.registry.functions.update_model(
            model_hash, to_address(holders), dat_class_id, inference_fee), sender=sender)

    def settle_holders(self, model_hash: bytes, sender=None) -> TxResult:
        """Push a model's accrued holders' share into its DAT class."""
        return self.client.transact(self.registry.functions.settle_holders(model_hash), sender=sender)

    def model_info(self, model_hash: bytes) -> Optional[ModelInfo]:
        fields = self.registry.functions.models(model_hash).call()
        if fields[0] == ZERO_ADDRESS:
            return None
        owner, holders, class_id, shape, out_size, macs, scale, fee, at, name = fields
        return ModelInfo(bytes(model_hash), owner, holders, class_id, list(shape), out_size, macs, scale, fee, at,
                         name)

    def list_models(self) -> list[ModelInfo]:
        functions = self.registry.functions
        hashes = [functions.model_hashes(i).call() for i in range(functions.model_count().call())]
        return [info for info in map(self.model_info, hashes) if info is not None]

    def infer(self, model_hash: bytes, input_bytes: bytes) -> bytes:
        """Free read-only inference: an ``eth_call`` straight to the precompile."""
        return self.client.call(INFERENCE_ADDRESS, bytes(model_hash) + bytes(input_bytes))

    def infer_paid(self, model_hash: bytes, input_bytes: bytes, fee: int, sender=None,
                   access_token: int = 0) -> TxResult:
        """Inference through the gateway, paying ``fee`` (split by the registry).

        A model anchored as a DAT class needs ``access_token``: a token of that
        class the sender owns (or operates), which loses one unit of quota.
        """
        return self.client.transact(self.gateway.functions.infer(model_hash, input_bytes, access_token), value=fee,
                                    sender=sender)

    def split(self, amount: int) -> tuple[int, int, int]:
        return tuple(self.registry.functions.split(amount).call())

    def credits(self, account: str | bytes, contract: str = "ModelRegistry") -> int:
        return self.contract(contract).functions.credits(to_address(account)).call()

    def withdraw(self, contract: str = "ModelRegistry", sender=None) -> TxResult:
        return self.client.transact(self.contract(contract).functions.withdraw(), sender=sender)

    # -- off-chain jobs --------------------------------------------------------------
    def register_worker(self, sender=None) -> TxResult:
        return self.client.transact(self.jobs.functions.register_worker(), sender=sender)

    def post_job(self, model_hash: bytes, input_bytes: bytes, fee: int, bond: int = 0, sender=None) -> int:
        """Post a job for ``input_bytes`` (only its hash goes on chain); returns the job id."""
        result = self.client.transact(self.jobs.functions.post_job(model_hash, Web3.keccak(bytes(input_bytes)), fee),
                                      value=fee + bond, sender=sender)
        return result.event("JobPosted")["job_id"]

    def post_public_job(self, model_hash: bytes, input_bytes: bytes, fee: int, bond: int = 0, sender=None) -> int:
        """Post a job whose input goes on chain, so that watchers can check its result; returns the job id."""
        result = self.client.transact(self.jobs.functions.post_job_with_input(model_hash, bytes(input_bytes), fee),
                                      value=fee + bond, sender=sender)
        return result.event("JobPosted")["job_id"]

    def submit_result(self, job_id: int, output: bytes, bond: int, sender=None, publish_output: bool = True,
                      trace_root: bytes = b"\x00" * 32) -> TxResult:
        """Commit to ``output`` and to the root of the trace that produced it (``hyperion.ai.trace``)."""
        return self.client.transact(self.jobs.functions.submit_result(
            job_id, Web3.keccak(bytes(output)), trace_root, bytes(output) if publish_output else b""), value=bond,
            sender=sender)

    def challenge(self, job_id: int, input_bytes: bytes, bond: int, sender=None) -> TxResult:
        return self.client.transact(self.jobs.functions.challenge(job_id, bytes(input_bytes)), value=bond,
                                    sender=sender)

    def finalize(self, job_id: int, sender=None) -> TxResult:
        return self.client.transact(self.jobs.functions.finalize(job_id), sender=sender)

    def cancel_job(self, job_id: int, sender=None) -> TxResult:
        return self.client.transact(self.jobs.functions.cancel_job(job_id), sender=sender)

    def job(self, job_id: int) -> JobInfo:
        fields = list(self.jobs.functions.jobs(job_id).call())
        fields[9] = JOB_STATUS.get(fields[9], str(fields[9]))
        return JobInfo(job_id, *fields)

    def job_trail(self, job_id: int) -> list[tuple[str, dict]]:
        """Every event of ``job_id`` in order: the queryable history of one inference job."""
        logs = self.client.w3.eth.get_logs({"address": self.jobs.address, "fromBlock": 0, "toBlock": "latest"})
        trail = []
        for event in self.client.decode_events({"logs": logs}):
            if event["args"].get("job_id") == job_id:
                trail.append((event["event"], dict(event["args"])))
        return trail
