"""The packing pass and export: packed array code agrees with the eager engine.

The reference is always the eager engine run one sample at a time (or the
tutorial's hand derivation), averaged here with numpy: an independent path
that shares no code with packing or writing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_gd import Value, compile, export, gradients, nn, tutorial
from tinygrad_gd.tools.compiler.backends import BACKENDS

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def eager_mean(
    f: Callable[..., Any], params: Sequence[Value], columns: Sequence[np.ndarray]
) -> tuple[float, np.ndarray]:
    """The mean loss and gradient over the samples, by the eager engine per sample."""
    n = len(columns[0])
    total, gradient = 0.0, np.zeros(len(params))
    for i in range(n):
        row = [c[i].tolist() if c.ndim == 2 else float(c[i]) for c in columns]
        loss = f(*row)
        total += loss.data
        gradient += np.array(gradients(loss, list(params)), dtype=float)
    return total / n, gradient / n


def assert_close(actual: Any, expected: Any, rtol: float = 1e-12) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def as_values(row: Any) -> Any:
    return [Value(x) for x in row] if isinstance(row, list) else Value(row)


def check_against_eager(
    f: Callable[..., Any], params: list[Value], columns: list[np.ndarray], order: Any = None
) -> None:
    """export(f) with wrt in ``order`` agrees with the eager engine, values and gradients."""
    wrt = params if order is None else [params[i] for i in order]
    exported = export(f, wrt=wrt)
    value, G = exported.value_and_grad(exported.params, *columns)
    expected_value, expected_gradient = eager_mean(
        lambda *row: f(*(as_values(x) for x in row)), wrt, columns
    )
    assert_close(value, expected_value)
    assert_close(G, expected_gradient)
    assert_close(exported.forward(exported.params, *columns), expected_value)


def softmax_cross_entropy(logits: list[Value], onehot: list[Value]) -> Value:
    log_total = sum((z.exp() for z in logits), Value(0.0)).log()
    return log_total - sum((y * z for y, z in zip(onehot, logits, strict=True)), Value(0.0))


@st.composite
def networks(draw: st.DrawFn) -> tuple[Any, ...]:
    nin = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 4), min_size=depth, max_size=depth))
    activations = draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=depth, max_size=depth))
    outputs = draw(st.integers(1, 3))
    loss = draw(st.sampled_from(["mse", "softmax"] if outputs > 1 else ["mse", "hinge"]))
    seed = draw(st.integers(0, 2**16))
    return nin, widths, activations, outputs, loss, seed


@given(networks(), st.randoms(use_true_random=False))
def test_packed_mlp_agrees_with_eager(network: tuple[Any, ...], shuffle: Any) -> None:
    nin, widths, activations, outputs, loss_name, seed = network
    model = nn.MLP(nin, [*widths, outputs], activation=[*activations, "linear"], seed=seed)
    params = model.parameters()
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, nin))
    if loss_name == "softmax":
        target = np.eye(outputs)[rng.integers(0, outputs, 5)]
    else:
        target = rng.normal(size=(5, outputs)) if outputs > 1 else rng.choice([-1.0, 1.0], 5)

    def f(x: list[Value], y: Any) -> Value:
        out = model(x)
        if loss_name == "softmax":
            return softmax_cross_entropy(out, y)
        if loss_name == "hinge":
            return (1 - y * out).relu() + 1e-3 * sum((p * p for p in params), Value(0.0))
        pairs = zip(out if outputs > 1 else [out], y if outputs > 1 else [y], strict=True)
        return sum(((o - t) ** 2 for o, t in pairs), Value(0.0))

    order = list(range(len(params)))
    shuffle.shuffle(order)  # parameters listed in any order
    check_against_eager(f, params, [X, target], order)


def test_residual_block_agrees_with_eager() -> None:
    rng = np.random.default_rng(1)
    first = nn.Layer(3, 3, "tanh", seed=1)
    second = nn.Layer(3, 3, "relu", seed=3)
    head = nn.Neuron(3, activation="linear", seed=2)
    params = [*first.parameters(), *second.parameters(), *head.parameters()]

    def f(x: list[Value], y: Value) -> Value:
        h = first(x)
        h = [a + b for a, b in zip(second(h), h, strict=True)]  # the skip connection
        return (head(h) - y) ** 2

    check_against_eager(f, params, [rng.normal(size=(6, 3)), rng.normal(size=6)])


def test_rnn_with_weights_shared_across_steps_agrees_with_eager() -> None:
    rng = np.random.default_rng(2)
    hidden = 3
    W = [[Value(float(w)) for w in row] for row in rng.normal(size=(hidden, hidden)) * 0.5]
    U = [Value(float(u)) for u in rng.normal(size=hidden)]
    V = [Value(float(v)) for v in rng.normal(size=hidden)]
    params = [*(w for row in W for w in row), *U, *V]

    def f(xs: list[Value], y: Value) -> Value:
        h = [Value(0.0)] * hidden
        for x in xs:  # the same W and U at every step
            h = [
                (sum((W[j][i] * h[i] for i in range(hidden)), Value(0.0)) + U[j] * x).tanh()
                for j in range(hidden)
            ]
        return (sum((v * hj for v, hj in zip(V, h, strict=True)), Value(0.0)) - y) ** 2

    check_against_eager(f, params, [rng.normal(size=(4, 5)), rng.normal(size=4)])


@pytest.mark.parametrize("width", [2, 5])
def test_tutorial_hidden_layer_batched_matches_the_hand_derivation(width: int) -> None:
    rng = np.random.default_rng(width)
    w_hidden, w_output = rng.random((3, width)), rng.random(width)
    rows = [[Value(float(w)) for w in row] for row in w_hidden]
    output = [Value(float(v)) for v in w_output]

    def error(x: list[Value], target: Value) -> Value:
        hidden = [
            tutorial.sigmoid(sum((x[z] * rows[z][y] for z in range(3)), Value(0.0)))
            for y in range(width)
        ]
        predicted = tutorial.sigmoid(
            sum((h * v for h, v in zip(hidden, output, strict=True)), Value(0.0))
        )
        return tutorial.error(predicted, target)

    X, targets = rng.random((4, 3)), rng.random(4)
    exported = export(error, wrt=[*(w for row in rows for w in row), *output])
    _, G = exported.value_and_grad(exported.params, X, targets)
    hand = [
        tutorial.hidden_layer_gradients(x, w_hidden, w_output, t)
        for x, t in zip(X, targets, strict=True)
    ]
    assert_close(G[: 3 * width], np.mean([h[0].ravel() for h in hand], axis=0))
    assert_close(G[3 * width :], np.mean([h[1] for h in hand], axis=0))


def test_sum_reduction_and_aux_per_sample() -> None:
    w = Value(0.5)
    exported = export(lambda x: ((w * x).sigmoid(), (w * x,)), wrt=[w], reduce="sum", has_aux=True)
    x = np.array([0.0, 2.0])
    (value, (products,)), G = exported.value_and_grad(exported.params, x)
    sigmoid = 1 / (1 + np.exp(-0.5 * x))
    assert_close(value, sigmoid.sum())
    assert_close(G, [(sigmoid * (1 - sigmoid) * x).sum()])
    assert_close(products, 0.5 * x)


def test_report_says_how_much_was_packed() -> None:
    model = nn.MLP(2, [8, 1], activation=["relu", "linear"], seed=0)
    exported = export(lambda x, y: (model(x) - y) ** 2, wrt=model.parameters())
    exported.value_and_grad(exported.params, np.ones((3, 2)), np.ones(3))
    # 8 neurons of 2 products and 2 additions (bias), 8 relus, the output's 8 products and
    # 8 additions, the subtraction and the square: 58 scalar ops; one matmul per layer.
    assert exported.report.startswith("packed 58 scalar ops into")
    assert "2 matmuls" in exported.report


def test_bad_arguments_raise_clear_errors() -> None:
    w = Value(1.0)
    with pytest.raises(ValueError, match="backend must be one of numpy, jax, torch"):
        export(lambda x: w * x, "tensorflow", wrt=[w])
    with pytest.raises(ValueError, match="reduce must be 'mean' or 'sum'"):
        export(lambda x: w * x, wrt=[w], reduce="max")
    with pytest.raises(ValueError, match="leaf Value"):
        export(lambda x: w * x, wrt=[w * 2])
    exported = export(lambda x: w * x, wrt=[w])
    with pytest.raises(ValueError, match=r"P must have shape \(1,\)"):
        exported.value_and_grad(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="argument 1 holds 2 samples"):
        export(lambda x, y: w * x * y, wrt=[w]).forward(np.ones(1), np.ones(3), np.ones(2))
    assert w.data == 1.0 and w.grad == 0.0


def test_argument_names_never_shadow_the_code_s_own() -> None:
    w = Value(1.0)

    def f(relu: Value, v0: Value, P: Value) -> Value:  # noqa: N803
        return (w * relu + v0 * P).relu()

    exported = export(f, wrt=[w])
    assert exported.source.splitlines()[0] == "def value_and_grad_f(P, x0, x1, x2):"
    value, G = exported.value_and_grad(np.array([2.0]), np.ones(2), np.ones(2), -np.ones(2))
    assert (value, G.tolist()) == (1.0, [1.0])


def test_exp_edge_gives_ieee_values_not_errors() -> None:
    w = Value(1.0)
    exported = export(lambda x: (w * x).exp(), wrt=[w])
    value, G = exported.value_and_grad(exported.params, np.array([1000.0]))
    assert value == math.inf and G[0] == math.inf


def test_compile_runs_packed_batches_and_says_so() -> None:
    model = nn.MLP(2, [6, 6, 1], activation=["relu", "tanh", "linear"], seed=4)
    params = model.parameters()

    def loss(x: list[Value], y: Value) -> tuple[Value, Value]:
        out = model(x)
        return (out - y) ** 2, out

    compiled = compile(loss, wrt=params, reduce="mean", has_aux=True)
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    (value, outputs), gradient = compiled(list(X.T), y)
    assert compiled.packing is not None and compiled.packing.startswith("packed ")
    assert "def value_and_grad_loss(P, x, y):" in compiled.source
    expected_value, expected_gradient = eager_mean(lambda x, t: loss(x, t)[0], params, [X, y])
    assert_close(value, expected_value)
    assert_close(gradient, expected_gradient)
    assert_close(outputs, [model(row).data for row in X.tolist()])


def test_a_convolution_falls_back_to_the_scalar_code_and_says_so() -> None:
    taps = [Value(0.5), Value(-0.25), Value(0.125)]

    def loss(x: list[Value]) -> Value:  # the same three taps over shifted windows
        windows = [sum((w * x[t + k] for k, w in enumerate(taps)), Value(0.0)) for t in range(6)]
        return sum((s.relu() for s in windows), Value(0.0))

    compiled = compile(loss, wrt=taps, reduce="mean")
    X = np.random.default_rng(5).normal(size=(4, 8))
    value, gradient = compiled(list(X.T))
    assert compiled.packing is not None and compiled.packing.startswith("not packed: ")
    assert "the scalar code runs" in compiled.packing
    assert "# forward: one line per op" in compiled.source  # the scalar program ran
    expected_value, expected_gradient = eager_mean(loss, taps, [X])
    assert_close(value, expected_value)
    assert_close(gradient, expected_gradient)
    exported = export(loss, wrt=taps)  # export packs anyway, one lane at a time, and agrees
    assert_close(exported.value_and_grad(exported.params, X)[1], expected_gradient)


def test_pack_false_runs_the_scalar_code_and_pack_true_packs_anyway() -> None:
    taps = [Value(0.5), Value(-0.25)]

    def loss(x: list[Value]) -> Value:
        return sum(((taps[0] * x[t] + taps[1] * x[t + 1]).relu() for t in range(3)), Value(0.0))

    X = np.random.default_rng(6).normal(size=(4, 4))
    expected_value, expected_gradient = eager_mean(loss, taps, [X])
    for pack, start in ((False, "not packed: pack=False"), (True, "packed ")):
        compiled = compile(loss, wrt=taps, reduce="mean", pack=pack)
        value, gradient = compiled(list(X.T))
        assert compiled.packing is not None and compiled.packing.startswith(start)
        assert_close(value, expected_value)
        assert_close(gradient, expected_gradient)
    with pytest.raises(TypeError, match="pack must be None, True or False"):
        compile(loss, wrt=taps, reduce="mean", pack="yes")  # type: ignore[arg-type]


def test_a_custom_op_packs_on_numpy_and_is_refused_by_name_elsewhere() -> None:
    from tinygrad_gd.core.ops import SIGMOID, custom_op
    from tinygrad_gd.tools.compiler.pack import NotPackable

    softplus = custom_op(
        "softplus_packed",
        forward=lambda a: math.log1p(math.exp(-abs(a))) + max(a, 0.0),
        partials=lambda a, out: (SIGMOID(a),),
        ufunc=lambda a: np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0.0),
    )
    model = nn.MLP(2, [6, 1], activation=["tanh", "linear"], seed=8)
    params = model.parameters()

    def loss(x: list[Value], y: Value) -> Value:
        return softplus(-y * model(x))  # the logistic loss, log(1 + e^(-y·out))

    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(6, 2)), rng.choice([-1.0, 1.0], 6)
    compiled = compile(loss, wrt=params, reduce="mean", pack=True)
    value, gradient = compiled(list(X.T), y)
    assert "softplus_packed(" in compiled.source
    expected_value, expected_gradient = eager_mean(loss, params, [X, y])
    assert_close(value, expected_value)
    assert_close(gradient, expected_gradient)
    if BACKENDS["jax"].available():
        exported = export(loss, "jax", wrt=params)
        with pytest.raises(NotPackable, match="custom op 'softplus_packed' has a numpy form only"):
            exported.forward(exported.params, X, y)
