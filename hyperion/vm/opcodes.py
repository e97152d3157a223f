"""The instruction table: opcode -> (handler, static gas, stack in/out, flags).

Built once per fork from the fork's fields: which opcodes exist, their
static gas, and, for the instructions whose rules changed between forks
(SSTORE, the CALL family, CREATE, SELFDESTRUCT, EXP, the account readers),
the handler variant with that fork's constants bound in. ``static gas`` is
the part of the cost known before execution; the analysis sums it per
basic block. Dynamic costs (memory, cold access, copies, ...) are charged
by the handlers themselves.
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
from hyperion.vm.opspec import ENDS_BLOCK, IS_JUMPDEST, IS_PC, IS_PUSH, NEEDS_EXACT_GAS, OpSpec

__all__ = ["ENDS_BLOCK", "IS_JUMPDEST", "IS_PC", "IS_PUSH", "NEEDS_EXACT_GAS", "OpSpec", "table_for", "opcode_name"]

def _table(fork) -> dict[int, OpSpec]:
    """Frontier's instruction set, then each fork's additions and repricings."""
    t: dict[int, OpSpec] = {}

    def op(code, name, handler, gas, pops, pushes, flags=0):
        t[code] = OpSpec(name, handler, gas, pops, pushes, flags)

    access_lists = fork.has_access_lists  # EIP-2929: account/slot access is priced by the handlers
    op(0x00, "STOP", cf.stop, 0, 0, 0, ENDS_BLOCK)
    op(0x01, "ADD", ar.add, G.VERY_LOW, 2, 1)
    op(0x02, "MUL", ar.mul, G.LOW, 2, 1)
    op(0x03, "SUB", ar.sub, G.VERY_LOW, 2, 1)
    op(0x04, "DIV", ar.div, G.LOW, 2, 1)
    op(0x05, "SDIV", ar.sdiv, G.LOW, 2, 1)
    op(0x06, "MOD", ar.mod, G.LOW, 2, 1)
    op(0x07, "SMOD", ar.smod, G.LOW, 2, 1)
    op(0x08, "ADDMOD", ar.addmod, G.MID, 3, 1)
    op(0x09, "MULMOD", ar.mulmod, G.MID, 3, 1)
    op(0x0A, "EXP", ar.make_exp(fork.gas_exp_byte), G.EXP, 2, 1)
    op(0x0B, "SIGNEXTEND", ar.signextend, G.LOW, 2, 1)
    op(0x10, "LT", cmp.lt, G.VERY_LOW, 2, 1)
    op(0x11, "GT", cmp.gt, G.VERY_LOW, 2, 1)
    op(0x12, "SLT", cmp.slt, G.VERY_LOW, 2, 1)
    op(0x13, "SGT", cmp.sgt, G.VERY_LOW, 2, 1)
    op(0x14, "EQ", cmp.eq, G.VERY_LOW, 2, 1)
    op(0x15, "ISZERO", cmp.iszero, G.VERY_LOW, 1, 1)
    op(0x16, "AND", cmp.and_, G.VERY_LOW, 2, 1)
    op(0x17, "OR", cmp.or_, G.VERY_LOW, 2, 1)
    op(0x18, "XOR", cmp.xor, G.VERY_LOW, 2, 1)
    op(0x19, "NOT", cmp.not_, G.VERY_LOW, 1, 1)
    op(0x1A, "BYTE", cmp.byte, G.VERY_LOW, 2, 1)
    op(0x20, "KECCAK256", env.keccak, G.KECCAK256, 2, 1)
    op(0x30, "ADDRESS", env.address, G.BASE, 0, 1)
    if access_lists:
        op(0x31, "BALANCE", env.balance, 0, 1, 1)
    else:
        op(0x31, "BALANCE", env.balance_static, fork.gas_balance, 1, 1)
    op(0x32, "ORIGIN", env.origin, G.BASE, 0, 1)
    op(0x33, "CALLER", env.caller, G.BASE, 0, 1)
    op(0x34, "CALLVALUE", env.callvalue, G.BASE, 0, 1)
    op(0x35, "CALLDATALOAD", env.calldataload, G.VERY_LOW, 1, 1)
    op(0x36, "CALLDATASIZE", env.calldatasize, G.BASE, 0, 1)
    op(0x37, "CALLDATACOPY", env.calldatacopy, G.VERY_LOW, 3, 0)
    op(0x38, "CODESIZE", env.codesize, G.BASE, 0, 1)
    op(0x39, "CODECOPY", env.codecopy, G.VERY_LOW, 3, 0)
    op(0x3A, "GASPRICE", env.gasprice, G.BASE, 0, 1)
    if access_lists:
        op(0x3B, "EXTCODESIZE", env.extcodesize, 0, 1, 1)
        op(0x3C, "EXTCODECOPY", env.extcodecopy, 0, 4, 0)
    else:
        op(0x3B, "EXTCODESIZE", env.extcodesize_static, fork.gas_extcode, 1, 1)
        op(0x3C, "EXTCODECOPY", env.extcodecopy_static, fork.gas_extcode, 4, 0)
    op(0x40, "BLOCKHASH", bk.blockhash, G.BLOCKHASH, 1, 1)
    op(0x41, "COINBASE", bk.coinbase, G.BASE, 0, 1)
    op(0x42, "TIMESTAMP", bk.timestamp, G.BASE, 0, 1)
    op(0x43, "NUMBER", bk.number, G.BASE, 0, 1)
    if fork.has_prevrandao:
        op(0x44, "PREVRANDAO", bk.prevrandao, G.BASE, 0, 1)
    else:
        op(0x44, "DIFFICULTY", bk.difficulty, G.BASE, 0, 1)
    op(0x45, "GASLIMIT", bk.gaslimit, G.BASE, 0, 1)
    op(0x50, "POP", st.pop, G.BASE, 1, 0)
    op(0x51, "MLOAD", mem.mload, G.VERY_LOW, 1, 1)
    op(0x52, "MSTORE", mem.mstore, G.VERY_LOW, 2, 0)
    op(0x53, "MSTORE8", mem.mstore8, G.VERY_LOW, 2, 0)
    if access_lists:
        op(0x54, "SLOAD", sto.sload, 0, 1, 1)
    else:
        op(0x54, "SLOAD", sto.sload_static, fork.gas_sload, 1, 1)
    op(0x55, "SSTORE", sto.make_sstore(fork), 0, 2, 0, NEEDS_EXACT_GAS)
    op(0x56, "JUMP", cf.jump, G.MID, 1, 0, ENDS_BLOCK)
    op(0x57, "JUMPI", cf.jumpi, G.HIGH, 2, 0, ENDS_BLOCK)
    op(0x58, "PC", None, G.BASE, 0, 1, IS_PC)
    op(0x59, "MSIZE", mem.msize, G.BASE, 0, 1)
    op(0x5A, "GAS", cf.gas, G.BASE, 0, 1, NEEDS_EXACT_GAS)
    op(0x5B, "JUMPDEST", cf.jumpdest, G.JUMPDEST, 0, 0, IS_JUMPDEST)
    for n in range(1, 33):
        op(0x5F + n, f"PUSH{n}", None, G.VERY_LOW, 0, 1, IS_PUSH)
    for n in range(1, 17):
        op(0x7F + n, f"DUP{n}", st.DUPS[n - 1], G.VERY_LOW, n, n + 1)
        op(0x8F + n, f"SWAP{n}", st.SWAPS[n - 1], G.VERY_LOW, n + 1, n + 1)
    for n in range(5):
        op(0xA0 + n, f"LOG{n}", lg.LOGS[n], G.LOG + G.LOG_TOPIC * n, 2 + n, 0)
    creates = sy.make_create_handlers(fork)
    calls = sy.make_call_handlers(fork)
    op(0xF0, "CREATE", creates[0xF0], G.CREATE, 3, 1, NEEDS_EXACT_GAS)
    op(0xF1, "CALL", calls[0xF1], 0, 7, 1, NEEDS_EXACT_GAS)
    op(0xF2, "CALLCODE", calls[0xF2], 0, 7, 1, NEEDS_EXACT_GAS)
    op(0xF3, "RETURN", cf.return_, 0, 2, 0, ENDS_BLOCK)
    op(0xFE, "INVALID", cf.invalid, 0, 0, 0, ENDS_BLOCK)
    op(0xFF, "SELFDESTRUCT", sy.make_selfdestruct(fork), fork.gas_selfdestruct, 1, 0, ENDS_BLOCK | NEEDS_EXACT_GAS)

    if fork.has_delegatecall:  # Homestead
        op(0xF4, "DELEGATECALL", calls[0xF4], 0, 6, 1, NEEDS_EXACT_GAS)
    if fork.has_return_data:  # Byzantium
        op(0x3D, "RETURNDATASIZE", env.returndatasize, G.BASE, 0, 1)
        op(0x3E, "RETURNDATACOPY", env.returndatacopy, G.VERY_LOW, 3, 0)
    if fork.has_static_call:
        op(0xFA, "STATICCALL", calls[0xFA], 0, 6, 1, NEEDS_EXACT_GAS)
    if fork.has_revert:
        op(0xFD, "REVERT", cf.revert, 0, 2, 0, ENDS_BLOCK)
    if fork.has_shifts:  # Constantinople
        op(0x1B, "SHL", cmp.shl, G.VERY_LOW, 2, 1)
        op(0x1C, "SHR", cmp.shr, G.VERY_LOW, 2, 1)
        op(0x1D, "SAR", cmp.sar, G.VERY_LOW, 2, 1)
    if fork.has_create2:
        op(0xF5, "CREATE2", creates[0xF5], G.CREATE, 4, 1, NEEDS_EXACT_GAS)
    if fork.has_extcodehash:
        if access_lists:
            op(0x3F, "EXTCODEHASH", env.extcodehash, 0, 1, 1)
        else:
            op(0x3F, "EXTCODEHASH", env.extcodehash_static, fork.gas_extcodehash, 1, 1)
    if fork.has_chain_id_opcode:  # Istanbul
        op(0x46, "CHAINID", bk.chainid, G.BASE, 0, 1)
    if fork.has_selfbalance:
        op(0x47, "SELFBALANCE", env.selfbalance, G.LOW, 0, 1)
    if fork.has_base_fee:  # London
        op(0x48, "BASEFEE", bk.basefee, G.BASE, 0, 1)
    if fork.has_push0:  # Shanghai
        op(0x5F, "PUSH0", st.push0, G.BASE, 0, 1)
    if fork.has_blobs:  # Cancun
        op(0x49, "BLOBHASH", env.blobhash, G.BLOBHASH, 1, 1)
    if fork.has_blob_base_fee_opcode:
        op(0x4A, "BLOBBASEFEE", bk.blobbasefee, G.BASE, 0, 1)
    if fork.has_transient_storage:
        op(0x5C, "TLOAD", sto.tload, G.WARM_ACCESS, 1, 1)
        op(0x5D, "TSTORE", sto.tstore, G.WARM_ACCESS, 2, 0)
    if fork.has_mcopy:
        op(0x5E, "MCOPY", mem.mcopy, G.VERY_LOW, 3, 0)
    if fork.has_clz:  # Osaka
        op(0x1E, "CLZ", cmp.clz, G.LOW, 1, 1)
    return t


_TABLES: dict = {}


def table_for(fork) -> tuple:
    """256-entry tuple of OpSpec (None for undefined opcodes) for a fork, built once per fork."""
    key = fork.cache_key
    table = _TABLES.get(key)
    if table is None:
        t = _table(fork)
        # A fork variant may wrap handlers (deadline checks for RPC executions, see chain/limits.py).
        for opcode, wrap in (fork.extra.get("handler_wrappers") or {}).items():
            spec = t.get(opcode)
            if spec is not None:
                t[opcode] = OpSpec(spec.name, wrap(spec.handler), spec.gas, spec.pops, spec.pushes, spec.flags)
        table = _TABLES[key] = tuple(t.get(i) for i in range(256))
    return table


def opcode_name(opcode: int, fork) -> str:
    spec = table_for(fork)[opcode]
    return spec.name if spec else f"0x{opcode:02x}"
