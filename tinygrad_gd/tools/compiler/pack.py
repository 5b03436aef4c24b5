"""The packing pass: the scalar ops of a trace grouped into array ops.

A network written one ``Value`` at a time traces into thousands of scalar
ops, but most of them are copies of each other: the k neurons of a layer
each compute ``Σ w_ji·a_i + b_j`` over the same inputs, then the same
activation. This pass finds those copies on the traced graph alone (it knows
nothing of ``nn``, so plain loops over Values pack too) and turns each group
into one array op:

1. every node is classified: a constant, a parameter (one of ``wrt``), a
   per-sample value (it depends on an argument), or uniform (parameters and
   constants only, the same for every sample, such as an L2 penalty);
2. each tree of single-use additions and subtractions (through negation and
   scaling by constants) becomes one n-ary sum; a term ``parameter · x`` is a
   weighted term;
3. nodes are levelled (each as soon as its inputs are ready) and, level by
   level, isomorphic ones are grouped: a group of neuron sums becomes
   ``A @ W + b`` with ``W`` read from the flat parameter vector, an
   elementwise group one op over shape ``(n, k)``.

The result is a small program of :class:`Vec` nodes, which
:mod:`tinygrad_gd.tools.compiler.packwrite` writes out as forward and reverse code.

>>> from tinygrad_gd import Value
>>> w = [Value(0.5), Value(-1.0)]
>>> packed = pack(lambda x: (w[0] * x[0] + w[1] * x[1]).tanh(), [2], w)
>>> [type(v).__name__ for v in packed.program]
['ParamRead', 'MatMul', 'Elementwise']
>>> packed.report()
'packed 4 scalar ops into 3 array ops (1 matmul)'
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_gd.core.ops import ADD, MUL, NEG, SUB, Op, is_custom, is_row
from tinygrad_gd.core.value import Value, reverse_topological_order
from tinygrad_gd.tools.compiler.write import map_tree, run_traced, tree_leaves

__all__ = [
    "Concat", "Constant", "Elementwise", "Gather", "Input", "LaneSum", "MatMul", "NotPackable",
    "Location", "Packed", "ParamRead", "Params", "Sum", "Vec", "pack",
]  # fmt: skip

# The kinds of a node, ordered: an op's kind is the highest of its operands'.
CONSTANT, PARAMETER, UNIFORM, SAMPLE = 0, 1, 2, 3

# Packing pays when each array op stands for at least this many scalar ops on average.
PAYING_RATIO = 4

# Up to this many plain terms per lane, a sum adds them one array at a time; with
# more, a matrix of coefficients sums them in one matmul.
_FEW_TERMS = 4


# -- the array program ---------------------------------------------------------------------


class NotPackable(ValueError):
    """The trace holds nothing the packed program could compute (say, a constant value)."""


@dataclass(eq=False)
class Vec:
    """An array of ``lanes`` values: shape ``(n, lanes)`` per sample, else ``(lanes,)``."""

    lanes: int
    per_sample: bool
    name: str = field(default="", init=False)

    def operands(self) -> list[Vec]:
        """The Vecs this one reads."""
        return []


@dataclass(eq=False)
class Constant:
    """A number, or an array of numbers bound to a name in the generated code."""

    value: float | np.ndarray[Any, Any]
    name: str = ""


Operand = Vec | Constant


@dataclass(eq=False)
class Input(Vec):
    """Argument ``position`` of the function, one lane per leaf."""

    position: int = 0


@dataclass(eq=False)
class Params(Vec):
    """The flat parameter vector P, in the order of ``wrt``."""


@dataclass(eq=False)
class ParamRead(Vec):
    """``W[i, j] = P[index[i, j]]`` (0 where index is -1): a matrix, or a row of lanes."""

    index: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(eq=False)
class Gather(Vec):
    """Some lanes of ``source``, in a given order (repeats allowed)."""

    source: Vec = field(default_factory=lambda: Vec(0, False))
    picked: tuple[int, ...] = ()

    def operands(self) -> list[Vec]:
        return [self.source]


@dataclass(eq=False)
class Concat(Vec):
    """The lanes of several Vecs side by side."""

    parts: list[Vec] = field(default_factory=list)

    def operands(self) -> list[Vec]:
        return list(self.parts)


@dataclass(eq=False)
class Elementwise(Vec):
    """One op of the rule table applied lane by lane."""

    op: Op = ADD
    arguments: list[Operand] = field(default_factory=list)

    def operands(self) -> list[Vec]:
        return [a for a in self.arguments if isinstance(a, Vec)]


@dataclass(eq=False)
class MatMul(Vec):
    """``left @ right``: lanes of inputs times a matrix of weights or coefficients."""

    left: Operand = field(default_factory=lambda: Constant(0.0))
    right: Operand = field(default_factory=lambda: Constant(0.0))

    def operands(self) -> list[Vec]:
        return [x for x in (self.left, self.right) if isinstance(x, Vec)]


@dataclass(eq=False)
class LaneSum(Vec):
    """The sum of all lanes of ``source``: one lane."""

    source: Vec = field(default_factory=lambda: Vec(0, False))

    def operands(self) -> list[Vec]:
        return [self.source]


@dataclass(eq=False)
class Sum(Vec):
    """``Σ coefficient · term + constant``, lane by lane (a one-lane term broadcasts)."""

    terms: list[tuple[float | Constant, Vec]] = field(default_factory=list)
    constant: Constant | None = None

    def operands(self) -> list[Vec]:
        return [term for _, term in self.terms]


@dataclass(frozen=True, eq=False)
class Location:
    """Where a scalar node lives: one lane of one Vec."""

    vec: Vec
    lane: int

    def __iter__(self) -> Iterator[Any]:
        return iter((self.vec, self.lane))


@dataclass
class Packed:
    """A packed trace: the array program, where its results live, and what it holds."""

    inputs: list[Input]
    params: Params
    program: list[Vec]  # in the order it runs
    value: Location
    aux: Any  # the aux tree, each leaf a Location or a number
    constants: dict[str, np.ndarray[Any, Any]]
    scalar_ops: int
    counts: Counter[str]
    custom_ops: dict[str, Op]  # registered custom ops the program calls, by name

    def report(self) -> str:
        """One line for users: how many scalar ops became how many array ops."""
        matmuls = self.counts["matmul"]
        return (
            f"packed {self.scalar_ops} scalar ops into {len(self.program)} array ops "
            f"({matmuls} matmul{'s' * (matmuls != 1)})"
        )

    @property
    def pays(self) -> bool:
        """Whether the array program is worth running instead of the scalar one: each
        array op costs a few scalar ops' time, so it must stand for many of them."""
        return self.scalar_ops >= PAYING_RATIO * len(self.program)


# -- tracing -------------------------------------------------------------------------------


def pack(
    f: Callable[..., Any], widths: Sequence[int | None], wrt: Sequence[Value], has_aux: bool = False
) -> Packed:
    """Trace ``f`` on placeholders and pack its graph.

    ``widths`` gives each argument's shape: None for a number per sample,
    ``k`` for a list of k numbers per sample. ``wrt`` are the parameters.

    >>> from tinygrad_gd import Value
    >>> w = [Value(1.0), Value(2.0), Value(3.0)]
    >>> neurons = lambda x, y: ((w[0] * x).tanh() + (w[1] * x).tanh() - y) ** 2
    >>> packed = pack(neurons, [None, None], w)
    >>> # 7 scalar ops; the two neurons share one product and one tanh over 2 lanes, then a
    >>> # sum over the lanes, - y and the square: too few scalar ops per array op to pay
    >>> packed.report(), packed.pays
    ('packed 7 scalar ops into 6 array ops (0 matmuls)', False)
    """
    arguments: list[list[Value]] = []
    placeholders: list[Any] = []
    for width in widths:
        # nan: a value that leaks out of the trace cannot pass for a real one.
        leaves = [Value(math.nan) for _ in range(1 if width is None else width)]
        arguments.append(leaves)
        placeholders.append(leaves[0] if width is None else leaves)
    value, aux = run_traced(f, placeholders, has_aux)
    if not isinstance(value, Value):
        raise NotPackable(f"the value of f is the number {value!r}: nothing to differentiate")
    return _Packer(arguments, list(wrt), value, aux).run()


def _topological_order(outputs: list[Value]) -> list[Value]:
    """Every node the outputs depend on, operands before their users."""
    order: list[Value] = []
    seen: set[Value] = set()
    for output in outputs:
        order.extend(n for n in reversed(reverse_topological_order(output)) if n not in seen)
        seen.update(order)
    return order


def _parts(node: Value) -> tuple[Op | None, Value | None, Value | None]:
    """A node's op and its operands in order (None where it has fewer), as read by
    every reader of the graph: a number operand as a leaf."""
    parents = node.parents
    return node.op, parents[0] if parents else None, parents[1] if len(parents) == 2 else None


def _width(operands: Sequence[Any]) -> int:
    """How many lanes operands broadcast to (a one-lane Vec or a number spans all)."""
    widths = [1]
    for x in operands:
        if isinstance(x, Vec):
            widths.append(x.lanes)
        elif isinstance(x, Constant) and isinstance(x.value, np.ndarray):
            widths.append(x.value.shape[-1])
    return max(widths)


# -- the pass ------------------------------------------------------------------------------


class _Packer:
    def __init__(self, arguments: list[list[Value]], wrt: list[Value], value: Value, aux: Any):
        self.arguments, self.wrt, self.value, self.aux = arguments, wrt, value, aux
        self.outputs = [x for x in tree_leaves((value, aux)) if isinstance(x, Value)]
        self.order = _topological_order(self.outputs)
        self.kind: dict[Value, int] = {}
        self.users: dict[Value, int] = {}  # how many ops (and results) read each node
        self.user: dict[Value, Value] = {}
        self.param_index = {p: i for i, p in enumerate(wrt)}
        self.sums: dict[Value, tuple[list[tuple[int, Value]], list[tuple[float, Value]], float]]
        self.sums = {}
        self.absorbed: set[Value] = set()
        self.location: dict[Value, tuple[Vec, int]] = {}  # a Location, as a plain pair
        self.program: list[Vec] = []
        self.constants: dict[str, np.ndarray[Any, Any]] = {}
        self.counts: Counter[str] = Counter()  # matmuls written
        self.custom_ops: dict[str, Op] = {}
        self._gathers: dict[tuple[int, tuple[int, ...]], Vec] = {}
        self._reads: dict[bytes, ParamRead] = {}
        self.scheduled = 0  # nodes given an array op (not folded into a sum)
        self.rank: dict[int, int] = {}  # a Vec's place in the program, for stable lane orders

    def run(self) -> Packed:
        self.classify()
        self.flatten_sums()
        inputs = [Input(len(leaves), True, position=a) for a, leaves in enumerate(self.arguments)]
        params = Params(len(self.wrt), False)
        params.name = "P"
        self.rank[id(params)] = -1
        for vec in inputs:
            self.rank[id(vec)] = -2 - vec.position
        for vec, argument in zip(inputs, self.arguments, strict=True):
            for lane, leaf in enumerate(argument):
                self.location[leaf] = (vec, lane)
        for lane, parameter in enumerate(self.wrt):
            self.location[parameter] = (params, lane)
        for level in self.levels():
            groups: dict[Any, list[Value]] = defaultdict(list)
            for node in level:
                groups[self.signature(node)].append(node)
            for members in groups.values():
                if members[0] in self.sums:
                    self.pack_sum(members)
                else:
                    self.pack_elementwise(members)
        value = self.where(self.value)
        if isinstance(value, float):
            raise NotPackable("the value of f is a constant: there is nothing to differentiate")
        return Packed(
            inputs=inputs,
            params=params,
            program=self.program,
            value=value,
            aux=None if self.aux is None else map_tree(self.result, self.aux),
            constants=self.constants,
            scalar_ops=len(self.absorbed) + self.scheduled,
            counts=self.counts,
            custom_ops=self.custom_ops,
        )

    def result(self, leaf: Any) -> Location | float:
        return self.where(leaf) if isinstance(leaf, Value) else float(leaf)

    def where(self, node: Value) -> Location | float:
        """The lane holding ``node``, or its number when it is a constant."""
        if self.kind[node] == CONSTANT:
            return float(node.data)
        return Location(*self.location[node])

    # classification and sums

    def classify(self) -> None:
        kind, users, user = self.kind, self.users, self.user
        inputs = {leaf for argument in self.arguments for leaf in argument}
        rows: set[Op] = set()  # ops already checked
        for node in self.order:
            op, a, b = _parts(node)
            if a is None:
                parameter = node in self.param_index
                kind[node] = SAMPLE if node in inputs else PARAMETER if parameter else CONSTANT
                continue
            assert op is not None
            if op not in rows:
                if is_custom(op):
                    self.custom_ops[op.name] = op  # called by its checked name
                elif not is_row(op):
                    raise TypeError(
                        f"packing writes only the rule table's ops (tinygrad_gd.core.ops) and "
                        f"registered custom ops; the op {op.name!r} is neither"
                    )
                rows.add(op)
            users[a] = users.get(a, 0) + 1
            user[a] = node
            highest = kind[a]
            if b is not None:
                users[b] = users.get(b, 0) + 1
                user[b] = node
                if kind[b] > highest:
                    highest = kind[b]
            kind[node] = UNIFORM if highest == PARAMETER else highest
        for output in self.outputs:  # a result is read outside: never folded into a user
            users[output] = users.get(output, 0) + 1

    def flatten_sums(self) -> None:
        kind, users, user = self.kind, self.users, self.user
        summing = {n for n in self.order if n.op in (ADD, SUB) and kind[n] != CONSTANT}
        # A single-use addition feeding another is part of that one's sum.
        interior = {n for n in summing if users.get(n) == 1 and user.get(n) in summing}
        self.absorbed |= interior
        for node in self.order:
            if node in summing and node not in interior:
                self.sums[node] = self.terms(node, interior)

    def terms(
        self, root: Value, interior: set[Value]
    ) -> tuple[list[tuple[int, Value]], list[tuple[float, Value]], float]:
        """A sum's weighted terms (parameter index, operand), plain terms and constant."""
        kind, users = self.kind, self.users
        found: list[tuple[float, Value]] = []
        stack, constant = [(root, 1.0)], 0.0
        while stack:
            node, scale = stack.pop()
            op, a, b = _parts(node)
            if kind[node] == CONSTANT:
                constant += scale * node.data
            elif op in (ADD, SUB) and (node is root or node in interior):
                assert a is not None and b is not None
                stack.append((b, -scale if op is SUB else scale))
                stack.append((a, scale))
            elif op is NEG and users.get(node) == 1:
                assert a is not None
                self.absorbed.add(node)
                stack.append((a, -scale))
            elif (
                op is MUL
                and users.get(node) == 1
                and (kind[a] == CONSTANT) != (kind[b] == CONSTANT)  # type: ignore[index]
            ):
                assert a is not None and b is not None
                factor, x = (a, b) if kind[a] == CONSTANT else (b, a)
                self.absorbed.add(node)
                stack.append((x, scale * factor.data))
            else:
                found.append((scale, node))
        weighted: list[tuple[int, Value]] = []
        plain: list[tuple[float, Value]] = []
        weighing: set[Value] = set()  # an operand weighted twice in one sum (w1·x + w2·x)
        for scale, term in found:
            pair = self._weighted(term) if scale == 1.0 else None
            if pair is not None and pair[1] in weighing:
                pair = None  # would need two weights in one cell of W: a plain term instead
            if pair is None:
                plain.append((scale, term))
            else:
                weighted.append(pair)
                weighing.add(pair[1])
                self.absorbed.add(term)
        return weighted, plain, constant

    def _weighted(self, term: Value) -> tuple[int, Value] | None:
        """``parameter · x`` (x not a parameter) used once: (the parameter's index, x)."""
        op, a, b = _parts(term)
        if op is not MUL or self.users.get(term) != 1:
            return None
        assert a is not None and b is not None
        if a in self.param_index and b not in self.param_index:
            return self.param_index[a], b
        if b in self.param_index and a not in self.param_index:
            return self.param_index[b], a
        return None

    def dependencies(self, node: Value) -> list[Value]:
        if node in self.sums:
            weighted, plain, _ = self.sums[node]
            return [x for _, x in weighted] + [t for _, t in plain]
        return list(node.parents)

    def levels(self) -> list[list[Value]]:
        """The scheduled nodes, each at the first level where its operands are ready."""
        level: dict[Value, int] = {}
        buckets: dict[int, list[Value]] = defaultdict(list)
        kind, absorbed, sums = self.kind, self.absorbed, self.sums
        for node in self.order:
            _, a, b = _parts(node)
            if a is None or kind[node] == CONSTANT:
                level[node] = 0
            elif node in absorbed:
                continue
            else:
                if node in sums:
                    deepest = max((level[d] for d in self.dependencies(node)), default=0)
                else:  # (an operand absorbed into a sum is never an operand of anything else)
                    deepest = level[a] if b is None or level[a] >= level[b] else level[b]
                level[node] = deepest + 1
                buckets[deepest + 1].append(node)
        self.scheduled = sum(len(bucket) for bucket in buckets.values())
        return [buckets[i] for i in sorted(buckets)]

    # grouping

    def source(self, node: Value) -> Any:
        """What an operand contributes to a signature: its Vec, or that it is constant."""
        return "constant" if self.kind[node] == CONSTANT else id(self.location[node][0])

    def signature(self, node: Value) -> Any:
        """Equal for nodes that one array op computes together."""
        if node not in self.sums:
            return ("op", node.op, tuple(self.source(p) for p in node.parents))
        weighted, plain, _ = self.sums[node]
        # The same operands weighted (a layer's inputs), plain terms from the same Vecs.
        operands = frozenset(x for _, x in weighted)
        # (Plain terms are never constant: the sum folded those into its constant.)
        per_sample = sorted(id(self.location[t][0]) for _, t in plain if self.kind[t] == SAMPLE)
        uniform = sorted(id(self.location[t][0]) for _, t in plain if self.kind[t] != SAMPLE)
        return ("sum", operands, tuple(per_sample), tuple(uniform))

    def emit(self, vec: Vec) -> Vec:
        self.rank[id(vec)] = len(self.program)
        vec.name = f"v{len(self.program)}"
        self.program.append(vec)
        return vec

    def place(self, members: list[Value], vec: Vec) -> None:
        # One lane for several members: they compute the same (a graph with repeats).
        for lane, member in enumerate(members):
            self.location[member] = (vec, lane if vec.lanes > 1 else 0)

    def order_key(self, node: Value) -> tuple[int, int]:
        vec, lane = self.location[node]
        return (self.rank[id(vec)], lane)

    def constant(self, values: Sequence[float] | np.ndarray[Any, Any]) -> Constant:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1 and (array == array[0]).all() and not np.isnan(array[0]):
            return Constant(float(array[0]))  # one number for every lane
        name = f"C{len(self.constants)}"
        self.constants[name] = array
        return Constant(array, name)

    def gather(self, source: Vec, picked: tuple[int, ...]) -> Vec:
        if len(picked) > 1 and len(set(picked)) == 1:
            picked = picked[:1]  # one lane for every member: it broadcasts
        if picked == tuple(range(source.lanes)):
            return source
        key = (id(source), picked)
        if key not in self._gathers:
            vec = Gather(len(picked), source.per_sample, source=source, picked=picked)
            self._gathers[key] = self.emit(vec)
        return self._gathers[key]

    def vector(self, nodes: list[Value]) -> Vec:
        """The nodes' lanes as one Vec, in the given order."""
        runs: list[tuple[Vec, list[int]]] = []
        for node in nodes:
            vec, lane = self.location[node]
            if not runs or runs[-1][0] is not vec:
                runs.append((vec, []))
            runs[-1][1].append(lane)
        parts = [self.gather(vec, tuple(lanes)) for vec, lanes in runs]
        if len(parts) == 1:
            return parts[0]
        width = sum(part.lanes for part in parts)
        per_sample = any(part.per_sample for part in parts)
        return self.emit(Concat(width, per_sample, parts=parts))

    def operand(self, nodes: list[Value]) -> Operand:
        if self.kind[nodes[0]] == CONSTANT:
            return self.constant([n.data for n in nodes])
        return self.vector(nodes)

    def pack_elementwise(self, members: list[Value]) -> None:
        first = members[0]
        varying = next(i for i, p in enumerate(first.parents) if self.kind[p] != CONSTANT)
        members.sort(key=lambda m: self.order_key(m.parents[varying]))
        arguments = [
            self.operand([m.parents[i] for m in members]) for i in range(len(first.parents))
        ]
        per_sample = any(isinstance(a, Vec) and a.per_sample for a in arguments)
        assert first.op is not None
        vec = Elementwise(_width(arguments), per_sample, op=first.op, arguments=arguments)
        self.place(members, self.emit(vec))

    def pack_sum(self, members: list[Value]) -> None:
        info = [self.sums[m] for m in members]
        if info[0][0]:  # neurons in the order of their first weight: W reads as a view
            order = sorted(range(len(members)), key=lambda j: min(i for i, _ in info[j][0]))
        else:
            order = sorted(range(len(members)), key=lambda j: self._first_term(info[j][1]))
        members = [members[j] for j in order]
        info = [info[j] for j in order]
        terms: list[tuple[float | Constant, Vec]] = []
        if info[0][0]:
            terms += self.weighted_terms([weighted for weighted, _, _ in info])
        for per_sample in (True, False):
            per_member = [
                sorted(
                    ((c, t) for c, t in plain if (self.kind[t] == SAMPLE) == per_sample),
                    key=lambda term: self.order_key(term[1]),
                )
                for _, plain, _ in info
            ]
            terms += self.plain_terms(per_member)
        constants = [c for _, _, c in info]
        constant = None if all(c == 0.0 for c in constants) else self.constant(constants)
        k = len(members)
        if len(terms) == 1 and constant is None and terms[0][0] == 1.0 and terms[0][1].lanes == k:
            vec = terms[0][1]
        else:
            per_sample_sum = any(term.per_sample for _, term in terms)
            width = _width([*(term for _, term in terms), *(c for c, _ in terms), constant])
            vec = self.emit(Sum(width, per_sample_sum, terms=terms, constant=constant))
        self.place(members, vec)

    def _first_term(self, plain: list[tuple[float, Value]]) -> tuple[int, int]:
        return min((self.order_key(t) for _, t in plain), default=(-1, 0))

    def weighted_terms(self, weighted: list[list[tuple[int, Value]]]) -> list[tuple[float, Vec]]:
        """``A @ W``: one matmul for the per-sample operands, one for the uniform ones.

        (A constant times a parameter never gets here: the sum took it as a scaled term.)
        """
        k = len(weighted)
        terms: list[tuple[float, Vec]] = []
        live = sorted({x: None for _, x in weighted[0]}, key=self.order_key)
        for rows in ([x for x in live if self.kind[x] == SAMPLE],
                     [x for x in live if self.kind[x] != SAMPLE]):  # fmt: skip
            if rows:
                row = {x: i for i, x in enumerate(rows)}
                index = self._index(weighted, len(rows), k, row.get)
                left = self.vector(rows)
                terms.append((1.0, self.matmul(left, index, left.per_sample)))
        return terms

    @staticmethod
    def _index(
        weighted: list[list[tuple[int, Value]]], m: int, k: int, row: Callable[[Value], int | None]
    ) -> np.ndarray[Any, Any]:
        index = np.full((m, k), -1, dtype=np.int64)
        for j, member in enumerate(weighted):
            for parameter, x in member:
                i = row(x)
                if i is not None:
                    index[i, j] = parameter
        return index

    def constant_array(self, values: np.ndarray[Any, Any]) -> Constant:
        name = f"C{len(self.constants)}"
        self.constants[name] = np.asarray(values, dtype=np.float64)
        return Constant(self.constants[name], name)

    def read(self, index: np.ndarray[Any, Any]) -> ParamRead:
        key = index.tobytes() + bytes(str(index.shape), "ascii")
        if key not in self._reads:
            vec = ParamRead(index.shape[-1], False, index=index)
            self._reads[key] = self.emit(vec)  # type: ignore[assignment]
        return self._reads[key]

    def matmul(self, left: Vec, index: np.ndarray[Any, Any], per_sample: bool) -> Vec:
        self.counts["matmul"] += 1
        right = self.read(index)
        return self.emit(MatMul(index.shape[1], per_sample, left=left, right=right))

    def plain_terms(self, per_member: list[list[tuple[float, Value]]]) -> list[tuple[Any, Vec]]:
        count = len(per_member[0])
        if count == 0:
            return []
        if count <= _FEW_TERMS and len(per_member) > 1 and all(len(t) == count for t in per_member):
            # One array per position: the q-th term of every member.
            found: list[tuple[Any, Vec]] = []
            for q in range(count):
                x = self.vector([terms[q][1] for terms in per_member])
                scale = np.array([terms[q][0] for terms in per_member])
                same = (scale == scale[0]).all()
                found.append((float(scale[0]) if same else self.constant_array(scale), x))
            return found
        # Many terms: per source Vec, a matrix S of coefficients, S[t, j] the scale of term
        # t in member j (no copy into one array first); all scales equal in one member:
        # a sum over lanes.
        distinct = sorted({t: None for terms in per_member for _, t in terms}, key=self.order_key)
        by_source: dict[int, list[Value]] = defaultdict(list)
        for t in distinct:
            by_source[id(self.location[t][0])].append(t)
        found = []
        for rows in by_source.values():
            row = {t: i for i, t in enumerate(rows)}
            scales = np.zeros((len(rows), len(per_member)))
            for j, terms in enumerate(per_member):
                for c, t in terms:
                    if t in row:
                        scales[row[t], j] += c
            left = self.vector(rows)
            if len(per_member) == 1 and (scales == scales[0, 0]).all():
                summed = (
                    left if left.lanes == 1 else self.emit(LaneSum(1, left.per_sample, source=left))
                )
                found.append((float(scales[0, 0]), summed))
                continue
            self.counts["matmul"] += 1
            right = self.constant_array(scales)
            k = len(per_member)
            found.append((1.0, self.emit(MatMul(k, left.per_sample, left=left, right=right))))
        return found
