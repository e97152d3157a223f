"""The instruction table: opcode -> semantics, static gas, stack in/out, flags.

Built once per fork from the fork's fields: which opcodes exist, their
static gas, and, for the instructions whose rules changed between forks
(SSTORE, the CALL family, CREATE, SELFDESTRUCT, EXP, the account readers),
the variant with that fork's constants bound in (``template.bind``).
``static gas`` is the part of the cost known before execution; code
analysis and the compiler sum it per block. Dynamic costs (memory, cold
access, copies, ...) are charged by the instructions themselves. Stack
inputs and outputs come from each instruction's signature.
"""

from __future__ import annotations

from hyperion.vm import gas as G
from hyperion.vm.instructions import (
    arithmetic as ar,
    block as bk,
    comparison as cmp,
    control_flow as cf,
    environment as env,
    log as lg,
    memory as mem,
    stack as st,
    storage as sto,
    system as sy,
)
from hyperion.vm.opspec import (
    ENDS_BLOCK,
    IS_DUP,
    IS_JUMP,
    IS_JUMPDEST,
    IS_JUMPI,
    IS_PUSH,
    IS_SWAP,
    MAY_HALT,
    NEEDS_EXACT_GAS,
    OpSpec,
)
from hyperion.vm.template import bind

__all__ = ["ENDS_BLOCK", "IS_DUP", "IS_JUMP", "IS_JUMPDEST", "IS_JUMPI", "IS_PUSH", "IS_SWAP", "MAY_HALT",
           "NEEDS_EXACT_GAS",
           "OpSpec", "table_for", "opcode_name"]


def _table(fork) -> dict[int, OpSpec]:
    """Frontier's instruction set, then each fork's additions and repricings."""
    t: dict[int, OpSpec] = {}

    def op(code, name, fn, gas, flags=0, **constants):
        instruction = bind(fn, **constants)
        if instruction.may_halt:
            flags |= MAY_HALT
        t[code] = OpSpec(name, instruction.handler, gas, instruction.pops, instruction.pushes, flags, instruction)

    access_lists = fork.has_access_lists  # EIP-2929: account/slot access is priced by the instructions
    calls = sy.call_rules(fork)
    creates = sy.create_rules(fork)
    op(0x00, "STOP", cf.stop, 0, ENDS_BLOCK)
    op(0x01, "ADD", ar.add, G.VERY_LOW)
    op(0x02, "MUL", ar.mul, G.LOW)
    op(0x03, "SUB", ar.sub, G.VERY_LOW)
    op(0x04, "DIV", ar.div, G.LOW)
    op(0x05, "SDIV", ar.sdiv, G.LOW)
    op(0x06, "MOD", ar.mod, G.LOW)
    op(0x07, "SMOD", ar.smod, G.LOW)
    op(0x08, "ADDMOD", ar.addmod, G.MID)
    op(0x09, "MULMOD", ar.mulmod, G.MID)
    op(0x0A, "EXP", ar.exp, G.EXP, byte_gas=fork.gas_exp_byte)
    op(0x0B, "SIGNEXTEND", ar.signextend, G.LOW)
    op(0x10, "LT", cmp.lt, G.VERY_LOW)
    op(0x11, "GT", cmp.gt, G.VERY_LOW)
    op(0x12, "SLT", cmp.slt, G.VERY_LOW)
    op(0x13, "SGT", cmp.sgt, G.VERY_LOW)
    op(0x14, "EQ", cmp.eq, G.VERY_LOW)
    op(0x15, "ISZERO", cmp.iszero, G.VERY_LOW)
    op(0x16, "AND", cmp.and_, G.VERY_LOW)
    op(0x17, "OR", cmp.or_, G.VERY_LOW)
    op(0x18, "XOR", cmp.xor, G.VERY_LOW)
    op(0x19, "NOT", cmp.not_, G.VERY_LOW)
    op(0x1A, "BYTE", cmp.byte, G.VERY_LOW)
    op(0x20, "KECCAK256", env.keccak, G.KECCAK256)
    op(0x30, "ADDRESS", env.address, G.BASE)
    if access_lists:
        op(0x31, "BALANCE", env.balance, 0)
    else:
        op(0x31, "BALANCE", env.balance_static, fork.gas_balance)
    op(0x32, "ORIGIN", env.origin, G.BASE)
    op(0x33, "CALLER", env.caller, G.BASE)
    op(0x34, "CALLVALUE", env.callvalue, G.BASE)
    op(0x35, "CALLDATALOAD", env.calldataload, G.VERY_LOW)
    op(0x36, "CALLDATASIZE", env.calldatasize, G.BASE)
    op(0x37, "CALLDATACOPY", env.calldatacopy, G.VERY_LOW)
    op(0x38, "CODESIZE", env.codesize, G.BASE)
    op(0x39, "CODECOPY", env.codecopy, G.VERY_LOW)
    op(0x3A, "GASPRICE", env.gasprice, G.BASE)
    if access_lists:
        op(0x3B, "EXTCODESIZE", env.extcodesize, 0)
        op(0x3C, "EXTCODECOPY", env.extcodecopy, 0)
    else:
        op(0x3B, "EXTCODESIZE", env.extcodesize_static, fork.gas_extcode)
        op(0x3C, "EXTCODECOPY", env.extcodecopy_static, fork.gas_extcode)
    op(0x40, "BLOCKHASH", bk.blockhash, G.BLOCKHASH)
    op(0x41, "COINBASE", bk.coinbase, G.BASE)
    op(0x42, "TIMESTAMP", bk.timestamp, G.BASE)
    op(0x43, "NUMBER", bk.number, G.BASE)
    if fork.has_prevrandao:
        op(0x44, "PREVRANDAO", bk.prevrandao, G.BASE)
    else:
        op(0x44, "DIFFICULTY", bk.difficulty, G.BASE)
    op(0x45, "GASLIMIT", bk.gaslimit, G.BASE)
    op(0x50, "POP", st.pop, G.BASE)
    op(0x51, "MLOAD", mem.mload, G.VERY_LOW)
    op(0x52, "MSTORE", mem.mstore, G.VERY_LOW)
    op(0x53, "MSTORE8", mem.mstore8, G.VERY_LOW)
    if access_lists:
        op(0x54, "SLOAD", sto.sload, 0)
    else:
        op(0x54, "SLOAD", sto.sload_static, fork.gas_sload)
    _sstore(op, fork)
    t[0x56] = OpSpec("JUMP", cf.jump, G.MID, 1, 0, ENDS_BLOCK | IS_JUMP)
    t[0x57] = OpSpec("JUMPI", cf.jumpi, G.HIGH, 2, 0, ENDS_BLOCK | IS_JUMPI)
    op(0x58, "PC", cf.pc_, G.BASE)
    op(0x59, "MSIZE", mem.msize, G.BASE)
    op(0x5A, "GAS", cf.gas, G.BASE, NEEDS_EXACT_GAS)
    op(0x5B, "JUMPDEST", cf.jumpdest, G.JUMPDEST, IS_JUMPDEST)
    for n in range(1, 33):
        t[0x5F + n] = OpSpec(f"PUSH{n}", None, G.VERY_LOW, 0, 1, IS_PUSH, arg=n)
    for n in range(1, 17):
        t[0x7F + n] = OpSpec(f"DUP{n}", st.DUPS[n - 1], G.VERY_LOW, n, n + 1, IS_DUP, arg=n)
        t[0x8F + n] = OpSpec(f"SWAP{n}", st.SWAPS[n - 1], G.VERY_LOW, n + 1, n + 1, IS_SWAP, arg=n)
    for n, log in enumerate((lg.log0, lg.log1, lg.log2, lg.log3, lg.log4)):
        op(0xA0 + n, f"LOG{n}", log, G.LOG + G.LOG_TOPIC * n)
    op(0xF0, "CREATE", sy.create, G.CREATE, NEEDS_EXACT_GAS, rules=creates)
    op(0xF1, "CALL", sy.call, 0, NEEDS_EXACT_GAS, rules=calls)
    op(0xF2, "CALLCODE", sy.callcode, 0, NEEDS_EXACT_GAS, rules=calls)
    op(0xF3, "RETURN", cf.return_, 0, ENDS_BLOCK)
    op(0xFE, "INVALID", cf.invalid, 0, ENDS_BLOCK)
    op(0xFF, "SELFDESTRUCT", sy.selfdestruct, fork.gas_selfdestruct, ENDS_BLOCK | NEEDS_EXACT_GAS,
       rules=sy.selfdestruct_rules(fork))

    if fork.has_delegatecall:  # Homestead
        op(0xF4, "DELEGATECALL", sy.delegatecall, 0, NEEDS_EXACT_GAS, rules=calls)
    if fork.has_return_data:  # Byzantium
        op(0x3D, "RETURNDATASIZE", env.returndatasize, G.BASE)
        op(0x3E, "RETURNDATACOPY", env.returndatacopy, G.VERY_LOW)
    if fork.has_static_call:
        op(0xFA, "STATICCALL", sy.staticcall, 0, NEEDS_EXACT_GAS, rules=calls)
    if fork.has_revert:
        op(0xFD, "REVERT", cf.revert, 0, ENDS_BLOCK)
    if fork.has_shifts:  # Constantinople
        op(0x1B, "SHL", cmp.shl, G.VERY_LOW)
        op(0x1C, "SHR", cmp.shr, G.VERY_LOW)
        op(0x1D, "SAR", cmp.sar, G.VERY_LOW)
    if fork.has_create2:
        op(0xF5, "CREATE2", sy.create2, G.CREATE, NEEDS_EXACT_GAS, rules=creates)
    if fork.has_extcodehash:
        if access_lists:
            op(0x3F, "EXTCODEHASH", env.extcodehash, 0)
        else:
            op(0x3F, "EXTCODEHASH", env.extcodehash_static, fork.gas_extcodehash)
    if fork.has_chain_id_opcode:  # Istanbul
        op(0x46, "CHAINID", bk.chainid, G.BASE)
    if fork.has_selfbalance:
        op(0x47, "SELFBALANCE", env.selfbalance, G.LOW)
    if fork.has_base_fee:  # London
        op(0x48, "BASEFEE", bk.basefee, G.BASE)
    if fork.has_push0:  # Shanghai
        op(0x5F, "PUSH0", st.push0, G.BASE)
    if fork.has_blobs:  # Cancun
        op(0x49, "BLOBHASH", env.blobhash, G.BLOBHASH)
    if fork.has_blob_base_fee_opcode:
        op(0x4A, "BLOBBASEFEE", bk.blobbasefee, G.BASE)
    if fork.has_transient_storage:
        op(0x5C, "TLOAD", sto.tload, G.WARM_ACCESS)
        op(0x5D, "TSTORE", sto.tstore, G.WARM_ACCESS)
    if fork.has_mcopy:
        op(0x5E, "MCOPY", mem.mcopy, G.VERY_LOW)
    if fork.has_clz:  # Osaka
        op(0x1E, "CLZ", cmp.clz, G.LOW)
    return t


def _sstore(op, fork) -> None:
    """SSTORE's pricing rule of ``fork`` (see instructions/storage.py)."""
    from hyperion.vm.forks import SSTORE_EIP1283, SSTORE_EIP2200, SSTORE_EIP2929, SSTORE_FRONTIER

    rule = fork.sstore_rule
    refund = fork.sstore_clears_refund
    if rule == SSTORE_EIP2929:
        op(0x55, "SSTORE", sto.sstore, 0, NEEDS_EXACT_GAS, warm_cost=G.WARM_ACCESS, reset_cost=G.SSTORE_RESET,
           clears_refund=refund, sentry=True, cold_slots=True)
    elif rule in (SSTORE_EIP2200, SSTORE_EIP1283):
        op(0x55, "SSTORE", sto.sstore, 0, NEEDS_EXACT_GAS, warm_cost=fork.gas_sload, reset_cost=G.SSTORE_UPDATE,
           clears_refund=refund, sentry=rule == SSTORE_EIP2200, cold_slots=False)
    elif rule == SSTORE_FRONTIER:
        op(0x55, "SSTORE", sto.sstore_frontier, 0, NEEDS_EXACT_GAS, clears_refund=refund)
    else:
        raise ValueError(f"{fork.name}: unknown SSTORE rule {rule!r}")


def _noop(f, pc):
    return pc


_TABLES: dict = {}


def table_for(fork) -> tuple:
    """256-entry tuple of OpSpec (None for undefined opcodes) for a fork, built once per fork.

    ``fork.extra["handler_wrappers"]`` (opcode -> wrapper) lets a fork variant
    check something before an instruction runs (the RPC deadlines of
    ``chain/limits.py``): the interpreter runs the wrapped handler; the compiled
    tier runs ``probe(f, pc)``, the wrapper around a no-op, at that instruction.
    So a wrapper must check and then call the handler it wraps, nothing else.
    """
    key = fork.cache_key
    table = _TABLES.get(key)
    if table is None:
        t = _table(fork)
        for opcode, wrap in (fork.extra.get("handler_wrappers") or {}).items():
            spec = t.get(opcode)
            if spec is not None and spec.handler is not None:
                t[opcode] = OpSpec(spec.name, wrap(spec.handler), spec.gas, spec.pops, spec.pushes, spec.flags,
                                   spec.instruction, spec.arg, wrap(_noop))
        table = _TABLES[key] = tuple(t.get(i) for i in range(256))
    return table


def opcode_name(opcode: int, fork) -> str:
    spec = table_for(fork)[opcode]
    return spec.name if spec else f"0x{opcode:02x}"
