"""Writing a packed program: forward and reverse code over arrays, for one backend.

The forward pass is one line per :class:`~tinygrad_gd.pack.Vec`. The reverse
pass walks them backwards: a matmul's adjoint is two matmuls with a
transpose, a gather's is an addition into the lanes it read, and an
elementwise op's partials are the rule table's own, printed through
:class:`~tinygrad_gd.core.symbolic.Expr` as the scalar compiler prints them (a
custom op as a call of its name).
Parameters are read from one flat vector ``P`` (as views where their order
allows, else by index), and their gradients are added into one flat ``G``.

>>> from tinygrad_gd import Value
>>> from tinygrad_gd.tools.compiler.pack import pack
>>> w = [Value(0.5), Value(-1.0)]
>>> packed = pack(lambda x: (w[0] * x[0] + w[1] * x[1]).tanh(), [2], w)
>>> print(write(packed, BACKENDS["numpy"], "neuron", ["x"], "mean").value_and_grad)
def value_and_grad_neuron(P, x):
    v0 = P[0:2].reshape(2, 1)
    v1 = x @ v0
    v2 = tanh(v1)
    value = mean(v2[:, 0])
    # reverse
    g2 = full_like(v2, 1.0 / x.shape[0])
    g1 = (1 - v2 * v2) * g2
    g0 = x.T @ g1
    G = zeros(2)
    G[0:2].reshape(2, 1)[:, :] += g0
    return value, G
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_gd.core.ops import MUL, number_text
from tinygrad_gd.core.symbolic import Expr
from tinygrad_gd.tools.compiler.backends import BACKENDS, Backend
from tinygrad_gd.tools.compiler.pack import (
    Concat,
    Constant,
    Elementwise,
    Gather,
    Input,
    LaneSum,
    Location,
    MatMul,
    Packed,
    ParamRead,
    Params,
    Sum,
    Vec,
)
from tinygrad_gd.tools.compiler.write import CodeExpr, map_tree

__all__ = ["BACKENDS", "Written", "write"]


@dataclass
class Written:
    """The two generated functions' sources and the arrays they read by name."""

    value_and_grad: str
    forward: str
    constants: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)


def write(
    packed: Packed,
    backend: Backend,
    name: str,
    arguments: list[str],
    reduce: str,
    has_aux: bool = False,
) -> Written:
    """Write ``value_and_grad_<name>(P, *arguments)`` and ``forward_<name>(P, *arguments)``.

    Each argument is an array of shape ``(n, k)``; the value is the mean (or
    sum, as ``reduce`` says) over the n samples; G has P's shape.

    >>> from tinygrad_gd import Value
    >>> from tinygrad_gd.tools.compiler.pack import pack
    >>> w = Value(2.0)
    >>> written = write(pack(lambda x: w * x, [None], [w]), BACKENDS["jax"], "f", ["x"], "sum")
    >>> print(written.forward)
    def forward_f(P, x):
        v0 = P * x
        value = total(v0[:, 0])
        return value
    """
    writer = _Writer(packed, backend, reduce)
    for argument_vec, argument in zip(packed.inputs, arguments, strict=True):
        argument_vec.name = argument
    for vec in packed.program:
        writer.forward(vec)
    writer.result(has_aux)
    forward_lines = list(writer.lines)
    writer.reverse()
    signature = ", ".join(["P", *arguments])
    returned = "(value, aux)" if has_aux else "value"
    value_and_grad = _function(f"value_and_grad_{name}", signature, writer.lines, f"{returned}, G")
    forward = _function(f"forward_{name}", signature, forward_lines, returned)
    return Written(value_and_grad, forward, writer.constants)


def _function(name: str, signature: str, lines: list[str], returned: str) -> str:
    body = "\n".join("    " + line for line in [*lines, f"return {returned}"])
    return f"def {name}({signature}):\n{body}"


def _progression(picked: tuple[int, ...]) -> str | None:
    """The lanes as slice text ``a:b`` or ``a:b:s`` when they step evenly, else None."""
    start = picked[0]
    step = picked[1] - start if len(picked) > 1 else 1
    if step <= 0 or any(b - a != step for a, b in zip(picked, picked[1:], strict=False)):
        return None
    stop = picked[-1] + 1
    return f"{start}:{stop}" if step == 1 else f"{start}:{stop}:{step}"


@dataclass(frozen=True)
class _Block:
    """A matrix read from P as a view: ``P[a:b].reshape(rows, stride)[:, :cols]``,
    transposed when the matrix's columns run along P (one neuron's weights in a row)."""

    start: int
    rows: int
    stride: int
    cols: int
    transposed: bool

    def text(self, written: bool = False) -> str:
        """The subscript read from P; ``written``: as the target of ``+=`` (a subscript
        last, since Python assigns into a subscript, not into a call's result)."""
        stop = self.start + self.rows * self.stride
        view = f"[{self.start}:{stop}].reshape({self.rows}, {self.stride})"
        if self.cols != self.stride:
            return f"{view}[:, :{self.cols}]"
        return f"{view}[:, :]" if written else view


def _block(index: np.ndarray[Any, Any], size: int) -> _Block | None:
    """How W = P[index] reads as a view, if it does (evenly spaced, in range)."""
    if index.ndim != 2 or (index < 0).any():
        return None
    m, k = index.shape
    start = int(index[0, 0])
    down = int(index[1, 0] - start) if m > 1 else 1
    across = int(index[0, 1] - start) if k > 1 else 1
    expected = start + down * np.arange(m)[:, None] + across * np.arange(k)[None, :]
    if not np.array_equal(index, expected):
        return None
    if down == 1 and across >= m and start + k * across <= size:
        return _Block(start, k, across, m, transposed=True)
    if across == 1 and down >= k and start + m * down <= size:
        return _Block(start, m, down, k, transposed=False)
    return None


class _Writer:
    def __init__(self, packed: Packed, backend: Backend, reduce: str) -> None:
        self.packed, self.backend, self.reduce = packed, backend, reduce
        self.lines: list[str] = []
        self.constants = dict(packed.constants)
        self.size = packed.params.lanes

    def constant(self, array: np.ndarray[Any, Any], prefix: str) -> str:
        name = f"{prefix}{len(self.constants)}"
        self.constants[name] = array
        return name

    def text(self, x: Vec | Constant | float) -> str:
        if isinstance(x, Vec):
            return x.name
        if isinstance(x, Constant):
            return x.name or number_text(float(x.value))
        return number_text(x)

    def expression(self, x: Vec | Constant) -> CodeExpr | float:
        if isinstance(x, Constant) and not x.name:
            return float(x.value)
        return CodeExpr(self.text(x))

    def lanes(self, vec: Vec, picked: tuple[int, ...]) -> tuple[str, bool]:
        """The subscript of some lanes of ``vec``, and whether it names a lane twice."""
        spec = _progression(picked)
        repeats = False
        if spec is None:
            spec = self.constant(np.array(picked, dtype=np.int64), "I")
            repeats = len(set(picked)) != len(picked)
        return (f":, {spec}" if vec.per_sample else spec), repeats

    # forward

    def forward(self, vec: Vec) -> None:
        self.lines.append(f"{vec.name} = {self.forward_text(vec)}")

    def forward_text(self, vec: Vec) -> str:
        if isinstance(vec, ParamRead):
            block = _block(vec.index, self.size)
            if block is not None:
                return f"P{block.text()}" + (".T" if block.transposed else "")
            index = self.constant(np.maximum(vec.index, 0), "I")
            if (vec.index >= 0).all():
                return f"P[{index}]"
            mask = self.constant((vec.index >= 0).astype(np.float64), "M")
            return f"P[{index}] * {mask}"
        if isinstance(vec, Gather):
            return f"{vec.source.name}[{self.lanes(vec.source, vec.picked)[0]}]"
        if isinstance(vec, Concat):
            return f"concat([{', '.join(part.name for part in vec.parts)}])"
        if isinstance(vec, Elementwise):
            return CodeExpr.apply(vec.op, *map(self.expression, vec.arguments)).text
        if isinstance(vec, MatMul):
            return f"{self.text(vec.left)} @ {self.text(vec.right)}"
        if isinstance(vec, LaneSum):
            return f"lanesum({vec.source.name})"
        assert isinstance(vec, Sum)
        text: Expr | None = None
        for scale, term in vec.terms:
            subtract = isinstance(scale, float) and scale == -1.0  # written a - b, not a + -1 * b
            if isinstance(scale, Constant):
                piece = CodeExpr.apply(MUL, self.expression(scale), CodeExpr(term.name))
            elif scale in (1.0, -1.0):
                piece = CodeExpr(term.name)
            else:
                piece = scale * CodeExpr(term.name)
            if text is None:
                text = -piece if subtract else piece
            else:
                text = text - piece if subtract else text + piece
        assert text is not None  # a Sum has at least one term
        if vec.constant is not None:
            text = text + self.expression(vec.constant)
        return text.text

    def result(self, has_aux: bool) -> None:
        vec, lane = self.packed.value
        picked = self.column(vec, lane)
        if vec.per_sample:
            how = "mean" if self.reduce == "mean" else "total"
            self.lines.append(f"value = {how}({picked})")
        elif self.reduce == "mean":
            self.lines.append(f"value = {picked}")
        else:
            self.lines.append(f"value = {self.samples} * {picked}")
        if has_aux:
            self.lines.append(f"aux = {_tree_text(map_tree(self.aux_text, self.packed.aux))}")

    @property
    def samples(self) -> str:
        return f"{self.packed.inputs[0].name}.shape[0]"

    @staticmethod
    def column(vec: Vec, lane: int) -> str:
        return f"{vec.name}[:, {lane}]" if vec.per_sample else f"{vec.name}[{lane}]"

    def aux_text(self, leaf: Location | float) -> str:
        if isinstance(leaf, float):
            return f"repeat({number_text(leaf)}, {self.samples})"
        vec, lane = leaf
        if vec.per_sample:
            return self.column(vec, lane)
        return f"repeat({self.column(vec, lane)}, {self.samples})"

    # reverse

    def reverse(self) -> None:
        self.lines.append("# reverse")
        program = self.packed.program
        params = self.packed.params
        active: set[int] = {id(params)}
        for vec in program:
            if isinstance(vec, ParamRead) or any(id(x) in active for x in vec.operands()):
                active.add(id(vec))
        self.active = active
        self.flows: dict[int, list[tuple[str | None, str, bool]]] = defaultdict(list)
        root, lane = self.packed.value
        if id(root) not in active:
            self.lines.append(f"G = zeros({self.size})")
            return
        if root.per_sample:
            seed = f"1.0 / {self.samples}" if self.reduce == "mean" else "1.0"
        else:
            seed = "1.0" if self.reduce == "mean" else f"1.0 * {self.samples}"
        if root.lanes == 1:
            self.flows[id(root)].append((None, f"full_like({root.name}, {seed})", False))
        else:
            part = f":, {lane}" if root.per_sample else str(lane)
            self.flows[id(root)].append((part, seed, False))
        for vec in reversed(program):
            flows = self.flows.pop(id(vec), None)
            if flows and id(vec) in active:
                self.backward(vec, self.adjoint(vec, flows))
        flows = self.flows.pop(id(params), [])
        self.lines.append(f"G = zeros({self.size})")
        for where, value, repeats in flows:
            if where is None:
                self.lines.append(self.backend.add_whole("G", value))
            else:
                self.lines.append(self.backend.add_into("G", where, value, repeats))

    def adjoint(self, vec: Vec, flows: list[tuple[str | None, str, bool]]) -> str:
        """One name for the sum of what flows into ``vec``."""
        name = "g" + vec.name[1:]
        whole = [value for part, value, _ in flows if part is None]
        parts = [flow for flow in flows if flow[0] is not None]
        if not parts:
            if len(whole) == 1 and whole[0].isidentifier():
                return whole[0]
            self.lines.append(f"{name} = {' + '.join(whole)}")
            return name
        start = self.backend.fresh(" + ".join(whole)) if whole else f"zeros_like({vec.name})"
        self.lines.append(f"{name} = {start}")
        for part, value, repeats in parts:
            assert part is not None
            self.lines.append(self.backend.add_into(name, part, value, repeats))
        return name

    def flow(self, x: Vec, value: str, result: Vec) -> None:
        """Send ``value`` (shaped like ``result``) to operand ``x``, summed to x's shape."""
        if id(x) not in self.active:
            return
        if result.per_sample and not x.per_sample:
            value = f"sum0({value})"
        if x.lanes == 1 and result.lanes > 1:
            value = f"lanesum({value})"
        self.flows[id(x)].append((None, value, False))

    def backward(self, vec: Vec, g: str) -> None:
        if isinstance(vec, ParamRead):
            self.backward_read(vec, g)
        elif isinstance(vec, Gather):
            lanes, repeats = self.lanes(vec.source, vec.picked)
            self.flows[id(vec.source)].append((lanes, g, repeats))
        elif isinstance(vec, Concat):
            offset = 0
            for part in vec.parts:
                self.flow(part, f"{g}[..., {offset}:{offset + part.lanes}]", vec)
                offset += part.lanes
        elif isinstance(vec, Elementwise):
            self.backward_elementwise(vec, g)
        elif isinstance(vec, MatMul):
            right = self.text(vec.right)
            if isinstance(vec.left, Vec):
                self.flow(vec.left, f"{g} @ {right}.T", vec)
            if isinstance(vec.right, Vec) and id(vec.right) in self.active:
                left = self.text(vec.left)
                product = f"{left}.T @ {g}" if vec.per_sample else f"outer({left}, {g})"
                self.flows[id(vec.right)].append((None, product, False))
        elif isinstance(vec, LaneSum):
            self.flow(vec.source, f"spread({g}, {vec.source.name})", vec.source)
        elif isinstance(vec, Sum):
            for scale, term in vec.terms:
                self.flow(term, _scaled(scale, g, self), vec)
        else:
            assert isinstance(vec, (Input, Params))

    def backward_read(self, vec: ParamRead, g: str) -> None:
        block = _block(vec.index, self.size)
        added = f"{g}.T" if block is not None and block.transposed else g  # in P's layout
        if block is not None and self.backend.in_place:
            # The part is written inside G[...]: the block's subscript without its brackets.
            part = block.text(written=True)[1:-1]
            self.flows[id(self.packed.params)].append((part, added, False))
            return
        if block is not None and block.cols == block.stride:
            # A whole slice of P: JAX adds into a slice far faster than it scatters.
            stop = block.start + block.rows * block.stride
            part = f"{block.start}:{stop}"
            self.flows[id(self.packed.params)].append((part, f"{added}.reshape(-1)", False))
            return
        # An index read (or a strided block, on JAX): add by the matrix of indices.
        index = self.constant(np.maximum(vec.index, 0), "I")
        if not (vec.index >= 0).all():
            g = f"{g} * {self.constant((vec.index >= 0).astype(np.float64), 'M')}"
        repeats = len(np.unique(vec.index)) != vec.index.size or not (vec.index >= 0).all()
        self.flows[id(self.packed.params)].append((index, g, repeats))

    def backward_elementwise(self, vec: Elementwise, g: str) -> None:
        operands = [self.expression(x) for x in vec.arguments]
        try:
            partials = vec.op.partials(*operands, CodeExpr(vec.name))
        except ArithmeticError:  # a rule divides by a constant 0: numpy floats give inf
            with np.errstate(all="ignore"):
                wide = [np.float64(x) if isinstance(x, float) else x for x in operands]
                partials = vec.op.partials(*wide, CodeExpr(vec.name))
        # An operand used twice (P * P) gets one flow: its partials added, as for w * w.
        combined: dict[int, tuple[Vec, Any]] = {}
        for x, partial in zip(vec.arguments, partials, strict=True):
            if isinstance(x, Vec):
                earlier = combined.get(id(x))
                combined[id(x)] = (x, partial if earlier is None else earlier[1] + partial)
        for x, partial in combined.values():
            if isinstance(partial, CodeExpr):
                self.flow(x, (partial * CodeExpr(g)).text, vec)
            elif float(partial) != 0.0:
                self.flow(x, _scaled(float(partial), g, self), vec)


def _scaled(scale: float | Constant, g: str, writer: _Writer) -> str:
    if isinstance(scale, Constant):
        return f"{writer.text(scale)} * {g}"
    if scale == 1.0:
        return g
    if scale == -1.0:
        return f"-{g}"
    return (CodeExpr(number_text(scale)) * CodeExpr(g)).text if scale >= 0 else f"({scale!r}) * {g}"


def _tree_text(tree: Any) -> str:
    if isinstance(tree, list):
        return f"[{', '.join(_tree_text(item) for item in tree)}]"
    if isinstance(tree, tuple):
        items = [_tree_text(item) for item in tree]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return str(tree)
