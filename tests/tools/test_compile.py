"""The compiler: generated code against the eager engine, hand derivations and the edges.

Every expected gradient here comes from somewhere else than the code under
test: the eager engine (``value_and_grad``, itself checked against central
differences in test_properties), a derivation by hand written out in the
test, or plain arithmetic.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import ROOT, sigmoid
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import Expression, expressions

import tinygrad_gd
import tinygrad_gd.cli
from tinygrad_gd import TracingError, Value, data, grad, nn, optim, value_and_grad
from tinygrad_gd.cli.codegen import run_codegen_command
from tinygrad_gd.cli.options import UsageError
from tinygrad_gd.core.ops import OPS, Op
from tinygrad_gd.tools.compiler import compile
from tinygrad_gd.tools.compiler import load as compiler_load
from tinygrad_gd.tutorial.descent import tutorial_program

# The package's name `compile` is the function; the module is reached by its full name.

VARIABLES = 3


def same(a: float, b: float, rel: float = 1e-12) -> bool:
    """Equal as IEEE results: nan matches nan, inf its own sign, else within ``rel``."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


def tree_function(expression: Expression) -> Any:
    def f(*xs: Any) -> Any:
        return expression.engine(xs)

    return f


# -- compiled equals the eager engine ----------------------------------------------------


@given(expressions(variables=VARIABLES))
def test_compiled_equals_value_and_grad_on_random_trees(expression: Expression) -> None:
    f = tree_function(expression)
    argnums = tuple(range(VARIABLES))
    value, gradient = compile(f, argnums)(*expression.inputs)
    eager_value, eager_gradient = value_and_grad(f, argnums)(*expression.inputs)
    assert same(value, eager_value)
    assert all(same(c, e) for c, e in zip(gradient, eager_gradient, strict=True))


@settings(max_examples=40)
@given(expressions(variables=VARIABLES), st.lists(st.floats(-0.01, 0.01), min_size=4, max_size=4))
def test_batched_equals_eager_per_sample(expression: Expression, offsets: list[float]) -> None:
    f = tree_function(expression)
    argnums = tuple(range(VARIABLES))
    # Sample k moves every input by offsets[k]: still inside each op's domain.
    columns = [np.array([x + d for d in offsets]) for x in expression.inputs]
    values, gradients = compile(f, argnums)(*columns)
    assert values.shape == (len(offsets),)
    for k in range(len(offsets)):
        point = [float(column[k]) for column in columns]
        eager_value, eager_gradient = value_and_grad(f, argnums)(*point)
        assert same(values[k], eager_value, rel=1e-9)
        for column, expected in zip(gradients, eager_gradient, strict=True):
            assert column.shape == (len(offsets),)
            assert same(column[k], expected, rel=1e-9)


@settings(max_examples=25)
@given(expressions(variables=VARIABLES), st.sampled_from(["sum", "mean"]))
def test_reduction_is_the_sum_or_mean_of_the_samples(expression: Expression, how: str) -> None:
    f = tree_function(expression)
    columns = [np.array([x, x + 0.01, x - 0.01]) for x in expression.inputs]
    per_sample = compile(f, (0, 1))(*columns)
    value, (g0, g1) = compile(f, (0, 1), reduce=how)(*columns)
    combine = np.sum if how == "sum" else np.mean
    assert isinstance(value, float) and isinstance(g0, float)
    assert same(value, float(combine(per_sample[0])), rel=1e-12)
    assert same(g0, float(combine(per_sample[1][0])), rel=1e-12)
    assert same(g1, float(combine(per_sample[1][1])), rel=1e-12)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_op_of_the_table_compiles_like_the_eager_engine(op: Op) -> None:
    def f(*operands: Any) -> Any:
        return Value.apply(op, *operands)

    argnums = tuple(range(op.arity))
    compiled = compile(f, argnums)
    points = [-2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.0, 7.5]
    for args in itertools.product(points, repeat=op.arity):
        value, gradient = compiled(*args)
        eager_value, eager_gradient = value_and_grad(f, argnums)(*args)
        assert same(value, eager_value), args
        assert all(same(c, e) for c, e in zip(gradient, eager_gradient, strict=True)), args


@pytest.mark.parametrize(
    ("f", "at"),
    [
        (lambda x: x.log(), 0.0),  # -inf, and 1/0
        (lambda x: x.log(), -1.0),  # nan
        (lambda x: x**0.5, -4.0),  # real powers only: nan, never a complex number
        (lambda x: 2.0**x * x**1.5, -1.0),
        (lambda x: x.exp(), 1000.0),  # inf
        (lambda x: x.sigmoid(), -1000.0),
        (lambda x: x.sigmoid(), 1000.0),
        (lambda x: x / 0.0, 1.0),  # the rule 1/b with b = 0, folded at compile time
        (lambda x: 1.0 / x, 0.0),
        (lambda x: x**-1.0, 0.0),
        (lambda x: (x * 1e200) ** 2, 1e200),  # overflow
        (lambda x: x.sqrt(), 0.0),  # derivative inf
        (lambda x: x**x, -2.0),  # pow with a Value exponent, negative base
        (lambda x: x**x, 0.0),
    ],
)
def test_domain_edges_give_the_eager_engines_ieee_results(f: Any, at: float) -> None:
    value, gradient = compile(f)(at)
    eager_value, eager_gradient = value_and_grad(f)(at)
    assert type(value) is float and type(gradient) is float
    assert same(value, eager_value) and same(gradient, eager_gradient)


def test_domain_edges_in_a_batch_give_the_same_results_silently() -> None:
    f = lambda x: x.log() + x**0.5  # noqa: E731
    values, gradients = compile(f)(np.array([-1.0, 0.0, 4.0]))
    for k, x in enumerate([-1.0, 0.0, 4.0]):
        eager_value, eager_gradient = value_and_grad(f)(x)
        assert same(values[k], eager_value) and same(gradients[k], eager_gradient)


# -- the tutorial's networks, derived by hand -------------------------------------------


def part1_error(w: Any, x: Any, target: Any) -> Any:
    sop = w * x
    sop.label = "sop"
    predicted = sop.sigmoid()
    predicted.label = "predicted"
    error = (predicted - target) ** 2
    error.label = "error"
    return error


def golden_listing(after: str) -> str:
    """The listing docs/compile.md prints after the line ``after``: the one golden text."""
    lines = (ROOT / "docs" / "compile.md").read_text().splitlines()
    start = lines.index(after) + 1
    return "\n".join(lines[start : lines.index("", start)])


def test_part1_source_reads_like_the_tutorials_chain() -> None:
    source = compile(part1_error).source.replace("part1_error", "error")
    assert source == golden_listing(">>> print(error_and_grad.source)")
    assert "grad_sop = predicted * (1 - predicted) * grad_predicted" in source  # g2 by hand


def test_a_statement_using_both_operands_is_named_once_in_the_comment() -> None:
    lines = compile(lambda w, v: w * w + w * v, argnums=(0, 1)).source.splitlines()
    (grad_w,) = [line for line in lines if line.lstrip().startswith("grad_w =")]
    # w feeds t0 = w * w (both operands) and t1 = w * v: two statements, each named once.
    assert grad_w.endswith("# from t1 = w * v, t0 = w * w")


def test_codegen_names_an_unknown_example_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = argparse.Namespace(part=1, example="part-9", loop=False)
    with pytest.raises(UsageError, match="example must be one of part-1, .* got 'part-9'"):
        run_codegen_command(args)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("w", "x", "target"), [(0.5, 0.1, 0.3), (-2.0, 3.0, 0.9), (4.0, -1.5, 0.0)]
)
def test_part1_gradient_is_the_hand_derived_product_of_g_factors(
    w: float, x: float, target: float
) -> None:
    predicted = sigmoid(w * x)
    g1 = 2 * (predicted - target)  # dE/dpredicted
    g2 = predicted * (1 - predicted)  # dpredicted/dsop
    g3 = x  # dsop/dw
    value, gradient = compile(part1_error)(w, x, target)
    assert value == pytest.approx((predicted - target) ** 2, rel=1e-12)
    assert gradient == pytest.approx(g3 * g2 * g1, rel=1e-12)


def test_part1_published_example_gradient() -> None:
    # The tutorial's example (x = 0.1, target = 0.3, w = 0.5): dE/dw = 0.0106182320.
    assert compile(part1_error)(0.5, 0.1, 0.3)[1] == pytest.approx(0.0106182320, abs=1e-10)


def hidden_layer_error(w_hidden: Any, w_output: Any, x: Any, target: Any) -> Any:
    hidden = [
        sum((xz * row[y] for xz, row in zip(x, w_hidden, strict=True)), 0.0).sigmoid()
        for y in range(len(w_output))
    ]
    sop = sum((h * v for h, v in zip(hidden, w_output, strict=True)), 0.0)
    return (sop.sigmoid() - target) ** 2


@pytest.mark.parametrize("width", [2, 5])
def test_hidden_layer_gradients_are_the_hand_derived_ones(width: int) -> None:
    rng = np.random.default_rng(width)
    x, target = [0.1, 0.4, 4.1], 0.2
    w_hidden = rng.random((3, width)).tolist()
    w_output = rng.random(width).tolist()
    # By hand, as parts 3-4 derive it: the output neuron's g-factors, then through
    # each hidden neuron with the output weights from before any update.
    sop_hidden = np.array(x) @ np.array(w_hidden)
    hidden = 1 / (1 + np.exp(-sop_hidden))
    predicted = sigmoid(float(hidden @ np.array(w_output)))
    g_out = 2 * (predicted - target) * predicted * (1 - predicted)
    expected_output = g_out * hidden
    g_hidden = g_out * np.array(w_output) * hidden * (1 - hidden)
    expected_hidden = np.outer(x, g_hidden)

    compiled = compile(hidden_layer_error, argnums=(0, 1))
    value, (grad_hidden, grad_output) = compiled(w_hidden, w_output, x, target)
    assert value == pytest.approx((predicted - target) ** 2, rel=1e-12)
    assert isinstance(grad_hidden, list) and isinstance(grad_hidden[0], list)
    np.testing.assert_allclose(np.array(grad_hidden), expected_hidden, rtol=1e-11)
    np.testing.assert_allclose(np.array(grad_output), expected_output, rtol=1e-11)


def test_tutorial_networks_from_the_tutorial_module_compile_with_wrt() -> None:
    from tinygrad_gd.tutorial.examples import PART3
    from tinygrad_gd.tutorial.graphs import build_hidden_layer
    from tinygrad_gd.tutorial.steps import hidden_layer_gradients

    w_hidden, w_output = np.full((3, 2), 0.5), np.array([0.25, 0.75])
    graph = build_hidden_layer(PART3.x, w_hidden, w_output, PART3.target)

    def error() -> Value:
        return build_hidden_layer(
            PART3.x, graph.hidden_weights, graph.output_weights, PART3.target
        ).error

    compiled = compile(error, wrt=graph.weights)
    _, gradient = compiled()
    manual = hidden_layer_gradients(PART3.x, w_hidden, w_output, PART3.target)
    np.testing.assert_allclose(gradient, np.concatenate([m.ravel() for m in manual]), rtol=1e-11)
    # The tutorial's labels name the generated variables.
    for line in ("sop1 = t2 + t3  # add", "h1 = sigmoid(sop1)", "grad_v1 = h1 * grad_sop"):
        assert line in compiled.source


# -- tracing is honest ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x if x > 0 else -x,
        lambda x: x * 2 if x else x,
        lambda x: Value(float(x)),
        lambda x: max(x, 0.0),
        lambda x: math.exp(x),
    ],
)
def test_a_branch_or_read_of_a_traced_value_raises_a_tracing_error(f: Any) -> None:
    compiled = compile(f)
    with pytest.raises(TracingError, match="being traced"):
        compiled(1.0)
    # Nothing was kept: the next call traces again and fails the same way.
    with pytest.raises(TracingError):
        compiled(1.0)


def test_data_read_while_tracing_is_nan_as_documented() -> None:
    # .data is a plain slot, not guarded: docs/compile.md says a traced value holds nan.
    seen: list[float] = []
    compiled = compile(lambda x: (seen.append((x * 2.0).data), x * 2.0)[1])
    assert compiled(3.0) == (6.0, 2.0)
    assert len(seen) == 1 and math.isnan(seen[0])


def test_branch_free_forms_compile() -> None:
    absolute = compile(lambda x: x.relu() + (-x).relu())
    assert absolute(-3.0) == (3.0, -1.0)
    assert absolute(2.0) == (2.0, 1.0)


def test_arguments_not_differentiated_are_traced_too() -> None:
    compiled = compile(lambda w, x: w * x)
    assert compiled(2.0, 3.0) == (6.0, 3.0)
    assert compiled(2.0, 5.0) == (10.0, 5.0)  # x is a variable of the program, not 3.0


def test_values_read_from_outside_are_constants_of_the_trace() -> None:
    scale = Value(3.0)
    compiled = compile(lambda x: x * scale)
    assert compiled(2.0) == (6.0, 3.0)
    scale.data = 10.0  # fixed at trace time, as in jax.jit; wrt makes it a variable
    assert compiled(2.0) == (6.0, 3.0)


# -- the generated source --------------------------------------------------------------


def names_in(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def test_source_is_python_and_holds_only_generated_names() -> None:
    def f(w: Any, x: Any) -> Any:
        a = (w * x).tanh()
        a.label = "__import__('os').system('echo owned')"
        b = a.exp()
        b.label = "exp"  # an op's name: would shadow the function
        c = b + w
        c.label = "grad_w"  # would clash with an adjoint
        d = c * a
        d.label = "x"  # taken by the argument
        return d

    compiled = compile(f, argnums=(0, 1))
    source = compiled.source
    ast.parse(source)
    assert "__import__" not in source and "os" not in names_in(source)
    allowed = {op.name for op in OPS} | {"inf", "nan"}
    tree = ast.parse(source)
    assigned = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    parameters = {arg.arg for arg in ast.walk(tree) if isinstance(arg, ast.arg)}
    assert names_in(source) <= assigned | parameters | allowed
    assert "x_2 = " in source  # the label x, made unique
    value, gradient = compiled(0.3, 0.7)
    assert (value, gradient) == value_and_grad(f, (0, 1))(0.3, 0.7)


def test_an_op_made_outside_the_rule_table_is_refused(tmp_path: Any) -> None:
    witness = tmp_path / "written"
    injected = f"open({str(witness)!r}, 'w')"  # what the notation would run, were it written
    mine = Op("mine\n    x = 42.0", 1, abs, abs, lambda a, out: (1.0,), injected + " or {0}")
    assert value_and_grad(lambda x: Value.apply(mine, x) * 2.0)(-1.5) == (3.0, 2.0)  # eager: fine
    compiled = compile(lambda x: Value.apply(mine, x) * 2.0)
    with pytest.raises(TypeError, match=re.escape("the op 'mine\\n    x = 42.0' is not one")):
        compiled(-1.5)
    assert not witness.exists()
    assert compile(lambda x: x ** 3.0)(2.0) == (8.0, 12.0)  # power rows are rows


def test_generated_code_runs_without_builtins() -> None:
    compiled = compile(lambda x: (x * x).exp())
    compiled(1.0)
    function = next(iter(compiled._programs.values())).value_and_grad
    assert function.scalar.__globals__["__builtins__"] == {}
    assert function.array.__globals__["__builtins__"] == {}


def test_constants_are_folded_and_identities_left_out() -> None:
    compiled = compile(lambda x: x * (2.0 * 3.0) - 0.0 + (Value(4.0) ** 0.5) * 1.0)
    source = compiled.source
    assert "x * 6" in source and "- 0" not in source and "* 1" not in source
    assert compiled(1.5) == (1.5 * 6 + 2.0, 6.0)


@pytest.mark.parametrize(
    ("f", "kept"),
    [
        (lambda t: 1 / (t + 0.0), True),  # -0.0 + 0.0 is +0.0: not an identity
        (lambda t: 1 / (0.0 + t), True),
        (lambda t: 1 / (t + -0.0), False),  # x + (-0.0) is x for every x, -0.0 too
        (lambda t: 1 / (t - 0.0), False),  # -0.0 - 0.0 is -0.0
        (lambda t: 1 / (t - -0.0), True),
    ],
)
def test_a_zero_is_left_out_only_where_it_keeps_the_sign_of_zero(
    f: Callable[[Any], Any], kept: bool
) -> None:
    compiled = compile(f)
    forward = compiled.source.split("# reverse")[0]
    assert ("# add" in forward or "# sub" in forward) is kept
    for t in (-0.0, 0.0, 2.0):
        eager = f(Value(t)).data  # 1 / ±0.0 is ±inf: the sign of the zero shows
        assert compiled(t)[0] == eager
        assert math.copysign(1.0, compiled(t)[0]) == math.copysign(1.0, eager)


def test_a_fractional_power_of_minus_inf_on_arrays_is_the_eager_result() -> None:
    # math.pow(-inf, 0.5) is inf; numpy's ** takes a square root there and says nan.
    compiled = compile(lambda t: t ** 0.5)
    values, _ = compiled(np.array([-math.inf, 4.0, -1.0]))
    assert values[0] == math.inf and values[1] == 2.0 and math.isnan(values[2])
    assert compiled(-math.inf)[0] == (Value(-math.inf) ** 0.5).data == math.inf


@pytest.mark.parametrize("learning_rate", [math.nan, math.inf, -0.5, 0.0])
def test_descend_refuses_a_learning_rate_sgd_refuses(learning_rate: float) -> None:
    compiled = compile(lambda x: x * x)
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
        compiled.descend(1.0, learning_rate=learning_rate, steps=1)


def test_a_value_used_by_thousands_of_ops_compiles_its_long_sum_in_pieces() -> None:
    # d/dx Σ_i exp(i·x) at 0 is Σ_i i; one 4,000-term expression was too deep for Python.
    def f(x: Any) -> Any:
        return sum((x * float(i)).exp() for i in range(4000))

    compiled = compile(f)
    assert compiled(0.0) == (4000.0, sum(range(4000)))
    values, gradients = compiled(np.array([0.0, 1e-4]))
    eager = [value_and_grad(f)(x) for x in (0.0, 1e-4)]
    assert values.tolist() == pytest.approx([v for v, _ in eager], rel=1e-12)
    assert gradients.tolist() == pytest.approx([g for _, g in eager], rel=1e-12)
    assert "grad__0 = " in compiled.source  # the first 100 flows, on a line of their own


def test_an_argument_nested_too_deep_is_a_type_error_not_a_recursion_error() -> None:
    deep: Any = 1.0
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(TypeError, match=r"argument 0\[0\].* nests lists or tuples more than 100"):
        compile(lambda xs: xs[0])(deep)


def code_of(source: str) -> str:
    """The source without its comments."""
    return "\n".join(line.split("#")[0] for line in source.splitlines())


def test_sigmoid_is_computed_once_and_reused_backward() -> None:
    code = code_of(compile(lambda w: (w * 2.0).sigmoid() * 3.0).source)
    assert code.count("sigmoid(") == 1
    assert "t1 * (1 - t1)" in code


def test_dead_code_is_left_out() -> None:
    def f(w: Any, x: Any) -> Any:
        (w * 100.0).exp()  # computed and dropped
        return w * x

    source = compile(f).source
    assert "exp" not in source and "100" not in source
    # x is not differentiated: no adjoint of its own.
    assert "grad_x" not in source


def test_the_rules_are_read_from_the_table() -> None:
    source = compile(lambda x: x.tanh() + x.relu() + x.exp(), argnums=0).source
    assert "1 - t0 * t0" in source  # tanh' = 1 - tanh²
    assert "step(x)" in source  # relu' = step
    # Summed as the eager engine sums: the latest use first.
    assert "grad_x = t3 + step(x) + (1 - t0 * t0)" in source  # exp' = exp, t3 = exp(x)


def test_source_before_any_call_traces_one_number_per_parameter() -> None:
    compiled = compile(lambda a, b=2.0: a * b)
    assert compiled.source.startswith("def value_and_grad_f(a):")


def test_source_before_any_call_names_what_to_do_when_that_fails() -> None:
    compiled = compile(lambda w: sum(w[i] for i in range(2)))
    with pytest.raises(TypeError, match="call the compiled function once"):
        compiled.source  # noqa: B018
    compiled([1.0, 2.0])
    assert "[w_0, w_1] = w" in compiled.source


def test_output_is_deterministic() -> None:
    sources = set()
    for _ in range(3):
        compiled = compile(hidden_layer_error, (0, 1))
        compiled([[0.1, 0.2], [0.3, 0.4]], [0.5, 0.6], [1.0, 2.0], 0.3)
        sources.add(compiled.source)
    assert len(sources) == 1


# -- arguments, results and errors ---------------------------------------------------------


def test_argnums_picks_like_value_and_grad() -> None:
    f = lambda a, b, c: a * b * c  # noqa: E731
    assert compile(f)(2.0, 3.0, 4.0) == (24.0, 12.0)
    assert compile(f, argnums=(2, 0))(2.0, 3.0, 4.0) == (24.0, (6.0, 12.0))
    assert compile(f, argnums=-1)(2.0, 3.0, 4.0) == (24.0, 6.0)
    assert compile(f, argnums=(1,))(2.0, 3.0, 4.0) == (24.0, (8.0,))
    assert compile(f, argnums=np.int64(1))(2.0, 3.0, 4.0) == (24.0, 8.0)
    assert compile(f, argnums=[np.int64(2), 0])(2.0, 3.0, 4.0) == (24.0, (6.0, 12.0))


def test_numbers_of_every_kind_give_floats() -> None:
    compiled = compile(lambda w, x: w * x)
    for args in [
        (2, 3),
        (np.float32(2.0), np.int64(3)),
        (np.float64(2.0), 3),
        (np.array(2.0), 3.0),
    ]:
        value, gradient = compiled(*args)
        assert (value, gradient) == (6.0, 3.0) and type(value) is float and type(gradient) is float


def test_a_gradient_that_is_an_input_array_is_a_copy() -> None:
    x = np.array([1.0, 2.0])
    _, gradient = compile(lambda w, x: w * x)(3.0, x)
    gradient[0] = 100.0
    assert x[0] == 1.0


def test_constant_gradients_are_broadcast_over_the_samples() -> None:
    values, (gw, gb) = compile(lambda w, b, x: w * x + b, argnums=(0, 1))(
        2.0, 1.0, np.array([1.0, 2.0, 3.0])
    )
    np.testing.assert_array_equal(values, [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(gb, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gw, [1.0, 2.0, 3.0])
    total, (sw, sb) = compile(lambda w, b, x: w * x + b, argnums=(0, 1), reduce="sum")(
        2.0, 1.0, np.array([1.0, 2.0, 3.0])
    )
    assert (total, sw, sb) == (15.0, 6.0, 3.0)


def test_wrt_differentiates_existing_values_and_reads_their_current_data() -> None:
    w, b = Value(0.5, label="w"), Value(-0.25, label="b")
    compiled = compile(lambda x: (w * x + b).tanh(), wrt=[w, b])

    def expected(x: float) -> tuple[float, list[float]]:
        y = math.tanh(w.data * x + b.data)
        return y, [x * (1 - y * y), 1 - y * y]

    for w.data in (0.5, -1.5):
        value, gradient = compiled(2.0)
        expected_value, expected_gradient = expected(2.0)
        assert value == pytest.approx(expected_value, rel=1e-12)
        assert gradient == pytest.approx(expected_gradient, rel=1e-12)
    assert "[w, b] = parameters" in compiled.source
    assert w.grad == 0.0 and b.grad == 0.0  # gradients are returned, not accumulated


def test_has_aux_returns_the_auxiliary_outputs_per_sample() -> None:
    def f(w: Any, x: Any) -> tuple[Any, Any]:
        output = w * x
        return (output - 1.0) ** 2, [output, 7.0]

    compiled = compile(f, has_aux=True)
    assert compiled(2.0, 3.0) == ((25.0, [6.0, 7.0]), 30.0)
    (value, aux), gradient = compile(f, has_aux=True, reduce="mean")(2.0, np.array([0.0, 1.0]))
    assert value == 1.0 and gradient == 1.0
    np.testing.assert_array_equal(aux[0], [0.0, 2.0])
    np.testing.assert_array_equal(aux[1], [7.0, 7.0])


def test_values_as_arguments_run_the_eager_engine_so_grad_nests() -> None:
    compiled = compile(lambda x: x**3)
    assert grad(lambda x: compiled(x)[1])(2.0) == 12.0  # d/dx 3x² = 6x


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("a", 1.0), TypeError, "argument 0 must be a number"),
        ((1.0, [1.0, None]), TypeError, r"argument 1\[1\] must be a number"),
        ((np.ones((2, 2)), 1.0), ValueError, r"shape \(2, 2\)"),
        ((np.array([]), 1.0), ValueError, "shape"),
        ((np.ones(3), np.ones(2)), ValueError, "holds 2 samples but an earlier argument holds 3"),
        ((np.array(["a"]), 1.0), TypeError, "argument 0"),
        ((1.0 + 2j, 1.0), TypeError, "complex"),
    ],
)
def test_bad_arguments_are_named_and_change_nothing(
    args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    compiled = compile(lambda w, x: w * x)
    with pytest.raises(error, match=message):
        compiled(*args)
    assert compiled._programs == {}
    assert compiled(2.0, 3.0) == (6.0, 3.0)


def test_a_call_with_the_wrong_number_of_arguments_fails_like_the_function() -> None:
    compiled = compile(lambda w, x: w * x)
    compiled(1.0, 2.0)
    with pytest.raises(TypeError):
        compiled(1.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"argnums": 0, "wrt": []}, TypeError, "not both"),
        ({"argnums": "0"}, TypeError, "argnums"),
        ({"argnums": (0, 0)}, ValueError, "repeated"),
        ({"reduce": "max"}, ValueError, "reduce must be"),
        ({"has_aux": 1}, TypeError, "has_aux"),
        ({"wrt": [1.0]}, TypeError, r"wrt\[0\] must be a Value"),
        ({"wrt": [Value(1.0) * 2]}, ValueError, "leaf"),
    ],
)
def test_bad_options_are_named(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        compile(lambda w: w, **kwargs)


def test_the_same_value_twice_in_wrt_is_an_error() -> None:
    w = Value(1.0)
    with pytest.raises(ValueError, match="twice"):
        compile(lambda: w, wrt=[w, w])


def test_bad_results_of_the_function_are_named() -> None:
    with pytest.raises(TypeError, match="must return a scalar Value or a number"):
        compile(lambda w: [w])(1.0)
    with pytest.raises(TypeError, match="pair"):
        compile(lambda w: w, has_aux=True)(1.0)
    with pytest.raises(TypeError, match="aux of <lambda> must hold Values or numbers"):
        compile(lambda w: (w, [w, "label"]), has_aux=True)(1.0)
    with pytest.raises(ValueError, match="argnums 3 is out of range"):
        compile(lambda w: w, argnums=3)(1.0)
    with pytest.raises(TypeError, match="compile needs a function"):
        compile(3.0)  # type: ignore[arg-type]


def test_constant_and_identity_functions() -> None:
    assert compile(lambda x: 3.0)(2.0) == (3.0, 0.0)
    assert compile(lambda x: x)(2.0) == (2.0, 1.0)
    assert compile(lambda x, y: y, argnums=(0, 1))(2.0, 5.0) == (5.0, (0.0, 1.0))
    values, gradient = compile(lambda x: 3.0)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(values, [3.0, 3.0])
    np.testing.assert_array_equal(gradient, [0.0, 0.0])


# -- descend: the training loop, generated ---------------------------------------------------


def test_descend_equals_the_eager_gradient_descent_loop() -> None:
    f = part1_error
    w = 0.5
    step = value_and_grad(f)
    for _ in range(500):
        w = w - 0.5 * step(w, 0.1, 0.3)[1]
    assert compile(f).descend(0.5, 0.1, 0.3, learning_rate=0.5, steps=500) == w


def test_descend_updates_lists_and_tuples_of_arguments() -> None:
    compiled = compile(hidden_layer_error, argnums=(0, 1))
    w_hidden, w_output, x, target = [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.6], [1.0, 2.0], 0.3
    expected_hidden, expected_output = w_hidden, w_output
    for _ in range(20):
        _, (gh, go) = compiled(expected_hidden, expected_output, x, target)
        expected_hidden = [
            [w - 0.1 * g for w, g in zip(row, grow, strict=True)]
            for row, grow in zip(expected_hidden, gh, strict=True)
        ]
        expected_output = [w - 0.1 * g for w, g in zip(expected_output, go, strict=True)]
    result = compiled.descend(w_hidden, w_output, x, target, learning_rate=0.1, steps=20)
    assert result == (expected_hidden, expected_output)


def test_descend_source_hoists_what_does_not_change_and_drops_the_value() -> None:
    def f(w: Any, x: Any, target: Any) -> Any:
        scaled = x * 2.0  # does not depend on w: computed once, before the loop
        return ((w * scaled).sigmoid() - target) ** 2

    compiled = compile(f)
    before, loop = code_of(compiled.descend_source).split("for _ in range(steps):")
    assert "x * 2" in before and "x * 2" not in loop
    assert "** 2" not in loop  # the error itself is not needed to descend
    assert "w = w - learning_rate * grad_w" in loop


def test_descend_with_wrt_updates_the_values_in_place() -> None:
    w, b = Value(0.5, label="w"), Value(0.0, label="b")
    compiled = compile(lambda x, y: (w * x + b - y) ** 2, wrt=[w, b])
    expected_w, expected_b = 0.5, 0.0
    for _ in range(30):  # by hand: d/dw = 2 r x, d/db = 2 r with r = w x + b - y
        r = expected_w * 2.0 + expected_b - 1.0
        expected_w, expected_b = expected_w - 0.05 * 2 * r * 2.0, expected_b - 0.05 * 2 * r
    assert compiled.descend(2.0, 1.0, learning_rate=0.05, steps=30) is None
    assert w.data == pytest.approx(expected_w, rel=1e-12)
    assert b.data == pytest.approx(expected_b, rel=1e-12)


def test_descend_at_an_edge_gives_ieee_results() -> None:
    assert math.isnan(compile(lambda w: w**0.5).descend(-1.0, learning_rate=0.1, steps=2))


def test_descend_refuses_what_it_cannot_do() -> None:
    compiled = compile(lambda w, x: w * x)
    with pytest.raises(TypeError, match="numbers"):
        compiled.descend(1.0, np.ones(3), learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match="steps"):
        compiled.descend(1.0, 2.0, learning_rate=0.1, steps=-1)
    with pytest.raises(TypeError, match="learning_rate"):
        compiled.descend(1.0, 2.0, learning_rate="0.1", steps=1)  # type: ignore[arg-type]


# -- large programs run in pieces --------------------------------------------------------------


def test_a_long_program_runs_in_pieces_with_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def chain(x: Any, c: Any) -> Any:
        for _ in range(60):
            x = (x * c).tanh() + x**0.5
        return x

    whole = compile(chain, (0, 1))
    expected = whole(0.7, 1.1)
    expected_batch = whole(np.array([0.7, 0.8]), 1.1)
    expected_descent = whole.descend(0.7, 1.1, learning_rate=0.01, steps=3)
    monkeypatch.setattr(compiler_load, "_LARGEST_FUNCTION", 50)
    monkeypatch.setattr(compiler_load, "_PIECE", 40)
    pieces = compile(chain, (0, 1))
    assert pieces(0.7, 1.1) == expected
    batch = pieces(np.array([0.7, 0.8]), 1.1)
    np.testing.assert_array_equal(batch[0], expected_batch[0])
    np.testing.assert_array_equal(batch[1][0], expected_batch[1][0])
    assert pieces.descend(0.7, 1.1, learning_rate=0.01, steps=3) == expected_descent
    assert math.isnan(pieces(-1.0, 1.1)[0])  # the IEEE fallback, in pieces too


def test_compile_is_exported() -> None:
    assert tinygrad_gd.compile is compile
    assert "compile" in tinygrad_gd.__all__


# -- tinygrad-gd codegen -----------------------------------------------------------------------


def run_printed(source: str, weights: list[float]) -> tuple[float, list[float]]:
    """Run generated source as a reader would: pasted, with their own sigmoid."""
    namespace: dict[str, Any] = {"sigmoid": sigmoid}
    exec(source, namespace)
    function = next(v for k, v in namespace.items() if k.startswith("value_and_grad_"))
    return function(weights)  # type: ignore[no-any-return]


def test_codegen_prints_the_part1_chain_and_its_code_gives_the_hand_gradient(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tinygrad_gd.cli.main(["codegen", "--part", "1", "--function-only"]) == 0
    printed = capsys.readouterr().out
    header, source = printed.split("\n", 1)
    assert header == "# part 1: x = [0.1], target = 0.3"
    for line in (
        "sop = x * w",
        "predicted = sigmoid(sop)",
        "error = t0 ** 2",
        "grad_sop = predicted * (1 - predicted) * grad_predicted",
        "grad_w = x * grad_sop",
    ):
        assert line in source
    error, (gradient,) = run_printed(source, [0.5])
    predicted = sigmoid(0.5 * 0.1)
    assert error == pytest.approx((predicted - 0.3) ** 2, rel=1e-14)
    assert gradient == pytest.approx(2 * (predicted - 0.3) * predicted * (1 - predicted) * 0.1)


@pytest.mark.parametrize("part", [3, 4])
def test_codegen_hidden_layer_code_gives_the_hand_gradient(
    part: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tinygrad_gd.cli.main(["codegen", "--part", str(part), "--function-only"]) == 0
    source = capsys.readouterr().out.split("\n", 1)[1]
    width = 2 if part == 3 else 5
    x, target = np.array([0.1, 0.4, 4.1]), 0.2
    rng = np.random.default_rng(part)
    w_hidden, w_output = rng.random((3, width)), rng.random(width)
    _, gradient = run_printed(source, [*w_hidden.ravel(), *w_output])
    hidden = 1 / (1 + np.exp(-(x @ w_hidden)))
    predicted = sigmoid(float(hidden @ w_output))
    g_out = 2 * (predicted - target) * predicted * (1 - predicted)
    expected_hidden = np.outer(x, g_out * w_output * hidden * (1 - hidden))
    expected = [*expected_hidden.ravel(), *(g_out * hidden)]
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)


def test_codegen_loop_and_examples_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert tinygrad_gd.cli.main(["codegen", "--example", "part-2-10-inputs", "--loop"]) == 0
    printed = capsys.readouterr().out
    assert "x10 = 1.6  # constant" in printed
    assert "def descend_error(parameters, learning_rate, steps):" in printed
    assert "w10 = w10 - learning_rate * grad_w10" in printed


def run_codegen_program(folder: Path, *argv: str) -> list[str]:
    """Print the program as a user would, save it, and run it alone: its output lines."""
    printed = subprocess.run(
        [sys.executable, "-m", "tinygrad_gd", "codegen", *argv],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    program = folder / "program.py"
    program.write_text(printed)
    ran = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, check=False,
        cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.splitlines()


def numbers_in(line: str) -> list[float]:
    return [float(word) for word in line.split("[")[-1].rstrip("]").split(",")]


def test_codegen_prints_a_program_that_runs_on_its_own(tmp_path: Path) -> None:
    error, gradient, trained = run_codegen_program(tmp_path, "--part", "1", "--loop")
    w = float(np.random.default_rng(0).random(1)[0])  # part 1's starting weight, seed 0

    def gradient_at(w: float) -> float:
        predicted = sigmoid(0.1 * w)
        return 2 * (predicted - 0.3) * predicted * (1 - predicted) * 0.1

    assert float(error.split()[1]) == pytest.approx((sigmoid(0.1 * w) - 0.3) ** 2, rel=1e-14)
    assert numbers_in(gradient) == pytest.approx([gradient_at(w)], rel=1e-14)
    for _ in range(1000):
        w -= 0.01 * gradient_at(w)
    assert numbers_in(trained) == pytest.approx([w], rel=1e-12)
    # Part 3: the error of the seed-0 network, by the formula.
    rng = np.random.default_rng(0)
    w_hidden, w_output = rng.random((3, 2)), rng.random(2)
    hidden = 1 / (1 + np.exp(-(np.array([0.1, 0.4, 4.1]) @ w_hidden)))
    expected = (sigmoid(float(hidden @ w_output)) - 0.2) ** 2
    lines = run_codegen_program(tmp_path, "--part", "3")
    assert float(lines[0].split()[1]) == pytest.approx(expected, rel=1e-14)
    assert len(numbers_in(lines[1])) == 3 * 2 + 2


def test_codegen_runs_from_the_command_line_and_refuses_bad_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_gd", "codegen", "--part", "3"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "h1 = sigmoid(sop1)" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "tinygrad_gd", "codegen", "--example", "part-9"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "invalid choice" in bad.stderr and not bad.stdout


def test_tutorial_program_descends_like_the_tutorials_loop() -> None:
    from tinygrad_gd.tutorial.descent import gradient_descent
    from tinygrad_gd.tutorial.examples import PART1_FAST

    program = tutorial_program(example="part-1-lr-0.5")
    (w,) = program._wrt or ()
    start = w.data
    program.descend(learning_rate=PART1_FAST.learning_rate, steps=200)
    run = gradient_descent(PART1_FAST, [[start]], iterations=200, method="manual")
    assert w.data == pytest.approx(float(run.weights[0][0]), rel=1e-12)


# -- training on compiled code -------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "loss", "batch_size"),
    [("relu", nn.HingeLoss(l2=1e-4), None), ("tanh", nn.BCEWithLogitsLoss(), 16)],
)
def test_fit_compiled_equals_fit_eager(activation: str, loss: nn.Loss, batch_size: int) -> None:
    def train(compiled: bool) -> tuple[tinygrad_gd.History, list[float]]:
        X, y = data.moons(40, noise=0.1, seed=1, labels=loss.labels)
        model = nn.MLP(2, [6, 6, 1], activation=[activation, activation, "linear"], seed=2)
        history = tinygrad_gd.fit(
            model, X, y, loss=loss, optimizer=optim.Adam(model.parameters(), lr=0.05),
            epochs=6, batch_size=batch_size, seed=3, compile=compiled,
        )  # fmt: skip
        return history, [p.data for p in model.parameters()]

    eager_history, eager_parameters = train(False)
    history, parameters = train(True)
    np.testing.assert_allclose(history.loss, eager_history.loss, rtol=1e-10)
    assert history.metrics == eager_history.metrics
    np.testing.assert_allclose(parameters, eager_parameters, rtol=1e-9, atol=1e-12)


def test_fit_compiled_trains_the_tutorials_neuron_to_its_target() -> None:
    neuron = nn.Neuron(1, activation="sigmoid", bias=False, seed=0)
    history = tinygrad_gd.fit(
        neuron, [[0.1]], [0.3], optimizer=optim.SGD(neuron.parameters(), lr=0.5),
        epochs=100_000, target_loss=1e-6, compile=True,
    )  # fmt: skip
    assert history.stop_reason == "loss reached the target 1e-06"
    assert float(neuron.predict([[0.1]])[0]) == pytest.approx(0.3, abs=1e-3)


def test_fit_refuses_compile_with_detect_anomaly_and_non_bools() -> None:
    neuron = nn.Neuron(1, seed=0)
    with pytest.raises(ValueError, match="detect_anomaly"):
        tinygrad_gd.fit(neuron, [[0.1]], [0.3], compile=True, detect_anomaly=True)
    with pytest.raises(TypeError, match="compile must be True or False"):
        tinygrad_gd.fit(neuron, [[0.1]], [0.3], compile=1)  # type: ignore[arg-type]


def test_train_command_with_compile_reports_the_same_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "30", "--seed", "1"]
    assert tinygrad_gd.cli.main(arguments) == 0
    eager = capsys.readouterr().out
    assert tinygrad_gd.cli.main([*arguments, "--compile"]) == 0
    compiled = capsys.readouterr().out
    assert compiled == eager and "final loss" in compiled


def test_the_tutorials_compiled_gradient_method_trains_as_the_automatic_one() -> None:
    from tinygrad_gd import tutorial

    for example in (tutorial.PART2_TEN_INPUTS, tutorial.PART4_FIVE):
        weights = tutorial.initial_weights(example, seed=1)
        automatic = tutorial.gradient_descent(example, weights, iterations=40, method="automatic")
        compiled = tutorial.gradient_descent(example, weights, iterations=40, method="compiled")
        np.testing.assert_allclose(compiled.predictions, automatic.predictions, rtol=1e-12)
        for got, expected in zip(compiled.weights, automatic.weights, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_demo_with_compile_reports_what_the_eager_demo_reports() -> None:
    arguments = [sys.executable, "-m", "tinygrad_gd", "demo", "--part", "3", "--iterations", "50"]
    eager = subprocess.run(
        [*arguments, "--gradient", "automatic"], capture_output=True, text=True, check=True
    ).stdout
    done = subprocess.run([*arguments, "--compile"], capture_output=True, text=True, check=True)
    assert done.stdout == eager.replace("with the automatic gradient", "with the compiled gradient")
    default = subprocess.run(arguments, capture_output=True, text=True, check=True).stdout
    assert default == done.stdout  # compiled is the default
    refused = subprocess.run(
        [*arguments, "--compile", "--gradient", "manual"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "--compile" in refused.stderr and not refused.stdout
