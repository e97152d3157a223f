"""Random but structured EVM programs for the differential fuzzer.

A program is a sequence of *snippets*, each a small piece of code that a
compiler writer would worry about: arithmetic on edge values, memory at
small, large and absurd offsets, storage and transient storage, logs,
calls of every kind (to another generated contract, to itself, to
precompiles, to empty accounts), creates whose init code returns, reverts
or fails, forward branches, counted loops, calls of a shared "subroutine"
through a pushed return address, dynamic jumps from calldata, the gas
edges (GAS, tight gas limits, memory growth, a dynamic charge and a check
other than gas at a random gas level) and stack underflow and overflow,
and what compiled traces keep in locals: words stored at constant offsets
(mapping keys, many words, overlapping ones) read back whole, in part or
by calls, overwritten, or abandoned by a halt; a slot read twice around a
write (SSTORE, TSTORE, a callee run on this storage).
Most snippets leave the stack as they found it, so programs run
long enough to reach their later parts; a few break things on purpose
(invalid jumps, undefined opcodes, raw random bytes).

Everything is drawn from one ``random.Random``: a case is reproduced from
its seed alone.
"""

from __future__ import annotations

import random
from typing import Union

# Opcodes used by name below.
STOP, ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND = range(0x00, 0x0C)
LT, GT, SLT, SGT, EQ, ISZERO, AND, OR, XOR, NOT, BYTE, SHL, SHR, SAR, CLZ = range(0x10, 0x1F)
KECCAK256 = 0x20
(ADDRESS, BALANCE, ORIGIN, CALLER, CALLVALUE, CALLDATALOAD, CALLDATASIZE, CALLDATACOPY, CODESIZE, CODECOPY,
 GASPRICE, EXTCODESIZE, EXTCODECOPY, RETURNDATASIZE, RETURNDATACOPY, EXTCODEHASH) = range(0x30, 0x40)
(BLOCKHASH, COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, SELFBALANCE, BASEFEE, BLOBHASH,
 BLOBBASEFEE) = range(0x40, 0x4B)
POP, MLOAD, MSTORE, MSTORE8, SLOAD, SSTORE, JUMP, JUMPI, PC, MSIZE, GAS, JUMPDEST, TLOAD, TSTORE, MCOPY, PUSH0 = \
    range(0x50, 0x60)
PUSH1, PUSH2, PUSH32 = 0x60, 0x61, 0x7F
DUP1, SWAP1 = 0x80, 0x90
LOG0 = 0xA0
CREATE, CALL, CALLCODE, RETURN, DELEGATECALL, CREATE2 = 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5
STATICCALL, REVERT, INVALID, SELFDESTRUCT = 0xFA, 0xFD, 0xFE, 0xFF

BINARY = (ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, EXP, SIGNEXTEND, LT, GT, SLT, SGT, EQ, AND, OR, XOR, BYTE, SHL, SHR,
          SAR)
UNARY = (ISZERO, NOT, CLZ)
TERNARY = (ADDMOD, MULMOD)
READERS = (ADDRESS, ORIGIN, CALLER, CALLVALUE, CALLDATASIZE, CODESIZE, GASPRICE, RETURNDATASIZE, COINBASE,
           TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, SELFBALANCE, BASEFEE, BLOBBASEFEE, PC, MSIZE, GAS)
ACCOUNT_READERS = (BALANCE, EXTCODESIZE, EXTCODEHASH)

EDGE_WORDS = (0, 1, 2, 3, 7, 31, 32, 33, 255, 256, 2**64 - 1, 2**128, 2**255 - 1, 2**255, 2**255 + 1,
              2**256 - 2, 2**256 - 1)
STORAGE_KEYS = (0, 1, 2, 3, 2**255, 2**256 - 1)
STORAGE_VALUES = (0, 0, 1, 2, 3, 2**256 - 1)

Item = Union[int, bytes, tuple]  # an opcode, raw bytes, or ("label", name) / ("push", name)


class Assembler:
    """Code with labels: ``label(name)`` marks a JUMPDEST, ``push_label(name)`` pushes its offset (PUSH2)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self._labels = 0

    def new_label(self) -> str:
        self._labels += 1
        return f"L{self._labels}"

    def op(self, *opcodes: int) -> None:
        self.items.extend(opcodes)

    def push(self, value: int) -> None:
        size = max(1, (value.bit_length() + 7) // 8)
        self.items.append(bytes([PUSH1 + size - 1]) + value.to_bytes(size, "big"))

    def raw(self, data: bytes) -> None:
        self.items.append(bytes(data))

    def label(self, name: str) -> None:
        self.items.append(("label", name))

    def push_label(self, name: str) -> None:
        self.items.append(("push", name))

    def assemble(self) -> bytes:
        offsets, pc = {}, 0
        for item in self.items:
            if isinstance(item, tuple):
                if item[0] == "label":
                    offsets[item[1]] = pc
                    pc += 1
                else:
                    pc += 3
            else:
                pc += 1 if isinstance(item, int) else len(item)
        out = bytearray()
        for item in self.items:
            if isinstance(item, int):
                out.append(item)
            elif isinstance(item, tuple):
                if item[0] == "label":
                    out.append(JUMPDEST)
                else:
                    out += bytes([PUSH2]) + offsets[item[1]].to_bytes(2, "big")
            else:
                out += item
        return bytes(out)


class ProgramGenerator:
    """Draws programs from ``rng``; ``others`` are addresses worth calling (set per case)."""

    def __init__(self, rng: random.Random, others: tuple[bytes, ...] = (), defined: frozenset = frozenset(range(256))
                 ) -> None:
        self.rng = rng
        self.others = others
        self.defined = defined  # the fork's opcodes: others are drawn rarely (an invalid-opcode halt)
        self.has_push0 = PUSH0 in defined
        self.depth = 0

    def pick(self, options: tuple) -> int:
        """One of ``options``, mostly among those the fork defines."""
        rng = self.rng
        if rng.random() < 0.02:
            return rng.choice(options)
        defined = [o for o in options if o in self.defined]
        return rng.choice(defined) if defined else rng.choice(options)

    # -- values ------------------------------------------------------------------------
    def word(self) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(EDGE_WORDS)
        if roll < 0.8:
            return rng.randrange(256)
        return rng.getrandbits(rng.choice((16, 64, 160, 255, 256)))

    def offset(self) -> int:
        """A memory offset: mostly small, sometimes large enough to cost a lot, rarely absurd."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.7:
            return rng.randrange(0, 256)
        if roll < 0.9:
            return rng.randrange(256, 8192)
        if roll < 0.97:
            return rng.randrange(8192, 200_000)
        return rng.choice((2**32, 2**64, 2**256 - 1))

    def size(self) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return 0
        if roll < 0.85:
            return rng.randrange(1, 100)
        if roll < 0.97:
            return rng.randrange(100, 4000)
        return rng.choice((2**32, 2**256 - 1))

    def push_word(self, a: Assembler, value: int) -> None:
        if value == 0 and self.has_push0 and self.rng.random() < 0.5:
            a.op(PUSH0)
        else:
            a.push(value)

    def address(self) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5 and self.others:
            return int.from_bytes(rng.choice(self.others), "big")
        if roll < 0.75:
            return rng.randrange(1, 11)  # a precompile (or an empty account on older forks)
        return rng.choice((0, 0xDEAD, 2**160 - 1))

    # -- a program -----------------------------------------------------------------------
    def program(self, snippets: int) -> bytes:
        rng = self.rng
        if rng.random() < 0.04:
            return rng.randbytes(rng.randrange(1, 200))  # raw bytes: whatever they decode to
        a = Assembler()
        subroutine = a.new_label()
        for _ in range(snippets):
            self.snippet(a, subroutine)
        self.terminator(a)
        # the shared subroutine: [return address] -> does one thing, jumps back
        a.label(subroutine)
        self.snippet(a, None, calls=False)
        a.op(JUMP)
        return a.assemble()

    def snippet(self, a: Assembler, subroutine, calls: bool = True) -> None:
        rng = self.rng
        kinds = [self.arithmetic, self.arithmetic, self.memory, self.memory, self.storage, self.reader, self.log,
                 self.branch, self.loop, self.stack_edge, self.transient, self.check_at_gas_edge]
        if calls and self.depth < 2:
            kinds += [self.call, self.call, self.create, self.words_then_call]
        kinds += [self.mapping_slot, self.pending_words, self.storage_reuse]
        if subroutine is not None:
            kinds.append(lambda a: self.gosub(a, subroutine))
        if rng.random() < 0.03:
            kinds.append(self.breakage)
        self.depth += 1
        try:
            rng.choice(kinds)(a)
        finally:
            self.depth -= 1

    def sink(self, a: Assembler) -> None:
        """Consume the word on top of the stack: pop it, keep it in memory or storage, or branch on it."""
        roll = self.rng.random()
        if roll < 0.35:
            a.op(POP)
        elif roll < 0.65:
            a.push(self.rng.randrange(0, 320, 32))
            a.op(MSTORE)
        elif roll < 0.85:
            a.push(self.rng.choice(STORAGE_KEYS))
            a.op(SSTORE)
        else:
            skip = a.new_label()
            a.push_label(skip)
            a.op(JUMPI)
            a.op(self.pick((ADDRESS, CALLER, GAS)), POP)
            a.label(skip)

    # -- snippets ------------------------------------------------------------------------
    def arithmetic(self, a: Assembler) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.65:
            self.push_word(a, self.word())
            self.push_word(a, self.word())
            a.op(self.pick(BINARY))
        elif roll < 0.8:
            self.push_word(a, self.word())
            a.op(self.pick(UNARY))
        else:
            for _ in range(3):
                self.push_word(a, self.word())
            a.op(self.pick(TERNARY))
        for _ in range(rng.randrange(3)):  # a chain: the result feeds the next operation
            self.push_word(a, self.word())
            if rng.random() < 0.5:
                a.op(SWAP1)
            a.op(self.pick(BINARY))
        self.sink(a)

    def memory(self, a: Assembler) -> None:
        rng = self.rng
        kind = rng.randrange(8)
        if kind == 0:
            self.push_word(a, self.word())
            a.push(self.offset())
            a.op(self.pick((MSTORE, MSTORE8)))
        elif kind == 1:
            a.push(self.offset())
            a.op(MLOAD)
            self.sink(a)
        elif kind == 2:
            a.push(self.size())
            a.push(self.offset())
            a.op(KECCAK256)
            self.sink(a)
        elif kind == 3:
            a.push(self.size())
            a.push(self.offset())
            a.push(self.offset())
            a.op(self.pick((MCOPY, CALLDATACOPY)))
        elif kind == 4:
            a.push(self.size())
            a.push(rng.choice((0, 4, 32, 2**64)))
            a.push(self.offset())
            a.op(self.pick((CALLDATACOPY, CODECOPY)))
        elif kind == 5:
            a.push(rng.choice((0, 1, 32)))
            a.push(rng.choice((0, 1, 2**64)))
            a.push(self.offset())
            a.op(self.pick((RETURNDATACOPY, CALLDATACOPY)))  # beyond the return data: an exceptional halt
        elif kind == 6:
            a.push(rng.randrange(64))
            a.op(CALLDATALOAD)
            self.sink(a)
        else:
            a.push(self.size())
            a.push(rng.choice((0, 5, 2**64)))
            a.push(self.offset())
            a.push(self.address())
            a.op(EXTCODECOPY)

    def storage(self, a: Assembler) -> None:
        rng = self.rng
        key = rng.choice(STORAGE_KEYS)
        if rng.random() < 0.5:
            self.push_word(a, rng.choice(STORAGE_VALUES))
            a.push(key)
            a.op(SSTORE)
        else:
            a.push(key)
            a.op(SLOAD)
            if rng.random() < 0.5:  # increment it: SSTORE of a dirty slot
                a.push(1)
                a.op(ADD)
                a.push(key)
                a.op(SSTORE)
            else:
                self.sink(a)

    def transient(self, a: Assembler) -> None:
        rng = self.rng
        key = rng.choice(STORAGE_KEYS)
        if rng.random() < 0.5:
            self.push_word(a, rng.choice(STORAGE_VALUES))
            a.push(key)
            a.op(self.pick((TSTORE, SSTORE)))
        else:
            a.push(key)
            a.op(self.pick((TLOAD, SLOAD)))
            self.sink(a)

    def reader(self, a: Assembler) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            a.op(self.pick(READERS))
        elif roll < 0.85:
            a.push(self.address())
            a.op(self.pick(ACCOUNT_READERS))
        elif roll < 0.95:
            a.push(rng.choice((0, 1, 255, 256, 2**64)))
            a.op(BLOCKHASH)
        else:
            a.push(rng.choice((0, 1)))
            a.op(self.pick((BLOBHASH, CALLDATALOAD)))
        self.sink(a)

    def log(self, a: Assembler) -> None:
        rng = self.rng
        topics = rng.randrange(5)
        for _ in range(topics):
            self.push_word(a, self.word())
        a.push(self.size() if rng.random() < 0.8 else rng.randrange(64))
        a.push(self.offset())
        a.op(LOG0 + topics)

    def call(self, a: Assembler) -> None:
        rng = self.rng
        kind = self.pick((CALL, CALL, STATICCALL, DELEGATECALL, CALLCODE))
        a.push(rng.choice((0, 32, 64)))  # return size
        a.push(rng.randrange(0, 128))  # return offset
        a.push(rng.choice((0, 4, 32, 100)))  # argument size
        a.push(rng.randrange(0, 64))  # argument offset
        if kind in (CALL, CALLCODE):
            a.push(rng.choice((0, 0, 1, 10**18, 2**255)))  # value (more than the balance: the call fails)
        a.push(self.address())
        roll = rng.random()
        if roll < 0.5:
            a.op(GAS)
        else:
            a.push(rng.choice((0, 1, 100, 2300, 2301, 5000, 30_000, 2**64)))
        a.op(kind)
        if rng.random() < 0.5:
            a.op(self.pick((RETURNDATASIZE, MSIZE)))
            a.op(ADD)
        self.sink(a)

    def create(self, a: Assembler) -> None:
        rng = self.rng
        init = self.init_code()
        offset = rng.randrange(0, 64)
        # the init code into memory, a word at a time
        padded = init + b"\x00" * (-len(init) % 32)
        for i in range(0, len(padded), 32):
            a.push(int.from_bytes(padded[i:i + 32], "big"))
            a.push(offset + i)
            a.op(MSTORE)
        kind = self.pick((CREATE, CREATE2))
        if kind == CREATE2:
            a.push(rng.choice((0, 1, 2**256 - 1)))  # salt
        a.push(len(init) if rng.random() < 0.9 else rng.choice((0, 50_000)))
        a.push(offset)
        a.push(rng.choice((0, 0, 1)))  # value
        a.op(kind)
        if rng.random() < 0.5:  # call what was created (or address 0)
            a.op(DUP1)
            a.push(0)
            a.op(DUP1, DUP1, DUP1, DUP1)
            a.op(SWAP1 + 4)  # address to the top, under gas
            a.op(GAS)
            a.op(CALL, POP)
        self.sink(a)

    def init_code(self) -> bytes:
        """Init code: returns a runtime (a generated program), reverts, fails, or returns too much."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            runtime = ProgramGenerator(rng, self.others, self.defined).small_program()
            # CODECOPY the runtime (appended after this header) to memory 0 and RETURN it
            header_len = 15
            head = bytes([PUSH2]) + len(runtime).to_bytes(2, "big") + bytes([PUSH2]) + header_len.to_bytes(2, "big") \
                + bytes([PUSH1, 0, CODECOPY]) + bytes([PUSH2]) + len(runtime).to_bytes(2, "big") \
                + bytes([PUSH1, 0, RETURN])
            assert len(head) == header_len
            return head + runtime
        if roll < 0.75:
            return bytes([PUSH1, rng.randrange(64), PUSH1, 0, REVERT])
        if roll < 0.85:
            return bytes([INVALID])
        if roll < 0.92:
            return bytes([PUSH2]) + (24_577).to_bytes(2, "big") + bytes([PUSH1, 0, RETURN])  # over EIP-170
        return bytes([PUSH1, 1, PUSH1, 0, MSTORE8, PUSH1, 1, PUSH1, 0, RETURN])  # 0x01..: ok, or EF-free

    def small_program(self) -> bytes:
        self.depth = 2  # no calls or creates inside
        a = Assembler()
        for _ in range(self.rng.randrange(1, 4)):
            self.snippet(a, None, calls=False)
        self.terminator(a)
        return a.assemble()

    def branch(self, a: Assembler) -> None:
        rng = self.rng
        skip = a.new_label()
        roll = rng.random()
        if roll < 0.4:
            a.push(rng.randrange(32))
            a.op(CALLDATALOAD)  # data-dependent
        elif roll < 0.7:
            a.op(self.pick((GAS, CALLVALUE, RETURNDATASIZE, MSIZE)))
            a.push(rng.choice((0, 1, 100, 50_000)))
            a.op(rng.choice((LT, GT, EQ)))
        else:
            self.push_word(a, rng.choice((0, 1)))
        a.push_label(skip)
        a.op(JUMPI)
        self.snippet(a, None, calls=rng.random() < 0.3)
        a.label(skip)

    def loop(self, a: Assembler) -> None:
        rng = self.rng
        top = a.new_label()
        a.push(rng.choice((1, 2, 5, 20, 200)))
        a.label(top)
        for _ in range(rng.randrange(1, 3)):
            self.snippet(a, None, calls=rng.random() < 0.1)
        a.push(1)
        a.op(SWAP1, SUB, DUP1)
        a.push_label(top)
        a.op(JUMPI, POP)

    def gosub(self, a: Assembler, subroutine: str) -> None:
        back = a.new_label()
        a.push_label(back)
        a.push_label(subroutine)
        a.op(JUMP)
        a.label(back)

    def stack_edge(self, a: Assembler) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:  # DUPs and SWAPs, now and then deeper than the stack (an underflow)
            pushes = rng.randrange(2, 17)
            for _ in range(pushes):
                self.push_word(a, self.word())
            n = rng.randrange(1, pushes if rng.random() < 0.9 else 17)
            a.op(rng.choice((DUP1, SWAP1)) + n - 1)
            a.op(*[POP] * (pushes + 1))
        elif roll < 0.7:  # grow the stack near the limit and back (overflow sometimes)
            count = rng.choice((10, 500, 1000, 1023, 1024, 1025))
            top, done = a.new_label(), a.new_label()
            a.push(count)
            a.label(top)
            a.op(DUP1, ISZERO)
            a.push_label(done)
            a.op(JUMPI)
            a.push(1)
            a.op(SWAP1, SUB, DUP1)  # leaves counter copies on the stack
            a.push_label(top)
            a.op(JUMP)
            a.label(done)
        else:  # PUSH/POP churn and SWAPs that the compiler resolves statically
            for _ in range(rng.randrange(2, 6)):
                self.push_word(a, self.word())
            for _ in range(rng.randrange(1, 4)):
                a.op(SWAP1 + rng.randrange(2), DUP1 + rng.randrange(3), POP)
            for _ in range(rng.randrange(1, 6)):
                a.op(POP)

    @staticmethod
    def burn_gas_to(a: Assembler, level: int, skip: str, top: str, done: str) -> None:
        """Burn gas down to about ``level`` (a loop, 36 gas a round) and go on at ``done``; with
        more than 6000 gas above it, jump to ``skip`` instead (the loop stays bounded)."""
        a.push(level + 6000)
        a.op(GAS, GT)
        a.push_label(skip)
        a.op(JUMPI)
        a.label(top)  # while gas > level
        a.push(level)
        a.op(GAS, GT, ISZERO)
        a.push_label(done)
        a.op(JUMPI)
        a.push_label(top)
        a.op(JUMP)
        a.label(done)

    def check_at_gas_edge(self, a: Assembler) -> None:
        """A dynamic charge, then an instruction that halts on a check other than gas (return data
        out of bounds; a write, in a static call), then static gas, entered with just about the gas
        the charge needs (a loop burns gas down to a level): whether the charge or the check halts
        first depends on the exact charging order."""
        rng = self.rng
        top, done, skip = a.new_label(), a.new_label(), a.new_label()
        words = rng.randrange(1, 12)
        a.push(1)
        a.push(32 * words)
        a.op(MSTORE8)  # memory covers what the charge below reads: its cost is known here
        statics = rng.randrange(1, 60)
        per_word = 6 if rng.random() < 0.5 else 3
        need = 9 + per_word * words + 3 + 10 + 1  # the charge's pushes, KECCAK/COPY; the check's pushes
        level = max(0, need + rng.randrange(-40, 5 * statics + 40))
        self.burn_gas_to(a, level, skip, top, done)
        if per_word == 6:
            a.push(32 * words)
            a.push(0)
            a.op(KECCAK256, POP)
        else:
            a.push(32 * words)
            a.push(0)
            a.push(0)
            a.op(self.pick((CALLDATACOPY, CODECOPY)))
        check = rng.randrange(3)
        if check == 0:  # beyond the return data (empty unless a call returned some)
            a.push(rng.choice((0, 1, 32)))
            a.push(rng.choice((1, 64)))
            a.push(0)
            a.op(self.pick((RETURNDATACOPY, CALLDATACOPY)))
        elif check == 1:  # LOGn: a write
            a.push(0)
            a.push(0)
            a.op(LOG0)
        else:
            a.push(1)
            a.push(rng.choice(STORAGE_KEYS))
            a.op(self.pick((TSTORE, TSTORE, SSTORE)))
        for _ in range(statics):  # static gas after the check
            a.op(self.pick((GAS, MSIZE, CALLDATASIZE)) if rng.random() < 0.1 else PC, POP)
        a.label(skip)

    # -- what compiled traces keep in locals (pending memory words, storage values read) --------
    def word_offset(self) -> int:
        """A constant memory offset for a word: mostly word-aligned and small, now and then
        unaligned, or far enough that storing there grows memory at a cost."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.7:
            return 32 * rng.randrange(12)
        if roll < 0.9:
            return rng.randrange(0, 384)
        return rng.randrange(384, 20_000)

    def store_words(self, a: Assembler, count: int, base: int) -> list:
        """``count`` MSTOREs at constant offsets from ``base`` (consecutive words, now and then an
        unaligned, repeated or overlapping one); their offsets."""
        rng = self.rng
        offsets = []
        for i in range(count):
            roll = rng.random()
            if roll < 0.65 or not offsets:
                at = base + 32 * i
            elif roll < 0.75:
                at = rng.choice(offsets)  # the same word again
            else:
                at = max(0, rng.choice(offsets) + rng.choice((1, -1)) * rng.randrange(1, 32))  # across two words
            value = self.word() if rng.random() < 0.7 else None
            if value is None:
                a.op(self.pick((CALLER, CALLVALUE, GAS, MSIZE, CALLDATASIZE)))  # not known when compiling
            else:
                self.push_word(a, value)
            a.push(at)
            a.op(MSTORE)
            offsets.append(at)
        return offsets

    def region(self, offsets: list) -> tuple:
        """(offset, size) around stored words: whole words, part of one, across two, a zero size,
        or beyond them."""
        rng = self.rng
        low, high = min(offsets), max(offsets) + 32
        roll = rng.random()
        if roll < 0.4:
            first = rng.choice(offsets)
            return first, 32 * rng.randrange(1, 1 + (high - first + 31) // 32)
        if roll < 0.55:
            return rng.choice(offsets), rng.randrange(1, 32)
        if roll < 0.7:
            return rng.choice(offsets) + rng.randrange(1, 32), rng.choice((32, 64))
        if roll < 0.8:
            return rng.randrange(low, high), 0
        return max(0, low - rng.randrange(64)), high - low + rng.randrange(64)

    def mapping_slot(self, a: Assembler) -> None:
        """A Solidity/Vyper mapping access: the key and the slot number as words at constant offsets,
        KECCAK256 of the 64 bytes, then SLOAD / SSTORE / an increment of that slot."""
        rng = self.rng
        base = self.word_offset()
        if rng.random() < 0.5:
            a.op(self.pick((CALLER, ORIGIN, ADDRESS)))
        else:
            self.push_word(a, self.word())
        a.push(base)
        a.op(MSTORE)
        self.push_word(a, rng.randrange(8))
        a.push(base + 32)
        a.op(MSTORE)
        a.push(64 if rng.random() < 0.9 else rng.choice((32, 63, 65)))
        a.push(base)
        a.op(KECCAK256)
        roll = rng.random()
        if roll < 0.4:  # balance[key] += x (read, add, store: a dirty slot)
            a.op(DUP1, SLOAD)
            self.push_word(a, rng.choice((1, 2, 2**256 - 1)))
            a.op(ADD, SWAP1, SSTORE)
        elif roll < 0.65:
            a.op(SLOAD)
            self.sink(a)
        elif roll < 0.85:
            self.push_word(a, rng.choice(STORAGE_VALUES))
            a.op(SWAP1, SSTORE)
        else:  # read twice, the second read reused
            a.op(DUP1, SLOAD, SWAP1, SLOAD, ADD)
            self.sink(a)

    def pending_words(self, a: Assembler) -> None:
        """Up to 12 words stored at constant offsets, now and then partly overwritten (MSTORE8,
        MCOPY, CALLDATACOPY, RETURNDATACOPY, CODECOPY), then read as a whole, in part or across
        words (MLOAD, KECCAK256, MSIZE, LOGn, RETURN, REVERT), or an exceptional halt in the same
        block, or out of gas at the stores' growth."""
        rng = self.rng
        if rng.random() < 0.15:
            self.out_of_gas_at_growth(a)
            return
        offsets = self.store_words(a, rng.choice((1, 2, 2, 3, 4, 6, 8, 9, 12)), self.word_offset())
        if rng.random() < 0.3:  # overwrite part of them
            kind = self.pick((MSTORE8, MCOPY, CALLDATACOPY, RETURNDATACOPY, CODECOPY))
            at = rng.choice(offsets) + rng.choice((0, 0, 1, 31, 33))
            if kind == MSTORE8:
                self.push_word(a, self.word())
                a.push(at)
            else:
                a.push(rng.choice((1, 32, 33, 64)))
                a.push(0 if kind == RETURNDATACOPY else rng.choice((0, 3, 64)))
                a.push(at)
            a.op(kind)
        offset, size = self.region(offsets)
        roll = rng.random()
        if roll < 0.3:
            a.push(offset)
            a.op(MLOAD)
            self.sink(a)
        elif roll < 0.5:
            a.push(size)
            a.push(offset)
            a.op(KECCAK256)
            self.sink(a)
        elif roll < 0.6:
            a.op(MSIZE)
            self.sink(a)
        elif roll < 0.75:
            topics = rng.randrange(3)
            for _ in range(topics):
                self.push_word(a, self.word())
            a.push(size)
            a.push(offset)
            a.op(LOG0 + topics)
        elif roll < 0.9:  # RETURN or REVERT the region (on one side of a data-dependent branch)
            skip = a.new_label()
            if rng.random() < 0.7:
                a.push(rng.randrange(32))
                a.op(CALLDATALOAD)
                if rng.random() < 0.5:
                    a.op(ISZERO)
                a.push_label(skip)
                a.op(JUMPI)
            a.push(size)
            a.push(offset)
            a.op(self.pick((RETURN, REVERT, REVERT)))
            a.label(skip)
        else:
            self.exceptional_halt(a)

    def exceptional_halt(self, a: Assembler) -> None:
        """An exceptional halt in the current block: a bad jump, an underflow, INVALID, an undefined
        opcode."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            a.push(rng.randrange(1, 600))
            a.op(JUMP)
        elif roll < 0.5:
            a.raw(bytes([SWAP1 + 15]))  # SWAP16: deeper than a generated stack mostly is
        elif roll < 0.75:
            a.op(INVALID)
        else:
            a.raw(bytes([rng.choice((0x0C, 0x21, 0xA5, 0xEF))]))

    def out_of_gas_at_growth(self, a: Assembler) -> None:
        """Gas burnt down to about what stores that grow memory need, then the stores: out of gas
        exactly at a growth, or just after it, with words pending."""
        rng = self.rng
        top, done, skip = a.new_label(), a.new_label(), a.new_label()
        base = 32 * rng.randrange(1, 64)
        count = rng.randrange(1, 5)
        words = (base + 32 * count + 31) // 32
        need = 9 * count + 3 * words + words * words // 512  # the pushes, MSTOREs, growth from nothing
        level = max(0, need + rng.randrange(-40, 20))
        self.burn_gas_to(a, level, skip, top, done)
        offsets = self.store_words(a, count, base)
        a.push(32)
        a.push(rng.choice(offsets))
        a.op(self.pick((RETURN, REVERT, KECCAK256)))
        a.op(POP)
        a.label(skip)

    def words_then_call(self, a: Assembler) -> None:
        """Words stored where a call's arguments (or a create's init code) are read and its return
        data is written, then the words read back."""
        rng = self.rng
        base = 32 * rng.randrange(8)
        offsets = self.store_words(a, rng.randrange(1, 6), base)
        if rng.random() < 0.2:
            a.push(rng.randrange(1, 96))
            a.push(rng.choice(offsets))
            a.push(0)
            a.op(CREATE)  # stored words as init code: runs whatever they decode to
        else:
            kind = self.pick((CALL, STATICCALL, DELEGATECALL, CALLCODE))
            a.push(rng.choice((0, 1, 32, 64)))  # return size
            a.push(rng.choice(offsets) + rng.choice((0, 0, 1, 16)))  # over the words
            arg_offset, arg_size = self.region(offsets)
            a.push(arg_size)
            a.push(arg_offset)
            if kind in (CALL, CALLCODE):
                a.push(rng.choice((0, 0, 1)))
            a.push(self.address())
            if rng.random() < 0.6:
                a.op(GAS)
            else:
                a.push(rng.choice((0, 2300, 30_000)))
            a.op(kind)
        self.sink(a)
        offset, size = self.region(offsets)
        if rng.random() < 0.5:
            a.push(offset)
            a.op(MLOAD)
        else:
            a.push(size)
            a.push(offset)
            a.op(KECCAK256)
        self.sink(a)

    def storage_reuse(self, a: Assembler) -> None:
        """Two SLOADs of one slot with something between: an SSTORE of it or of another slot
        (known or not when compiling), a TSTORE of it, or a DELEGATECALL/CALLCODE of created code
        that writes it (and then maybe reverts)."""
        rng = self.rng
        key = rng.choice(STORAGE_KEYS)
        a.push(key)
        a.op(SLOAD)  # kept on the stack: the two reads are compared in the end
        roll = rng.random()
        if roll < 0.3:  # SLOAD, SSTORE, SLOAD of the same slot
            self.push_word(a, rng.choice(STORAGE_VALUES))
            a.push(key)
            a.op(SSTORE)
        elif roll < 0.42:  # of another slot, or of one known only at run time
            self.push_word(a, rng.choice(STORAGE_VALUES))
            if rng.random() < 0.5:
                a.push(rng.choice(STORAGE_KEYS))
            else:
                a.push(rng.randrange(8))
                a.op(CALLDATALOAD)
                a.push(rng.choice((1, 3, 255)))
                a.op(AND)
            a.op(SSTORE)
        elif roll < 0.54:  # transient storage is another store: the SLOAD still reads the slot
            self.push_word(a, rng.choice(STORAGE_VALUES))
            a.push(key)
            a.op(TSTORE if TSTORE in self.defined else SSTORE)
        elif self.depth < 2 and roll < 0.9:
            self.code_writing_slot(a, key)
        a.push(key)
        a.op(SLOAD)
        a.op(self.pick((SUB, XOR, EQ)))
        if rng.random() < 0.7:  # where the outcome shows it
            a.push(rng.choice(STORAGE_KEYS))
            a.op(SSTORE)
        else:
            self.sink(a)

    def code_writing_slot(self, a: Assembler, key: int) -> None:
        """CREATE a contract whose code writes ``key`` (and may revert), then run it on this
        contract's storage (DELEGATECALL or CALLCODE)."""
        rng = self.rng
        runtime = bytearray()
        value = rng.choice(STORAGE_VALUES[1:])
        for part in (value, key):
            size = max(1, (part.bit_length() + 7) // 8)
            runtime += bytes([PUSH1 + size - 1]) + part.to_bytes(size, "big")
        runtime.append(SSTORE)
        if rng.random() < 0.4:
            runtime += bytes([PUSH1, 0, DUP1, REVERT if REVERT in self.defined else INVALID])
        init = bytes([PUSH1, len(runtime), DUP1, PUSH1, 12, PUSH1, 0, CODECOPY, PUSH1, 0, RETURN, STOP]) + runtime
        padded = init + b"\x00" * (-len(init) % 32)
        for i in range(0, len(padded), 32):
            a.push(int.from_bytes(padded[i:i + 32], "big"))
            a.push(i)
            a.op(MSTORE)
        a.push(len(init))
        a.push(0)
        a.push(0)
        a.op(CREATE)  # the address (0 if it failed: the call below then runs no code)
        a.push(0)
        a.op(DUP1, DUP1, DUP1)
        kind = self.pick((DELEGATECALL, CALLCODE))
        if kind == CALLCODE:
            a.op(DUP1)  # value 0
            a.op(SWAP1 + 4)  # the address above the zeros
        else:
            a.op(SWAP1 + 3)
        a.op(GAS, kind, POP)

    def breakage(self, a: Assembler) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            a.push(rng.randrange(0, 600))
            a.op(JUMP)  # most likely not a JUMPDEST
        elif roll < 0.5:
            a.push(rng.randrange(64))
            a.op(CALLDATALOAD)
            a.push(240)
            a.op(SHR, JUMP)  # a jump computed from calldata
        elif roll < 0.7:
            a.raw(bytes([rng.choice((0x0C, 0x21, 0x4B, 0xA5, 0xEF, 0xFB, 0xFE))]))  # undefined or INVALID
        elif roll < 0.85:
            a.raw(bytes([PUSH2, JUMPDEST, JUMPDEST]))  # JUMPDEST bytes inside PUSH data
            a.op(POP)
        else:
            a.raw(rng.randbytes(rng.randrange(1, 24)))

    def terminator(self, a: Assembler) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            a.op(STOP)
        elif roll < 0.55:
            a.push(rng.choice((0, 1, 32, 64, 100)))
            a.push(rng.randrange(0, 64))
            a.op(RETURN)
        elif roll < 0.7:
            a.push(rng.choice((0, 1, 32, 64)))
            a.push(rng.randrange(0, 64))
            a.op(self.pick((REVERT, RETURN)))
        elif roll < 0.73:
            a.op(INVALID)
        elif roll < 0.83:
            a.push(self.address())
            a.op(SELFDESTRUCT)
        # else: fall through into the subroutine (ends with a JUMP: an underflow or a jump to what is there)
