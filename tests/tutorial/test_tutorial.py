"""The tutorial's networks: hand-derived gradients against automatic ones and plain arithmetic.

Every expected number here comes from ``math`` written out in this file (the
tutorial's formulas, re-derived), or from central differences; never from
the module under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import sigmoid as sig
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_gd import Value, gradcheck, gradients
from tinygrad_gd import tutorial as t
from tinygrad_gd.tools.gradcheck import compare


def d_sig(z: float) -> float:
    return sig(z) * (1.0 - sig(z))


def neuron_by_hand(x: list[float], w: list[float], target: float) -> list[float]:
    """dE/dw_i = 2 (pred − target) · σ'(sop) · x_i, with math."""
    sop = sum(xi * wi for xi, wi in zip(x, w, strict=True))
    pred = sig(sop)
    return [2 * (pred - target) * d_sig(sop) * xi for xi in x]


def hidden_by_hand(
    x: list[float], wh: list[list[float]], wo: list[float], target: float
) -> tuple[list[list[float]], list[float]]:
    """The hidden-layer chain, loop by loop, with math."""
    width = len(wo)
    sops = [sum(x[z] * wh[z][y] for z in range(len(x))) for y in range(width)]
    h = [sig(s) for s in sops]
    sop = sum(h[y] * wo[y] for y in range(width))
    g12 = 2 * (sig(sop) - target) * d_sig(sop)
    output = [g12 * h[y] for y in range(width)]
    hidden = [[g12 * wo[y] * d_sig(sops[y]) * x[z] for y in range(width)] for z in range(len(x))]
    return hidden, output


# -- the published examples and step functions ----------------------------------------


def test_examples_are_the_published_ones() -> None:
    assert (t.PART1.x, t.PART1.target, t.PART1.learning_rate) == ((0.1,), 0.3, 0.01)
    assert t.PART1_FAST.learning_rate == 0.5
    assert (t.PART2_TWO_INPUTS.x, t.PART2_TWO_INPUTS.learning_rate) == ((0.1, 0.4), 0.1)
    assert t.PART2_TEN_INPUTS.x == (0.1, 0.4, 4.1, 4.3, 1.8, 2.0, 0.01, 0.9, 3.8, 1.6)
    assert (t.PART3.x, t.PART3.target, t.PART3.learning_rate) == ((0.1, 0.4, 4.1), 0.2, 0.001)
    assert [e.hidden for e in (t.PART3, t.PART4_FIVE, t.PART4_EIGHT)] == [2, 5, 8]
    assert len({e.slug for e in t.EXAMPLES}) == len(t.EXAMPLES)


@pytest.mark.parametrize("z", [-3.0, -0.5, 0.0, 0.05, 2.0])
def test_step_functions_follow_the_formulas(z: float) -> None:
    assert t.sigmoid(z) == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-15)
    assert t.error(z, 0.3) == pytest.approx((z - 0.3) ** 2, rel=1e-15)
    assert t.error_predicted_deriv(z, 0.3) == pytest.approx(2 * (z - 0.3), rel=1e-15)
    assert t.activation_sop_deriv(z) == pytest.approx(
        math.exp(-z) / (1 + math.exp(-z)) ** 2, rel=1e-12
    )
    assert t.sop_w_deriv(z) == z
    assert t.update_w(z, 0.25, 0.1) == pytest.approx(z - 0.025, rel=1e-15)


def test_step_functions_work_on_arrays_and_values() -> None:
    z = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(t.sigmoid(z), [sig(-1.0), 0.5, sig(1.0)], rtol=1e-15)
    np.testing.assert_allclose(t.activation_sop_deriv(z), [d_sig(-1), 0.25, d_sig(1)], rtol=1e-14)
    np.testing.assert_array_equal(t.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])
    node = t.error(t.sigmoid(Value(0.05)), 0.3)
    assert isinstance(node, Value)
    assert node.data == pytest.approx((sig(0.05) - 0.3) ** 2, rel=1e-14)


# -- the hand derivations --------------------------------------------------------------


def test_part_one_gradient_is_the_published_figure() -> None:
    # docs/testing.md: at x = 0.1, w = 0.5, target = 0.3 the correct gradient is 0.0106182320.
    (manual,) = t.neuron_gradient([0.1], [0.5], 0.3)
    assert f"{manual:.10f}" == "0.0106182320"
    (automatic,) = t.automatic_neuron_gradient([0.1], [0.5], 0.3)
    assert automatic == pytest.approx(manual, rel=1e-14)


def test_published_part_one_gives_the_published_figure() -> None:
    (published,) = t.published_neuron_gradient([0.1], [0.5], 0.3)
    assert f"{published:.10f}" == "0.0099566468"


inputs = st.floats(-3.0, 3.0, allow_nan=False)
weights = st.floats(-2.0, 2.0, allow_nan=False)
targets = st.floats(0.05, 0.95)


@settings(max_examples=60)
@given(data=st.data(), n=st.integers(1, 12), target=targets)
def test_neuron_manual_equals_automatic_for_any_number_of_inputs(
    data: st.DataObject, n: int, target: float
) -> None:
    x = data.draw(st.lists(inputs, min_size=n, max_size=n))
    w = data.draw(st.lists(weights, min_size=n, max_size=n))
    manual = t.neuron_gradient(x, w, target)
    np.testing.assert_allclose(manual, neuron_by_hand(x, w, target), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(
        t.automatic_neuron_gradient(x, w, target), manual, rtol=1e-12, atol=1e-16
    )

    def error_of(w_values: np.ndarray) -> Value:
        return t.build_neuron(x, list(w_values), target).error

    assert gradcheck(error_of, w)


@settings(max_examples=40)
@given(data=st.data(), n=st.integers(1, 5), width=st.integers(1, 8), target=targets)
def test_hidden_layer_manual_equals_automatic_for_any_width(
    data: st.DataObject, n: int, width: int, target: float
) -> None:
    x = data.draw(st.lists(inputs, min_size=n, max_size=n))
    wh = [data.draw(st.lists(weights, min_size=width, max_size=width)) for _ in range(n)]
    wo = data.draw(st.lists(weights, min_size=width, max_size=width))
    hidden, output = t.hidden_layer_gradients(x, wh, wo, target)
    expected_hidden, expected_output = hidden_by_hand(x, wh, wo, target)
    np.testing.assert_allclose(hidden, expected_hidden, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(output, expected_output, rtol=1e-9, atol=1e-15)
    auto_hidden, auto_output = t.automatic_hidden_layer_gradients(x, wh, wo, target)
    np.testing.assert_allclose(auto_hidden, hidden, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(auto_output, output, rtol=1e-12, atol=1e-16)

    def error_of(w_hidden: np.ndarray, w_output: np.ndarray) -> Value:
        return t.build_hidden_layer(x, w_hidden.tolist(), list(w_output), target).error

    assert gradcheck(error_of, wh, wo)


# -- the published variants are caught ---------------------------------------------------


@pytest.mark.parametrize(
    "x, w, target",
    [([0.1], [0.5], 0.3), ([0.1, 0.4], [0.6, 0.2], 0.3), ([0.1, 0.4, 4.1], [0.3, 0.9, 0.2], 0.7)],
)
def test_compare_reports_the_published_neuron_as_failing(
    x: list[float], w: list[float], target: float
) -> None:
    published = t.published_neuron_gradient(x, w, target)
    automatic = t.automatic_neuron_gradient(x, w, target)
    report = compare(published, automatic, labels=("published", "automatic"))
    assert not report.passed
    assert all(not row.passed for row in report.rows)
    # The published code takes σ' at predicted = σ(sop), so every entry is off by
    # the factor σ'(σ(sop)) / σ'(sop), whatever the input.
    sop = sum(a * b for a, b in zip(x, w, strict=True))
    ratio = d_sig(sig(sop)) / d_sig(sop)
    for row, expected in zip(report.rows, neuron_by_hand(x, w, target), strict=True):
        assert row.second == pytest.approx(expected, rel=1e-12)
        assert row.first == pytest.approx(expected * ratio, rel=1e-12)
        assert row.abs_diff == pytest.approx(abs(expected) * abs(ratio - 1), rel=1e-9)
    assert "differs" in str(report)


def test_part_one_published_discrepancy_by_hand() -> None:
    # pred = σ(0.05); the two g2 factors are σ'(0.05) and σ'(pred).
    pred = 1 / (1 + math.exp(-0.05))
    g1, g3 = 2 * (pred - 0.3), 0.1
    correct = g1 * (pred * (1 - pred)) * g3
    s = 1 / (1 + math.exp(-pred))
    published = g1 * (s * (1 - s)) * g3
    report = compare(t.published_neuron_gradient([0.1], [0.5], 0.3), {"w": [correct]}["w"])
    assert report.rows[0].first == pytest.approx(published, rel=1e-13)
    assert report.max_abs_diff == pytest.approx(correct - published, rel=1e-9)


def test_published_hidden_layer_uses_the_updated_output_weights() -> None:
    x, wh, wo, target, rate = (
        [0.1, 0.4, 4.1],
        [[0.2, 0.7], [0.5, 0.1], [0.3, 0.9]],
        [0.6, 0.4],
        0.2,
        0.5,
    )
    correct_hidden, output = hidden_by_hand(x, wh, wo, target)
    moved = [v - rate * g for v, g in zip(wo, output, strict=True)]
    # Same chain, but through the output weights after their update.
    sops = [sum(x[z] * wh[z][y] for z in range(3)) for y in range(2)]
    h = [sig(s) for s in sops]
    sop = sum(hy * v for hy, v in zip(h, wo, strict=True))
    g12 = 2 * (sig(sop) - target) * d_sig(sop)
    expected = [[g12 * moved[y] * d_sig(sops[y]) * x[z] for y in range(2)] for z in range(3)]
    hidden, published_output = t.published_hidden_layer_gradients(x, wh, wo, target, rate)
    np.testing.assert_allclose(hidden, expected, rtol=1e-12)
    np.testing.assert_allclose(published_output, output, rtol=1e-12)
    report = compare({"w_hidden": hidden}, {"w_hidden": correct_hidden})
    assert not report.passed
    with pytest.raises(TypeError, match="learning_rate must be a number, got str"):
        t.published_hidden_layer_gradients(x, wh, wo, target, "fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("example", [t.PART4_FIVE, t.PART4_EIGHT], ids=lambda e: e.name)
def test_the_published_part_four_weights_are_refused_by_numpy(example: t.Example) -> None:
    """Part 4's generic code nests both layers in one ``numpy.array``; numpy >= 1.24 refuses.

    The hidden weights are (inputs, hidden), the output weights (hidden,): a
    ragged nesting, which older numpy kept as an object array. The library
    takes the two layers as separate arrays instead.
    """
    rng = np.random.default_rng(0)
    w_hidden = rng.random((len(example.x), example.hidden))
    w_output = rng.random(example.hidden)
    with pytest.raises(ValueError, match="inhomogeneous shape"):
        np.array([w_hidden, w_output])
    hidden, output = t.hidden_layer_gradients(example.x, w_hidden, w_output, example.target)
    expected_hidden, expected_output = hidden_by_hand(
        list(example.x), w_hidden.tolist(), w_output.tolist(), example.target
    )
    np.testing.assert_allclose(hidden, expected_hidden, rtol=1e-12)
    np.testing.assert_allclose(output, expected_output, rtol=1e-12)


# -- batches, training ---------------------------------------------------------------------


def test_batched_weights_give_each_row_its_gradient() -> None:
    rng = np.random.default_rng(1)
    x = [0.1, 0.4, 4.1]
    w = rng.random((4, 3))
    batched = t.neuron_gradient(x, w, 0.3)
    for row, gradient in zip(w, batched, strict=True):
        np.testing.assert_allclose(gradient, neuron_by_hand(x, list(row), 0.3), rtol=1e-12)
    wh, wo = rng.random((4, 3, 5)), rng.random((4, 5))
    hidden, output = t.hidden_layer_gradients(x, wh, wo, 0.2)
    for k in range(4):
        expected_hidden, expected_output = hidden_by_hand(x, wh[k].tolist(), list(wo[k]), 0.2)
        np.testing.assert_allclose(hidden[k], expected_hidden, rtol=1e-12)
        np.testing.assert_allclose(output[k], expected_output, rtol=1e-12)


def test_part_one_fast_run_reaches_the_target_when_plain_arithmetic_does() -> None:
    w, reached = 0.5, None
    for step in range(1, 12_001):
        w -= 0.5 * neuron_by_hand([0.1], [w], 0.3)[0]
        if reached is None and abs(sig(0.1 * w) - 0.3) < 1e-3:
            reached = step
    start = np.array([0.5])
    run = t.gradient_descent(t.PART1_FAST, [start], iterations=12_000)
    assert int(run.reached_at(1e-3)) == reached
    assert float(run.predictions[-1]) == pytest.approx(sig(0.1 * w), rel=1e-12)
    np.testing.assert_array_equal(start, [0.5])  # the caller's weights are left alone


@pytest.mark.parametrize("example", [t.PART2_TWO_INPUTS, t.PART3], ids=lambda e: e.slug)
def test_training_with_automatic_and_manual_gradients_agrees(example: t.Example) -> None:
    start = t.initial_weights(example, seed=3)
    manual = t.gradient_descent(example, start, iterations=30, method="manual")
    automatic = t.gradient_descent(example, start, iterations=30, method="automatic")
    np.testing.assert_allclose(automatic.predictions, manual.predictions, rtol=1e-12)
    np.testing.assert_allclose(automatic.errors, (manual.predictions - example.target) ** 2)


def test_training_with_the_published_variant_follows_it() -> None:
    w = 0.5
    for _ in range(20):
        pred = sig(0.1 * w)
        w -= 0.01 * 2 * (pred - 0.3) * d_sig(pred) * 0.1  # σ' at predicted
    run = t.gradient_descent(t.PART1, [[0.5]], iterations=20, method="published")
    assert float(run.predictions[-1]) == pytest.approx(sig(0.1 * w), rel=1e-14)


def test_on_step_sees_every_step_and_the_prediction() -> None:
    seen: list[tuple[int, float]] = []
    run = t.gradient_descent(
        t.PART1, [[0.5]], iterations=3, method="automatic", on_step=lambda k, p: seen.append((k, p))
    )
    assert [k for k, _ in seen] == [1, 2, 3]
    assert [p for _, p in seen] == list(run.predictions[1:])


def test_on_step_with_a_batch_is_refused_before_any_step() -> None:
    seen: list[int] = []
    batch = t.initial_weights(t.PART3, seed=0, batch=(4,))
    with pytest.raises(ValueError, match=r"on_step follows one run: .* not a batch of \(4,\)"):
        t.gradient_descent(t.PART3, batch, iterations=5, on_step=lambda k, p: seen.append(k))
    assert seen == []


def test_initial_weights_are_seeded_uniform_draws() -> None:
    (w,) = t.initial_weights(t.PART2_TEN_INPUTS, seed=7)
    np.testing.assert_array_equal(w, np.random.default_rng(7).random(10))
    hidden, output = t.initial_weights(t.PART4_EIGHT, seed=7, batch=(2,))
    assert hidden.shape == (2, 3, 8) and output.shape == (2, 8)
    assert np.all((0 <= hidden) & (hidden < 1))


# -- graphs of Values ------------------------------------------------------------------


def test_graphs_carry_the_tutorial_labels() -> None:
    graph = t.build_neuron([0.1, 0.4], [0.5, 0.5], 0.3)
    assert [w.label for w in graph.weights] == ["w1", "w2"]
    assert (graph.error.label, graph.predicted.label) == ("error", "predicted")
    hidden = t.build_hidden_layer([0.1, 0.4, 4.1], np.full((3, 2), 0.5), [0.5, 0.5], 0.2)
    assert [w.label for w in hidden.weights] == [
        "w1_1",
        "w1_2",
        "w2_1",
        "w2_2",
        "w3_1",
        "w3_2",
        "v1",
        "v2",
    ]


def test_given_values_are_used_as_they_are() -> None:
    w = Value(0.5, label="mine")
    graph = t.build_neuron([0.1], [w], 0.3)
    assert graph.weights[0] is w and w.label == "mine"
    (dw,) = gradients(graph.error, [w])
    assert dw == pytest.approx(neuron_by_hand([0.1], [0.5], 0.3)[0], rel=1e-14)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: t.neuron_gradient([], [], 0.3), ValueError, "x must be a non-empty"),
        (
            lambda: t.neuron_gradient([0.1, 0.2], [0.5], 0.3),
            ValueError,
            r"w must have shape \(\.\.\., 2\)",
        ),
        (lambda: t.neuron_gradient(["a"], [0.5], 0.3), TypeError, "x must hold real numbers"),
        (
            lambda: t.neuron_gradient([0.1], [0.5], "0.3"),
            TypeError,
            "target must be a number, got str: '0.3'",
        ),
        (
            lambda: t.hidden_layer_gradients([0.1], [[0.5, 0.5]], [0.5], 0.2),
            ValueError,
            "w_output must have shape",
        ),
        (
            lambda: t.hidden_layer_gradients([0.1, 0.2], [[0.5, 0.5]], [0.5, 0.5], 0.2),
            ValueError,
            "one row per input",
        ),
        (lambda: t.build_neuron([0.1], [0.5, 0.6], 0.3), ValueError, "w must hold 1 weights"),
        (lambda: t.build_neuron([0.1], 0.5, 0.3), TypeError, "w must be a sequence"),
        (
            lambda: t.build_hidden_layer([0.1], [[0.5, "x"]], [0.5, 0.5], 0.2),
            TypeError,
            r"w_hidden\[0\]\[1\]",
        ),
        (
            lambda: t.gradient_descent(t.PART1, [[0.5]], iterations=-1),
            ValueError,
            "iterations must be at least 0, got -1",
        ),
        (
            lambda: t.gradient_descent(t.PART1, [[0.5]], iterations=2.5),
            TypeError,
            "iterations must be a whole number, got float",
        ),
        (
            lambda: t.gradient_descent(t.PART1, [[0.5]], iterations=1, method="guess"),
            ValueError,
            "method must be one of 'automatic', 'compiled', 'manual', 'published', got 'guess'",
        ),
        (
            lambda: t.gradient_descent(t.PART1, [[[0.5]]], iterations=1, method="automatic"),
            ValueError,
            "one set of weights",
        ),
        (
            lambda: t.gradient_descent(t.PART3, [[0.5]], iterations=1),
            ValueError,
            r"needs weights \(w_hidden, w_output\)",
        ),
        (
            lambda: t.gradient_descent(t.PART3, t.initial_weights(t.PART4_FIVE, 0), iterations=1),
            ValueError,
            "has 2 hidden neurons",
        ),
        (
            lambda: t.initial_weights(t.PART1, seed="abc"),
            TypeError,
            "seed must be a whole number, got str: 'abc'",
        ),
        (
            lambda: t.initial_weights(t.PART1, seed=-1),
            ValueError,
            "seed must be at least 0, got -1",
        ),
        (
            lambda: t.initial_weights(t.PART1, seed=0, batch=[3]),
            TypeError,
            r"batch must be a tuple of whole numbers, got \[3\]",
        ),
        (
            lambda: t.initial_weights(t.PART1, seed=0, batch=(2, 1.5)),
            TypeError,
            r"batch\[1\] must be a whole number, got float: 1.5",
        ),
        (
            lambda: t.initial_weights("part 1", seed=0),
            TypeError,
            "example must be a tutorial.Example such as PART1, got str",
        ),
        (
            lambda: t.predict(t.PART1, 0.5),
            TypeError,
            r"part 1 needs weights \(w,\), got float",
        ),
        (
            lambda: t.example_gradients(t.PART1, [[[0.5], [0.6]]], "automatic"),
            ValueError,
            "automatic gradients take one set of weights, not a batch",
        ),
        (
            lambda: t.gradient_descent(t.PART1, [[0.5]], iterations=1, learning_rate=0),
            ValueError,
            "learning_rate must be a positive finite number, got 0",
        ),
        (
            lambda: t.gradient_descent(t.PART1, [[0.5]], iterations=1, on_step="print"),
            TypeError,
            "on_step must be callable, got str: 'print'",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_input_is_named(call: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]


def test_gradient_descent_stops_at_the_first_step_within_the_tolerance() -> None:
    w, steps = 0.5, 0  # Part 1 at rate 0.5, descended with plain arithmetic
    while abs(sig(0.1 * w) - 0.3) >= 1e-2:
        w -= 0.5 * 2 * (sig(0.1 * w) - 0.3) * sig(0.1 * w) * (1 - sig(0.1 * w)) * 0.1
        steps += 1
    for method in ("automatic", "manual"):
        run = t.gradient_descent(
            t.PART1_FAST, [[0.5]], iterations=50_000, method=method, stop_within=1e-2
        )
        assert len(run.predictions) == steps + 1
        assert float(run.predictions[-1]) == pytest.approx(sig(0.1 * w), rel=1e-12)
    capped = t.gradient_descent(t.PART1_FAST, [[0.5]], iterations=10, stop_within=1e-2)
    assert len(capped.predictions) == 11  # the cap comes first
    # A batch stops when every run is within the tolerance.
    starts = [np.array([[0.5], [0.6]])]
    batch = t.gradient_descent(t.PART1_FAST, starts, iterations=50_000, stop_within=1e-2)
    assert np.all(np.abs(batch.predictions[-1] - 0.3) < 1e-2)
    assert not np.all(np.abs(batch.predictions[-2] - 0.3) < 1e-2)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), "0.1"])
def test_gradient_descent_refuses_a_bad_stop_within(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="stop_within must be"):
        t.gradient_descent(t.PART1, [[0.5]], iterations=1, stop_within=bad)  # type: ignore[arg-type]
