"""The array libraries a packed program runs on: numpy, JAX and PyTorch.

A packed program is written once, as text over a small vocabulary: the rule
table's ops by name (``relu(v3)``), Python's operators, and the helpers
below (``lanesum``, ``concat``, ...). A backend binds that vocabulary to
one library. The ops come from the table's ``array`` column, applied to the
library's namespace, so the table stays the one source of every forward.
Only adding into part of an array differs in how it is written: numpy and
torch update the adjoint in place, JAX (whose arrays are immutable) writes
``g = g.at[...].add(x)``.

>>> numpy = BACKENDS["numpy"]
>>> names = numpy.namespace()
>>> names["relu"](np.array([-1.0, 2.0])), names["lanesum"](np.ones((2, 3)))
(array([0., 2.]), array([[3.],
       [3.]]))
"""

from __future__ import annotations

import builtins
import functools
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_gd.core.ops import OPS

__all__ = ["BACKENDS", "Backend"]


@dataclass(frozen=True)
class Backend:
    """One array library: how to import it, its helpers, and how it adds into a part."""

    name: str
    module: str  # what must be importable
    in_place: bool  # numpy and torch: ``g[part] += x``; JAX: ``g = g.at[part].add(x)``

    def available(self) -> bool:
        """Whether the library is installed.

        >>> BACKENDS["numpy"].available()
        True
        """
        try:
            importlib.import_module(self.module)
        except ImportError:
            return False
        return True

    def prepare(self) -> None:
        """Set the library up for float64: JAX computes in float32 unless told (this
        turns on ``jax_enable_x64`` for the whole process, as JAX has no other way)."""
        if self.name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call,unused-ignore]

    def namespace(self) -> dict[str, Any]:
        """The names generated code may call, bound to this library (and no builtins).

        >>> names = BACKENDS["numpy"].namespace()
        >>> names["sigmoid"](np.array([-1000.0, 0.0])), names["__builtins__"]
        (array([0. , 0.5]), {})
        """
        return _NAMESPACES[self.name]()

    def convert(self, array: np.ndarray[Any, Any]) -> Any:
        """A constant of the program as this library takes it (float64, or int64 indices).

        JAX gets the numpy array itself: a program first loaded under ``jax.jit``
        would otherwise keep a traced array, which leaks into later calls.
        """
        if self.name == "torch":
            import torch

            kind = torch.int64 if array.dtype.kind == "i" else torch.float64
            return torch.as_tensor(array, dtype=kind)
        return array

    def add_into(self, target: str, part: str, value: str, repeats: bool = False) -> str:
        """The statement adding ``value`` into ``target[part]``; ``repeats``: an index
        array naming a place twice, whose additions must all count.

        >>> BACKENDS["numpy"].add_into("G", "0:3", "g1"), BACKENDS["jax"].add_into("G", "0:3", "g1")
        ('G[0:3] += g1', 'G = G.at[0:3].add(g1)')
        >>> BACKENDS["numpy"].add_into("G", "I4", "g1", repeats=True)
        'add_at(G, (I4,), g1)'
        """
        if not self.in_place:
            return f"{target} = {target}.at[{part}].add({value})"
        if repeats:
            return f"add_at({target}, ({part},), {value})"
        return f"{target}[{part}] += {value}"

    def add_whole(self, target: str, value: str) -> str:
        """The statement adding ``value`` to all of ``target``.

        >>> BACKENDS["torch"].add_whole("G", "P * g3"), BACKENDS["jax"].add_whole("G", "P * g3")
        ('G += P * g3', 'G = G + P * g3')
        """
        return f"{target} += {value}" if self.in_place else f"{target} = {target} + {value}"

    def fresh(self, text: str) -> str:
        """An expression giving a new array equal to ``text``: safe to update in place.

        >>> BACKENDS["numpy"].fresh("g2"), BACKENDS["jax"].fresh("g2")
        ('copy(g2)', 'g2')
        """
        return f"copy({text})" if self.in_place else text


def _common(xp: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__builtins__": {}, "inf": math.inf, "nan": math.nan}
    namespace.update({op.name: functools.partial(op.array, xp) for op in OPS if op.array})
    return namespace


def _numpy() -> dict[str, Any]:
    namespace = _common(np)

    def add_at(target: Any, part: Any, value: Any) -> None:
        np.add.at(target, part[0] if len(part) == 1 else part, value)

    namespace.update(
        sum0=lambda x: x.sum(0),
        lanesum=lambda x: x.sum(-1, keepdims=True),
        spread=lambda x, like: np.broadcast_to(x, like.shape),
        outer=np.outer,
        concat=lambda parts: np.concatenate(parts, -1),
        zeros=np.zeros,
        zeros_like=np.zeros_like,
        full_like=np.full_like,
        copy=np.array,
        mean=lambda x: float(x.mean()),
        total=lambda x: float(x.sum()),
        repeat=lambda x, n: np.full(n, x),
        add_at=add_at,
    )
    return namespace


def _jax() -> dict[str, Any]:
    import jax.numpy as jnp

    BACKENDS["jax"].prepare()
    namespace = _common(jnp)
    namespace.update(
        sum0=lambda x: x.sum(0),
        lanesum=lambda x: x.sum(-1, keepdims=True),
        spread=lambda x, like: jnp.broadcast_to(x, like.shape),
        outer=jnp.outer,
        concat=lambda parts: jnp.concatenate(parts, -1),
        zeros=lambda n: jnp.zeros(n, dtype=jnp.float64),
        zeros_like=jnp.zeros_like,
        full_like=jnp.full_like,
        copy=lambda x: x,
        mean=jnp.mean,
        total=jnp.sum,
        repeat=lambda x, n: jnp.full(n, x),
    )
    return namespace


class _TorchArrays:
    """torch under the names the table's array column uses (numpy's)."""

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def __getattr__(self, name: str) -> Any:
        return getattr(self.torch, name)

    def maximum(self, a: Any, b: float) -> Any:
        return self.torch.clamp_min(a, b)

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        like = condition.to(self.torch.float64)
        return self.torch.where(condition, self._tensor(a, like), self._tensor(b, like))

    def _tensor(self, x: Any, like: Any) -> Any:
        return x if isinstance(x, self.torch.Tensor) else self.torch.full_like(like, x)


def _torch() -> dict[str, Any]:
    import torch

    namespace = _common(_TorchArrays())
    # torch's C operators import modules lazily through the calling frame's builtins;
    # the generated code has none, so it gets that one function and nothing else.
    namespace["__builtins__"] = {"__import__": builtins.__import__}

    def add_at(target: Any, part: Any, value: Any) -> None:
        index = part[-1]
        if len(part) == 1 and index.dim() > 1:  # a matrix of parameter indices
            target.index_put_((index.reshape(-1),), value.reshape(-1), accumulate=True)
        else:
            target.index_add_(target.dim() - 1, index, value)

    namespace.update(
        sum0=lambda x: x.sum(0),
        lanesum=lambda x: x.sum(-1, keepdim=True),
        spread=lambda x, like: x.expand_as(like),
        outer=torch.outer,
        concat=lambda parts: torch.cat(parts, -1),
        zeros=lambda n: torch.zeros(n, dtype=torch.float64),
        zeros_like=torch.zeros_like,
        full_like=torch.full_like,
        copy=torch.clone,
        mean=lambda x: x.mean(),
        total=lambda x: x.sum(),
        repeat=lambda x, n: torch.full((n,), x, dtype=torch.float64),
        add_at=add_at,
    )
    return namespace


_NAMESPACES: dict[str, Callable[[], dict[str, Any]]] = {
    "numpy": _numpy,
    "jax": _jax,
    "torch": _torch,
}

BACKENDS: dict[str, Backend] = {
    "numpy": Backend("numpy", "numpy", in_place=True),
    "jax": Backend("jax", "jax", in_place=False),
    "torch": Backend("torch", "torch", in_place=True),
}
"""Every backend by name."""
