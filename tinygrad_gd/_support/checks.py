"""Argument checks shared by the public functions and the command line.

Each check returns the clean value or raises an error that names the
argument: ``TypeError`` for a value of the wrong kind, ``ValueError`` for one
of the right kind out of range. Numpy's integers and floats count as numbers;
``bool`` does not count as a number (``True`` is a flag, not a count).

>>> number(0.5, "lr", positive=True), count(3, "epochs", minimum=1), seed(None)
(0.5, 3, None)
>>> number(-1, "lr", positive=True)
Traceback (most recent call last):
ValueError: lr must be a positive finite number, got -1
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = [
    "Seed",
    "choice",
    "count",
    "flag",
    "function",
    "function_name",
    "number",
    "parameter_names",
    "random_generator",
    "real",
    "samples_array",
    "seed",
]

Seed = int | np.random.Generator | None
"""Where random numbers come from: a whole number ≥ 0, a numpy ``Generator``, or None
(fresh randomness)."""



def number(
    value: Any,
    name: str,
    *,
    positive: bool = False,
    non_negative: bool = False,
    below: float | None = None,
    finite: bool = True,
) -> float:
    """A real number as a float, checked against the given bounds.

    >>> number(2, "x"), number(0.0, "decay", non_negative=True)
    (2.0, 0.0)
    >>> number(1.0, "beta", non_negative=True, below=1.0)
    Traceback (most recent call last):
    ValueError: beta must be a number in [0, 1), got 1.0
    """
    x = real(value, name)
    fits = (
        not math.isnan(x)
        and (math.isfinite(x) or not finite)
        and (x > 0 or not positive)
        and (x >= 0 or not non_negative)
        and (below is None or x < below)
    )
    if not fits:
        if below is not None:
            wanted = f"a number in [{0 if non_negative else '-inf'}, {below:g})"
        else:
            sign = "positive " if positive else "non-negative " if non_negative else ""
            wanted = f"a {sign}{'finite ' if finite else ''}number"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return x


def real(value: Any, name: str) -> float:
    """A real number as a float, nan and inf included: bounds are :func:`number`'s work.

    >>> real(3, "grad"), real(float("nan"), "grad")
    (3.0, nan)
    >>> real(10**400, "grad")
    Traceback (most recent call last):
    ValueError: grad is too large for a float: an integer of about 401 digits
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float: {_shown(value)}") from None


def _shown(value: object) -> str:
    """A number as a message shows it: an integer too long to print by its size."""
    if isinstance(value, numbers.Integral) and abs(int(value)).bit_length() > 100:
        # Python refuses to print an int of over 4,300 digits; 401 would flood a message.
        digits = int(abs(int(value)).bit_length() * math.log10(2)) + 1
        return f"an integer of about {digits} digits"
    return repr(value)


def count(value: Any, name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number (int or numpy int, not bool) from ``minimum`` up to ``maximum`` if given.

    >>> count(5, "steps")
    5
    >>> count(2.5, "steps")
    Traceback (most recent call last):
    TypeError: steps must be a whole number, got float: 2.5
    >>> count(10**9, "samples", maximum=100_000)
    Traceback (most recent call last):
    ValueError: samples must be at most 100000, got 1000000000
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__}: {value!r}")
    whole = int(value)
    if whole < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {_shown(whole)}")
    if maximum is not None and whole > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {_shown(whole)}")
    return whole


def seed(value: Any, name: str = "seed") -> int | None:
    """None (fresh randomness) or a whole number ≥ 0, as numpy's generators take.

    >>> seed(7), seed(None)
    (7, None)
    """
    return None if value is None else count(value, name)


def flag(value: Any, name: str) -> bool:
    """True or False (a numpy bool too), never a truthy stand-in such as "yes".

    >>> flag(True, "shuffle")
    True
    """
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r}")
    return bool(value)


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """One of the named options.

    >>> choice("adam", "optimizer", ["sgd", "adam"])
    'adam'
    """
    allowed = list(options)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(value)


def function(value: Any, name: str) -> Callable[..., Any]:
    """Something callable.

    >>> function(len, "loss") is len
    True
    """
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}: {value!r}")
    checked: Callable[..., Any] = value
    return checked


def function_name(f: Callable[..., Any]) -> str:
    """The name messages give a function: its ``__name__``, else its type's name.

    >>> import functools
    >>> function_name(len), function_name(functools.partial(len))  # a partial has no name
    ('len', 'partial')
    """
    return getattr(f, "__name__", type(f).__name__)


def parameter_names(f: Callable[..., Any], count: int) -> list[str]:
    """Names for ``count`` positional arguments of ``f``, as a person would refer to them.

    Its positional parameters' names first; arguments taken by ``*rest`` are
    ``rest[0]``, ``rest[1]`` ...; any beyond, or all when ``f`` has no
    signature to read, are ``args[i]`` by position.

    >>> parameter_names(lambda w, x, *rest: 0, 4)
    ['w', 'x', 'rest[0]', 'rest[1]']
    >>> parameter_names(lambda w: 0, 2)
    ['w', 'args[1]']
    """
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature
        parameters = []
    names: list[str] = []
    for parameter in parameters:
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            names.append(parameter.name)
        elif parameter.kind is parameter.VAR_POSITIONAL:
            names += [f"{parameter.name}[{i}]" for i in range(count - len(names))]
    names += [f"args[{i}]" for i in range(len(names), count)]
    return names[:count]


def random_generator(source: Seed) -> np.random.Generator:
    """The numpy ``Generator`` that a :data:`Seed` stands for (a Generator is used as is).

    >>> generator = np.random.default_rng(7)
    >>> random_generator(generator) is generator, random_generator(None) is not None
    (True, True)
    >>> random_generator(-1)
    Traceback (most recent call last):
    ValueError: seed must be at least 0, got -1
    """
    if isinstance(source, np.random.Generator):
        return source
    return np.random.default_rng(seed(source))


_KINDS = {"b": "True/False", "c": "complex", "O": "non-number", "S": "bytes", "U": "text"}
"""numpy's dtype kinds, as a message names entries that are not real numbers."""


def samples_array(X: Any, nin: int, user: str, allow_empty: bool = False) -> np.ndarray:
    """``X`` as a float array of shape (samples, nin), or ``ValueError`` naming ``user``.

    >>> samples_array([[1, 2], [3, 4]], 2, "fit").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> samples_array([[1, 2], [3]], 2, "fit")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: fit expects X as an array of numbers of shape (samples, 2), ... a ragged nesting
    """
    try:
        array = np.asarray(X)
    except ValueError:  # numpy refuses ragged nesting
        array = None
    if array is None:
        found = "a ragged nesting"
    elif array.dtype.kind not in "iuf":
        found = f"{_KINDS.get(array.dtype.kind, str(array.dtype))} entries"
    elif array.ndim != 2 or array.shape[1] != nin or not (len(array) or allow_empty):
        found = f"shape {array.shape}"
    else:
        return array.astype(float)
    rows = "one row per sample" if allow_empty else "one row per sample, at least one"
    raise ValueError(
        f"{user} expects X as an array of numbers of shape (samples, {nin}), {rows}; got {found}"
    )


