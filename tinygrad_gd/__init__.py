"""tinygrad_gd: scalar reverse-mode automatic differentiation for learning gradient descent.

The public names load on first use (PEP 562), so ``import tinygrad_gd`` and
the engine alone stay light: training, plotting and the tutorial are imported
only when asked for. The layers and their order are in
:mod:`tinygrad_gd._layers`.

>>> from tinygrad_gd import Value, grad
>>> error = lambda w: ((w * 0.1).sigmoid() - 0.3) ** 2
>>> w = Value(0.5)
>>> error(w).backward()
>>> w.grad == grad(error)(0.5)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Each public name and the module that defines it.
_SOURCES = {
    "AnomalyError": "tinygrad_gd.core.value",
    "TracingError": "tinygrad_gd.core.value",
    "Value": "tinygrad_gd.core.value",
    "detect_anomaly": "tinygrad_gd.core.autodiff",
    "grad": "tinygrad_gd.core.autodiff",
    "gradients": "tinygrad_gd.core.autodiff",
    "no_grad": "tinygrad_gd.core.autodiff",
    "stop_gradient": "tinygrad_gd.core.autodiff",
    "value_and_grad": "tinygrad_gd.core.autodiff",
    "custom_op": "tinygrad_gd.core.ops",
    "hessian": "tinygrad_gd.core.transforms",
    "jacobian": "tinygrad_gd.core.transforms",
    "jvp": "tinygrad_gd.core.transforms",
    "GradcheckError": "tinygrad_gd.tools.gradcheck",
    "compare": "tinygrad_gd.tools.gradcheck",
    "gradcheck": "tinygrad_gd.tools.gradcheck",
    "numerical_grad": "tinygrad_gd.tools.gradcheck",
    "compile": "tinygrad_gd.tools.compiler",
    "export": "tinygrad_gd.tools.compiler",
    "explain": "tinygrad_gd.tools.explain",
    "parse": "tinygrad_gd.tools.parse",
    "to_dot": "tinygrad_gd.tools.graph",
    "History": "tinygrad_gd.learning.train",
    "fit": "tinygrad_gd.learning.train",
}
# Public modules: the name users import, and where it lives.
_MODULES = {
    "data": "tinygrad_gd.data",
    "nn": "tinygrad_gd.nn",
    "optim": "tinygrad_gd.optim",
    "tutorial": "tinygrad_gd.tutorial",
    "io": "tinygrad_gd.learning.io",
    "plots": "tinygrad_gd.learning.plots",
}

__all__ = sorted([*_SOURCES, *_MODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in _SOURCES:
        value = getattr(importlib.import_module(_SOURCES[name]), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'tinygrad_gd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers see; `name as name` exports it under --strict
    from tinygrad_gd import (
        data as data,
    )
    from tinygrad_gd import (
        nn as nn,
    )
    from tinygrad_gd import (
        optim as optim,
    )
    from tinygrad_gd import (
        tutorial as tutorial,
    )
    from tinygrad_gd.core.autodiff import (
        detect_anomaly as detect_anomaly,
    )
    from tinygrad_gd.core.autodiff import (
        grad as grad,
    )
    from tinygrad_gd.core.autodiff import (
        gradients as gradients,
    )
    from tinygrad_gd.core.autodiff import (
        no_grad as no_grad,
    )
    from tinygrad_gd.core.autodiff import (
        stop_gradient as stop_gradient,
    )
    from tinygrad_gd.core.autodiff import (
        value_and_grad as value_and_grad,
    )
    from tinygrad_gd.core.ops import (
        custom_op as custom_op,
    )
    from tinygrad_gd.core.transforms import (
        hessian as hessian,
    )
    from tinygrad_gd.core.transforms import (
        jacobian as jacobian,
    )
    from tinygrad_gd.core.transforms import (
        jvp as jvp,
    )
    from tinygrad_gd.core.value import (
        AnomalyError as AnomalyError,
    )
    from tinygrad_gd.core.value import (
        TracingError as TracingError,
    )
    from tinygrad_gd.core.value import (
        Value as Value,
    )
    from tinygrad_gd.learning import (
        io as io,
    )
    from tinygrad_gd.learning import (
        plots as plots,
    )
    from tinygrad_gd.learning.train import (
        History as History,
    )
    from tinygrad_gd.learning.train import (
        fit as fit,
    )
    from tinygrad_gd.tools.compiler import (
        compile as compile,
    )
    from tinygrad_gd.tools.compiler import (
        export as export,
    )
    from tinygrad_gd.tools.explain import (
        explain as explain,
    )
    from tinygrad_gd.tools.gradcheck import (
        GradcheckError as GradcheckError,
    )
    from tinygrad_gd.tools.gradcheck import (
        compare as compare,
    )
    from tinygrad_gd.tools.gradcheck import (
        gradcheck as gradcheck,
    )
    from tinygrad_gd.tools.gradcheck import (
        numerical_grad as numerical_grad,
    )
    from tinygrad_gd.tools.graph import (
        to_dot as to_dot,
    )
    from tinygrad_gd.tools.parse import (
        parse as parse,
    )
