"""tinygrad_gd: scalar reverse-mode automatic differentiation for learning gradient descent.

>>> from tinygrad_gd import Value, grad
>>> error = lambda w: ((w * 0.1).sigmoid() - 0.3) ** 2
>>> w = Value(0.5)
>>> error(w).backward()
>>> w.grad == grad(error)(0.5)
True
"""

from tinygrad_gd import data, nn, optim, tutorial
from tinygrad_gd.autodiff import detect_anomaly, grad, gradients, no_grad, value_and_grad
from tinygrad_gd.check import GradcheckError, compare, gradcheck, numerical_grad
from tinygrad_gd.compile import compile
from tinygrad_gd.explain import explain
from tinygrad_gd.parse import parse
from tinygrad_gd.train import History, fit
from tinygrad_gd.value import AnomalyError, TracingError, Value
from tinygrad_gd.viz import to_dot

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "GradcheckError",
    "History",
    "TracingError",
    "Value",
    "__version__",
    "compare",
    "compile",
    "data",
    "detect_anomaly",
    "explain",
    "fit",
    "grad",
    "gradcheck",
    "gradients",
    "nn",
    "no_grad",
    "numerical_grad",
    "optim",
    "parse",
    "to_dot",
    "tutorial",
    "value_and_grad",
]
