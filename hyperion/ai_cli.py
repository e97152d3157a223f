"""``hyperion model ...`` and ``hyperion job ...``: the AI contracts from the command line.

    hyperion model deploy   [--vault ADDR] [--dat ADDR]          deploy registry, gateway, jobs; save addresses
    hyperion model register FILE.hqm|digits [--name N] [--fee WEI]
    hyperion model list
    hyperion model infer HASH (--input-hex HEX | --input-file F | --digits-sample I)
    hyperion job post HASH (input) --fee WEI [--bond WEI]
    hyperion job register-worker
    hyperion job submit JOB (--output-hex HEX | --compute (input)) --bond WEI
    hyperion job challenge JOB (input) --bond WEI
    hyperion job finalize JOB
    hyperion job status JOB

Common options: ``--rpc URL`` (default $HYPERION_RPC or http://127.0.0.1:8545),
``--deployment FILE`` (contract addresses of a custom deployment, default
$HYPERION_AI_DEPLOYMENT; without one the commands use the system contracts
every ``hyperion node`` predeploys, see ``hyperion.ai.genesis``; ``model
deploy`` writes it, default ./hyperion-ai.json), ``--key HEX`` (signing key,
default $HYPERION_KEY; else the node's first dev account signs), ``--store
DIR`` (the node's model store, for register / --compute; default
$HYPERION_MODEL_STORE). Exit status: 0 ok, 1 the chain refused (revert),
2 bad usage or unreachable node.
"""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Optional, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_RPC = "http://127.0.0.1:8545"
DEFAULT_DEPLOYMENT = "hyperion-ai.json"


class UsageError(ValueError):
    """A command line that parses but lacks something the command needs."""


def _wei(text: str) -> int:
    """``123`` (wei), ``0.5eth`` or ``3gwei``."""
    units = {"eth": 10**18, "gwei": 10**9, "wei": 1}
    lowered = text.strip().lower()
    for suffix, factor in units.items():
        if lowered.endswith(suffix):
            number, multiplier = lowered[: -len(suffix)], factor
            break
    else:
        number, multiplier = lowered, 1
    try:
        value = Decimal(number) * multiplier
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}") from None
    if value < 0 or value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"amount must be a non-negative whole number of wei: {text!r}")
    return int(value)


def _hex_bytes(text: str, length: Optional[int] = None) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None
    if length is not None and len(raw) != length:
        raise argparse.ArgumentTypeError(f"expected {length} bytes, got {len(raw)}")
    return raw


def _hash32(text: str) -> bytes:
    return _hex_bytes(text, 32)


def _address(text: str) -> bytes:
    return _hex_bytes(text, 20)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpc", default=os.environ.get("HYPERION_RPC", DEFAULT_RPC), help="node JSON-RPC URL")
    parser.add_argument("--deployment", default=os.environ.get("HYPERION_AI_DEPLOYMENT") or None,
                        help="JSON file with the addresses of a custom deployment (default: the node's "
                             "predeployed system contracts; `model deploy` writes ./hyperion-ai.json)")
    parser.add_argument("--key", type=_hash32, default=None, help="hex private key that signs (else a dev account)")
    parser.add_argument("--store", default=os.environ.get("HYPERION_MODEL_STORE"), help="model store directory")


def _add_input(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--input-hex", type=_hex_bytes, help="raw int8 input bytes as hex")
    group.add_argument("--input-file", type=Path, help="file holding the raw int8 input bytes")
    group.add_argument("--digits-sample", type=int, metavar="I", help="the I-th quantized test image of the digits set")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperion", description="AI models and verified inference jobs")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)

    model = groups.add_parser("model", help="model registry and inference").add_subparsers(dest="command", required=True)
    p = model.add_parser("deploy", help="deploy ModelRegistry, InferenceGateway and InferenceJobs")
    p.add_argument("--vault", type=_address, help="protocol (Holders Mining) vault address (default: the deployer)")
    p.add_argument("--holders-bps", type=int, default=5000)
    p.add_argument("--protocol-bps", type=int, default=2000)
    p.add_argument("--challenge-window", type=int, default=3600, help="seconds")
    p.add_argument("--worker-bond", type=_wei, default=10**16)
    p.add_argument("--dat", type=_address, default=b"\x00" * 20,
                   help="LazAI DAT contract: registered models become DAT classes (default: none)")
    p = model.add_parser("register", help="store a model and register its hash")
    p.add_argument("file", help="a .hqm model file, or 'digits' for the shipped classifier")
    p.add_argument("--name", default="")
    p.add_argument("--fee", type=_wei, default=0, help="inference fee charged by the gateway")
    model.add_parser("list", help="list registered models")
    p = model.add_parser("infer", help="run the precompile (eth_call) on an input")
    p.add_argument("model_hash", type=_hash32)
    _add_input(p)

    job = groups.add_parser("job", help="verified off-chain inference jobs").add_subparsers(dest="command", required=True)
    p = job.add_parser("post", help="post a job")
    p.add_argument("model_hash", type=_hash32)
    _add_input(p)
    p.add_argument("--fee", type=_wei, required=True)
    p.add_argument("--bond", type=_wei, default=0)
    job.add_parser("register-worker", help="register the sender as a worker")
    p = job.add_parser("submit", help="submit a result with a bond")
    p.add_argument("job_id", type=int)
    p.add_argument("--output-hex", type=_hex_bytes, help="the claimed output bytes")
    p.add_argument("--compute", action="store_true", help="compute the output locally from the store (needs the input)")
    _add_input(p)
    p.add_argument("--bond", type=_wei, required=True)
    p = job.add_parser("challenge", help="challenge a result (re-executes on chain)")
    p.add_argument("job_id", type=int)
    _add_input(p)
    p.add_argument("--bond", type=_wei, required=True)
    p = job.add_parser("finalize", help="finalize a result after the challenge window")
    p.add_argument("job_id", type=int)
    p = job.add_parser("status", help="show a job and its event trail")
    p.add_argument("job_id", type=int)
    for sub in (model, job):
        for choice in sub.choices.values():
            _add_common(choice)
    return parser


def _read_input(args) -> bytes:
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


def _run(args, backend) -> int:
    from hyperion.ai.backends import address_of_key
    from hyperion.ai.errors import AIError
    from hyperion.ai.sdk import AIClient, Deployment

    if backend is None:
        from hyperion.ai.backends import RpcBackend

        backend = RpcBackend(args.rpc)
    sender = args.key if args.key is not None else backend.accounts()[0]

    if args.group == "model" and args.command == "deploy":
        deployment_path = Path(args.deployment or DEFAULT_DEPLOYMENT)
        me = address_of_key(sender) if len(sender) == 32 else sender
        client = AIClient.deploy(backend, sender, args.vault or me, holders_bps=args.holders_bps,
                                 protocol_bps=args.protocol_bps, challenge_window=args.challenge_window,
                                 worker_bond=args.worker_bond, dat=args.dat)
        client.deployment.save(deployment_path)
        for name, address in (("ModelRegistry", client.deployment.registry),
                              ("InferenceGateway", client.deployment.gateway),
                              ("InferenceJobs", client.deployment.jobs)):
            print(f"{name:<17} 0x{address.hex()}")
        print(f"addresses saved to {deployment_path}; pass --deployment {deployment_path} to use them "
              "(the other commands default to the predeployed system contracts)")
        return EXIT_OK

    if args.deployment is not None:
        deployment_path = Path(args.deployment)
        if not deployment_path.exists():
            print(f"no deployment file {deployment_path}; run `hyperion model deploy` or pass --deployment",
                  file=sys.stderr)
            return EXIT_USAGE
        client = AIClient(backend, Deployment.load(deployment_path), sender=sender)
    else:
        client = AIClient(backend, Deployment.predeployed(), sender=sender)
        try:
            client.require_code()
        except AIError as exc:
            raise UsageError(f"{exc}: this node has no predeployed AI contracts; "
                             "run `hyperion model deploy` and pass --deployment FILE") from None
    store = None
    if args.store:
        from hyperion.ai.store import DirectoryModelStore

        store = DirectoryModelStore(args.store)

    if args.group == "model":
        if args.command == "register":
            from hyperion.ai.model import decode_model

            if args.file == "digits":
                from hyperion.ai.digits import load_digits_model

                model = load_digits_model()
            else:
                model = decode_model(Path(args.file).read_bytes())
            receipt = client.register_model(model, store, name=args.name, inference_fee=args.fee)
            print(f"registered 0x{model.content_hash.hex()} ({model.macs} MACs) in tx 0x{receipt.tx_hash.hex()}")
            if store is None:
                print("warning: no --store given; nodes need the model bytes in their store", file=sys.stderr)
            return EXIT_OK
        if args.command == "list":
            for info in client.list_models():
                print(f"0x{info.model_hash.hex()}  {info.name or '-':<16} shape={info.input_shape} "
                      f"out={info.output_size}B macs={info.macs} fee={info.inference_fee} "
                      f"owner=0x{info.owner.hex()} dat-class={info.dat_class_id or '-'}")
            return EXIT_OK
        if args.command == "infer":
            print(_describe_output(client.infer(args.model_hash, _read_input(args))))
            return EXIT_OK

    if args.command == "post":
        job_id = client.post_job(args.model_hash, _read_input(args), args.fee, args.bond)
        print(f"job {job_id}")
        return EXIT_OK
    if args.command == "register-worker":
        client.register_worker()
        print("worker registered")
        return EXIT_OK
    if args.command == "submit":
        if args.compute:
            if store is None:
                print("--compute needs --store", file=sys.stderr)
                return EXIT_USAGE
            output = store.runner(client.job(args.job_id).model_hash).run(_read_input(args))
        elif args.output_hex is not None:
            output = args.output_hex
        else:
            print("give --output-hex or --compute", file=sys.stderr)
            return EXIT_USAGE
        client.submit_result(args.job_id, output, args.bond)
        print(f"submitted {_describe_output(output)} for job {args.job_id}")
        return EXIT_OK
    if args.command == "challenge":
        receipt = client.challenge(args.job_id, _read_input(args), args.bond)
        for name, fields in client.events(receipt):
            if name == "ChallengeResolved":
                print("worker slashed" if fields["worker_slashed"] else "challenge failed: the result stands")
        return EXIT_OK
    if args.command == "finalize":
        client.finalize(args.job_id)
        print(f"job {args.job_id} finalized")
        return EXIT_OK
    if args.command == "status":
        job = client.job(args.job_id)
        if job.status == "none":
            print(f"no job {args.job_id}", file=sys.stderr)
            return EXIT_FAILED
        print(f"job {job.job_id}: {job.status}  model 0x{job.model_hash.hex()}  fee {job.fee}")
        print(f"  requester 0x{job.requester.hex()}  worker 0x{job.worker.hex()}  result 0x{job.result_hash.hex()}")
        for name, fields in client.job_trail(args.job_id):
            shown = ", ".join(f"{k}={'0x' + v.hex() if isinstance(v, bytes) else v}" for k, v in fields.items()
                              if k != "job_id")
            print(f"  {name}: {shown}")
        return EXIT_OK
    return EXIT_USAGE


def main(argv: Optional[Sequence[str]] = None, backend=None) -> int:
    """Entry point; ``backend`` overrides the RPC connection (tests pass an in-process chain)."""
    from hyperion.ai.backends import BackendError, CallFailed
    from hyperion.ai.errors import AIError

    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        return _run(args, backend)
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CallFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (BackendError, AIError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
