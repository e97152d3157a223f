"""Chain pages: home (latest blocks and transactions), block, transaction, address, search."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Optional

from aiohttp import web

from hyperion.explorer.source import RpcFailure, Source
from hyperion.explorer.views import (
    Amount,
    Badge,
    Link,
    Mono,
    NotFound,
    Page,
    Section,
    address_link,
    block_link,
    render_value,
    short,
    status_badge,
    tx_link,
)

P = "/explorer"
LATEST = 10
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_ERROR_SELECTOR = "0x08c379a0"
_PANIC_SELECTOR = "0x4e487b71"


def _int(value: Optional[str]) -> int:
    return int(value, 16) if value else 0


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


def _name(source: Source, address: Optional[str]) -> Optional[str]:
    return source.abis.name_of(_b(address)) if address else None


def _addr(source: Source, address: Optional[str]) -> Any:
    return address_link(P, address, _name(source, address))


def _method_label(source: Source, data: str) -> str:
    if not data or data == "0x":
        return "transfer"
    decoded = source.abis.decode_call(_b(data))
    return decoded[0].name if decoded else data[:10]


async def _blocks(source: Source, head: int, count: int) -> list[dict]:
    numbers = range(head, max(head - count, -1), -1)
    return await asyncio.gather(*(source.call("eth_getBlockByNumber", hex(n), True) for n in numbers))


async def home(request: web.Request, source: Source) -> Page:
    head = _int(await source.call("eth_blockNumber"))
    blocks = await _blocks(source, head, LATEST)
    latest_block = blocks[0]
    chain_id = _int(await source.call("eth_chainId"))
    overview = Section("Chain", rows=[
        ("Chain ID", chain_id), ("Latest block", block_link(P, head)),
        ("Base fee", f"{_int(latest_block.get('baseFeePerGas'))} wei"),
        ("Gas limit", _int(latest_block["gasLimit"])),
    ])
    block_rows = [[block_link(P, _int(b["number"])), _int(b["timestamp"]), len(b["transactions"]),
                   _int(b["gasUsed"]), Mono(short(b["hash"]))] for b in blocks]
    txs = []
    for b in blocks:
        for tx in reversed(b["transactions"]):
            txs.append([tx_link(P, tx["hash"], shorten=True), block_link(P, _int(b["number"])),
                        _addr(source, tx["from"]), _addr(source, tx.get("to")) if tx.get("to") else "contract creation",
                        _method_label(source, tx.get("input", "0x")), Amount(_int(tx["value"]))])
            if len(txs) >= LATEST:
                break
        if len(txs) >= LATEST:
            break
    return Page("Hyperion chain", [
        overview,
        Section("Latest blocks", "table", block_rows, ["Block", "Time", "Txs", "Gas used", "Hash"]),
        Section("Latest transactions", "table", txs, ["Hash", "Block", "From", "To", "Method", "Value"]),
    ], live=True)


async def block(request: web.Request, source: Source) -> Page:
    ident = request.match_info["id"]
    if _HASH.match(ident):
        found = await source.call("eth_getBlockByHash", ident, True)
    elif ident.isdigit():
        found = await source.call("eth_getBlockByNumber", hex(int(ident)), True)
    else:
        raise ValueError(f"not a block number or hash: {ident}")
    if found is None:
        raise NotFound(f"no block {ident}")
    number = _int(found["number"])
    receipts = await source.call("eth_getBlockReceipts", hex(number)) or []
    overview = Section("Overview", rows=[
        ("Number", number), ("Hash", Mono(found["hash"])),
        ("Parent", Link(f"{P}/block/{found['parentHash']}", found["parentHash"], mono=True)),
        ("Timestamp", _int(found["timestamp"])), ("Transactions", len(found["transactions"])),
        ("Gas used", _int(found["gasUsed"])), ("Gas limit", _int(found["gasLimit"])),
        ("Base fee", f"{_int(found.get('baseFeePerGas'))} wei"), ("Producer", _addr(source, found["miner"])),
        ("State root", Mono(found["stateRoot"])), ("Size", _int(found.get("size"))),
    ])
    rows = []
    for tx, receipt in zip(found["transactions"], receipts):
        rows.append([tx_link(P, tx["hash"], shorten=True), _addr(source, tx["from"]),
                     _addr(source, tx.get("to")) if tx.get("to") else _addr(source, receipt.get("contractAddress")),
                     _method_label(source, tx.get("input", "0x")), Amount(_int(tx["value"])),
                     _int(receipt["gasUsed"]), status_badge(receipt.get("status"))])
    return Page(f"Block {number}", [overview, Section("Transactions", "table", rows,
                                                      ["Hash", "From", "To", "Method", "Value", "Gas", "Status"])])


def revert_reason(output: Optional[str]) -> Optional[str]:
    """The text of ``Error(string)`` or ``Panic(uint256)`` revert data; else None."""
    if not output or len(output) < 10:
        return None
    from eth_abi import decode

    try:
        if output.startswith(_ERROR_SELECTOR):
            return decode(["string"], _b(output)[4:])[0]
        if output.startswith(_PANIC_SELECTOR):
            return f"panic 0x{decode(['uint256'], _b(output)[4:])[0]:02x}"
    except Exception:
        return None
    return None


def _tree(source: Source, frame: dict) -> dict:
    data = frame.get("input") or "0x"
    decoded = source.abis.decode_call(_b(data)) if len(data) >= 10 else None
    call = None
    if decoded:
        function, args = decoded
        call = f"{function.name}(" + ", ".join(f"{n}={json.dumps(v, default=str)}" for n, _, v in args) + ")"
    elif data != "0x" and frame.get("type") not in ("CREATE", "CREATE2"):
        call = data[:10]
    value = _int(frame.get("value"))
    return {"type": frame.get("type"), "to": frame.get("to"), "label": _name(source, frame.get("to")),
            "call": call, "value": Amount(value).text if value else None, "gas_used": _int(frame.get("gasUsed")),
            "error": frame.get("error"), "revert": frame.get("revertReason") or revert_reason(frame.get("output")),
            "calls": [_tree(source, child) for child in frame.get("calls") or ()]}


async def transaction(request: web.Request, source: Source) -> Page:
    tx_hash = request.match_info["hash"]
    if not _HASH.match(tx_hash):
        raise ValueError(f"not a transaction hash: {tx_hash}")
    tx = await source.call("eth_getTransactionByHash", tx_hash)
    if tx is None:
        raise NotFound(f"no transaction {tx_hash}")
    receipt = await source.call("eth_getTransactionReceipt", tx_hash)
    rows = [("Hash", Mono(tx["hash"])), ("Status", status_badge(receipt.get("status") if receipt else None))]
    sections = []
    if receipt is not None:
        number = _int(receipt["blockNumber"])
        rows.append(("Block", block_link(P, number)))
    rows += [("From", _addr(source, tx["from"])),
             ("To", _addr(source, tx.get("to")) if tx.get("to") else "contract creation")]
    if receipt and receipt.get("contractAddress"):
        rows.append(("Contract created", _addr(source, receipt["contractAddress"])))
    rows += [("Value", Amount(_int(tx["value"]))), ("Nonce", _int(tx["nonce"])), ("Type", _int(tx["type"]))]
    trace = None
    if receipt is not None:
        gas_used = _int(receipt["gasUsed"])
        price = _int(receipt["effectiveGasPrice"])
        block_data = await source.call("eth_getBlockByNumber", receipt["blockNumber"], False)
        base_fee = _int(block_data.get("baseFeePerGas"))
        rows += [("Gas used", gas_used), ("Gas limit", _int(tx["gas"])),
                 ("Gas price", f"{price} wei"), ("Fee", Amount(gas_used * price)),
                 ("Base fee part", Amount(gas_used * min(base_fee, price))),
                 ("Priority fee part", Amount(gas_used * max(price - base_fee, 0)))]
        try:
            trace = await source.call("debug_traceTransaction", tx_hash, {"tracer": "callTracer"})
        except RpcFailure as exc:
            sections.append(Section("Call tree", "text", rows=f"trace unavailable: {exc.message}"))
        if receipt.get("status") == "0x0":
            reason = None
            if trace is not None:
                reason = trace.get("revertReason") or revert_reason(trace.get("output")) or trace.get("error")
            rows.append(("Revert reason", Badge(reason or "reverted without a reason", "fail")))
    overview = Section("Overview", rows=rows)
    data = tx.get("input", "0x")
    input_rows: list = [("Raw", Mono(data))]
    decoded = source.abis.decode_call(_b(data)) if len(data) >= 10 and tx.get("to") else None
    if decoded:
        function, args = decoded
        input_rows.insert(0, ("Function", f"{function.contract}.{function.name}"))
        input_rows[1:1] = [(f"{name or '#' + str(i)} ({kind})", render_value(value))
                           for i, (name, kind, value) in enumerate(args)]
    events = []
    for log in (receipt or {}).get("logs", []):
        decoded_log = source.abis.decode_log([_b(t) for t in log["topics"]], _b(log["data"]))
        if decoded_log:
            event, args = decoded_log
            text = f"{event.name}(" + ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in args.items()) + ")"
        else:
            text = "topics " + ", ".join(log["topics"]) + " data " + log["data"]
        events.append([_int(log["logIndex"]), _addr(source, log["address"]), Mono(text)])
    sections = [overview, Section("Input", rows=input_rows),
                Section("Events", "table", events, ["#", "Emitter", "Event"])] + sections
    if trace is not None:
        sections.append(Section("Call tree", "tree", rows=[_tree(source, trace)]))
    return Page("Transaction", sections, subtitle=tx_hash)


def _parse_arg(kind: str, text: str) -> Any:
    text = text.strip()
    if kind.endswith("]") or kind.startswith("("):
        return json.loads(text)
    if kind.startswith(("uint", "int")):
        return int(text, 0)
    if kind == "bool":
        return text.lower() in ("1", "true", "yes")
    if kind == "address":
        if not _ADDRESS.match(text):
            raise ValueError(f"not an address: {text!r}")
        from hyperion.primitives.address import to_checksum_address

        return to_checksum_address(_b(text))
    if kind.startswith("bytes"):
        return _b(text if text.startswith("0x") else "0x" + text)
    return text


async def _read_forms(request: web.Request, source: Source, account: bytes) -> list[dict]:
    functions = source.abis.view_functions(account)
    chosen = request.query.get("fn")
    values = request.query.getall("arg", [])
    forms = []
    for function in functions:
        inputs = [{"name": p.get("name"), "type": p["type"], "value": None} for p in function.entry["inputs"]]
        result = None
        if function.name == chosen and len(values) == len(inputs):
            for spec, value in zip(inputs, values):
                spec["value"] = value
            try:
                args = [_parse_arg(p["type"], v) for p, v in zip(function.entry["inputs"], values)]
                raw = await source.call("eth_call", {"to": "0x" + account.hex(),
                                                     "data": "0x" + function.encode(args).hex()}, "latest")
                outputs = function.decode_output(_b(raw))
                result = ", ".join(f"{n + ': ' if n else ''}{json.dumps(v, default=str)}" for n, _, v in outputs)
            except (ValueError, RpcFailure, OverflowError) as exc:
                result = f"error: {getattr(exc, 'message', exc)}"
            except Exception as exc:  # an argument eth-abi cannot encode
                result = f"error: {exc}"
        forms.append({"name": function.name, "inputs": inputs, "result": result})
    return forms


async def address(request: web.Request, source: Source) -> Page:
    text = request.match_info["address"]
    if not _ADDRESS.match(text):
        raise ValueError(f"not an address: {text}")
    account = _b(text)
    balance, nonce, code = await asyncio.gather(
        source.call("eth_getBalance", text, "latest"), source.call("eth_getTransactionCount", text, "latest"),
        source.call("eth_getCode", text, "latest"))
    name = source.abis.name_of(account)
    rows = [("Address", Mono(text)), ("Balance", Amount(_int(balance))), ("Nonce", _int(nonce)),
            ("Kind", "contract" if code != "0x" else "account")]
    if name:
        rows.append(("Known contract", name))
    sections = [Section("Overview", rows=rows)]
    if code != "0x":
        creator = await source.call("ots_getContractCreator", text)
        if creator:
            rows.append(("Created by", _addr(source, creator["creator"])))
            rows.append(("Creation tx", tx_link(P, creator["hash"])))
    history = await source.call("ots_searchTransactionsBefore", text, 0, 25)
    tx_rows = []
    for tx, receipt in zip(history["txs"], history["receipts"]):
        direction = "out" if tx["from"].lower() == text.lower() else "in"
        tx_rows.append([tx_link(P, tx["hash"], shorten=True), block_link(P, _int(tx["blockNumber"])), direction,
                        _addr(source, tx["from"]),
                        _addr(source, tx.get("to")) if tx.get("to") else _addr(source, receipt.get("contractAddress")),
                        _method_label(source, tx.get("input", "0x")), Amount(_int(tx["value"])),
                        status_badge(receipt.get("status"))])
    note = None if history["lastPage"] else "the 25 newest (and the rest of their block)"
    sections.append(Section("Transactions", "table", tx_rows,
                            ["Hash", "Block", "", "From", "To", "Method", "Value", "Status"], note=note))
    if code != "0x":
        forms = await _read_forms(request, source, account)
        if forms:
            sections.append(Section("Read contract", "forms", forms))
        sections.append(Section("Code", "text", rows=f"{(len(code) - 2) // 2} bytes: {code[:2050]}"
                                + ("…" if len(code) > 2050 else "")))
    return Page(name or "Address", sections, subtitle=text)


async def search(request: web.Request, source: Source) -> web.StreamResponse:
    query = request.query.get("q", "").strip()
    target = None
    if query.isdigit():
        if await source.call("eth_getBlockByNumber", hex(int(query)), False) is not None:
            target = f"{P}/block/{int(query)}"
    elif _HASH.match(query):
        if await source.call("eth_getTransactionByHash", query) is not None:
            target = f"{P}/tx/{query.lower()}"
        elif await source.call("eth_getBlockByHash", query, False) is not None:
            target = f"{P}/block/{query.lower()}"
    elif _ADDRESS.match(query):
        target = f"{P}/address/{query}"
    if target is None:
        raise NotFound(f"nothing matches {query!r}: search for a block number, a block or transaction hash, "
                       "or an address")
    raise web.HTTPFound(target)
