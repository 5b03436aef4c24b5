"""``compile``: trace a function once, emit straight-line Python for its value and gradient.

An eager ``Value`` builds its graph again on every call, and for a training
loop that is the whole cost. ``compile(f)`` runs ``f`` once on placeholder
Values, records the one straight-line program it computes and writes it out
as Python: a forward pass with one line per op, then a reverse pass whose
lines are the rule table's own ``partials`` printed through
:class:`~tinygrad_gd.core.symbolic.Expr`. The result runs without building any
graph, on floats (scalar math) or on numpy arrays of shape ``(n,)``: n
samples at once.

>>> def error(w, x, target):
...     return ((w * x).sigmoid() - target) ** 2
>>> error_and_grad = compile(error)
>>> value, gradient = error_and_grad(0.5, 0.1, 0.3)
>>> round(gradient, 10)  # the tutorial's dE/dw, as value_and_grad gives it
0.010618232
>>> error_and_grad.source.splitlines()[-2]  # the chain: x · σ' · 2(pred - target)
'    grad_w = x * grad_t0  # from t0 = w * x'

docs/compile.md shows and explains a whole listing.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import count, number
from tinygrad_gd._support.checks import function_name as _name
from tinygrad_gd.core.autodiff import check_argnums, is_position, value_and_grad
from tinygrad_gd.core.value import TracingError, Value
from tinygrad_gd.tools.compiler.export import Exported, export
from tinygrad_gd.tools.compiler.load import Loaded, Program
from tinygrad_gd.tools.compiler.pack import NotPackable
from tinygrad_gd.tools.compiler.write import (
    Structure,
    check_wrt,
    collector_paused,
    map_tree,
    required_positional,
    trace,
    tree_leaves,
)

__all__ = ["CompiledFunction", "compile"]

REDUCTIONS = ("sum", "mean")
MAX_NESTING = 100
"""How deep an argument may nest lists and tuples."""


def compile(
    f: Callable[..., Any],
    argnums: int | Sequence[int] | None = None,
    *,
    wrt: Sequence[Value] | None = None,
    reduce: str | None = None,
    has_aux: bool = False,
    pack: bool | None = None,
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
    With ``wrt`` and ``reduce``, a batch runs packed into array ops where
    that pays (see :attr:`CompiledFunction.packing`); ``pack=False`` always
    runs the scalar code, ``pack=True`` packs even where it does not pay.

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
    return CompiledFunction(f, argnums, wrt=wrt, reduce=reduce, has_aux=has_aux, pack=pack)


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
        pack: bool | None = None,
    ) -> None:
        if not callable(f):
            raise TypeError(f"compile needs a function, got {type(f).__name__}")
        if wrt is not None and argnums is not None:
            raise TypeError("compile: give argnums (arguments) or wrt (Values), not both")
        self._argnums: int | tuple[int, ...] | None = None
        self._positions: tuple[int, ...] = ()
        if wrt is None:
            argnums = 0 if argnums is None else argnums
            self._positions = check_argnums(argnums)
            # One position (numpy ints too) gives one gradient, a tuple a tuple.
            one = is_position(argnums)
            self._argnums = self._positions[0] if one else self._positions
        self._wrt = None if wrt is None else check_wrt(wrt)
        if reduce is not None and reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be None, 'sum' or 'mean', got {reduce!r}")
        if not isinstance(has_aux, bool):
            raise TypeError(f"has_aux must be True or False, got {has_aux!r}")
        self._f = f
        self._reduce = reduce
        self._has_aux = has_aux
        if pack is not None and not isinstance(pack, bool):
            raise TypeError(f"pack must be None, True or False, got {pack!r}")
        self._pack = pack
        self._programs: dict[tuple[Any, ...], Program] = {}
        self._last: Program | None = None
        # The call with only floats skips inspecting its arguments: (arity, function).
        self._all_floats: tuple[int, Callable[..., Any]] | None = None
        # Batches with wrt and reduce may run packed (one array op per group of scalar ops).
        self._exported: Exported | None = None
        self._pays: dict[tuple[Any, ...], bool] = {}
        self._packing: str | None = None
        self._last_packed = False
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
        if self._last_packed and self._exported is not None:
            return self._exported.source
        return self._program_or_scalar_trace().value_and_grad.source

    @property
    def packing(self) -> str | None:
        """What the last batch call did about packing, in one line; None before one.

        A call on arrays, with ``wrt`` and ``reduce``, packs the trace
        (:func:`~tinygrad_gd.export`): each group of isomorphic scalar ops
        becomes one array op. Where that does not pay (fewer than a few
        scalar ops per array op, as in a convolution) the scalar code runs,
        and this line says so.

        >>> import numpy as np
        >>> w = [[Value(0.1 * (i - j)) for i in range(2)] for j in range(8)]
        >>> def loss(x, y):  # 8 neurons: 16 products, 8 sums, 8 tanh; 8 adds, -, **
        ...     hidden = [(row[0] * x[0] + row[1] * x[1]).tanh() for row in w]
        ...     return (sum(hidden) - y) ** 2
        >>> compiled = compile(loss, wrt=[v for row in w for v in row], reduce="mean")
        >>> _ = compiled([np.ones(4), np.zeros(4)], np.ones(4))
        >>> compiled.packing
        'packed 42 scalar ops into 6 array ops (1 matmul)'
        """
        return self._packing

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
        # The same rule as the optimizers' lr: nan, inf or a step uphill would run silently.
        rate = number(learning_rate, "learning_rate", positive=True)
        steps = count(steps, "steps")
        arguments = _Arguments.check(args)
        if arguments.batch is not None or arguments.has_values:
            raise TypeError("descend runs on numbers; for arrays call the function in a loop")
        program = self._program(arguments)
        values = arguments.values
        if self._wrt is not None:
            values = (*values, [p.data for p in self._wrt])
        descended = _on_floats(program.descend, values, rate, steps)
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
        packed = self._packed_call(arguments)
        if packed is not None:
            return packed
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
            return map_tree(samples, value), map_tree(samples, gradient)
        reduced = functools.partial(_reduced, n=arguments.batch, how=self._reduce)
        if self._has_aux:
            value, aux = value
            return (reduced(value), map_tree(samples, aux)), reduced(gradient)
        return reduced(value), reduced(gradient)

    def _packed_call(self, arguments: _Arguments) -> tuple[Any, Any] | None:
        """The call on the packed array program, or None where it does not apply or pay."""
        if self._wrt is None or self._reduce is None or arguments.batch is None:
            return None
        if self._pack is False:
            self._packing = "not packed: pack=False; the scalar code runs"
            return None
        self._last_packed = False
        n = arguments.batch
        structure = arguments.structure
        flat = all(s is None or all(item is None for item in s[1]) for s in structure)
        if not flat:
            self._packing = "not packed: an argument nests lists; the scalar code runs"
            return None
        columns = [_column(value, n) for value in arguments.values]
        if self._exported is None:
            self._exported = export(self._f, wrt=self._wrt, reduce=self._reduce,
                                    has_aux=self._has_aux)  # fmt: skip
        if structure not in self._pays:
            try:
                packed = self._exported.packing(*columns)
            except NotPackable as error:
                self._packing = f"not packed: {error}; the scalar code runs"
                self._pays[structure] = False
                return None
            self._pays[structure] = packed.pays or self._pack is True
            self._packing = packed.report() if self._pays[structure] else (
                f"not packed: {packed.scalar_ops} scalar ops would take {len(packed.program)} "
                "array ops, too few per op to pay; the scalar code runs"
            )  # fmt: skip
        if not self._pays[structure]:
            return None
        self._packing = self._exported.report
        self._last_packed = True
        P = np.array([p.data for p in self._wrt], dtype=np.float64)
        value, G = self._exported.value_and_grad(P, *columns)
        gradient = G.tolist()
        if self._has_aux:
            value, aux = value
            return (value, aux), gradient
        return value, gradient

    def _eager(self, args: tuple[Any, ...]) -> tuple[Any, Any]:
        """Values as arguments (inside grad, say): the eager engine, which nests."""
        if self._wrt is not None or self._has_aux:
            raise TypeError(
                "a compiled function with wrt or has_aux takes numbers or arrays, not Values"
            )
        assert self._argnums is not None
        return value_and_grad(self._f, self._argnums)(*args)

    def _program(self, arguments: _Arguments) -> Program:
        self._last_packed = False
        program = self._programs.get(arguments.structure)
        if program is None:
            single = isinstance(self._argnums, int)  # one position: one gradient
            with collector_paused():
                code = trace(
                    self._f, arguments.structure, self._positions, single, self._wrt, self._has_aux
                )
                program = Program(code)
            self._programs[arguments.structure] = program
            if self._wrt is None and all(key is None for key in arguments.structure):
                self._all_floats = (len(arguments.structure), program.value_and_grad.scalar)
        self._last = program
        return program

    def _program_or_scalar_trace(self) -> Program:
        if self._last is not None:
            return self._last
        required = required_positional(self._f)
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


# -- the arguments of a call --------------------------------------------------------------



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

    def _convert(self, arg: Any, where: str, depth: int = 0) -> tuple[Any, Structure]:
        if isinstance(arg, (list, tuple)):
            if depth == MAX_NESTING:  # deeper would reach the interpreter's recursion limit
                raise TypeError(
                    f"{where} nests lists or tuples more than {MAX_NESTING} deep; "
                    "an argument is a number, an array, or lists of them a few levels deep"
                )
            items = [
                self._convert(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(arg)
            ]
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


def _on_floats(functions: Loaded, values: tuple[Any, ...], *options: Any) -> Any:
    """Run on Python floats; where they raise (log(0), 1/0), numpy floats give inf or nan."""
    try:
        return functions.scalar(*values, *options)
    except (ArithmeticError, ValueError):
        with np.errstate(all="ignore"):
            result = functions.array(*map_tree(np.float64, values), *options)
        return map_tree(float, result)


def _column(value: Any, n: int) -> np.ndarray[Any, Any]:
    """One argument as the packed program takes it: (n,), or (n, k) for a list of k."""
    if isinstance(value, (list, tuple)):
        items = [np.broadcast_to(np.asarray(item, dtype=np.float64), (n,)) for item in value]
        return np.stack(items, axis=1) if items else np.zeros((n, 0))
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))


def _per_sample(x: Any, n: int, inputs: set[int]) -> np.ndarray[Any, Any]:
    if np.ndim(x) == 0:  # the same for every sample
        return np.full(n, float(x))
    # A gradient may be an input array itself (d(w·x)/dw = x): never hand that out.
    return x.copy() if id(x) in inputs else x  # type: ignore[no-any-return]


def _reduced(tree: Any, n: int, how: str) -> Any:
    """Every leaf summed (or averaged) over the samples; the arrays in one numpy call."""
    leaves = list(tree_leaves(tree))
    batched = [i for i, x in enumerate(leaves) if isinstance(x, np.ndarray) and x.ndim]
    sums = np.stack([leaves[i] for i in batched]).sum(axis=1).tolist() if batched else []
    summed = dict(zip(batched, sums, strict=True))

    def reduce(i: int, x: Any) -> float:
        if i in summed:
            return float(summed[i]) if how == "sum" else summed[i] / n  # as ndarray.mean does
        return float(x) * n if how == "sum" else float(x)  # a number: the same for each sample

    reduced = iter([reduce(i, x) for i, x in enumerate(leaves)])
    return map_tree(lambda _: next(reduced), tree)
