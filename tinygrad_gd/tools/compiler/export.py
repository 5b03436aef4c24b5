"""``export``: a scalar-written function as packed array code on numpy, JAX or PyTorch.

The packing pass (:mod:`tinygrad_gd.pack`) groups the copies of each scalar
op into one array op; this module writes that program for a backend and
loads it. Parameters travel as one flat vector ``P`` in the order of
``wrt``, their gradient as one flat ``G``, and the data as one array per
argument of ``f``: shape ``(n,)`` for a number per sample, ``(n, k)`` for a
list of k numbers per sample.

>>> import numpy as np
>>> from tinygrad_gd import Value
>>> w, b = Value(2.0), Value(1.0)
>>> line = export(lambda x, y: (w * x + b - y) ** 2, wrt=[w, b])
>>> P = line.params  # read from the Values: [2., 1.]
>>> value, G = line.value_and_grad(P, np.array([1.0, 2.0]), np.array([3.0, 3.0]))
>>> value, G  # mean of (2x + 1 - y)²: (0 + 4) / 2; d/dw = mean 2·r·x, d/db = mean 2·r
(2.0, array([4., 2.]))
"""

from __future__ import annotations

import builtins
import functools
import keyword
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import function_name, parameter_names
from tinygrad_gd.core.value import Value
from tinygrad_gd.tools.compiler.backends import BACKENDS, Backend
from tinygrad_gd.tools.compiler.pack import NotPackable, Packed, pack
from tinygrad_gd.tools.compiler.packwrite import write
from tinygrad_gd.tools.compiler.write import check_wrt, collector_paused, required_positional

__all__ = ["Exported", "export"]

REDUCTIONS = ("mean", "sum")
# Names the generated code uses itself: an argument of f never takes one of them.
_TAKEN = frozenset({"P", "G", "value", "aux", "inf", "nan"})


def export(
    f: Callable[..., Any],
    backend: str = "numpy",
    *,
    wrt: Sequence[Value],
    reduce: str = "mean",
    has_aux: bool = False,
) -> Exported:
    """Pack ``f`` for ``backend`` ("numpy", "jax" or "torch"), differentiated by ``wrt``.

    ``f`` is written on Values, one sample at a time, as for
    :func:`~tinygrad_gd.compile`; it reads the parameters ``wrt`` and takes
    the data as arguments. The result's ``value_and_grad(P, *columns)``
    gives the mean (or sum) over the samples and its gradient with respect
    to P; ``forward(P, *columns)`` the value alone. With ``has_aux``, ``f``
    returns ``(value, aux)`` and the value is ``(value, aux)``, aux per sample.

    >>> from tinygrad_gd import Value
    >>> w = Value(0.5)
    >>> exported = export(lambda x: (w * x).tanh(), wrt=[w], reduce="sum")
    >>> exported.forward(exported.params, np.array([0.0, 2.0]))  # tanh 0 + tanh 1
    0.7615941559557649
    """
    return Exported(f, backend, wrt=wrt, reduce=reduce, has_aux=has_aux)


class Exported:
    """``f`` packed for one backend: ``value_and_grad``, ``forward``, ``source``, ``params``.

    One program is packed per shape of the arguments (which are lists of
    what length) and kept; ``report`` says what the last one packed.

    >>> from tinygrad_gd import Value
    >>> w = [Value(1.0), Value(2.0)]
    >>> dot = export(lambda x: w[0] * x[0] + w[1] * x[1], wrt=w)
    >>> dot.forward(dot.params, np.array([[1.0, 1.0], [3.0, 0.0]]))  # mean of 3 and 3
    3.0
    >>> dot.report
    'packed 3 scalar ops into 2 array ops (1 matmul)'
    """

    def __init__(
        self,
        f: Callable[..., Any],
        backend: str = "numpy",
        *,
        wrt: Sequence[Value],
        reduce: str = "mean",
        has_aux: bool = False,
    ) -> None:
        if not callable(f):
            raise TypeError(f"export needs a function, got {type(f).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        chosen = BACKENDS[backend]
        if not chosen.available():
            extra = ' (pip install "tinygrad_gd[jax]")' if backend == "jax" else ""
            raise ImportError(f"the {backend} backend needs {chosen.module} installed{extra}")
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
        if not isinstance(has_aux, bool):
            raise TypeError(f"has_aux must be True or False, got {has_aux!r}")
        self._wrt = check_wrt(wrt)
        chosen.prepare()  # checked: now change the library's settings
        self._f, self._backend, self._reduce, self._has_aux = f, chosen, reduce, has_aux
        self._programs: dict[tuple[int | None, ...], _Loaded] = {}
        self._last: _Loaded | None = None
        functools.update_wrapper(self, f)  # type: ignore[arg-type]

    @property
    def params(self) -> np.ndarray[Any, Any]:
        """P: the parameters' current ``.data``, in the order of ``wrt``.

        >>> from tinygrad_gd import Value
        >>> w, b = Value(2.0), Value(-1.0)
        >>> export(lambda x: w * x + b, wrt=[b, w]).params
        array([-1.,  2.])
        """
        return np.array([p.data for p in self._wrt], dtype=np.float64)

    def value_and_grad(self, P: Any, *columns: Any) -> tuple[Any, Any]:
        """``(value, G)``: the reduced value over the samples and its gradient, shaped like P.

        >>> from tinygrad_gd import Value
        >>> w = Value(0.0)
        >>> square = export(lambda x: (w - x) ** 2, wrt=[w])
        >>> square.value_and_grad(np.array([1.0]), np.array([1.0, 3.0]))  # mean 0, 4; 0, -4
        (2.0, array([-2.]))
        """
        program, arrays = self._prepare(P, columns)
        return program.value_and_grad(P, *arrays)  # type: ignore[no-any-return]

    def forward(self, P: Any, *columns: Any) -> Any:
        """The reduced value alone (``(value, aux)`` with ``has_aux``).

        >>> from tinygrad_gd import Value
        >>> w = Value(0.0)
        >>> export(lambda x: (w - x) ** 2, wrt=[w], reduce="sum").forward(
        ...     np.array([1.0]), np.array([1.0, 3.0]))
        4.0
        """
        program, arrays = self._prepare(P, columns)
        return program.forward(P, *arrays)

    def packing(self, *columns: Any) -> Packed:
        """The packed program for arguments shaped like ``columns`` (packed once, kept).

        >>> from tinygrad_gd import Value
        >>> w = Value(1.0)
        >>> export(lambda x: (w * x).exp(), wrt=[w]).packing(np.ones(3)).report()  # w·x, exp
        'packed 2 scalar ops into 2 array ops (0 matmuls)'
        """
        return self._prepare(np.zeros(len(self._wrt)), columns)[0].packed

    @property
    def source(self) -> str:
        """The generated code of the last program (packed with one number per argument
        of ``f`` if none was called yet): ``value_and_grad`` then ``forward``."""
        return self._program_for_source().source

    @property
    def report(self) -> str:
        """What the last program packed, in one line.

        >>> from tinygrad_gd import Value
        >>> w = Value(1.0)
        >>> export(lambda x: (w * x).tanh(), wrt=[w]).report  # packed for one number: w·x, tanh
        'packed 2 scalar ops into 2 array ops (0 matmuls)'
        """
        return self._program_for_source().packed.report()

    def __repr__(self) -> str:
        name = function_name(self._f)
        return f"export({name}, {self._backend.name!r}, wrt={len(self._wrt)} Values)"

    def _program_for_source(self) -> _Loaded:
        if self._last is None:
            self._program((None,) * required_positional(self._f))
        assert self._last is not None
        return self._last

    def _prepare(self, P: Any, columns: tuple[Any, ...]) -> tuple[_Loaded, list[Any]]:
        """Check shapes (they are static, also under jax.jit) and pick the program."""
        if tuple(getattr(P, "shape", ())) != (len(self._wrt),):
            raise ValueError(
                f"P must have shape ({len(self._wrt)},), one number per parameter; "
                f"got shape {getattr(P, 'shape', None)}"
            )
        widths: list[int | None] = []
        arrays: list[Any] = []
        samples = None
        for i, column in enumerate(columns):
            shape = tuple(getattr(column, "shape", ()))
            if len(shape) not in (1, 2) or shape[0] == 0:
                raise ValueError(
                    f"argument {i} must be an array of shape (n,) or (n, k) with n >= 1, "
                    f"got shape {shape or type(column).__name__}"
                )
            if samples is not None and shape[0] != samples:
                raise ValueError(f"argument {i} holds {shape[0]} samples, argument 0 {samples}")
            samples = shape[0]
            widths.append(None if len(shape) == 1 else shape[1])
            arrays.append(column.reshape(samples, 1) if len(shape) == 1 else column)
        if not columns:
            raise ValueError("export needs at least one argument holding the samples")
        return self._program(tuple(widths)), arrays

    def _program(self, widths: tuple[int | None, ...]) -> _Loaded:
        program = self._programs.get(widths)
        if program is None:
            with collector_paused():
                packed = pack(self._f, widths, self._wrt, self._has_aux)
                program = _Loaded(packed, self._backend, self._f, self._reduce, self._has_aux)
            self._programs[widths] = program
        self._last = program
        return program


def argument_names(f: Callable[..., Any], count: int) -> list[str]:
    """f's own argument names where they can be variables of the code, else ``x0, x1, ...``."""
    names: list[str] = []
    for i, wanted in enumerate(parameter_names(f, count)):
        plain = wanted.isascii() and wanted.isidentifier() and not keyword.iskeyword(wanted)
        taken = _TAKEN.union(BACKENDS["numpy"].namespace())  # the code's helpers and ops
        fits = plain and not wanted.startswith("_") and wanted not in taken
        ours = wanted[:1] in "vgCIM" and wanted[1:].isdigit()  # v3, g3: the code's own names
        name = wanted if fits and not ours and wanted not in names else f"x{i}"
        while name in names:
            name = "x" + name
        names.append(name)
    return names


class _Loaded:
    """A packed program written and loaded for one backend."""

    def __init__(
        self, packed: Packed, backend: Backend, f: Callable[..., Any], reduce: str, has_aux: bool
    ) -> None:
        self.packed = packed
        name = function_name(f)
        name = name if name.isidentifier() and not keyword.iskeyword(name) else "f"
        arguments = argument_names(f, len(packed.inputs))
        written = write(packed, backend, name, arguments, reduce, has_aux)
        self.source = f"{written.value_and_grad}\n\n\n{written.forward}"
        namespace = backend.namespace()
        for op_name, op in packed.custom_ops.items():
            if backend.name != "numpy":  # its ufunc is numpy code: JAX could not trace it
                raise NotPackable(
                    f"the custom op {op_name!r} has a numpy form only; export it with "
                    f"backend='numpy'"
                )
            if op_name in namespace:
                raise NotPackable(
                    f"the custom op {op_name!r} has the name of a function packed code calls"
                )
            namespace[op_name] = op.ufunc
        namespace.update({k: backend.convert(v) for k, v in written.constants.items()})
        code = builtins.compile(self.source, f"<export {name}>", "exec")
        exec(code, namespace)  # generated from the rule table and checked names only
        self.value_and_grad: Callable[..., Any] = namespace[f"value_and_grad_{name}"]
        self.forward: Callable[..., Any] = namespace[f"forward_{name}"]
        if backend.name == "numpy":  # inf and nan at the edges, as the eager engine gives
            self.value_and_grad = _quiet(self.value_and_grad)
            self.forward = _quiet(self.forward)


def _quiet(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def run(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return function(*args)

    return run
