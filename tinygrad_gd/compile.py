"""``compile``: trace a function once, emit straight-line Python for its value and gradient.

An eager ``Value`` builds its graph again on every call, and for a training
loop that is the whole cost. ``compile(f)`` runs ``f`` once on placeholder
Values, records the one straight-line program it computes and writes it out
as Python: a forward pass with one line per op, then a reverse pass whose
lines are the rule table's own ``partials`` printed through
:class:`~tinygrad_gd.symbolic.Expr`. The result runs without building any
graph, on floats (scalar math) or on numpy arrays of shape ``(n,)``: n
samples at once.

>>> def error(w, x, target):
...     return ((w * x).sigmoid() - target) ** 2
>>> error_and_grad = compile(error)
>>> value, gradient = error_and_grad(0.5, 0.1, 0.3)
>>> round(gradient, 10)  # the tutorial's dE/dw, as value_and_grad gives it
0.010618232
>>> print(error_and_grad.source)
def value_and_grad_error(w, x, target):
    # forward: one line per op
    t0 = w * x  # mul
    t1 = sigmoid(t0)  # sigmoid
    t2 = t1 - target  # sub
    error = t2 ** 2  # pow
    # reverse: grad_v = d error / d v
    grad_t2 = 2 * t2  # from error = t2 ** 2
    grad_t0 = t1 * (1 - t1) * grad_t2  # from t1 = sigmoid(t0)
    grad_w = x * grad_t0  # from t0 = w * x
    return error, grad_w
"""

from __future__ import annotations

import argparse
import ast
import builtins
import functools
import gc
import inspect
import keyword
import math
import numbers
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from typing import Any, NamedTuple

import numpy as np

from tinygrad_gd._checks import UsageError, parameter_names
from tinygrad_gd._checks import function_name as _name
from tinygrad_gd.autodiff import _check_argnums, _is_position, _resolve, value_and_grad
from tinygrad_gd.ops import ADD, DIV, MUL, OPS, SUB, Op, is_row
from tinygrad_gd.symbolic import Expr
from tinygrad_gd.value import TracingError, Value, graph_mode, reverse_topological_order

__all__ = [
    "CompiledFunction",
    "add_codegen_arguments",
    "compile",
    "run_codegen_command",
    "tutorial_program",
]

REDUCTIONS = ("sum", "mean")


def compile(
    f: Callable[..., Any],
    argnums: int | Sequence[int] | None = None,
    *,
    wrt: Sequence[Value] | None = None,
    reduce: str | None = None,
    has_aux: bool = False,
) -> CompiledFunction:
    """Trace ``f`` once; return a fast function giving ``(f(*args), gradient)``.

    Called like ``value_and_grad(f, argnums)``: ``argnums`` (default 0) picks
    the arguments to differentiate. Each argument is a number, a numpy array
    of shape ``(n,)`` (n samples evaluated at once) or a list or tuple of
    them; a list argument gets a list of gradients. Instead of arguments,
    ``wrt`` names existing leaf Values (a model's parameters): ``f`` reads
    them, each call reads their current ``.data``, and the gradient is a list,
    one per Value. With arrays, values and gradients are per sample unless
    ``reduce`` is ``"sum"`` or ``"mean"`` over the samples. With ``has_aux``,
    ``f`` returns ``(value, aux)`` and the result is ``((value, aux), gradient)``.

    Every argument of ``f`` is traced, so ``f`` must compute with Value
    operations (``v.exp()``, not ``math.exp(v)``), and must not branch on a
    traced value: ``if v > 0`` raises :class:`~tinygrad_gd.TracingError`.

    >>> loss = compile(lambda w, x: (w * x - 1.0) ** 2, argnums=(0, 1))
    >>> loss(2.0, 3.0)
    (25.0, (30.0, 20.0))
    >>> import numpy as np
    >>> loss(2.0, np.array([0.0, 1.0]))  # two samples
    (array([1., 1.]), (array([-0., 2.]), array([-4.,  4.])))
    >>> mean_loss = compile(lambda w, x: (w * x - 1.0) ** 2, reduce="mean")
    >>> mean_loss(2.0, np.array([0.0, 1.0]))
    (1.0, 1.0)
    """
    return CompiledFunction(f, argnums, wrt=wrt, reduce=reduce, has_aux=has_aux)


class CompiledFunction:
    """``f`` traced into generated Python; call it like ``value_and_grad(f, argnums)``.

    One program is traced per shape of the arguments (how many, which are
    lists of what length) and kept; numbers and arrays share it.

    >>> square = compile(lambda x: x * x)
    >>> square(3.0), square.descend(3.0, learning_rate=0.25, steps=1)
    ((9.0, 6.0), 1.5)
    """

    def __init__(
        self,
        f: Callable[..., Any],
        argnums: int | Sequence[int] | None = None,
        *,
        wrt: Sequence[Value] | None = None,
        reduce: str | None = None,
        has_aux: bool = False,
    ) -> None:
        if not callable(f):
            raise TypeError(f"compile needs a function, got {type(f).__name__}")
        if wrt is not None and argnums is not None:
            raise TypeError("compile: give argnums (arguments) or wrt (Values), not both")
        self._argnums: int | tuple[int, ...] | None = None
        self._positions: tuple[int, ...] = ()
        if wrt is None:
            argnums = 0 if argnums is None else argnums
            self._positions = _check_argnums(argnums)
            # One position (numpy ints too) gives one gradient, a tuple a tuple.
            one = _is_position(argnums)
            self._argnums = self._positions[0] if one else self._positions
        self._wrt = None if wrt is None else _check_wrt(wrt)
        if reduce is not None and reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be None, 'sum' or 'mean', got {reduce!r}")
        if not isinstance(has_aux, bool):
            raise TypeError(f"has_aux must be True or False, got {has_aux!r}")
        self._f = f
        self._reduce = reduce
        self._has_aux = has_aux
        self._programs: dict[tuple[Any, ...], _Program] = {}
        self._last: _Program | None = None
        # The call with only floats skips inspecting its arguments: (arity, function).
        self._all_floats: tuple[int, Callable[..., Any]] | None = None
        functools.update_wrapper(self, f)

    def __call__(self, *args: Any) -> tuple[Any, Any]:
        """``(f(*args), gradient)``; per sample for arrays, unless reduced."""
        fast = self._all_floats
        if fast is not None and len(args) == fast[0]:
            for arg in args:
                if type(arg) is not float:
                    break
            else:
                try:
                    return fast[1](*args)  # type: ignore[no-any-return]
                except (ArithmeticError, ValueError):
                    pass  # a domain edge: the general path gives the IEEE result
        return self._call(args)

    @property
    def source(self) -> str:
        """The generated Python of the most recent trace.

        Before any call, ``f`` is traced with one number per parameter.

        >>> print(compile(lambda w: w * w).source)
        def value_and_grad_f(w):
            # forward: one line per op
            f = w * w  # mul
            # reverse: grad_v = d f / d v
            grad_w = w + w  # from f = w * w
            return f, grad_w
        """
        return self._program_or_scalar_trace().value_and_grad.source

    def descend(self, *args: Any, learning_rate: float, steps: int) -> Any:
        """Run ``steps`` steps of gradient descent in one generated loop.

        Each step is ``x = x - learning_rate * d f/d x`` for every
        differentiated argument; returns them after the last step (a number,
        a list, or a tuple of them, as ``argnums`` picks). With ``wrt`` the
        Values' ``.data`` is updated instead, and None returned. Numbers only.

        >>> error = compile(lambda w, x, target: ((w * x).sigmoid() - target) ** 2)
        >>> w = error.descend(0.5, 0.1, 0.3, learning_rate=0.5, steps=10_000)
        >>> round(w, 4), error(w, 0.1, 0.3)[0]  # the trained weight and its error
        (-8.3985, 2.45e-06)
        """
        if not isinstance(learning_rate, numbers.Real) or isinstance(learning_rate, bool):
            raise TypeError(f"learning_rate must be a real number, got {learning_rate!r}")
        if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}")
        arguments = _Arguments.check(args)
        if arguments.batch is not None or arguments.has_values:
            raise TypeError("descend runs on numbers; for arrays call the function in a loop")
        program = self._program(arguments)
        values = arguments.values
        if self._wrt is not None:
            values = (*values, [p.data for p in self._wrt])
        descended = _on_floats(program.descend, values, float(learning_rate), int(steps))
        if self._wrt is None:
            return descended
        for parameter, data in zip(self._wrt, descended, strict=True):
            parameter.data = data
        return None

    @property
    def descend_source(self) -> str:
        """The generated Python of :meth:`descend` for the most recent trace.

        >>> compile(lambda w: (w - 3) ** 2).descend_source.splitlines()[0]
        'def descend_f(w, learning_rate, steps):'
        """
        return self._program_or_scalar_trace().descend.source

    def __repr__(self) -> str:
        how = f"argnums={self._argnums!r}" if self._wrt is None else f"wrt={len(self._wrt)} Values"
        extra = f", reduce={self._reduce!r}" if self._reduce else ""
        return f"compile({_name(self._f)}, {how}{extra})"

    # -- calling ----------------------------------------------------------------------

    def _call(self, args: tuple[Any, ...]) -> tuple[Any, Any]:
        arguments = _Arguments.check(args)
        if arguments.has_values:
            return self._eager(args)
        program = self._program(arguments)
        values = arguments.values
        if self._wrt is not None:
            values = (*values, [p.data for p in self._wrt])
        if arguments.batch is None:
            return _on_floats(program.value_and_grad, values)  # type: ignore[no-any-return]
        with np.errstate(all="ignore"):
            value, gradient = program.value_and_grad.array(*values)
        inputs = {id(a) for a in arguments.arrays}
        samples = functools.partial(_per_sample, n=arguments.batch, inputs=inputs)
        if self._reduce is None:
            return _map_leaves(samples, value), _map_leaves(samples, gradient)
        reduced = functools.partial(_reduced, n=arguments.batch, how=self._reduce)
        if self._has_aux:
            value, aux = value
            return (reduced(value), _map_leaves(samples, aux)), reduced(gradient)
        return reduced(value), reduced(gradient)

    def _eager(self, args: tuple[Any, ...]) -> tuple[Any, Any]:
        """Values as arguments (inside grad, say): the eager engine, which nests."""
        if self._wrt is not None or self._has_aux:
            raise TypeError(
                "a compiled function with wrt or has_aux takes numbers or arrays, not Values"
            )
        assert self._argnums is not None
        return value_and_grad(self._f, self._argnums)(*args)

    def _program(self, arguments: _Arguments) -> _Program:
        program = self._programs.get(arguments.structure)
        if program is None:
            single = isinstance(self._argnums, int)  # one position: one gradient
            with _collector_paused():
                code = _trace(self._f, arguments, self._positions, single, self._wrt, self._has_aux)
                program = _Program(code)
            self._programs[arguments.structure] = program
            if self._wrt is None and all(key is None for key in arguments.structure):
                self._all_floats = (len(arguments.structure), program.value_and_grad.scalar)
        self._last = program
        return program

    def _program_or_scalar_trace(self) -> _Program:
        if self._last is not None:
            return self._last
        required = _required_positional(self._f)
        try:
            return self._program(_Arguments.check((0.0,) * required))
        except TracingError:
            raise
        except Exception as error:
            raise TypeError(
                f"{_name(self._f)} could not be traced with one number per parameter "
                f"({type(error).__name__}: {error}); call the compiled function once with "
                "arguments of the right shape, then read .source"
            ) from error


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Tracing makes millions of objects that all stay alive until the code is written:
    the cyclic garbage collector would walk them again and again (time grows with the
    square of the graph's size) and could free none of them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_wrt(wrt: Sequence[Value]) -> tuple[Value, ...]:
    values = tuple(wrt)
    for i, value in enumerate(values):
        if not isinstance(value, Value):
            raise TypeError(f"wrt[{i}] must be a Value, got {type(value).__name__}")
        if value.op is not None:
            raise ValueError(
                f"wrt[{i}] must be a leaf Value (a parameter), not the result of an op"
            )
    if len({id(v) for v in values}) != len(values):
        raise ValueError("wrt names the same Value twice")
    return values


def _required_positional(f: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return 0
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in positional and p.default is p.empty for p in parameters)


# -- the arguments of a call --------------------------------------------------------------

# A structure describes one argument: None for a number or an array, else
# (list or tuple, the structures of its items). Equal structures share a program.
Structure = Any


@dataclass
class _Arguments:
    """A call's arguments, checked and converted: floats, float64 arrays, lists of them."""

    values: tuple[Any, ...]
    structure: tuple[Structure, ...]
    batch: int | None = None  # n, when an argument holds an array of shape (n,)
    arrays: list[np.ndarray[Any, Any]] = field(default_factory=list)
    has_values: bool = False

    @classmethod
    def check(cls, args: tuple[Any, ...]) -> _Arguments:
        """Convert every argument, or raise naming the first bad one (nothing is kept)."""
        arguments = cls((), ())
        converted = [arguments._convert(arg, f"argument {i}") for i, arg in enumerate(args)]
        arguments.values = tuple(value for value, _ in converted)
        arguments.structure = tuple(structure for _, structure in converted)
        return arguments

    def _convert(self, arg: Any, where: str) -> tuple[Any, Structure]:
        if isinstance(arg, (list, tuple)):
            items = [self._convert(item, f"{where}[{i}]") for i, item in enumerate(arg)]
            return type(arg)(v for v, _ in items), (type(arg), tuple(s for _, s in items))
        if isinstance(arg, Value):
            self.has_values = True
            return arg, None
        if isinstance(arg, numbers.Real):
            return float(arg), None
        if isinstance(arg, np.ndarray) and arg.dtype.kind in "biuf":
            if arg.ndim == 0:
                return float(arg), None
            if arg.ndim == 1 and len(arg):
                return self._batch(arg, where), None
            raise ValueError(
                f"{where} has shape {arg.shape}: a batch is an array of shape (n,), n >= 1"
            )
        raise TypeError(
            f"{where} must be a number, a numpy array of shape (n,) or a list or tuple "
            f"of them, got {type(arg).__name__}"
        )

    def _batch(self, arg: np.ndarray[Any, Any], where: str) -> np.ndarray[Any, Any]:
        if self.batch is not None and len(arg) != self.batch:
            raise ValueError(
                f"{where} holds {len(arg)} samples but an earlier argument holds {self.batch}"
            )
        self.batch = len(arg)
        array = np.asarray(arg, dtype=np.float64)
        self.arrays.append(array)
        return array


def _on_floats(functions: _Loaded, values: tuple[Any, ...], *options: Any) -> Any:
    """Run on Python floats; where they raise (log(0), 1/0), numpy floats give inf or nan."""
    try:
        return functions.scalar(*values, *options)
    except (ArithmeticError, ValueError):
        with np.errstate(all="ignore"):
            result = functions.array(*_map_leaves(np.float64, values), *options)
        return _map_leaves(float, result)


def _map_leaves(function: Callable[[Any], Any], tree: Any) -> Any:
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map_leaves(function, item) for item in tree)
    return function(tree)


def _per_sample(x: Any, n: int, inputs: set[int]) -> np.ndarray[Any, Any]:
    if np.ndim(x) == 0:  # the same for every sample
        return np.full(n, float(x))
    # A gradient may be an input array itself (d(w·x)/dw = x): never hand that out.
    return x.copy() if id(x) in inputs else x  # type: ignore[no-any-return]


def _reduced(tree: Any, n: int, how: str) -> Any:
    """Every leaf summed (or averaged) over the samples; the arrays in one numpy call."""
    leaves = list(_leaves(tree))
    batched = [i for i, x in enumerate(leaves) if isinstance(x, np.ndarray) and x.ndim]
    sums = np.stack([leaves[i] for i in batched]).sum(axis=1).tolist() if batched else []
    summed = dict(zip(batched, sums, strict=True))

    def reduce(i: int, x: Any) -> float:
        if i in summed:
            return float(summed[i]) if how == "sum" else summed[i] / n  # as ndarray.mean does
        return float(x) * n if how == "sum" else float(x)  # a number: the same for each sample

    reduced = iter([reduce(i, x) for i, x in enumerate(leaves)])
    return _map_leaves(lambda _: next(reduced), tree)


# -- tracing ------------------------------------------------------------------------------

_RESERVED = frozenset({op.name for op in OPS} | {"inf", "nan", "range", "learning_rate", "steps"})


def _is_safe(name: str) -> bool:
    """Whether a label can be a variable of the generated code as it stands."""
    return (
        name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and name not in _RESERVED
        and not name.startswith(("_", "grad_"))  # _: ours; grad_: the adjoints' names
    )


class _Names:
    """Unique variable names: labels where they are safe, else t0, t1, ..."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self._temporaries = count()

    def take(self, wanted: str, fallback: str | None = None) -> str:
        base = wanted if _is_safe(wanted) else fallback
        if base is None:
            return self.temporary()
        name, suffix = base, 2
        while name in self.used:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self.used.add(name)
        return name

    def temporary(self) -> str:
        name = f"t{next(self._temporaries)}"
        while name in self.used:
            name = f"t{next(self._temporaries)}"
        self.used.add(name)
        return name


class _Line(NamedTuple):
    """One statement: its text, the names it assigns, and its right-hand side."""

    code: str  # as .source shows it, and as it runs on numpy
    scalar: str  # as it runs on floats (see _RealPowers)
    defines: tuple[str, ...]
    expression: str

    @property
    def uses(self) -> set[str]:
        """The names the statement reads (and the functions it calls)."""
        return set(_IDENTIFIER.findall(self.expression))


_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*")  # the 'e' of 1e-05 follows a digit: no match


def _line(targets: Sequence[str], expression: str, comment: str = "", target: str = "") -> _Line:
    left, tail = target or targets[0], f"  # {comment}" if comment else ""
    code = f"{left} = {expression}{tail}"
    scalar = f"{left} = {_real_powers(expression)}{tail}" if "**" in expression else code
    return _Line(code, scalar, tuple(targets), expression)


def _real_powers(expression: str) -> str:
    powers = _RealPowers()
    tree = powers.visit(ast.parse(expression, mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree)) if powers.changed else expression


class _RealPowers(ast.NodeTransformer):
    """On floats, ``a ** b`` with a < 0 and b not whole is a complex number; ``pow``
    (math.pow, the rule table's forward) raises instead, and the call falls back to
    numpy, which gives nan as the eager engine does. A whole exponent (``t ** 2``)
    stays: always real, and faster."""

    changed = False

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow) or _is_whole(node.right):
            return node
        self.changed = True
        return ast.Call(ast.Name("pow", ast.Load()), [node.left, node.right], [])


def _is_whole(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and float(node.value).is_integer()
    )


@dataclass
class _Code:
    """A traced program, to be written as a function or as a descent loop."""

    name: str  # f's name where it is a safe identifier, else "f"
    parameters: list[str]
    unpack: list[_Line]  # list arguments into their leaves
    forward: list[_Line]
    reverse: list[_Line]
    result: str  # what the function returns: value (and aux), gradient
    root: str  # the value's expression
    updates: list[tuple[str, str]]  # (differentiated leaf, its gradient's expression)
    updated: str  # the differentiated arguments, written as descend returns them


def _trace(
    f: Callable[..., Any],
    arguments: _Arguments,
    positions: tuple[int, ...],
    single: bool,
    wrt: tuple[Value, ...] | None,
    has_aux: bool,
) -> _Code:
    """Run ``f`` on placeholders and write out the program it computed."""
    names = _Names()
    # f's own names; rest[0] of *rest becomes rest_0, as a variable must.
    parameters = [
        names.take(wanted.replace("[", "_").rstrip("]"), f"arg{i}")
        for i, wanted in enumerate(parameter_names(f, len(arguments.structure)))
    ]
    inputs: dict[Value, str] = {}
    unpack: list[_Line] = []
    placeholders = [
        _placeholder(name, structure, inputs, names, unpack)
        for name, structure in zip(parameters, arguments.structure, strict=True)
    ]
    if wrt is None:
        picked = [placeholders[i] for i in _resolve(positions, len(placeholders), f)]
        differentiated = [leaf for tree in picked for leaf in _leaves(tree)]
    else:
        parameters.append(names.take("parameters"))
        leaf_names = [names.take(p.label, f"p{i}") for i, p in enumerate(wrt)]
        inputs.update(zip(wrt, leaf_names, strict=True))
        unpack.append(_line(leaf_names, parameters[-1], target=f"[{', '.join(leaf_names)}]"))
        differentiated = list(wrt)
    value, aux = _run(f, placeholders, has_aux)

    function_name = _name(f) if _is_safe(_name(f)) else "f"
    writer = _Writer(inputs, names, function_name)
    writer.forward_pass(value, aux)
    gradients = dict(zip(differentiated, writer.reverse_pass(value, differentiated), strict=True))
    if wrt is None:
        gradient = _pick(single, [_tree_text(tree, gradients) for tree in picked])
        updated = _pick(single, [_tree_text(tree, inputs) for tree in picked])
    else:
        gradient, updated = (
            _tree_text(differentiated, gradients),
            _tree_text(differentiated, inputs),
        )
    value_text = writer.text(value)
    if has_aux:
        value_text = f"({value_text}, {_tree_text(aux, writer.text)})"
    return _Code(
        name=function_name,
        parameters=parameters,
        unpack=unpack,
        forward=writer.forward,
        reverse=writer.reverse,
        result=f"{value_text}, {gradient}",
        root=writer.text(value),
        updates=[(inputs[leaf], gradients[leaf]) for leaf in differentiated],
        updated=updated,
    )


def _placeholder(
    name: str, structure: Structure, inputs: dict[Value, str], names: _Names, unpack: list[_Line]
) -> Any:
    """The Value (or list of Values) that stands for one argument while ``f`` is traced."""
    if structure is None:
        # nan: a value that leaks out of the trace cannot pass for a real one.
        leaf = Value(math.nan, label=name)
        inputs[leaf] = name
        return leaf
    kind, items = structure
    leaves = [names.take(f"{name}_{i}") for i in range(len(items))]
    unpack.append(_line(leaves, name, target=f"[{', '.join(leaves)}]"))
    return kind(
        _placeholder(leaf, item, inputs, names, unpack)
        for leaf, item in zip(leaves, items, strict=True)
    )


def _run(f: Callable[..., Any], placeholders: list[Any], has_aux: bool) -> tuple[Any, Any]:
    """Call ``f`` under tracing: a branch on a traced value raises instead of baking one in."""
    with graph_mode(record=True, tracing=True, detect_anomaly=False):
        try:
            out = f(*placeholders)
        except TracingError as error:
            raise TracingError(f"compile({_name(f)}): {error}") from error
    value, aux = out, None
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{_name(f)} must return a pair (value, aux) when has_aux=True")
        value, aux = out
    if not isinstance(value, (Value, numbers.Real)):
        raise TypeError(
            f"{_name(f)} must return a scalar Value or a number to be differentiated, "
            f"got {type(value).__name__}"
        )
    for leaf in _leaves(aux if has_aux else ()):
        if not isinstance(leaf, (Value, numbers.Real)):
            raise TypeError(
                f"the aux of {_name(f)} must hold Values or numbers (in lists or tuples), "
                f"got {type(leaf).__name__}"
            )
    return value, aux


def _leaves(tree: Any) -> Iterator[Any]:
    if isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _leaves(item)
    else:
        yield tree


def _tree_text(tree: Any, text: Callable[[Any], str] | dict[Any, str]) -> str:
    """A nest of lists and tuples written out, each leaf by ``text``."""
    if isinstance(tree, list):
        return f"[{', '.join(_tree_text(item, text) for item in tree)}]"
    if isinstance(tree, tuple):
        return _tuple_text([_tree_text(item, text) for item in tree])
    return text[tree] if isinstance(text, dict) else text(tree)


def _tuple_text(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _pick(single: bool, texts: list[str]) -> str:
    return texts[0] if single else _tuple_text(texts)


def _literal(x: float) -> str:
    """A float as Python text that reads back as a float (inf and nan are bound names)."""
    return repr(float(x))


# An op with one operand equal to its identity is its other operand: x + 0, x * 1.
_IDENTITIES: dict[Op, tuple[tuple[int, float], ...]] = {
    ADD: ((0, 0.0), (1, 0.0)),
    SUB: ((1, 0.0),),
    MUL: ((0, 1.0), (1, 1.0)),
    DIV: ((1, 1.0),),
}


class _Writer:
    """Writes the forward and reverse pass of a traced graph, one line per op."""

    def __init__(self, inputs: dict[Value, str], names: _Names, function_name: str) -> None:
        self.inputs = inputs
        self.names = names
        self.function_name = function_name
        self.values: dict[Value, Expr | float] = {}  # a name, or a folded constant
        self.named: dict[Value, str] = {}  # nodes with a line of their own
        self.statements: dict[Value, str] = {}  # "sop = w * x", for the reverse comments
        self.order: list[Value] = []  # reverse topological
        self.forward: list[_Line] = []
        self.reverse: list[_Line] = []

    def text(self, x: Any) -> str:
        """An output (Value or number) as the expression the generated code returns."""
        if not isinstance(x, Value):
            return _literal(x)
        value = self.values[x]
        return value.text if isinstance(value, Expr) else _literal(value)

    def forward_pass(self, value: Any, aux: Any) -> None:
        outputs = [x for x in _leaves((value, aux)) if isinstance(x, Value)]
        if not outputs:
            return
        # One walk covers every output: they are joined by a chain of nodes of our own,
        # ((o1 + o2) + o3) ..., which is walked and then left out.
        with graph_mode(record=True, detect_anomaly=False):
            joined = functools.reduce(lambda a, b: Value.apply(ADD, a, b), outputs)
        joins, node = set(), joined
        for _ in outputs[1:]:
            joins.add(id(node))
            node = node.parents[0]
        self.order = [n for n in reverse_topological_order(joined) if id(n) not in joins]
        for node in reversed(self.order):
            self._write_forward(node, root=node is value)

    def _write_forward(self, node: Value, root: bool) -> None:
        op = node.op
        if node in self.inputs:
            self.values[node] = Expr(self.inputs[node])
            self.named[node] = self.inputs[node]
            return
        if op is not None and not is_row(op):
            # Only rows reach the generated code: an op made elsewhere has a notation
            # and a name nobody checked, and no function in the code's namespace.
            raise TypeError(
                f"compile writes only the rule table's ops (tinygrad_gd.ops); "
                f"the op {op.name!r} is not one of them"
            )
        operands = [self.values[parent] for parent in node.parents]
        if op is None or all(isinstance(v, float) for v in operands):
            self._write_constant(node)
            return
        for position, identity in _IDENTITIES.get(op, ()):
            if operands[position] == identity:  # float == Expr is False
                self.values[node] = operands[1 - position]
                return
        wanted = node.label or (self.function_name if root else "")
        name = self.names.take(wanted) if wanted else self.names.temporary()
        expression = Expr.apply(op, *operands).text
        self.forward.append(_line([name], expression, op.name))
        self.statements[node] = f"{name} = {expression}"
        self.values[node] = Expr(name)
        self.named[node] = name

    def _write_constant(self, node: Value) -> None:
        """Fold: the trace already computed it. A labelled leaf keeps its name."""
        if node.op is None and node.label and _is_safe(node.label):
            name = self.names.take(node.label)
            self.forward.append(_line([name], _literal(node.data), "constant"))
            self.values[node] = Expr(name)
            self.named[node] = name
        else:
            self.values[node] = float(node.data)

    def reverse_pass(self, root: Any, differentiated: list[Value]) -> list[str]:
        """Write the adjoints, root to leaves; return each leaf's gradient expression."""
        active = set(differentiated)
        for node in reversed(self.order):
            if any(parent in active for parent in node.parents):
                active.add(node)
        adjoints: dict[Value, Expr | float] = {root: 1.0} if root in active else {}
        users: dict[Value, list[Value]] = {}
        for node in self.order:
            if node.op is None or node not in active or node not in adjoints:
                continue
            adjoint = self._settle(node, adjoints[node], users.get(node, []))
            partials = self._partials(node)
            for parent, partial in zip(node.parents, partials, strict=True):
                if parent not in active:
                    continue
                flow = _times(partial, adjoint)
                adjoints[parent] = flow if parent not in adjoints else adjoints[parent] + flow
                users.setdefault(parent, []).append(node)
        return [self._gradient(leaf, adjoints, users) for leaf in differentiated]

    def _settle(self, node: Value, adjoint: Expr | float, users: list[Value]) -> Expr | float:
        """Give the adjoint a line when it is a computation, or a labelled node's copy."""
        if isinstance(adjoint, float) or node not in self.named:
            return adjoint
        if adjoint.text.isidentifier() and not node.label:
            return adjoint  # another adjoint's name: reuse it, no copy
        name = f"grad_{self.named[node]}"
        self.reverse.append(_line([name], adjoint.text, self._comment(users)))
        return Expr(name)

    def _gradient(
        self, leaf: Value, adjoints: dict[Value, Expr | float], users: dict[Value, list[Value]]
    ) -> str:
        adjoint = adjoints.get(leaf, 0.0)
        if isinstance(adjoint, float):
            return _literal(adjoint)
        name = f"grad_{self.named[leaf]}"
        self.reverse.append(_line([name], adjoint.text, self._comment(users.get(leaf, []))))
        return name

    def _partials(self, node: Value) -> tuple[Expr | float, ...]:
        """The rule's partials, printed: names for operands and result, numbers folded."""
        assert node.op is not None
        operands = [self.values[parent] for parent in node.parents]
        try:
            return tuple(node.op.partials(*operands, self.values[node]))
        except ArithmeticError:
            # A rule divides by a constant 0: numpy floats fold it to inf or nan, as the
            # eager engine's IEEE fallback does.
            with np.errstate(all="ignore"):
                written = [np.float64(x) if isinstance(x, float) else x for x in operands]
                partials = node.op.partials(*written, self.values[node])
            return tuple(float(p) if isinstance(p, float) else p for p in partials)

    def _comment(self, users: list[Value]) -> str:
        # A user of both operands (w * w) is listed once, not once per operand.
        statements = [
            self.statements.get(user, user.op.name if user.op else "")
            for user in dict.fromkeys(users)
        ]
        if len(statements) <= 2:
            return "from " + ", ".join(statements)
        return f"from {len(statements)} uses: {', '.join(statements[:2])}, ..."


def _times(partial: Expr | float, adjoint: Expr | float) -> Expr | float:
    """partial · adjoint, with the factors 1 and -1 left out (exact in IEEE arithmetic)."""
    if isinstance(partial, float) and partial in (1.0, -1.0):
        return adjoint if partial == 1.0 else -adjoint
    if isinstance(adjoint, float) and adjoint == 1.0:
        return partial
    return partial * adjoint


# -- from source to functions -------------------------------------------------------------


@dataclass
class _Loaded:
    source: str
    scalar: Callable[..., Any]
    array: Callable[..., Any]


class _Program:
    """A traced program as the functions it runs as: value-and-gradient, and descent."""

    def __init__(self, code: _Code) -> None:
        self.code = code
        display: list[tuple[int, str | _Line]] = [(1, line) for line in code.unpack]
        if code.forward:
            display += [(1, "# forward: one line per op"), *((1, ln) for ln in code.forward)]
        if code.reverse:
            display.append((1, f"# reverse: grad_v = d {code.root} / d v"))
            display += [(1, line) for line in code.reverse]
        body = [*code.unpack, *code.forward, *code.reverse]
        self.value_and_grad = _load(
            f"value_and_grad_{code.name}", code.parameters, display, body, None, code.result
        )
        self._descend: _Loaded | None = None

    @property
    def descend(self) -> _Loaded:
        if self._descend is None:
            self._descend = _load_descend(self.code)
        return self._descend


def _load_descend(code: _Code) -> _Loaded:
    """The loop: the lines the updates need, those that do not change hoisted before it."""
    updates = [
        _line([leaf], f"{leaf} - learning_rate * {gradient}") for leaf, gradient in code.updates
    ]
    needed: set[str] = set().union(*(line.uses for line in updates))
    kept = []
    for line in reversed([*code.unpack, *code.forward, *code.reverse]):
        if needed.intersection(line.defines):  # dead code (the value itself) is left out
            kept.append(line)
            needed |= line.uses
    varying = {leaf for leaf, _ in code.updates}
    before, loop = [], []
    for line in reversed(kept):
        if varying.intersection(line.uses):
            loop.append(line)
            varying.update(line.defines)
        else:
            before.append(line)
    loop += updates
    display: list[tuple[int, str | _Line]] = [
        *((1, line) for line in before),
        (1, "for _ in range(steps):"),
        *((2, line) for line in loop),
    ]
    parameters = [*code.parameters, "learning_rate", "steps"]
    return _load(f"descend_{code.name}", parameters, display, before, loop, code.updated)


# The generated code sees these names and nothing else (no builtins): each op's
# forward from the rule table, for floats or for numpy arrays.
_SCALAR_NAMESPACE: dict[str, Any] = {op.name: op.forward for op in OPS}
_ARRAY_NAMESPACE: dict[str, Any] = {op.name: op.ufunc for op in OPS}
for _namespace in (_SCALAR_NAMESPACE, _ARRAY_NAMESPACE):
    _namespace.update({"__builtins__": {}, "inf": math.inf, "nan": math.nan, "range": range})

# Compiling Python costs kilobytes per line: a program longer than this is
# compiled and run in pieces, its variables kept in a dict.
_LARGEST_FUNCTION = 20_000
_PIECE = 5_000


def _load(
    name: str,
    parameters: list[str],
    display: list[tuple[int, str | _Line]],
    body: list[_Line],
    loop: list[_Line] | None,
    result: str,
) -> _Loaded:
    """Write the function's source and compile it for floats and for arrays."""

    def render(scalar: bool) -> str:
        lines = [f"def {name}({', '.join(parameters)}):"]
        for depth, item in display:
            text = item if isinstance(item, str) else item.scalar if scalar else item.code
            lines.append("    " * depth + text)
        return "\n".join([*lines, f"    return {result}"])

    source = render(scalar=False)
    if len(body) + len(loop or ()) > _LARGEST_FUNCTION:
        return _Loaded(source, *_in_pieces(parameters, body, loop, result))
    scalar_source = render(scalar=True)
    array_code = builtins.compile(source, f"<{name}>", "exec")
    scalar_code = (
        array_code if scalar_source == source else builtins.compile(scalar_source, name, "exec")
    )
    functions = []
    for code, namespace in ((scalar_code, _SCALAR_NAMESPACE), (array_code, _ARRAY_NAMESPACE)):
        namespace = dict(namespace)
        exec(code, namespace)  # generated code only, no user text
        functions.append(namespace[name])
    return _Loaded(source, *functions)


def _in_pieces(
    parameters: list[str], body: list[_Line], loop: list[_Line] | None, result: str
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """A long program as module-level pieces run one after another in one dict."""

    def pieces(lines: list[_Line], scalar: bool) -> list[Any]:
        return [
            builtins.compile(
                "\n".join(ln.scalar if scalar else ln.code for ln in lines[i : i + _PIECE]),
                "<generated>",
                "exec",
            )
            for i in range(0, len(lines), _PIECE)
        ]

    def both(lines: list[_Line]) -> tuple[list[Any], list[Any]]:
        array = pieces(lines, scalar=False)
        same = all(line.scalar == line.code for line in lines)
        return array if same else pieces(lines, scalar=True), array

    before, repeated = both(body), both(loop or [])
    returned = builtins.compile(f"_returned = {result}", "<generated>", "exec")
    steps = (lambda variables: variables["steps"]) if loop is not None else (lambda _: 0)

    def runner(kind: int, namespace: dict[str, Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            variables = dict(namespace)
            variables.update(zip(parameters, args, strict=True))
            for piece in before[kind]:
                exec(piece, variables)  # generated code only, no user text
            for _ in range(steps(variables)):
                for piece in repeated[kind]:
                    exec(piece, variables)
            exec(returned, variables)
            return variables["_returned"]

        return run

    return runner(0, _SCALAR_NAMESPACE), runner(1, _ARRAY_NAMESPACE)


# -- the command line: tinygrad-gd codegen ---------------------------------------------------


def tutorial_program(part: int = 1, example: str | None = None) -> CompiledFunction:
    """The tutorial's network, compiled: its error with respect to every weight.

    ``part`` picks the series' first example of that part; ``example`` picks
    one by its slug (``"part-2-10-inputs"``). The network is the tutorial
    module's own, built from Values with its labels, so the generated code
    names ``sop``, ``predicted`` and ``error`` as the tutorial does.

    >>> program = tutorial_program(1)
    >>> value, (gradient,) = program()
    >>> program.source.splitlines()[5]
    '    predicted = sigmoid(sop)  # sigmoid'
    """
    from tinygrad_gd import tutorial

    chosen = _tutorial_example(part, example)
    x, target = chosen.x, chosen.target
    weights = tutorial.initial_weights(chosen, seed=0)
    graph: tutorial.NeuronGraph | tutorial.HiddenLayerGraph
    if chosen.hidden == 0:
        graph = tutorial.build_neuron(x, weights[0], target)
        neuron = graph

        def error() -> Value:
            return tutorial.build_neuron(x, neuron.weights, target).error
    else:
        graph = tutorial.build_hidden_layer(x, weights[0], weights[1], target)
        layer = graph

        def error() -> Value:
            rows, output = layer.hidden_weights, layer.output_weights
            return tutorial.build_hidden_layer(x, rows, output, target).error

    return compile(error, wrt=graph.weights)


def _tutorial_example(part: int, slug: str | None) -> Any:
    from tinygrad_gd.demo import PARTS
    from tinygrad_gd.tutorial import EXAMPLES

    if slug is not None:
        by_slug = {example.slug: example for example in EXAMPLES}
        if slug not in by_slug:
            raise ValueError(f"example must be one of {', '.join(by_slug)}; got {slug!r}")
        return by_slug[slug]
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    return PARTS[part][0]


def add_codegen_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tinygrad-gd codegen`` on ``parser``.

    >>> parser = argparse.ArgumentParser(prog="codegen")
    >>> add_codegen_arguments(parser)
    >>> args = parser.parse_args(["--example", "part-2-2-inputs", "--loop"])
    >>> args.part, args.example, args.loop
    (1, 'part-2-2-inputs', True)
    """
    from tinygrad_gd.tutorial import EXAMPLES

    parser.add_argument(
        "--part", type=int, choices=(1, 2, 3, 4), default=1, metavar="N",
        help="the tutorial part whose first network to compile (1-4; default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--example", choices=[example.slug for example in EXAMPLES], metavar="NAME",
        help="a published example by name instead: "
        + ", ".join(example.slug for example in EXAMPLES),
    )  # fmt: skip
    parser.add_argument(
        "--loop", action="store_true",
        help="also print the gradient-descent loop generated from the same trace",
    )  # fmt: skip


def run_codegen_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd codegen``: print the Python generated for a tutorial network.

    >>> parser = argparse.ArgumentParser(prog="codegen")
    >>> add_codegen_arguments(parser)
    >>> run_codegen_command(parser.parse_args(["--part", "1"]))  # doctest: +ELLIPSIS
    # part 1: x = [0.1], target = 0.3
    def value_and_grad_error(parameters):
    ...
        return error, [grad_w]
    0
    """
    try:
        chosen = _tutorial_example(args.part, args.example)
    except ValueError as error:
        raise UsageError(str(error)) from None
    program = tutorial_program(example=chosen.slug)
    print(f"# {chosen.name}: x = {list(chosen.x)}, target = {chosen.target}")
    print(program.source)
    if args.loop:
        print()
        print(program.descend_source)
    return 0
