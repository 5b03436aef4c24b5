"""nn: neurons, layers, MLPs and losses against hand formulas and central differences."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_gd import Value, gradients, no_grad
from tinygrad_gd.learning.losses import (
    BCEWithLogitsLoss,
    HingeLoss,
    Loss,
    MSELoss,
    binary_cross_entropy_with_logits,
    hinge,
    squared_error,
)
from tinygrad_gd.learning.nn import MLP, Layer, Neuron, manual_seed
from tinygrad_gd.tools.gradcheck import numerical_grad

HAND_ACTIVATIONS: dict[str, Callable[[float], float]] = {
    "sigmoid": lambda s: 1.0 / (1.0 + math.exp(-s)),
    "tanh": math.tanh,
    "relu": lambda s: max(s, 0.0),
    "linear": lambda s: s,
}


def parameter_gradients_agree(
    loss_of_model: Callable[[], Value], parameters: list[Value], rtol: float = 1e-6
) -> None:
    """Reverse mode equals central differences for every parameter."""
    start = [p.data for p in parameters]
    automatic = gradients(loss_of_model(), parameters)

    def loss_at(theta: np.ndarray) -> float:
        for p, value in zip(parameters, theta, strict=True):
            p.data = float(value)
        with no_grad():
            return loss_of_model().data

    try:
        numerical = numerical_grad(loss_at, start)
    finally:
        for p, value in zip(parameters, start, strict=True):
            p.data = value
    np.testing.assert_allclose(automatic, numerical, rtol=rtol, atol=1e-8)


# -- neurons, layers, MLPs --------------------------------------------------------------


@pytest.mark.parametrize("activation", HAND_ACTIVATIONS)
@pytest.mark.parametrize("bias", [True, False])
def test_neuron_computes_activation_of_weighted_sum(activation: str, bias: bool) -> None:
    neuron = Neuron(3, activation=activation, bias=bias, seed=0)
    weights, b = [0.4, -1.5, 2.0], 0.25
    neuron.load_state_dict({"weight": weights, "bias": b} if bias else {"weight": weights})
    x = [1.0, 0.5, -0.3]
    sop = (b if bias else 0.0) + 0.4 * 1.0 - 1.5 * 0.5 + 2.0 * -0.3
    assert neuron(x).data == pytest.approx(HAND_ACTIVATIONS[activation](sop), rel=1e-15)


def test_tutorial_part3_network_matches_the_hand_derived_chain_rule() -> None:
    """Part 3: 3 inputs -> 2 sigmoid neurons -> 1 sigmoid neuron, no bias, squared error."""
    model = MLP(3, [2, 1], activation="sigmoid", bias=False, seed=0)
    hidden_w = [[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]]
    output_w = [0.7, -0.6]
    model.load_state_dict({"layers": [{"weight": hidden_w}, {"weight": [output_w]}]})
    x, target = [0.1, 0.4, 4.1], 0.2
    error = MSELoss()([model(x)], [target])
    error.backward()

    sigmoid = HAND_ACTIVATIONS["sigmoid"]
    sop_hidden = [sum(w * xi for w, xi in zip(row, x, strict=True)) for row in hidden_w]
    hidden = [sigmoid(s) for s in sop_hidden]
    predicted = sigmoid(sum(w * h for w, h in zip(output_w, hidden, strict=True)))
    assert error.data == pytest.approx((predicted - target) ** 2, rel=1e-14)
    g1 = 2 * (predicted - target)  # dE/dpredicted
    g2 = predicted * (1 - predicted)  # dpredicted/dsop
    output_grads = [g1 * g2 * h for h in hidden]  # dsop/dw = hidden output
    hidden_grads = [
        [g1 * g2 * output_w[j] * hidden[j] * (1 - hidden[j]) * xi for xi in x] for j in range(2)
    ]
    state = model._state()
    assert [w.grad for w in state["layers"][1]["weight"][0]] == pytest.approx(output_grads)
    for j in range(2):
        got = [w.grad for w in state["layers"][0]["weight"][j]]
        assert got == pytest.approx(hidden_grads[j], rel=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_mlp_gradients_match_central_differences(activation: str, bias: bool) -> None:
    model = MLP(3, [4, 3, 1], activation=[activation, activation, "linear"], bias=bias, seed=1)
    X = [[0.3, -0.7, 1.1], [-0.5, 0.2, 0.9], [1.3, 0.4, -0.2]]
    y = [0.5, -1.0, 2.0]
    parameter_gradients_agree(
        lambda: MSELoss()([model(x) for x in X], y), model.parameters(), rtol=1e-5
    )


@settings(max_examples=15)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    nin=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    activation=st.sampled_from(["sigmoid", "tanh"]),
)
def test_any_smooth_mlp_has_correct_gradients(
    sizes: list[int], nin: int, seed: int, activation: str
) -> None:
    model = MLP(nin, [*sizes, 1], activation=activation, seed=seed)
    x = list(np.random.default_rng(seed).uniform(-2, 2, nin))
    parameter_gradients_agree(lambda: MSELoss()([model(x)], [0.3]), model.parameters())


def test_layer_outputs_one_value_per_neuron_in_order() -> None:
    layer = Layer(2, 3, activation="linear", seed=0)
    layer.load_state_dict({"weight": [[1, 0], [0, 1], [1, 1]], "bias": [0.0, 10.0, 100.0]})
    assert [v.data for v in layer([2.0, 3.0])] == [2.0, 13.0, 105.0]


def test_defaults_are_micrograds_relu_hidden_layers_and_linear_output() -> None:
    # One hidden relu neuron, one output neuron, set by hand: x = 1 gives
    # relu(-2·1 + 0.5) = 0 hidden, then 3·0 - 0.5 = -0.5 out; x = -1 gives relu(2.5) = 2.5,
    # then 3·2.5 - 0.5 = 7. A sigmoid output would stay in (0, 1), a relu one at 0 or above.
    model = MLP(1, [1, 1], seed=0)
    model.load_state_dict(
        {"layers": [{"weight": [[-2.0]], "bias": [0.5]}, {"weight": [[3.0]], "bias": [-0.5]}]}
    )
    assert model([1.0]).data == -0.5
    assert model([-1.0]).data == 7.0
    assert [layer.activation for layer in MLP(2, [16, 16, 1]).layers] == ["relu", "relu", "linear"]
    assert MLP(2, [3]).layers[0].activation == "linear"  # one layer: the output layer
    assert Neuron(2).activation == Layer(2, 3).activation == "relu"
    assert len(MLP(2, [16, 16, 1]).parameters()) == 337  # micrograd's demo prints 337 too


@pytest.mark.parametrize(("nonlin", "expected"), [(True, 0.0), (False, -1.5)])
def test_micrograds_nonlin_flag_picks_relu_or_linear(nonlin: bool, expected: float) -> None:
    neuron = Neuron(2, nonlin=nonlin, seed=0)
    neuron.load_state_dict({"weight": [1.0, -1.0], "bias": 0.5})
    assert neuron([1.0, 3.0]).data == expected  # 0.5 + 1 - 3 = -1.5, relu'd or not
    layer = Layer(2, 2, nonlin=nonlin, seed=0)
    assert layer.activation == neuron.activation == ("relu" if nonlin else "linear")


def test_a_layer_of_one_neuron_returns_a_value_as_micrograds_does() -> None:
    layer = Layer(2, 1, activation="linear", seed=0)
    layer.load_state_dict({"weight": [[2.0, 3.0]], "bias": [1.0]})
    output = layer([1.0, 1.0])
    assert isinstance(output, Value) and output.data == 6.0
    assert layer.output_shape == ()
    assert layer.predict([[1.0, 1.0], [0.0, 0.0]]).tolist() == [6.0, 1.0]
    # Inside an MLP, a one-neuron layer still feeds the next layer its output as a list.
    model = MLP(2, [1, 2], activation="linear", seed=0)
    model.load_state_dict(
        {
            "layers": [
                {"weight": [[2.0, 3.0]], "bias": [1.0]},
                {"weight": [[1.0], [-1.0]], "bias": [0.0, 0.0]},
            ]
        }
    )
    assert [v.data for v in model([1.0, 1.0])] == [6.0, -6.0]


def test_manual_seed_makes_unseeded_modules_reproducible() -> None:
    manual_seed(7)
    first, second = MLP(3, [4, 1]).state_dict(), Neuron(2).state_dict()
    manual_seed(7)
    assert MLP(3, [4, 1]).state_dict() == first  # the same draws, in the same order
    assert Neuron(2).state_dict() == second
    assert first == MLP(3, [4, 1], seed=7).state_dict()  # the first module: seed=7's draws
    assert MLP(3, [4, 1], seed=8).state_dict() != first  # an explicit seed is its own
    with pytest.raises(ValueError, match="seed must be at least 0, got -1"):
        manual_seed(-1)
    with pytest.raises(TypeError, match="seed must be a whole number, got NoneType"):
        manual_seed(None)  # type: ignore[arg-type]


def test_mlp_with_several_outputs_returns_a_list() -> None:
    outputs = MLP(2, [3, 2], seed=0)([0.1, 0.2])
    assert isinstance(outputs, list) and len(outputs) == 2


def test_predict_equals_the_graph_forward_for_every_sample() -> None:
    model = MLP(2, [5, 4, 1], activation=["tanh", "relu", "sigmoid"], seed=3)
    X = np.random.default_rng(0).normal(size=(20, 2))
    graph = [model(list(row)).data for row in X]
    np.testing.assert_allclose(model.predict(X), graph, rtol=1e-14, atol=1e-15)
    assert model.predict(X[:0]).shape == (0,)
    assert MLP(2, [3, 2], seed=0).predict(X).shape == (20, 2)


def test_predict_builds_no_graph_and_rejects_wrong_shapes() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"shape \(samples, 2\).*\(3,\)"):
        model.predict([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        model.predict([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def test_initialisation_is_seeded_and_bounded() -> None:
    first = MLP(4, [8, 1], seed=42).state_dict()
    assert MLP(4, [8, 1], seed=42).state_dict() == first
    assert MLP(4, [8, 1], seed=43).state_dict() != first
    assert MLP(4, [8, 1]).state_dict() != MLP(4, [8, 1]).state_dict()  # fresh without a seed
    hidden = np.array(first["layers"][0]["weight"])
    assert np.all(np.abs(hidden) <= 1 / math.sqrt(4)) and np.all(
        np.abs(first["layers"][1]["weight"]) <= 1 / math.sqrt(8)
    )


def test_parameters_zero_grad_and_counts() -> None:
    model = MLP(3, [2, 1], activation="sigmoid", bias=False, seed=0)
    assert len(model.parameters()) == 3 * 2 + 2
    assert len(MLP(3, [2, 1], seed=0).parameters()) == (3 + 1) * 2 + (2 + 1)
    model([1.0, 2.0, 3.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_reprs_read_like_the_constructor_calls() -> None:
    assert repr(Neuron(2, "tanh", bias=False)) == "Neuron(2, activation='tanh', bias=False)"
    assert repr(Layer(2, 3, "relu")) == "Layer(2, 3, activation='relu', bias=True)"
    assert repr(MLP(3, [2, 1], bias=False)) == (
        "MLP(3, [2, 1], activation=['relu', 'linear'], bias=False)"
    )
    assert repr(MLP(3, [2, 1], "sigmoid")) == "MLP(3, [2, 1], activation='sigmoid', bias=True)"
    assert repr(MLP(2, [4, 1], activation=["relu", "linear"])) == (
        "MLP(2, [4, 1], activation=['relu', 'linear'], bias=True)"
    )


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Neuron(0), ValueError, "nin must be at least 1, got 0"),
        (lambda: Neuron(True), TypeError, "nin must be a whole number, got bool"),
        (lambda: Neuron(2, bias="no"), TypeError, "bias must be True or False, got str: 'no'"),
        (lambda: Neuron(2, seed="abc"), TypeError, "seed must be a whole number, got str"),
        (lambda: Neuron(2, seed=-1), ValueError, "seed must be at least 0, got -1"),
        (lambda: Neuron(2, activation="soft"), ValueError, "activation must be one of 'sigmoid'"),
        (lambda: Neuron(2, nonlin="yes"), TypeError, "nonlin must be True or False, got str"),
        (lambda: Neuron(2, "relu", nonlin=True), TypeError, "give activation or nonlin, not both"),
        (lambda: Layer(2, 2, "linear", nonlin=False), TypeError, "activation or nonlin, not both"),
        (lambda: Layer(2, 0), ValueError, "nout must be at least 1, got 0"),
        (lambda: Layer(2, 2, bias="no"), TypeError, "bias must be True or False"),
        (lambda: Layer(2, 2, activation="soft"), ValueError, "activation must be one of"),
        (lambda: MLP(2, []), ValueError, "nouts must list at least one layer size"),
        (lambda: MLP(2, "16"), TypeError, "nouts must be a list of layer sizes, got str"),
        (lambda: MLP(2, 16), TypeError, "nouts must be a list of layer sizes, got int"),
        (lambda: MLP(2, [4, -1]), ValueError, r"nouts\[1\] must be at least 1, got -1"),
        (lambda: MLP(2, [4, 1], activation="softmax"), ValueError, "got 'softmax'"),
        (lambda: MLP(2, [4, 1], activation=3), TypeError, "activation must be a name or a"),
        (lambda: MLP(2, [4, 1], activation=["relu"]), ValueError, "1 names for 2 layers"),
        (lambda: MLP(2, [4, 1], activation=["relu", 3]), ValueError, r"activation\[1\] must"),
        (lambda: MLP(2, [4, 1], bias="no"), TypeError, "bias must be True or False"),
        (lambda: MLP(2, [4, 1], seed=1.5), TypeError, "seed must be a whole number"),
    ],
)
def test_bad_constructor_arguments_name_the_problem(
    build: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build()


def test_numpy_sizes_seeds_and_generators_are_accepted() -> None:
    model = MLP(np.int64(2), np.array([3, 1]), seed=np.int64(4))
    assert repr(model) == "MLP(2, [3, 1], activation=['relu', 'linear'], bias=True)"
    assert model.state_dict() == MLP(2, [3, 1], seed=4).state_dict()
    from_generator = MLP(2, [3, 1], seed=np.random.default_rng(4))
    assert from_generator.state_dict() == model.state_dict()


def test_a_sample_of_the_wrong_length_or_kind_is_refused() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="sequence of 2 inputs, got float"):
        model(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="MLP input 1 must be a number or a Value, got str: 'a'"):
        model([1.0, "a"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"MLP input 0 must be .* got list: \[1.0, 2.0\]"):
        model([[1.0, 2.0], [3.0, 4.0]])  # type: ignore[list-item]


def test_many_samples_at_once_are_refused_by_call_even_when_as_many_as_inputs() -> None:
    """Two samples of two inputs: a length that matches nin must not pass for one sample."""
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"MLP takes one sample of 2 inputs, .* shape \(2, 2\)"):
        model(np.array([[1.0, 2.0], [3.0, 4.0]]))
    one = np.array([1.0, 2.0])
    assert model(one).data == model([1.0, 2.0]).data == model.predict([one])[0]


def test_output_shape_is_the_shape_of_one_samples_outputs() -> None:
    x = [0.1, 0.2]
    for model in (Neuron(2), Layer(2, 1), Layer(2, 3), MLP(2, [3, 1]), MLP(2, [3, 2])):
        assert np.shape(model.predict([x])[0]) == model.output_shape
        outputs = model(x)
        assert (() if isinstance(outputs, Value) else (len(outputs),)) == model.output_shape


def test_predict_gives_ieee_results_without_warnings_as_the_graph_does() -> None:
    """1e300 squared overflows to inf; inf - inf is nan: no RuntimeWarning (warnings are errors)."""
    model = MLP(2, [2, 1], activation=["tanh", "linear"], seed=0)
    big = 1e300
    model.load_state_dict({"layers": [
        {"weight": [[big, big], [big, -big]], "bias": [0.0, 0.0]},
        {"weight": [[big, -big]], "bias": [0.0]},
    ]})  # fmt: skip
    neuron = Neuron(2, activation="sigmoid", seed=0)
    neuron.load_state_dict({"weight": [big, big], "bias": -big})
    samples = [[big, big], [-big, 1.0], [1.0, 1.0]]
    for network in (model, neuron):
        graph = [network(x).data for x in samples]
        np.testing.assert_array_equal(network.predict(samples), graph)
    assert math.isnan(model.predict([[big, big]])[0])
    assert neuron.predict(samples)[:2].tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("X", "message"),
    [
        ([[1.0, 2.0], [3.0]], "a ragged nesting"),
        ([["a", "b"]], "text entries"),
        ([[True, False]], "True/False entries"),
        ([[None, 1.0]], "non-number entries"),
        ([1.0, 2.0], r"shape \(2,\)"),
    ],
)
def test_predict_names_what_is_wrong_with_x(X: object, message: str) -> None:
    expected = rf"predict expects X as an array .*\(samples, 2\).*{message}"
    with pytest.raises(ValueError, match=expected):
        MLP(2, [1], seed=0).predict(X)


# -- state ------------------------------------------------------------------------------


def test_state_dict_round_trip_is_exact() -> None:
    source, target = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    target.load_state_dict(source.state_dict())
    assert target.state_dict() == source.state_dict()
    assert target([0.3, -0.1]).data == source([0.3, -0.1]).data


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda s: s.pop("layers"), r"state: missing keys \['layers'\]"),
        (lambda s: s.update(extra=1), r"unexpected keys \['extra'\]"),
        (lambda s: s["layers"][1]["weight"][0].pop(), r"layers\[1\]\.weight\[0\]: .* 3 entries"),
        (lambda s: s["layers"][0]["bias"].__setitem__(2, math.nan), r"bias\[2\] must be a finite"),
        (lambda s: s["layers"][0]["bias"].__setitem__(0, True), r"bias\[0\] must be a number"),
        (lambda s: s["layers"][0]["bias"].__setitem__(0, 10**400), r"bias\[0\] is too large"),
        (lambda s: s["layers"][0]["weight"].__setitem__(0, "1,2"), r"weight\[0\]: .*list"),
        (lambda s: s["layers"].__setitem__(0, [1.0]), r"layers\[0\]: expected a dict"),
    ],
)
def test_a_bad_state_raises_and_changes_no_parameter(
    corrupt: Callable[[dict[str, object]], object], message: str
) -> None:
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    state = MLP(2, [3, 1], seed=5).state_dict()
    corrupt(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


# -- losses -----------------------------------------------------------------------------


def test_squared_error_is_the_tutorial_error() -> None:
    predicted = Value(0.512497)
    error = MSELoss()([predicted], [0.3])
    error.backward()
    assert error.data == squared_error(0.512497, 0.3) == (0.512497 - 0.3) ** 2
    assert predicted.grad == pytest.approx(2 * (0.512497 - 0.3))


def test_mse_is_the_mean_over_samples() -> None:
    assert MSELoss()([Value(1.0), Value(3.0)], [0.0, 0.0]).data == (1 + 9) / 2


def reference_cross_entropy(z: float, y: float) -> float:
    # -[y log σ(z) + (1 - y) log(1 - σ(z))] = log(1 + e^z) - y z; log1p keeps the digits
    # that log(1 - σ(z)) would lose for large z.
    return math.log1p(math.exp(z)) - y * z


@pytest.mark.parametrize("z", [-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0])
@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_cross_entropy_value_and_gradient_are_the_textbook_ones(z: float, y: float) -> None:
    logit = Value(z)
    loss = binary_cross_entropy_with_logits(logit, y)
    (dz,) = gradients(loss, [logit])
    assert loss.data == pytest.approx(reference_cross_entropy(z, y), rel=1e-12, abs=1e-12)
    assert dz == pytest.approx(1 / (1 + math.exp(-z)) - y, rel=1e-12, abs=1e-15)  # σ(z) - y
    if z != 0.0:
        assert dz == pytest.approx(numerical_grad(lambda t: reference_cross_entropy(t, y), z))


def test_cross_entropy_gradient_at_exactly_zero_is_one_half_minus_target() -> None:
    """The kink of |z| must not leak: the function is smooth at z = 0."""
    logit = Value(0.0)
    (dz,) = gradients(binary_cross_entropy_with_logits(logit, 1.0), [logit])
    assert dz == -0.5


@pytest.mark.parametrize("z", [-1000.0, 1000.0, -1e300, 1e300])
def test_cross_entropy_is_finite_at_huge_logits(z: float) -> None:
    logit = Value(z)
    for y in (0.0, 1.0):
        loss = binary_cross_entropy_with_logits(logit, y)
        (dz,) = gradients(loss, [logit])
        assert math.isfinite(loss.data) and math.isfinite(dz)
        assert loss.data == pytest.approx(max(z, 0.0) - z * y, abs=1e-12)
        assert dz == (1.0 if z > 0 else 0.0) - y


@pytest.mark.parametrize(
    ("z", "y"), [(0.3, 1.0), (2.0, 1.0), (-0.4, 1.0), (0.5, -1.0), (-3.0, -1.0)]
)
def test_hinge_value_and_gradient(z: float, y: float) -> None:
    output = Value(z)
    loss = hinge(output, y)
    (dz,) = gradients(loss, [output])
    assert loss.data == pytest.approx(max(0.0, 1.0 - y * z))
    assert dz == pytest.approx(numerical_grad(lambda t: max(0.0, 1.0 - y * t), z))


def test_l2_penalty_adds_l2_sum_of_squares_and_its_gradient() -> None:
    w = [Value(2.0), Value(-3.0)]
    loss = HingeLoss(l2=0.1)([Value(5.0)], [1.0], w)  # data loss 0
    assert loss.data == pytest.approx(0.1 * (4 + 9))
    assert list(gradients(loss, w)) == pytest.approx([2 * 0.1 * 2.0, 2 * 0.1 * -3.0])


@pytest.mark.parametrize("loss", [MSELoss(l2=0.01), BCEWithLogitsLoss(l2=0.01), HingeLoss(l2=0.01)])
def test_every_loss_trains_an_mlp_with_correct_gradients(loss: Loss) -> None:
    model = MLP(2, [3, 1], activation=["tanh", "linear"], seed=2)
    X = [[0.5, -1.0], [-0.3, 0.8], [1.5, 0.2]]
    y = [loss.labels[1], loss.labels[0], loss.labels[1]]
    parameter_gradients_agree(
        lambda: loss([model(x) for x in X], y, model.parameters()), model.parameters()
    )


def test_losses_refuse_targets_they_are_not_defined_for() -> None:
    with pytest.raises(ValueError, match="HingeLoss needs targets that are -1 or 1; target 1 is 0"):
        HingeLoss()([Value(1.0), Value(1.0)], [1.0, 0.0])
    with pytest.raises(ValueError, match="between 0 and 1; target 0 is 2"):
        BCEWithLogitsLoss()([Value(1.0)], [2.0])
    with pytest.raises(ValueError, match="any finite number; target 0 is nan"):
        MSELoss()([Value(1.0)], [math.nan])
    with pytest.raises(ValueError, match="as many outputs as targets"):
        MSELoss()([Value(1.0)], [1.0, 2.0])
    with pytest.raises(ValueError, match="as many outputs as targets"):
        MSELoss()([], [])
    with pytest.raises(ValueError, match="needs the parameters"):
        MSELoss(l2=0.1)([Value(1.0)], [1.0])
    with pytest.raises(ValueError, match="l2 must be a non-negative finite number, got -1.0"):
        MSELoss(l2=-1.0)
    with pytest.raises(TypeError, match="l2 must be a number, got str"):
        MSELoss(l2="0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="any finite number; target 0 is 1000000"):
        MSELoss()([Value(1.0)], [10**400])
    with pytest.raises(ValueError, match="-1 or 1; target 0 is '1'"):
        HingeLoss()([Value(1.0)], ["1"])  # type: ignore[list-item]


def test_classify_and_accuracy_follow_each_losses_labels() -> None:
    assert [MSELoss().classify(o) for o in (0.4, 0.6)] == [0.0, 1.0]
    assert [BCEWithLogitsLoss().classify(o) for o in (-0.1, 0.1)] == [0.0, 1.0]
    assert [HingeLoss().classify(o) for o in (-0.1, 0.1)] == [-1.0, 1.0]
    assert HingeLoss().accuracy([1.0, -1.0, 1.0, 1.0], [1.0, -1.0, -1.0, 1.0]) == 0.75
    assert HingeLoss().is_classification([1.0, -1.0])
    assert not HingeLoss().is_classification([1.0, 0.0])
    assert repr(HingeLoss(l2=1e-4)) == "HingeLoss(l2=0.0001)" and repr(MSELoss()) == "MSELoss()"


def test_parameters_are_labelled_by_where_they_sit() -> None:
    assert [p.label for p in Neuron(2, seed=0).parameters()] == ["w[0]", "w[1]", "b"]
    layer = Layer(2, 2, seed=0)
    assert [p.label for p in layer.parameters()] == ["w[0][0]", "w[0][1]", "w[1][0]", "w[1][1]",
                                                     "b[0]", "b[1]"]  # fmt: skip
    model = MLP(3, [2, 1], seed=0)
    assert model.layers[0].neurons[1].w[2].label == "layers[0].w[1][2]"
    assert model.layers[1].neurons[0].b.label == "layers[1].b[0]"  # type: ignore[union-attr]
    labels = [p.label for p in model.parameters()]
    assert len(set(labels)) == len(labels) == 2 * 3 + 2 + 2 + 1  # each one names one parameter
