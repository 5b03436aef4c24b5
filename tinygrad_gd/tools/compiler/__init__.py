"""The compiler: trace a function once, write Python for its value and gradient, run it.

One job per module: :mod:`~tinygrad_gd.tools.compiler.api` (the public
``compile`` and what a call checks), :mod:`~tinygrad_gd.tools.compiler.write`
(tracing and writing the scalar source), :mod:`~tinygrad_gd.tools.compiler.load`
(compiling the source and running it); for batches,
:mod:`~tinygrad_gd.tools.compiler.pack` (grouping scalar ops into array ops),
:mod:`~tinygrad_gd.tools.compiler.packwrite` (writing the array program),
:mod:`~tinygrad_gd.tools.compiler.backends` (numpy, JAX, PyTorch) and
:mod:`~tinygrad_gd.tools.compiler.export` (the public ``export``).
"""

from tinygrad_gd.tools.compiler.api import CompiledFunction, compile
from tinygrad_gd.tools.compiler.export import Exported, export

__all__ = ["CompiledFunction", "Exported", "compile", "export"]
