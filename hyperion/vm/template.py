"""Instruction templates: each opcode's semantics is written once.

An instruction of ``vm/instructions/`` is a plain Python function that
reads like the execution specs' instruction modules::

    def add(a, b):
        return wrap(a + b)

    def mload(f, offset):
        end = offset + 32
        if end > len(f.memory):
            expand(f, end)
        return int.from_bytes(f.memory[offset:end], "big")

* positional parameters are the stack inputs, top of the stack first; a
  return value is pushed (an instruction pushes at most one word);
* a first parameter named ``f`` receives the frame, a parameter named
  ``pc`` the instruction's position in the code;
* keyword-only parameters are constants of a fork (EXP's price per byte,
  SSTORE's refund, ...), bound when the fork's instruction table is built
  (``bind``); a branch on such a constant is resolved then, so each fork's
  variant carries only its own rules;
* ``wrap(x)`` reduces a result modulo 2**256; the compiler drops the mask
  where the operands' widths show that ``x`` cannot overflow.

Rules (checked when a template is parsed): the only ``return`` is the last
statement; no nested functions, lambdas or comprehensions; no names that
start with ``_``. Static gas, the opcode and its flags are the table's
business (``opcodes.py``); dynamic gas is charged by the template itself.

From one template, ``Instruction`` produces everything that executes it:

* ``handler``: the interpreter's ``handler(f, pc) -> next pc``, which pops
  the inputs from ``f.stack`` and pushes the result;
* ``direct``: ``(f?, pc?, inputs...) -> result``, for constant folding and
  for the instructions the compiler calls rather than inlines;
* ``inline(...)``: the body as source with the operands substituted, its
  locals renamed and the frame's invariant attributes hoisted, for the
  block compiler (``vm/compiler``).

So the interpreter and the compiled tier cannot drift apart, and a new
fork's opcode is one function plus one line in the table.
"""

from __future__ import annotations

import ast
import builtins
import linecache
import operator
import re
import types
from functools import lru_cache
from typing import Any, Callable, Optional

from hyperion.vm.exceptions import ExceptionalHalt, OutOfGas
from hyperion.vm.instructions.gas import charge

M = (1 << 256) - 1
WORD_BITS = 256
UNBOUNDED = 1 << 20  # "width" of a value that may be negative or above 2**256

# Frame attributes that never change while a frame runs (the compiler reads them once per trace).
INVARIANT_FRAME_ATTRIBUTES = frozenset(
    {"memory", "state", "address", "caller", "value", "data", "code", "ctx", "static", "depth"}
)


class TemplateError(ValueError):
    """An instruction function breaks the template rules."""


def wrap(x: int) -> int:
    """``x`` modulo 2**256: a word's arithmetic wraps around."""
    return x & M


# -- parsing -------------------------------------------------------------------------

_MODULE_TREES: dict[str, ast.Module] = {}


def _function_ast(fn: Callable) -> ast.FunctionDef:
    """The FunctionDef of ``fn``, from its module's source file (parsed once per file)."""
    code = fn.__code__
    filename = code.co_filename
    tree = _MODULE_TREES.get(filename)
    if tree is None:
        lines = linecache.getlines(filename)
        if not lines:
            raise TemplateError(f"{fn.__qualname__}: source of {filename} is not available")
        tree = _MODULE_TREES[filename] = ast.parse("".join(lines), filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == fn.__name__ and code.co_firstlineno in (
                node.lineno, *(decorator.lineno for decorator in node.decorator_list)):
            return node
    raise TemplateError(f"{fn.__qualname__}: no definition at {filename}:{code.co_firstlineno}")


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
                  ast.DictComp, ast.GeneratorExp, ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await)


def _without_docstring(body: list) -> list:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return list(body)


# Helpers whose calls, as statements of a template of their own module, are replaced by their body.
INLINE_HELPERS: set = set()


def inline_helper(fn: Callable) -> Callable:
    """Mark ``fn`` (a helper of instruction templates, returning nothing) to be expanded into the
    templates of its module that call it: its semantics stay written once, and operands the
    compiler knows (CODECOPY's constant size and destination) fold through its body."""
    INLINE_HELPERS.add(fn)
    return fn


_UNSTABLE_FRAME_ATTRIBUTES = frozenset({"gas", "memory", "stack"})


def _substitutable(node: ast.expr) -> bool:
    """Whether ``node`` may stand for a helper's parameter: evaluating it later, where the
    helper reads the parameter, gives the same value and has no effect (names, constants,
    frame attributes a helper does not change, tuples of these and their ``to_bytes``)."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return (isinstance(node.value, ast.Name) and node.value.id == "f"
                and node.attr not in _UNSTABLE_FRAME_ATTRIBUTES)
    if isinstance(node, ast.Tuple):
        return all(_substitutable(item) for item in node.elts)
    if isinstance(node, ast.Call):
        return (isinstance(node.func, ast.Attribute) and node.func.attr == "to_bytes" and not node.keywords
                and _substitutable(node.func.value) and all(isinstance(a, ast.Constant) for a in node.args))
    return False


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: dict, renames: dict) -> None:
        self.values = values
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.values and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.parse(ast.unparse(self.values[node.id]), mode="eval").body, node)
        if node.id in self.renames:
            return ast.copy_location(ast.Name(self.renames[node.id], node.ctx), node)
        return node


class _ExpandHelpers(ast.NodeTransformer):
    def __init__(self, namespace: dict) -> None:
        self.namespace = namespace

    def visit_Expr(self, node: ast.Expr) -> Any:
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords):
            return node
        helper = self.namespace.get(call.func.id)
        if helper not in INLINE_HELPERS or helper.__globals__ is not self.namespace \
                or not all(_substitutable(arg) for arg in call.args):
            return node
        definition = _function_ast(helper)
        params = [a.arg for a in definition.args.args]
        statements = _without_docstring(definition.body)
        assigned = _assigned_names(statements)
        if len(params) != len(call.args) or definition.args.kwonlyargs or assigned & set(params) \
                or any(isinstance(sub, ast.Return) for st in statements for sub in ast.walk(st)):
            raise TemplateError(f"{helper.__name__}: an inline helper takes plain parameters, does not "
                                f"reassign them and returns nothing")
        substitute = _Substitute(dict(zip(params, call.args)),
                                 {name: f"{helper.__name__}_{name}" for name in assigned})
        return [substitute.visit(ast.parse(ast.unparse(st)).body[0]) for st in statements]


def _expand_helpers(body: list, namespace: dict) -> list:
    module = _ExpandHelpers(namespace).visit(ast.Module(body=body, type_ignores=[]))
    return ast.fix_missing_locations(module).body


class Template:
    """A parsed instruction function (see the module docstring)."""

    def __init__(self, fn: Callable) -> None:
        node = _function_ast(fn)
        name = fn.__name__
        args = node.args
        if args.vararg or args.kwarg or args.posonlyargs or args.defaults:
            raise TemplateError(f"{name}: only plain positional and keyword-only parameters are allowed")
        params = [a.arg for a in args.args]
        self.fn = fn
        self.name = name
        self.uses_frame = bool(params) and params[0] == "f"
        if self.uses_frame:
            params = params[1:]
        self.uses_pc = "pc" in params
        if self.uses_pc:
            if params[-1] != "pc":
                raise TemplateError(f"{name}: 'pc' must be the last positional parameter")
            params = params[:-1]
        self.inputs: tuple[str, ...] = tuple(params)
        self.constants: tuple[str, ...] = tuple(a.arg for a in args.kwonlyargs)
        self.doc = ast.get_docstring(node)
        body = _expand_helpers(_without_docstring(node.body), fn.__globals__)
        result = None
        if body and isinstance(body[-1], ast.Return):
            result = body[-1].value
            body = body[:-1]
        for statement in body:
            for sub in ast.walk(statement):
                if isinstance(sub, ast.Return):
                    raise TemplateError(f"{name}: 'return' is only allowed as the last statement")
                if isinstance(sub, _NESTED_SCOPES):
                    raise TemplateError(f"{name}: {type(sub).__name__} is not allowed in an instruction")
        all_names = {n.id for s in body + ([result] if result else []) for n in ast.walk(s) if isinstance(n, ast.Name)}
        bad = sorted(n for n in all_names if n.startswith("_"))
        if bad:
            raise TemplateError(f"{name}: names starting with '_' are reserved ({', '.join(bad)})")
        self.body: list[ast.stmt] = body
        self.result: Optional[ast.expr] = result
        self.pushes = 1 if result is not None else 0
        self.pops = len(self.inputs)


@lru_cache(maxsize=None)
def template_of(fn: Callable) -> Template:
    return Template(fn)


# -- binding fork constants and simplifying ---------------------------------------------

_LITERAL_TYPES = (int, bool, type(None), bytes, str)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_FOLDABLE = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod, ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_COMPARISONS = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class _Specialize(ast.NodeTransformer):
    """Substitute the bound constants, then fold the branches that became constant."""

    def __init__(self, literals: dict[str, Any], names: dict[str, str]) -> None:
        self.literals = literals
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load):
            if node.id in self.literals:
                return ast.copy_location(ast.Constant(self.literals[node.id]), node)
            if node.id in self.names:
                return ast.copy_location(ast.Name(self.names[node.id], ast.Load()), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        left, right = node.left, node.right
        if isinstance(left, ast.Constant) and isinstance(right, ast.Constant) and _is_int(left.value) \
                and _is_int(right.value) and type(node.op) in _FOLDABLE:
            if isinstance(node.op, (ast.LShift, ast.Pow)) and right.value > 1024:
                return node  # would build a huge number
            try:
                return ast.copy_location(ast.Constant(_FOLDABLE[type(node.op)](left.value, right.value)), node)
            except (ArithmeticError, ValueError):
                return node
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and type(node.ops[0]) in _COMPARISONS and isinstance(node.left, ast.Constant) \
                and isinstance(node.comparators[0], ast.Constant) and _is_int(node.left.value) \
                and _is_int(node.comparators[0].value):
            value = _COMPARISONS[type(node.ops[0])](node.left.value, node.comparators[0].value)
            return ast.copy_location(ast.Constant(value), node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        values = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                truth = bool(value.value)
                if isinstance(node.op, ast.And) and not truth or isinstance(node.op, ast.Or) and truth:
                    return value if not values else ast.BoolOp(node.op, values + [value])
                continue  # a neutral operand: drop it
            values.append(value)
        if not values:
            return ast.Constant(isinstance(node.op, ast.And))
        return values[0] if len(values) == 1 else ast.BoolOp(node.op, values)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.operand, ast.Constant):
            if isinstance(node.op, ast.Not):
                return ast.Constant(not node.operand.value)
            if _is_int(node.operand.value):
                if isinstance(node.op, ast.Invert):
                    return ast.Constant(~node.operand.value)
                if isinstance(node.op, ast.USub):
                    return ast.Constant(-node.operand.value)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("max", "min") and not node.keywords \
                and len(node.args) > 1 and node.func.id not in self.names \
                and all(isinstance(a, ast.Constant) and _is_int(a.value) for a in node.args):
            fold = max if node.func.id == "max" else min
            return ast.copy_location(ast.Constant(fold(a.value for a in node.args)), node)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node: ast.If) -> Any:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            chosen = node.body if node.test.value else node.orelse
            return chosen or None
        return node


def _fill_empty_bodies(module: ast.Module) -> ast.Module:
    """A branch whose statements were all pruned gets a ``pass`` (the module itself may end up empty)."""
    for node in ast.walk(module):
        if isinstance(node, ast.Module):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and field == "body" and not block:
                block.append(ast.Pass())
    return module


class _MaskWrap(ast.NodeTransformer):
    """``wrap(x)`` -> ``(x) & M`` (the interpreter and direct forms mask inline, no call)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "wrap" and len(node.args) == 1:
            return ast.BinOp(node.args[0], ast.BitAnd(), ast.Name("M", ast.Load()))
        return node


def _masked_source(node: ast.AST) -> str:
    """Source of ``node`` (a copy) with every ``wrap`` rendered as a mask."""
    copy = ast.parse(ast.unparse(node)).body[0]
    return ast.unparse(_MaskWrap().visit(copy))


def _module_constants(template: Template, namespace: dict) -> dict[str, int]:
    """The module-level integer constants the template reads (``KECCAK256_WORD``, ``COLD_SLOAD``:
    upper-case names bound to ints), as literals: arithmetic on them folds (a KECCAK256 of a
    constant size charges a constant, which the compiler adds to its block's static gas)."""
    nodes = template.body + ([template.result] if template.result is not None else [])
    local = _assigned_names(template.body) | set(template.inputs) | set(template.constants)
    return {name: namespace[name] for name in _used_names(nodes) - local
            if name.isupper() and name != "M" and _is_int(namespace.get(name))}


def _specialize(template: Template, bindings: dict[str, Any], namespace: dict) -> tuple[list, Optional[ast.expr]]:
    literals, names = _module_constants(template, namespace), {}
    for key, value in bindings.items():
        if isinstance(value, _LITERAL_TYPES):
            literals[key] = value
        else:
            global_name = f"{template.name}_{key}"
            names[key] = global_name
            namespace[global_name] = value
    statements = [ast.parse(ast.unparse(s)).body[0] for s in template.body]
    if template.result is not None:
        statements.append(ast.Return(ast.parse(ast.unparse(template.result), mode="eval").body))
    while True:
        transformer = _Specialize(literals, names)
        module = _fill_empty_bodies(transformer.visit(ast.Module(body=statements, type_ignores=[])))
        statements = module.body
        # a local assigned a constant once, at the top level, is that constant
        stores: dict[str, int] = {}
        for statement in statements:
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    stores[node.id] = stores.get(node.id, 0) + 1
        constant = next((st for st in statements if isinstance(st, ast.Assign) and len(st.targets) == 1
                         and isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.Constant)
                         and stores.get(st.targets[0].id) == 1 and st.targets[0].id not in literals), None)
        if constant is None:
            break
        statements = [st for st in statements if st is not constant]
        literals = {**literals, constant.targets[0].id: constant.value.value}
    result = None
    if statements and isinstance(statements[-1], ast.Return):
        result = statements.pop().value
        # ``r = expr; return r`` (r assigned once): return expr
        if (isinstance(result, ast.Name) and statements and isinstance(statements[-1], ast.Assign)
                and len(statements[-1].targets) == 1 and isinstance(statements[-1].targets[0], ast.Name)
                and statements[-1].targets[0].id == result.id and stores.get(result.id) == 1):
            result = statements.pop().value
    return statements, result


CHARGED = "gas_after_charge"  # the local an inlined ``charge`` computes


class _InlineCharge(ast.NodeTransformer):
    """``charge(f, cost)`` -> ``charge``'s own body with ``cost`` in place and its local named
    ``gas_after_charge``: no call per dynamic charge, and the rule stays written once (in
    ``instructions/gas.py``). A constant ``cost`` stays a call: the compiler adds it to its
    block's static gas."""

    def __init__(self) -> None:
        definition = _function_ast(charge)
        self.params = [a.arg for a in definition.args.args]  # (f, cost)
        self.statements = _without_docstring(definition.body)
        self.renames = {name: CHARGED for name in _assigned_names(self.statements)}
        uses = [n.id for st in self.statements for n in ast.walk(st) if isinstance(n, ast.Name)]
        names = {n for n in uses if n not in self.params and n not in self.renames}
        if len(self.renames) != 1 or uses.count(self.params[1]) != 1 or \
                any(charge.__globals__.get(n) is not BASE_NAMESPACE.get(n) for n in names):
            raise TemplateError("charge: one local, its cost read once, globals the templates share")

    def visit_Expr(self, node: ast.Expr) -> Any:
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "charge"
                and len(call.args) == 2 and not call.keywords and isinstance(call.args[0], ast.Name)
                and call.args[0].id == "f" and not isinstance(call.args[1], ast.Constant)):
            return node
        # the cost is read once, where the call would evaluate it: an expression may stand for it
        substitute = _Substitute(dict(zip(self.params, call.args)), self.renames)
        return [substitute.visit(ast.parse(ast.unparse(st)).body[0]) for st in self.statements]


@lru_cache(maxsize=None)
def _charge_inliner() -> _InlineCharge:
    return _InlineCharge()


def _inline_charges(statements: list, namespace: dict) -> list:
    if namespace.get("charge") is not charge or CHARGED in _used_names(statements):
        return statements
    module = _charge_inliner().visit(ast.Module(body=statements, type_ignores=[]))
    return ast.fix_missing_locations(module).body


# -- widths (for the compiler's masking) ---------------------------------------------

def width_of(node: ast.expr, widths: dict[str, int]) -> int:
    """An upper bound on the bit length of ``node``'s value; UNBOUNDED if it may be
    negative or exceed 2**256. ``widths`` maps parameter names to their widths.
    What is not understood here counts as a word (calls) or as unbounded (names)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return UNBOUNDED if not isinstance(value, bool) else 1
        return value.bit_length()
    if isinstance(node, ast.Name):
        return widths.get(node.id, UNBOUNDED)  # a parameter's width; a local or global could be anything
    if isinstance(node, ast.Compare):
        return 1
    if isinstance(node, ast.IfExp):
        return max(width_of(node.body, widths), width_of(node.orelse, widths))
    if isinstance(node, ast.BinOp):
        op = node.op
        left = width_of(node.left, widths)
        right = width_of(node.right, widths)
        if isinstance(op, ast.Add):
            return max(left, right) + 1
        if isinstance(op, ast.Mult):
            return left + right
        if isinstance(op, ast.BitAnd):
            return min(left, right)
        if isinstance(op, (ast.BitOr, ast.BitXor)):
            return max(left, right)
        if isinstance(op, ast.FloorDiv):
            return left
        if isinstance(op, ast.Mod):
            return min(left, right)
        if isinstance(op, ast.RShift):
            if isinstance(node.right, ast.Constant) and isinstance(node.right.value, int):
                return max(left - node.right.value, 0)
            return left
        if isinstance(op, ast.LShift):
            if isinstance(node.right, ast.Constant) and isinstance(node.right.value, int):
                return left + node.right.value
            return UNBOUNDED
        return UNBOUNDED
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return 1
        if isinstance(node.op, ast.UAdd):
            return width_of(node.operand, widths)
        return UNBOUNDED  # -x and ~x of a word are negative (SMOD's and SDIV's results before their wrap)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "wrap":
            return min(WORD_BITS, width_of(node.args[0], widths))
        if node.func.id == "len":
            return 64
    return WORD_BITS


def _bool_test(result: Optional[ast.expr]) -> Optional[ast.expr]:
    """``T`` if the result is ``1 if T else 0`` (a comparison's 0/1 word)."""
    if (isinstance(result, ast.IfExp) and isinstance(result.body, ast.Constant) and result.body.value == 1
            and isinstance(result.orelse, ast.Constant) and result.orelse.value == 0):
        return result.test
    return None


# -- placeholders: a rendering with holes for operands, locals and frame attributes ------

_HOLE = re.compile(r"__(A\d+|L_[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*?|F_[a-z_]+?|PC)__")


class _Holes(ast.NodeTransformer):
    """Rename inputs to ``__A<i>__``, locals to ``__L_<name>__``, ``f.<invariant>`` to
    ``__F_<name>__`` and ``pc`` to ``__PC__``; ``wrap(x)`` becomes ``(x) & M``."""

    def __init__(self, inputs: tuple[str, ...], local_names: set[str], uses_pc: bool) -> None:
        self.inputs = {name: i for i, name in enumerate(inputs)}
        self.local_names = local_names
        self.uses_pc = uses_pc

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.inputs:
            return ast.copy_location(ast.Name(f"__A{self.inputs[node.id]}__", node.ctx), node)
        if node.id in self.local_names:
            return ast.copy_location(ast.Name(f"__L_{node.id}__", node.ctx), node)
        if node.id == "pc" and self.uses_pc:
            return ast.copy_location(ast.Name("__PC__", node.ctx), node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if (isinstance(node.value, ast.Name) and node.value.id == "f" and isinstance(node.ctx, ast.Load)
                and node.attr in INVARIANT_FRAME_ATTRIBUTES):
            return ast.copy_location(ast.Name(f"__F_{node.attr}__", ast.Load()), node)
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "wrap" and len(node.args) == 1:
            return ast.BinOp(node.args[0], ast.BitAnd(), ast.Name("M", ast.Load()))
        if isinstance(func, ast.Attribute) and func.attr in ("from_bytes", "to_bytes") and not node.keywords \
                and len(node.args) == 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "big":
            # big-endian is the default byte order (Python 3.11); ``int.from_bytes`` is one global
            # (a class attribute costs a lookup per call)
            if func.attr == "from_bytes" and isinstance(func.value, ast.Name) and func.value.id == "int":
                return ast.copy_location(ast.Call(ast.Name(INT_FROM_BYTES, ast.Load()), node.args[:1], []), node)
            return ast.copy_location(ast.Call(func, node.args[:1], []), node)
        return node


# The inline forms call ``int.from_bytes`` by this name: the compiler's traces have it as a global.
INT_FROM_BYTES = "int_from_bytes"
INLINE_GLOBALS = {INT_FROM_BYTES: int.from_bytes}

_LONG_DECIMAL = re.compile(r"\b\d{8,}\b")


def _split(text: str) -> tuple:
    """Source text -> (literal, hole, literal, hole, ..., literal); long numbers in hex."""
    text = _LONG_DECIMAL.sub(lambda m: hex(int(m.group())), text)
    return tuple(_HOLE.split(text))


def _fill(parts: tuple, fill: Callable[[str], str]) -> str:
    out = list(parts)
    for i in range(1, len(out), 2):
        value = fill(out[i])
        if value[-1].isdigit() and out[i + 1][:1] == ".":
            value = f"({value})"  # 0.bit_length() would not parse
        out[i] = value
    return "".join(out)


def _assigned_names(statements: list[ast.stmt]) -> set[str]:
    names = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
    return names


def _tested_names(nodes) -> set[str]:
    """Names that appear in the tests of ``if`` statements, conditional expressions and boolean
    operators, directly or through the locals computed from them (``end = offset + 32``)."""
    names = set()
    assignments = []
    for node in nodes:
        if node is None:
            continue
        for sub in ast.walk(node):
            tests = []
            if isinstance(sub, (ast.If, ast.IfExp)):
                tests.append(sub.test)
            elif isinstance(sub, ast.BoolOp):
                tests.extend(sub.values)
            elif isinstance(sub, ast.Assign):
                assignments.append(sub)
            for test in tests:
                names.update(n.id for n in ast.walk(test) if isinstance(n, ast.Name))
    changed = True
    while changed:
        changed = False
        for assignment in assignments:
            targets = {t.id for t in assignment.targets if isinstance(t, ast.Name)}
            if targets & names:
                sources = {n.id for n in ast.walk(assignment.value) if isinstance(n, ast.Name)}
                if not sources <= names:
                    names |= sources
                    changed = True
    return names


# Attributes of ``f.ctx`` that do not change during a transaction.
_INVARIANT_CONTEXT_ATTRIBUTES = frozenset({"env", "origin", "gas_price", "blob_hashes", "fork"})
_PURE_CALLS = frozenset({"len", "abs", "min", "max", "int"})
_PURE_METHODS = frozenset({"from_bytes", "to_bytes", "ljust", "bit_length", "block_hash"})
# Helpers that take the frame but never write memory's contents (``expand`` only appends zeros).
MEMORY_SAFE_HELPERS = frozenset({"charge", "charge_access", "expand", "read_memory", "emit_log"})


def _frame_invariant(node: ast.AST, params: set[str]) -> bool:
    """Whether ``node`` depends only on the inputs and on what a frame never changes
    (no state, no memory, no gas): its value can be computed once per trace."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id != "f"
    if isinstance(node, ast.Attribute):
        chain = []
        base = node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        chain.reverse()
        if isinstance(base, ast.Name) and base.id == "f":
            first = chain[0]
            if first == "ctx":
                return len(chain) > 1 and chain[1] in _INVARIANT_CONTEXT_ATTRIBUTES
            return first in INVARIANT_FRAME_ATTRIBUTES and first not in ("memory", "state")
        return _frame_invariant(base, params)
    if isinstance(node, ast.Call):
        func = node.func
        if node.keywords:
            return False
        if isinstance(func, ast.Name):
            ok = func.id in _PURE_CALLS
        elif isinstance(func, ast.Attribute):
            ok = func.attr in _PURE_METHODS and _frame_invariant(func.value, params)
        else:
            ok = False
        return ok and all(_frame_invariant(arg, params) for arg in node.args)
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.BoolOp, ast.Subscript, ast.Slice,
                         ast.Tuple)):
        return all(_frame_invariant(child, params) for child in ast.iter_child_nodes(node)
                   if not isinstance(child, (ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context)))
    return False


def _may_write_memory(nodes, namespace: dict) -> bool:
    """Whether running these statements may change memory's contents: a store into
    ``f.memory``, or the frame handed to a helper not known to leave memory alone."""
    safe = {namespace.get(name) for name in MEMORY_SAFE_HELPERS if name in namespace}
    for node in nodes:
        if node is None:
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Subscript) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                value = sub.value
                if isinstance(value, ast.Attribute) and value.attr == "memory":
                    return True
            if isinstance(sub, ast.Call) and any(isinstance(a, ast.Name) and a.id == "f" for a in sub.args):
                func = sub.func
                if not (isinstance(func, ast.Name) and namespace.get(func.id) in safe and func.id in namespace):
                    return True
    return False


# Modules whose functions an instruction's halts are looked for in (the helpers templates call).
_HELPER_MODULES = ("hyperion.vm.instructions.", "hyperion.vm.memory")


def _halts_in(nodes, namespace: dict, seen: set) -> set:
    """The ExceptionalHalt classes these statements may raise, directly or in the helpers
    they call by name (followed into ``_HELPER_MODULES``, each function once)."""
    found = set()
    for node in nodes:
        if node is None:
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Raise) and sub.exc is not None:
                exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
                cls = namespace.get(exc.id) if isinstance(exc, ast.Name) else None
                if isinstance(cls, type) and issubclass(cls, ExceptionalHalt):
                    found.add(cls)
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                helper = namespace.get(sub.func.id)
                if isinstance(helper, types.FunctionType) and helper not in seen \
                        and helper.__module__.startswith(_HELPER_MODULES):
                    seen.add(helper)
                    found |= _halts_in(_function_ast(helper).body, helper.__globals__, seen)
    return found


def _used_names(nodes) -> set[str]:
    return {n.id for node in nodes if node is not None for n in ast.walk(node) if isinstance(n, ast.Name)}


# -- an instruction: a template with its fork constants bound --------------------------

BASE_NAMESPACE: dict = {"M": M, "OutOfGas": OutOfGas}


class Instruction:
    """One template with its fork constants bound; renders every executable form."""

    def __init__(self, fn: Callable, bindings: tuple, fixed: tuple = ()) -> None:
        template = template_of(fn)
        bound = dict(bindings)
        missing = set(template.constants) - set(bound)
        extra = set(bound) - set(template.constants)
        if missing or extra:
            raise TemplateError(f"{template.name}: constants missing {sorted(missing)}, unknown {sorted(extra)}")
        self.fn = fn
        self.template = template
        self.name = template.name
        fixed_inputs = dict(fixed)  # inputs known to be constants (a partial evaluation, see ``partial``)
        self.fixed = fixed_inputs
        inputs = self.inputs = tuple(p for p in template.inputs if p not in fixed_inputs)
        self.pops = template.pops
        self.pushes = template.pushes
        self.uses_frame = template.uses_frame
        self.uses_pc = template.uses_pc
        self.bindings = bound
        namespace = dict(fn.__globals__)
        namespace.update(BASE_NAMESPACE)
        body, result = _specialize(template, {**bound, **fixed_inputs}, namespace)
        statement_count = sum(1 for s in body for n in ast.walk(s) if isinstance(n, ast.stmt))
        body = _inline_charges(body, namespace)
        self.namespace = namespace
        self.body = body
        self.result = result
        self.bool_test = _bool_test(result)
        test = self.bool_test
        self.negates_input = (  # ``1 if a == 0 else 0``: ISZERO of a boolean is its negation
            len(inputs) == 1 and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == inputs[0] and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == 0
        )
        self.wrapped_result = (
            result.args[0]
            if isinstance(result, ast.Call) and isinstance(result.func, ast.Name) and result.func.id == "wrap"
            else None
        )
        self.pure = not template.uses_frame
        self.local_names = _assigned_names(body) - set(inputs)
        self.reassigned = _assigned_names(body) & set(inputs)
        used = _used_names(body + [result])
        self.used_inputs = tuple(name in used for name in inputs)
        self.globals_used = {
            name for name in used
            if name not in self.local_names and name not in inputs and name not in ("f", "pc")
        }
        # the same inputs give the same result anywhere in a trace: computed once (CSE)
        self.invariant = result is not None and (self.pure or (not body and _frame_invariant(result, set(inputs))))
        self.writes_memory = _may_write_memory(body + [result], namespace)
        # inputs a branch depends on: a constant there is worth a partial evaluation
        tested = _tested_names(body + [result])
        self.branch_inputs = tuple(name in tested and name not in self.reassigned for name in inputs)
        self._partials: dict = {}
        unknown = {n for n in self.globals_used if n not in namespace and not hasattr(builtins, n)}
        if unknown:
            raise TemplateError(f"{self.name}: undefined names {sorted(unknown)}")
        holes = _Holes(inputs, self.local_names, template.uses_pc)

        def render(node) -> str:
            return ast.unparse(holes.visit(ast.parse(ast.unparse(node)).body[0]))

        self.body_parts = tuple(_split(render(s)) for s in body)
        self.result_parts = _split(render(result)) if result is not None else None
        self.bare_result_parts = _split(render(self.wrapped_result)) if self.wrapped_result is not None else None
        self.bool_parts = _split(render(self.bool_test)) if self.bool_test is not None else None
        self.statement_count = statement_count  # as written (an inlined charge counts as one)
        self._handler = None
        self._direct = None

    @property
    def halts(self) -> frozenset:
        """The ExceptionalHalt classes it may raise (from its body and the helpers it calls)."""
        return frozenset(_halts_in(self.body + [self.result], self.namespace, set()))

    @property
    def may_halt(self) -> bool:
        """A run-time check other than gas can halt it (a write in a static call, return data out
        of bounds, ...): the instruction table ends a charge block after it (``opspec.MAY_HALT``)."""
        return any(not issubclass(cls, OutOfGas) for cls in self.halts)

    def partial(self, values: tuple) -> "Instruction":
        """This instruction with the inputs whose ``values`` are not None fixed to those
        constants (branches on them resolved, arithmetic on them folded); one object per
        distinct set of constants."""
        instruction = self._partials.get(values)
        if instruction is None:
            fixed = tuple(self.fixed.items()) + tuple(
                (name, value) for name, value in zip(self.inputs, values) if value is not None
            )
            instruction = self._partials[values] = Instruction(self.fn, tuple(self.bindings.items()), fixed)
        return instruction

    # -- widths ---------------------------------------------------------------------
    def result_width(self, widths: tuple[int, ...]) -> int:
        if self.result is None:
            return 0
        return min(WORD_BITS, width_of(self.result, dict(zip(self.inputs, widths))))

    def needs_mask(self, widths: tuple[int, ...]) -> bool:
        """Whether the top-level ``wrap`` of the result can be dropped for operands of these widths."""
        if self.wrapped_result is None:
            return True
        return width_of(self.wrapped_result, dict(zip(self.inputs, widths))) > WORD_BITS

    # -- the interpreter's handler ----------------------------------------------------
    @property
    def handler(self) -> Callable:
        if self._handler is None:
            self._handler = self._build_handler()
        return self._handler

    def handler_source(self) -> str:
        """``def name(f, pc)``: pop the inputs, run the body, push the result."""
        name = self.name
        lines = [f"def {name}(f, pc):"]
        inputs = self.inputs
        if inputs or self.pushes:
            lines.append("    _s = f.stack")
        for i, param in enumerate(inputs):
            last = i == len(inputs) - 1
            lines.append(f"    {param} = _s[-1]" if last and self.pushes else f"    {param} = _s.pop()")
        for statement in self.body:
            lines.extend("    " + line for line in _masked_source(statement).splitlines())
        if self.result is not None:
            value = _masked_source(self.result)
            lines.append(f"    _s[-1] = {value}" if inputs else f"    _s.append({value})")
        lines.append("    return pc + 1")
        return "\n".join(lines) + "\n"

    def direct_source(self) -> str:
        """``def name(f?, inputs..., pc?)``: the template with its constants bound."""
        params = (["f"] if self.uses_frame else []) + list(self.inputs) + (["pc"] if self.uses_pc else [])
        lines = [f"def {self.name}({', '.join(params)}):"]
        for statement in self.body:
            lines.extend("    " + line for line in _masked_source(statement).splitlines())
        if self.result is not None:
            lines.append(f"    return {_masked_source(self.result)}")
        elif not self.body:
            lines.append("    pass")
        return "\n".join(lines) + "\n"

    def _exec(self, source: str, kind: str) -> Callable:
        filename = f"<metisvm {kind} {self.name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = dict(self.namespace)
        exec(compile(source, filename, "exec"), namespace)
        return namespace[self.name]

    def _build_handler(self) -> Callable:
        return self._exec(self.handler_source(), "handler")

    @property
    def direct(self) -> Callable:
        if self._direct is None:
            self._direct = self._exec(self.direct_source(), "direct")
        return self._direct

    # -- inline source for the compiler -----------------------------------------------
    def inline(self, operands: tuple[str, ...], suffix: str, frame_attr: Callable[[str], str],
               pc: int, mask: bool = True) -> tuple[list[str], Optional[str], Optional[str]]:
        """(statements, result expression, boolean test) with ``operands`` (atoms: names
        or literals, top of stack first) in place of the inputs.

        Locals get ``suffix``; ``frame_attr(name)`` names the local holding ``f.<name>``.
        Inputs the body reassigns are copied to fresh locals first. ``mask=False``
        drops the result's top-level ``wrap`` (the caller proved it cannot overflow).
        """
        lines = []
        names = list(operands)
        for i, param in enumerate(self.inputs):
            if param in self.reassigned:
                local = f"{param}_{suffix}"
                lines.append(f"{local} = {operands[i]}")
                names[i] = local

        def fill(hole: str) -> str:
            kind = hole[0]
            if kind == "A":
                return names[int(hole[1:])]
            if kind == "L":
                return f"{hole[2:]}_{suffix}"
            if kind == "F":
                return frame_attr(hole[2:])
            return str(pc)

        for parts in self.body_parts:
            lines.extend(_fill(parts, fill).split("\n"))
        result = None
        if self.result_parts is not None:
            parts = self.result_parts if mask or self.bare_result_parts is None else self.bare_result_parts
            result = _fill(parts, fill)
        test = _fill(self.bool_parts, fill) if self.bool_parts is not None else None
        return lines, result, test


_INSTRUCTIONS: dict = {}


def bind(fn: Callable, **constants: Any) -> Instruction:
    """``fn`` as an Instruction with these fork constants (one object per distinct binding)."""
    key = (fn, tuple(sorted(constants.items(), key=lambda item: item[0])))
    try:
        instruction = _INSTRUCTIONS.get(key)
    except TypeError:  # an unhashable constant: no sharing
        return Instruction(fn, key[1])
    if instruction is None:
        instruction = _INSTRUCTIONS[key] = Instruction(fn, key[1])
    return instruction


__all__ = ["INLINE_GLOBALS", "Instruction", "Template", "TemplateError", "bind", "inline_helper", "template_of", "width_of", "wrap", "M",
           "INVARIANT_FRAME_ATTRIBUTES", "UNBOUNDED", "WORD_BITS"]
