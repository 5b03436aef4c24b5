"""explain: the chain rule written out, checked against hand arithmetic and gradients()."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import sigmoid as sig
from hypothesis import given, settings
from strategies import Expression, expressions

from tinygrad_gd import Value, explain, gradients
from tinygrad_gd.cli import main
from tinygrad_gd.core.symbolic import MAX_INLINE_FORMULA
from tinygrad_gd.learning.nn import MLP
from tinygrad_gd.tools import explain as explain_module
from tinygrad_gd.tools.explain import PathLimitError
from tinygrad_gd.tutorial.graphs import build_hidden_layer, build_neuron


def test_part_one_shows_exactly_the_tutorials_three_factors() -> None:
    graph = build_neuron([0.1], [0.5], 0.3)
    explanation = explain(graph.error, graph.weights[0])
    (path,) = explanation.paths
    assert path.nodes == ("error", "predicted", "sop", "w")
    factors = [(f.symbol, f.formula) for f in path.factors]
    assert factors == [
        ("d error / d predicted", "2 * (predicted - target)"),
        ("d predicted / d sop", "sigmoid(sop) * (1 - sigmoid(sop))"),
        ("d sop / d w", "x"),
    ]
    pred = sig(0.05)
    by_hand = [2 * (pred - 0.3), pred * (1 - pred), 0.1]
    for factor, expected in zip(path.factors, by_hand, strict=True):
        assert factor.value == pytest.approx(expected, rel=1e-14)
    assert path.product == pytest.approx(math.prod(by_hand), rel=1e-14)
    assert f"{explanation.gradient:.10f}" == "0.0106182320"  # docs/testing.md's figure


def test_part_one_text_lists_factors_product_and_sum() -> None:
    graph = build_neuron([0.1], [0.5], 0.3)
    lines = str(explain(graph.error, graph.weights[0])).splitlines()
    assert lines[0] == "d error / d w = 0.01061823205"
    assert lines[2] == "path 1: error ← predicted ← sop ← w"
    assert lines[3].split("=")[1].strip() == "2 * (predicted - target)"
    assert lines[6].split() == ["product", "=", "0.01061823205"]
    assert lines[-1] == "sum over 1 path = 0.01061823205"


def test_hidden_layer_shows_the_longer_chain() -> None:
    x, wh, wo = [0.1, 0.4, 4.1], [[0.2, 0.7], [0.5, 0.1], [0.3, 0.9]], [0.6, 0.4]
    graph = build_hidden_layer(x, wh, wo, 0.2)
    w21 = graph.hidden_weights[1][0]
    (path,) = explain(graph.error, w21).paths
    assert path.nodes == ("error", "predicted", "sop", "h1", "sop1", "w2_1")
    assert [f.formula for f in path.factors] == [
        "2 * (predicted - target)",
        "sigmoid(sop) * (1 - sigmoid(sop))",
        "v1",
        "sigmoid(sop1) * (1 - sigmoid(sop1))",
        "x2",
    ]
    sop1 = sum(x[z] * wh[z][0] for z in range(3))
    sop = sig(sop1) * 0.6 + sig(sum(x[z] * wh[z][1] for z in range(3))) * 0.4
    expected = [
        2 * (sig(sop) - 0.2),
        sig(sop) * (1 - sig(sop)),
        0.6,
        sig(sop1) * (1 - sig(sop1)),
        0.4,
    ]
    np.testing.assert_allclose([f.value for f in path.factors], expected, rtol=1e-13)
    assert path.product == pytest.approx(gradients(graph.error, [w21])[0], rel=1e-13)


def test_an_output_weight_has_the_short_chain() -> None:
    graph = build_hidden_layer([0.1, 0.4], [[0.2, 0.7], [0.5, 0.1]], [0.6, 0.4], 0.2)
    (path,) = explain(graph.error, graph.output_weights[1]).paths
    assert path.nodes == ("error", "predicted", "sop", "v2")
    assert path.factors[-1].formula == "h2"


def test_fan_out_gives_one_path_per_route_and_they_sum() -> None:
    x = Value(0.7, label="x")
    a = x.sin()
    a.label = "a"
    b = x * x
    b.label = "b"
    y = a * b
    explanation = explain(y, x)
    assert [p.nodes for p in explanation.paths] == [("y", "a", "x"), ("y", "b", "x")]
    assert explanation.paths[1].factors[1].formula == "x + x"  # both operands of x * x
    # d/dx sin(x) x² = cos(x) x² + 2x sin(x)
    expected = math.cos(0.7) * 0.49 + 2 * 0.7 * math.sin(0.7)
    assert explanation.gradient == pytest.approx(expected, rel=1e-14)
    assert str(explanation).splitlines()[-1].startswith("sum over 2 paths = ")


def test_uncollapsed_lists_every_edge_as_its_own_path() -> None:
    x = Value(0.7, label="x")
    y = (x * x).exp()
    explanation = explain(y, x, collapse=False)
    assert [p.nodes for p in explanation.paths] == [("y", "x * x", "x")] * 2
    assert [f.formula for f in explanation.paths[0].factors] == ["exp(x * x)", "x"]
    assert explanation.gradient == pytest.approx(2 * 0.7 * math.exp(0.49), rel=1e-14)


def test_explaining_an_intermediate_node() -> None:
    graph = build_neuron([0.1], [0.5], 0.3)
    (path,) = explain(graph.error, graph.predicted).paths  # nothing labelled in between
    assert path.nodes == ("error", "predicted - target", "predicted")
    assert [f.formula for f in path.factors] == ["2 * (predicted - target)", "1"]
    (path,) = explain(graph.error, graph.predicted, collapse=True).paths
    assert [f.formula for f in path.factors] == ["2 * (predicted - target)"]


def test_no_path_means_zero() -> None:
    x, z = Value(1.0, label="x"), Value(2.0, label="z")
    explanation = explain(z * 3, x)
    assert explanation.paths == () and explanation.gradient == 0.0
    assert str(explanation) == "d y / d x = 0: no path leads from y back to x"


def test_long_unlabelled_formulas_get_generated_names() -> None:
    x = Value(0.3, label="x")
    inner = x
    for _ in range(6):
        inner = (inner * 1.5 + 0.25).tanh()
    y = inner.exp()
    explanation = explain(y, x)
    text = str(explanation)
    assert "where" in text and "t1 = " in text
    for _, formula in explanation.definitions:
        assert len(formula) <= 3 * MAX_INLINE_FORMULA
    assert explanation.gradient == pytest.approx(gradients(y, [x])[0], rel=1e-12)


def test_exponentially_many_paths_are_refused_with_the_count() -> None:
    x = Value(1.0, label="x")
    y = x
    for _ in range(40):
        y = y * y  # each level doubles the paths: 2**40 of them
    with pytest.raises(PathLimitError, match=r"1,099,511,627,776 paths, more than max_paths=100"):
        explain(y, x)


def test_paths_beyond_any_printable_count_are_refused_in_a_short_message() -> None:
    """2**15000 paths: counting them exactly would make an int of 4,516 digits."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(15_000):
        y = y * y
    with pytest.raises(PathLimitError) as raised:
        explain(y, x)
    assert "sums over 10^18 or more paths, more than max_paths=100" in str(raised.value)
    assert len(str(raised.value)) < 200


def test_the_limits_are_decided_before_the_nodes_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Naming every node is the costly part (most of 42 s on a 1M-node chain): done last."""

    def naming(*args: object) -> None:
        raise AssertionError("the nodes were named before the limit was checked")

    monkeypatch.setattr(explain_module, "_Names", naming)
    x = Value(0.1, label="x")
    y = x
    for _ in range(2000):
        y = y.sin()
    with pytest.raises(PathLimitError, match="2,000 local factors"):
        explain(y, x)
    z = x
    for _ in range(10):
        z = z * z
    with pytest.raises(PathLimitError, match="1,024 paths"):
        explain(z, x)


def test_too_many_factors_are_refused() -> None:
    x = Value(0.1, label="x")
    y = x
    for _ in range(2000):
        y = y.sin()
    with pytest.raises(PathLimitError, match="2,000 local factors in all, more than max_factors"):
        explain(y, x)
    assert len(explain(y, x, max_factors=2000).paths) == 1


def test_edges_give_ieee_values_not_errors() -> None:
    x = Value(0.0, label="x")
    (path,) = explain(x.log(), x).paths
    assert path.factors[0].formula == "1 / x" and path.factors[0].value == math.inf


@pytest.mark.parametrize(
    "divisor",
    [Value(0.0), Value(1.0) - 1, 0],
    ids=["constant leaf", "constant subgraph", "number"],
)
def test_a_constant_zero_divisor_gives_inf_not_an_error(divisor: Value | int) -> None:
    x = Value(1.0, label="x")
    y = x / divisor
    explanation = explain(y, x)
    (path,) = explanation.paths
    # d(x/b)/dx = 1/b, and 1/0 is +inf in IEEE arithmetic.
    assert [(f.formula, f.value) for f in path.factors] == [("1 / 0", math.inf)]
    assert explanation.gradient == math.inf == gradients(y, [x])[0]
    assert str(explanation).splitlines()[0] == "d y / d x = inf"


def test_a_zero_divisor_further_down_keeps_its_formula() -> None:
    x = Value(2.0, label="x")
    y = (x / Value(0.0)).exp()  # d y / d(x / 0) = exp(inf) = inf; d(x / 0) / dx = 1 / 0
    (path,) = explain(y, x).paths
    assert [f.formula for f in path.factors] == ["exp(x / 0)", "1 / 0"]
    assert [f.value for f in path.factors] == [math.inf, math.inf]


def test_the_grad_command_explains_a_division_by_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grad", "x/0", "--at", "x=1", "--explain"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "  d f / d x  =  1 / 0  =  inf" in captured.out.splitlines()


def test_y_is_x_reads_as_one_with_no_factors() -> None:
    x = Value(3.0, label="x")
    explanation = explain(x, x)
    assert explanation.gradient == 1.0
    assert str(explanation) == "d x / d x = 1: the chain is empty (x is the variable itself)"


def test_explain_changes_no_state() -> None:
    graph = build_neuron([0.1], [0.5], 0.3)
    w = graph.weights[0]
    explain(graph.error, w)
    assert w.grad == 0.0 and graph.error.grad == 0.0
    assert (graph.error.label, w.label) == ("error", "w")


@pytest.mark.parametrize(
    "y, x, kwargs, message",
    [
        (1.0, Value(1.0), {}, "y must be a Value"),
        (Value(1.0), "x", {}, "x must be a Value"),
        (Value(1.0), Value(1.0), {"max_paths": 0}, "max_paths must be at least 1, got 0"),
        (
            Value(1.0),
            Value(1.0),
            {"max_factors": 2.5},
            "max_factors must be a whole number, got float: 2.5",
        ),
        (Value(1.0), Value(1.0), {"collapse": "yes"}, "collapse must be True or False"),
    ],
)
def test_bad_input_is_named(y: object, x: object, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        explain(y, x, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=60)
@given(expression=expressions(variables=2, max_depth=4))
def test_the_sum_over_paths_is_the_gradient(expression: Expression) -> None:
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(expression.inputs)]
    y = expression.engine(leaves)
    if not isinstance(y, Value):
        return  # the tree is a constant
    for x in leaves:
        for collapse in (True, False):
            explanation = explain(y, x, collapse=collapse, max_paths=10_000, max_factors=100_000)
            (expected,) = gradients(y, [x])
            assert explanation.gradient == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_paths_through_the_same_nodes_say_which_operand_they_take() -> None:
    x = Value(3.0, label="x")
    square = x * x
    explanation = explain(square * x.sin(), x)
    titles = [path.title for path in explanation.paths]
    assert titles == [
        "y ← x * x ← x, through the left operand of x * x",
        "y ← x * x ← x, through the right operand of x * x",
        "y ← sin(x) ← x",  # a path with nodes of its own needs no more words
    ]
    # d/dx (x² sin x) = 2x sin x + x² cos x, the first two paths x sin x each
    assert [path.product for path in explanation.paths] == pytest.approx(
        [3 * math.sin(3.0), 3 * math.sin(3.0), 9 * math.cos(3.0)], rel=1e-12
    )
    text = str(explanation)
    assert "path 2: y ← x * x ← x, through the right operand of x * x" in text


def test_a_model_parameter_is_explained_by_its_name() -> None:
    model = MLP(2, [2, 1], activation=["tanh", "linear"], bias=False, seed=0)
    output = model([0.5, -1.0])
    weight = model.layers[0].neurons[1].w[0]
    explanation = explain(output, weight)
    assert explanation.x == "layers[0].w[1][0]"
    # y = v0 tanh(h0) + v1 tanh(w10 * 0.5 + w11 * -1): dy/dw10 = v1 (1 - tanh²) * 0.5
    (_, v1), (w10, w11) = model.layers[1].neurons[0].w, model.layers[0].neurons[1].w
    inner = math.tanh(w10.data * 0.5 + w11.data * -1)
    assert explanation.gradient == pytest.approx(v1.data * (1 - inner**2) * 0.5, rel=1e-12)
    assert "layers[1].w[0][1]" in str(explanation)
