"""MetisVM's instructions, one function per opcode (see ``hyperion.vm.template``).

Each module groups instructions as the execution specs do. A function's
parameters are the stack inputs (top first), its return value is pushed;
``f`` is the frame, keyword-only parameters are fork constants bound by the
instruction table (``hyperion.vm.opcodes``). The interpreter's handlers and
the compiler's inline code are both generated from these functions.
"""
