"""``hyperion model ...``, ``hyperion job ...``, ``hyperion ai watch``: the AI contracts from the command line.

    hyperion model deploy   [--vault ADDR] [--governor ADDR] [--dat ADDR]   deploy registry, gateway, jobs
    hyperion model register FILE.hqm|digits|charlm [--name N] [--fee WEI]   publish the bytes on chain, register
    hyperion model list
    hyperion model infer HASH (--input-hex HEX | --input-file F | --digits-sample I | --text T)
    hyperion job post HASH (input) --fee WEI [--bond WEI] [--private]
    hyperion job register-worker
    hyperion job submit JOB (--output-hex HEX | --compute (input)) --bond WEI
    hyperion job challenge JOB (input) --bond WEI
    hyperion job finalize JOB
    hyperion job status JOB
    hyperion ai watch --key K [--from-block N] [--interval S] [--cache DIR]
    hyperion ai work  --key K [--bond WEI] [--from-block N] [--interval S] [--cache DIR]

Besides the node and signer options every command shares (``--rpc-url``,
``--key``, ``--dev-account``; see ``hyperion.cli.common``; without a key the
node's first unlocked dev account signs): ``--deployment FILE`` (contract
addresses of a custom deployment, default $HYPERION_AI_DEPLOYMENT; without
one the commands use the system contracts every ``hyperion node``
predeploys; ``model deploy`` writes it, default ./hyperion-ai.json). Model
bytes are chain data: ``model register`` publishes them to the ModelStore
predeploy, and ``job submit --compute`` reads them back from the chain.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

from hyperion.cli.common import (
    EXIT_OK,
    CommandFailed,
    UsageError,
    add_command,
    add_rpc_options,
    add_signer_options,
    address,
    amount,
    hash32,
    hex_bytes,
    private_key,
    rpc_url,
)

DEFAULT_DEPLOYMENT = "hyperion-ai.json"
READ_ONLY = {("model", "list"), ("model", "infer"), ("job", "status")}  # need no signer


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_rpc_options(parser)
    add_signer_options(parser)
    parser.add_argument("--deployment", default=os.environ.get("HYPERION_AI_DEPLOYMENT") or None,
                        help="JSON file with the addresses of a custom deployment (default: the node's "
                             "predeployed system contracts; `model deploy` writes ./hyperion-ai.json)")


def _add_input(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--input-hex", type=hex_bytes, help="raw int8 input bytes as hex")
    group.add_argument("--input-file", type=Path, help="file holding the raw int8 input bytes")
    group.add_argument("--digits-sample", type=int, metavar="I", help="the I-th quantized test image of the digits set")
    group.add_argument("--text", help="ASCII text as the input bytes (the charlm model reads 32 characters)")


def register(commands: argparse._SubParsersAction) -> None:
    model_group = add_command(commands, "model", help="AI model registry: deploy, register, list, infer")
    model_group.set_defaults(group="model")
    model = model_group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = add_command(model, "deploy", run, help="deploy ModelRegistry, InferenceGateway and InferenceJobs")
    p.add_argument("--vault", type=address,
                   help="Holders Mining vault that takes the protocol share (default: the predeployed one)")
    p.add_argument("--governor", type=address,
                   help="ProtocolGovernor whose staker-governed parameters set the fee split "
                        "(default: the predeployed one)")
    p.add_argument("--challenge-window", type=int, default=3600, help="seconds")
    p.add_argument("--worker-bond", type=amount, default=10**16)
    p.add_argument("--dat", type=address, default=b"\x00" * 20,
                   help="LazAI DAT contract: registered models become DAT classes (default: none)")
    p = add_command(model, "register", run, help="publish a model's bytes on chain and register its hash")
    p.add_argument("file", help="a .hqm model file, or 'digits' / 'charlm' for the shipped models")
    p.add_argument("--name", default="")
    p.add_argument("--fee", type=amount, default=0, help="inference fee charged by the gateway")
    add_command(model, "list", run, help="list registered models")
    p = add_command(model, "infer", run, help="run the precompile (eth_call) on an input")
    p.add_argument("model_hash", type=hash32)
    _add_input(p)

    job_group = add_command(commands, "job", help="verified off-chain inference jobs: post, submit, challenge, status")
    job_group.set_defaults(group="job")
    job = job_group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = add_command(job, "post", run, help="post a job")
    p.add_argument("model_hash", type=hash32)
    _add_input(p)
    p.add_argument("--fee", type=amount, required=True)
    p.add_argument("--bond", type=amount, default=0)
    p.add_argument("--private", action="store_true",
                   help="put only the input's hash on chain (then nobody but you can check the result)")
    add_command(job, "register-worker", run, help="register the sender as a worker")
    p = add_command(job, "submit", run, help="submit a result with a bond")
    p.add_argument("job_id", type=int)
    p.add_argument("--output-hex", type=hex_bytes, help="the claimed output bytes")
    p.add_argument("--compute", action="store_true",
                   help="compute the output and its trace from the model's chain data (needs the input)")
    _add_input(p)
    p.add_argument("--bond", type=amount, required=True)
    p = add_command(job, "challenge", run, help="challenge a result (re-executes on chain)")
    p.add_argument("job_id", type=int)
    _add_input(p)
    p.add_argument("--bond", type=amount, required=True)
    p = add_command(job, "finalize", run, help="finalize a result after the challenge window")
    p.add_argument("job_id", type=int)
    p = add_command(job, "status", run, help="show a job and its event trail")
    p.add_argument("job_id", type=int)
    for sub in (model, job):
        for choice in sub.choices.values():
            _add_common(choice)

    ai_group = add_command(commands, "ai", help="verifiable AI agents: the watcher and the worker")
    ai = ai_group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    watch_parser = add_command(ai, "watch", run_agent, help="re-execute every submitted job result and dispute "
                                                           "the wrong ones with this key's bond")
    work_parser = add_command(ai, "work", run_agent, help="take public jobs, submit results with their trace, "
                                                         "defend them in disputes")
    work_parser.add_argument("--bond", type=amount, help="bond per result (default: the contract's minimum)")
    for p in (watch_parser, work_parser):
        add_rpc_options(p)
        add_signer_options(p)
        p.add_argument("--jobs", type=address, help="InferenceJobs address (default: the predeploy)")
        p.add_argument("--from-block", type=int, default=0, metavar="N", help="first block to read events from")
        p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="seconds between polls")
        p.add_argument("--cache", type=Path, metavar="DIR", help="keep model bytes read from the chain in DIR")
        p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")


def _read_input(args) -> bytes:
    if getattr(args, "text", None) is not None:
        return args.text.encode("ascii", errors="replace")
    if args.input_hex is not None:
        return args.input_hex
    if args.input_file is not None:
        return args.input_file.read_bytes()
    if args.digits_sample is not None:
        from hyperion.ai.digits import sample_inputs

        return sample_inputs(args.digits_sample + 1)[args.digits_sample]
    raise UsageError("an input is required: --input-hex, --input-file or --digits-sample")


def _describe_output(output: bytes) -> str:
    if len(output) == 32:
        return f"0x{output.hex()}  (class {int.from_bytes(output, 'big')})"
    return "0x" + output.hex()


def open_connection(args: argparse.Namespace):
    """The SDK over the node the command talks to, signing with the command's key (if any)."""
    from hyperion.sdk import connect

    return connect(rpc_url(args), private_key(args))


def _deployment(args: argparse.Namespace, client):
    """The AI contracts the command uses: ``--deployment FILE``, else the node's predeploys."""
    from hyperion.sdk import AIClient, Deployment, SdkError

    if args.deployment is not None:
        deployment_path = Path(args.deployment)
        if not deployment_path.exists():
            raise UsageError(f"no deployment file {deployment_path}; run `hyperion model deploy` or pass --deployment")
        return AIClient(client, Deployment.load(deployment_path))
    ai = AIClient(client)
    try:
        ai.require_code()
    except SdkError as exc:
        raise UsageError(f"{exc}: this node has no predeployed AI contracts; "
                         "run `hyperion model deploy` and pass --deployment FILE") from None
    return ai


def run(args: argparse.Namespace) -> int:
    from hyperion.sdk import AIClient

    client = open_connection(args).client
    sender = None
    if client.account is None and (args.group, args.command) not in READ_ONLY:
        # no key given: the node's first unlocked (dev) account signs
        accounts = client.w3.eth.accounts
        if not accounts:
            raise UsageError("no signing key: pass --key, --dev-account N or set HYPERION_PRIVATE_KEY")
        sender = accounts[0]

    if args.group == "model" and args.command == "deploy":
        deployment_path = Path(args.deployment or DEFAULT_DEPLOYMENT)
        from hyperion.predeploys.plan import FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS

        ai = AIClient.deploy(client, args.vault or FEE_VAULT_ADDRESS, args.governor or PROTOCOL_GOVERNOR_ADDRESS,
                             challenge_window=args.challenge_window, worker_bond=args.worker_bond, dat=args.dat,
                             sender=sender)
        ai.deployment.save(deployment_path)
        for name in ("ModelRegistry", "InferenceGateway", "InferenceJobs"):
            print(f"{name:<17} {ai.deployment.address_of(name)}")
        print(f"addresses saved to {deployment_path}; pass --deployment {deployment_path} to use them "
              "(the other commands default to the predeployed system contracts)")
        return EXIT_OK

    ai = _deployment(args, client)
    if args.group == "model":
        if args.command == "register":
            from hyperion.ai.model import decode_model

            if args.file in ("digits", "charlm"):
                from hyperion.ai.digits import MODELS_DIR

                model = decode_model((MODELS_DIR / f"{args.file}.hqm").read_bytes())
            else:
                model = decode_model(Path(args.file).read_bytes())
            from hyperion.tools.progress import Progress

            with Progress("model register", unit="transactions") as bar:
                result = ai.register_model(model, name=args.name, inference_fee=args.fee, sender=sender,
                                           on_progress=bar.report)
            print(f"published and registered 0x{model.content_hash.hex()} ({len(model.encode())} bytes, "
                  f"{model.macs} MACs) in tx {result.tx_hash}")
            return EXIT_OK
        if args.command == "list":
            for info in ai.list_models():
                print(f"0x{info.model_hash.hex()}  {info.name or '-':<16} shape={info.input_shape} "
                      f"out={info.output_size}B macs={info.macs} fee={info.inference_fee} "
                      f"owner={info.owner} dat-class={info.dat_class_id or '-'}")
            return EXIT_OK
        if args.command == "infer":
            data = _read_input(args)
            info = ai.model_info(args.model_hash)
            if info is not None and len(data) != math.prod(info.input_shape):
                raise UsageError(f"model 0x{args.model_hash.hex()} takes {math.prod(info.input_shape)} input "
                                 f"bytes (shape {info.input_shape}), got {len(data)}")
            print(_describe_output(ai.infer(args.model_hash, data)))
            return EXIT_OK

    if args.command == "post":
        post = ai.post_job if args.private else ai.post_public_job
        job_id = post(args.model_hash, _read_input(args), args.fee, args.bond, sender=sender)
        print(f"job {job_id}")
        return EXIT_OK
    if args.command == "register-worker":
        ai.register_worker(sender=sender)
        print("worker registered")
        return EXIT_OK
    if args.command == "submit":
        trace_root = b"\x00" * 32
        if args.compute:
            from hyperion.ai.trace import DisputePlan, Trace

            model = ai.fetch_model(ai.job(args.job_id).model_hash)
            trace = Trace.compute(DisputePlan(model), _read_input(args))
            output, trace_root = trace.output, trace.root
        elif args.output_hex is not None:
            output = args.output_hex
        else:
            raise UsageError("give --output-hex or --compute")
        ai.submit_result(args.job_id, output, args.bond, trace_root=trace_root, sender=sender)
        print(f"submitted {_describe_output(output)} for job {args.job_id}")
        return EXIT_OK
    if args.command == "challenge":
        result = ai.challenge(args.job_id, _read_input(args), args.bond, sender=sender)
        for name, fields in result.named_events():
            if name == "ChallengeResolved":
                print("worker slashed" if fields["worker_slashed"] else "challenge failed: the result stands")
        return EXIT_OK
    if args.command == "finalize":
        ai.finalize(args.job_id, sender=sender)
        print(f"job {args.job_id} finalized")
        return EXIT_OK
    if args.command == "status":
        job = ai.job(args.job_id)
        if job.status == "none":
            raise CommandFailed(f"no job {args.job_id}")
        print(f"job {job.job_id}: {job.status}  model 0x{job.model_hash.hex()}  fee {job.fee}")
        print(f"  requester {job.requester}  worker {job.worker}  result 0x{job.result_hash.hex()}")
        print(f"  trace root 0x{job.trace_root.hex()}  open disputes {job.open_disputes}")
        for name, fields in ai.job_trail(args.job_id):
            shown = ", ".join(f"{k}={'0x' + v.hex() if isinstance(v, bytes) else v}" for k, v in fields.items()
                              if k != "job_id")
            print(f"  {name}: {shown}")
        return EXIT_OK
    raise UsageError(f"unknown command {args.command!r}")


def run_agent(args: argparse.Namespace) -> int:
    """``hyperion ai watch|work``: run the agent until SIGINT / SIGTERM (``hyperion.agents``)."""
    import signal
    import threading

    from hyperion.agents.watcher import Watcher
    from hyperion.agents.worker import Worker
    from hyperion.ai.store import DirectoryModelStore
    from hyperion.predeploys.plan import INFERENCE_JOBS_ADDRESS

    if private_key(args) is None:
        raise UsageError(f"the {args.command} agent stakes its own bonds: pass --key, --dev-account N "
                         "or set HYPERION_PRIVATE_KEY")
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    client = open_connection(args).client
    jobs = args.jobs or INFERENCE_JOBS_ADDRESS
    if not client.code(jobs):
        raise CommandFailed(f"no InferenceJobs contract at 0x{jobs.hex()} on this chain")
    options = {"cache": DirectoryModelStore(args.cache) if args.cache else None, "from_block": args.from_block}
    if args.command == "work":
        agent = Worker(client, jobs, bond=args.bond, **options)
    else:
        agent = Watcher(client, jobs, **options)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    agent.run(stop, args.interval)
    print(f"stopped after {len(agent.decisions)} decisions", flush=True)
    return EXIT_OK


class WatcherChild:
    """``hyperion ai watch`` run by a node as its child process (``hyperion node --watch-key K``).

    A process of its own, so that re-executing a large model never holds the
    node's interpreter; it talks to the node over its JSON-RPC like any other
    watcher, reads models from chain data, and logs each decision on the
    node's stderr. The key reaches it through its environment, not its
    command line. If it exits the node logs why and starts it again after
    ``RESTART_SECONDS`` (it picks up the disputes it opened from the chain);
    it is stopped with the node.
    """

    RESTART_SECONDS = 5.0
    STOP_SECONDS = 2.0  # then killed: the node exits promptly, and the watcher's state is on chain

    def __init__(self, rpc_url: str, key: str, log_level: str = "info"):
        self.rpc_url = rpc_url
        self.argv = [sys.executable, "-m", "hyperion", "ai", "watch", "--rpc-url", rpc_url, "--log-level", log_level]
        self.env = dict(os.environ, HYPERION_PRIVATE_KEY=key)
        self.process: subprocess.Popen | None = None
        self.log = logging.getLogger("hyperion.node")

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL)
        self.log.info("watcher started pid=%d rpc=%s", self.process.pid, self.rpc_url)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Keep the watcher running until ``stop`` is set."""

        async def stopped_within(seconds: float) -> bool:
            try:
                await asyncio.wait_for(stop.wait(), seconds)
                return True
            except asyncio.TimeoutError:
                return False

        self.start()
        while not await stopped_within(1.0):
            status = self.process.poll()
            if status is None:
                continue
            self.log.error("watcher pid=%d exited with status %d; starting it again in %gs", self.process.pid,
                           status, self.RESTART_SECONDS)
            if await stopped_within(self.RESTART_SECONDS):
                return
            self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(self.STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
