"""The compiler: trace a function once, write Python for its value and gradient, run it.

Three modules, one job each: :mod:`~tinygrad_gd.tools.compiler.api` (the public
``compile`` and what a call checks), :mod:`~tinygrad_gd.tools.compiler.write`
(tracing and writing the source) and :mod:`~tinygrad_gd.tools.compiler.load`
(compiling the source and running it).
"""

from tinygrad_gd.tools.compiler.api import CompiledFunction, compile

__all__ = ["CompiledFunction", "compile"]
