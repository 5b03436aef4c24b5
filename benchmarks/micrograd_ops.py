"""What the benchmarks add to micrograd to run the tutorial's network in it.

micrograd has no exp, so its sigmoid is written here the way its own ops are:
the forward value, and beside it a closure that adds the local derivative.
"""

from __future__ import annotations

import math
from typing import Any


def micrograd_sigmoid(v: Any) -> Any:
    """A micrograd sigmoid node over the micrograd Value ``v``."""
    s = 1.0 / (1.0 + math.exp(-v.data))
    out = type(v)(s, (v,), "sigmoid")

    def backward() -> None:
        v.grad += s * (1.0 - s) * out.grad

    out._backward = backward
    return out
