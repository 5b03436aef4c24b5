"""train: fit reaches the targets, records what happened, stops when asked, checks input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tinygrad_gd import Value, data, nn, optim
from tinygrad_gd.learning import train as train_module
from tinygrad_gd.learning.losses import BCEWithLogitsLoss, HingeLoss, Loss, MSELoss
from tinygrad_gd.learning.nn import MLP, Layer, Neuron
from tinygrad_gd.learning.optim import SGD, Adam
from tinygrad_gd.learning.train import (
    Callback,
    History,
    StepReport,
    eager_batch_step,
    evaluate,
    fit,
)
from tinygrad_gd.tools.gradcheck import numerical_grad


def test_xor_reaches_full_accuracy() -> None:
    X, y = data.xor()
    model = MLP(2, [4, 1], seed=0)
    history = fit(
        model, X, y, loss=MSELoss(), optimizer=Adam(model.parameters(), lr=0.1), epochs=300
    )
    assert evaluate(model, X, y, MSELoss())["accuracy"] == 1.0
    assert history.loss[-1] < history.loss[0] / 10


def test_two_moons_reach_97_percent_within_100_full_batch_steps() -> None:
    """micrograd's demo: 100 points, noise 0.1, MLP(2, [16, 16, 1]), relu, hinge + L2."""
    X, y = data.moons(100, noise=0.1, seed=0, labels=(-1, 1))
    model = MLP(2, [16, 16, 1], activation=["relu", "relu", "linear"], seed=0)
    loss = HingeLoss(l2=1e-4)

    def stop_at_97_percent(report: StepReport) -> bool:
        return evaluate(report.model, X, y, loss)["accuracy"] >= 0.97

    history = fit(
        model,
        X,
        y,
        loss=loss,
        optimizer=Adam(model.parameters(), lr=0.05),
        epochs=100,
        callbacks=[stop_at_97_percent],
    )
    assert history.stop_reason == "stop_at_97_percent stopped training"
    assert history.steps <= 100
    assert evaluate(model, X, y, loss)["accuracy"] >= 0.97


def test_a_layer_of_one_neuron_is_a_model_with_one_output() -> None:
    # Targets made by 2·x0 - x1 + 0.5 exactly: gradient descent on the squared error
    # finds those coefficients (the least-squares solution is exact here).
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    y = 2.0 * X[:, 0] - X[:, 1] + 0.5
    layer = Layer(2, 1, activation="linear", seed=0)
    fit(layer, X, y, optimizer=SGD(layer.parameters(), lr=0.1), epochs=2000)
    state = layer.state_dict()
    np.testing.assert_allclose(state["weight"], [[2.0, -1.0]], atol=1e-6)
    np.testing.assert_allclose(state["bias"], [0.5], atol=1e-6)


@pytest.mark.parametrize(
    ("activation", "loss", "side"),
    [("sigmoid", HingeLoss(), "below"), ("sigmoid", BCEWithLogitsLoss(), "below"),
     ("relu", HingeLoss(), "below")],
)  # fmt: skip
def test_a_loss_that_cannot_separate_after_the_output_activation_is_warned_about(
    activation: str, loss: Loss, side: str
) -> None:
    X, y = data.xor(labels=loss.labels)
    model = MLP(2, [4, 1], activation=activation, seed=0)
    with pytest.warns(UserWarning, match=f"never gives an output {side} 0") as caught:
        fit(model, X, y, loss=loss, epochs=1)
    assert caught[0].filename == __file__  # pointed at the caller's line
    with pytest.warns(UserWarning, match=f"output activation '{activation}'") as caught:
        evaluate(model, X, y, loss)
    assert caught[0].filename == __file__


@pytest.mark.parametrize(
    ("activation", "loss"),
    [("sigmoid", MSELoss()), ("tanh", HingeLoss()), ("tanh", BCEWithLogitsLoss()),
     (["sigmoid", "linear"], HingeLoss()), (None, HingeLoss()), ("relu", MSELoss())],
)  # fmt: skip
def test_a_loss_that_can_separate_after_the_output_activation_is_not_warned_about(
    activation: str | list[str] | None, loss: Loss
) -> None:
    X, y = data.xor(labels=loss.labels)
    fit(MLP(2, [4, 1], activation=activation, seed=0), X, y, loss=loss, epochs=1)  # no warning


def test_target_loss_stops_before_the_update_so_the_model_has_that_loss() -> None:
    """The tutorial's Part 1 neuron, trained until its error is at most 1e-4."""
    neuron = Neuron(1, activation="sigmoid", bias=False, seed=0)
    neuron.load_state_dict({"weight": [0.5]})
    history = fit(
        neuron,
        [[0.1]],
        [0.3],
        optimizer=SGD(neuron.parameters(), lr=0.5),
        epochs=100_000,
        target_loss=1e-4,
    )
    assert history.stop_reason == "loss reached the target 0.0001"
    assert history.loss[-1] <= 1e-4 < history.loss[-2]
    assert evaluate(neuron, [[0.1]], [0.3])["loss"] == history.loss[-1]
    assert history.epochs == history.steps


def test_fit_with_the_same_seeds_repeats_itself_exactly() -> None:
    def train() -> tuple[History, dict[str, Any]]:
        X, y = data.moons(30, noise=0.2, seed=4)
        model = MLP(2, [4, 1], activation=["tanh", "linear"], seed=5)
        history = fit(model, X, y, loss=BCEWithLogitsLoss(), epochs=3, batch_size=8, seed=6)
        return history, model.state_dict()

    first, second = train(), train()
    assert first[0].loss == second[0].loss and first[1] == second[1]


def test_minibatches_give_one_step_per_batch_and_reshuffle() -> None:
    X, y = data.moons(10, noise=0.1, seed=0)
    model = MLP(2, [3, 1], seed=0)
    seen: list[tuple[int, int, bool]] = []
    history = fit(
        model,
        X,
        y,
        epochs=2,
        batch_size=4,
        seed=0,
        callbacks=[lambda r: seen.append((r.epoch, r.step, r.end_of_epoch))],
    )
    assert history.steps == len(history.metrics["accuracy"]) == 2 * 3  # batches 4, 4, 2
    assert seen == [
        (1, 1, False),
        (1, 2, False),
        (1, 3, True),
        (2, 4, False),
        (2, 5, False),
        (2, 6, True),
    ]
    assert history.epochs == 2 and history.stop_reason is None


def test_batch_step_leaves_the_batch_gradient_in_grad() -> None:
    model = MLP(2, [3, 1], activation=["tanh", "linear"], seed=1)
    parameters = model.parameters()
    loss = HingeLoss(l2=0.01)
    inputs, targets = [[0.2, -0.4], [1.0, 0.3], [-0.6, 0.9]], [1.0, -1.0, 1.0]
    result = eager_batch_step(model, loss, parameters)(inputs, targets)

    def loss_at(theta: np.ndarray) -> float:
        for p, value in zip(parameters, theta, strict=True):
            p.data = float(value)
        return evaluate(model, inputs, targets, loss)["loss"]

    start = [p.data for p in parameters]
    automatic = [p.grad for p in parameters]
    numerical = numerical_grad(loss_at, start)
    np.testing.assert_allclose(automatic, numerical, rtol=1e-6, atol=1e-9)
    for p, value in zip(parameters, start, strict=True):
        p.data = value
    assert result.loss == pytest.approx(evaluate(model, inputs, targets, loss)["loss"], rel=1e-14)
    assert result.outputs == pytest.approx(list(model.predict(inputs)), rel=1e-14)


def test_history_records_loss_and_accuracy_per_step() -> None:
    X, y = data.xor(labels=(-1, 1))
    model = MLP(2, [4, 1], activation=["tanh", "linear"], seed=0)
    history = fit(model, X, y, loss=HingeLoss(), epochs=5)
    assert history.steps == 5 == len(history.metrics["accuracy"])
    assert all(a in (0.0, 0.25, 0.5, 0.75, 1.0) for a in history.metrics["accuracy"])
    assert repr(history).startswith("History(steps=5, epochs=5, loss=")


def test_regression_targets_get_no_accuracy_but_custom_metrics_run() -> None:
    model = Neuron(1, activation="linear", seed=0)
    history = fit(model, [[0.0], [1.0]], [0.3, 0.7], epochs=2)
    assert history.metrics == {}
    history = fit(
        model,
        [[0.0], [1.0]],
        [0.3, 0.7],
        epochs=2,
        metrics={"largest error": lambda o, t: max(abs(a - b) for a, b in zip(o, t, strict=True))},
    )
    assert len(history.metrics["largest error"]) == 2


def test_a_callback_returning_true_stops_after_its_step() -> None:
    X, y = data.xor()
    model = MLP(2, [2, 1], seed=0)
    history = fit(model, X, y, epochs=50, callbacks=[lambda report: report.step == 3])
    assert history.steps == 3 and history.stop_reason == "<lambda> stopped training"


def test_a_diverging_run_stops_at_the_first_non_finite_loss() -> None:
    model = Neuron(1, activation="linear", seed=0)
    history = fit(model, [[1e150]], [0.0], optimizer=SGD(model.parameters(), lr=1e10), epochs=10)
    assert history.stop_reason == "loss became inf"
    assert math.isinf(history.loss[-1]) and history.steps < 10


def test_zero_epochs_train_nothing() -> None:
    model = MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    assert fit(model, *data.xor(), epochs=0).steps == 0
    assert model.state_dict() == before


def test_evaluate_by_hand() -> None:
    neuron = Neuron(1, activation="linear", seed=0)
    neuron.load_state_dict({"weight": [2.0], "bias": -1.0})
    # outputs 1, 3; squared errors (1-0)^2, (3-1)^2: mean 2.5; L2 0.1 * (4 + 1)
    result = evaluate(neuron, [[1.0], [2.0]], [0.0, 1.0], MSELoss(l2=0.1))
    assert result == pytest.approx({"loss": 2.5 + 0.5, "accuracy": 0.5})


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"X": [[0.0, 1.0, 2.0]]}, ValueError, r"fit expects X .*\(samples, 2\).*shape \(1, 3\)"),
        ({"X": []}, ValueError, r"at least one; got shape \(0,\)"),
        ({"X": [[0.0, 1.0], [2.0]]}, ValueError, "got a ragged nesting"),
        ({"X": [["a", "b"]]}, ValueError, "got text entries"),
        ({"y": [0.0, 1.0]}, ValueError, r"one target \(a number\) per row of X, shape \(4,\)"),
        ({"y": [[0.0], [1.0], [1.0], [0.0]]}, ValueError, r"shape \(4,\); got shape \(4, 1\)"),
        ({"y": ["0", "1", "1", "0"]}, ValueError, "got no array of numbers"),
        ({"X": [[math.nan, 0.0]] * 4}, ValueError, "X must hold finite numbers only"),
        ({"loss": HingeLoss()}, ValueError, "HingeLoss needs targets that are -1 or 1"),
        ({"loss": "mse"}, TypeError, r"loss must be an nn.Loss such as nn.MSELoss\(\), got 'mse'"),
        ({"epochs": -1}, ValueError, "epochs must be at least 0, got -1"),
        ({"epochs": 2.5}, TypeError, "epochs must be a whole number, got float"),
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1, got 0"),
        ({"target_loss": math.nan}, ValueError, "target_loss must be a finite number"),
        ({"target_loss": "0.1"}, TypeError, "target_loss must be a number, got str"),
        ({"optimizer": "adam"}, TypeError, "optimizer must be an optim.Optimizer, got str"),
        ({"callbacks": [None]}, TypeError, r"callbacks\[0\] must be callable"),
        ({"callbacks": print}, TypeError, "callbacks must be a list of functions"),
        ({"callbacks": 3}, TypeError, "callbacks must be a list of functions, got int"),
        ({"metrics": {"f1": 1.0}}, TypeError, "metric 'f1' must be callable"),
        ({"metrics": [len]}, TypeError, "metrics must be a dict of name -> function"),
        ({"metrics": {1: len}}, TypeError, "metric names must be str, got int"),
        ({"shuffle": "no"}, TypeError, "shuffle must be True or False, got str: 'no'"),
        ({"progress": "yes"}, TypeError, "progress must be True or False, got str: 'yes'"),
        ({"detect_anomaly": 1}, TypeError, "detect_anomaly must be True or False, got int"),
        ({"compile": "yes"}, TypeError, "compile must be True or False, got str"),
        ({"compile": True, "detect_anomaly": True}, ValueError, "cannot run with compile"),
        ({"seed": "abc"}, TypeError, "seed must be a whole number, got str: 'abc'"),
        ({"seed": -1}, ValueError, "seed must be at least 0, got -1"),
        ({"model": MLP(2, [3, 2], seed=0)}, ValueError, "gives a list of 2 outputs per sample"),
        ({"model": lambda x: x}, TypeError, "model must be an nn.Module, got function"),
    ],
)
def test_bad_arguments_raise_before_anything_changes(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    model = MLP(2, [3, 1], seed=0)
    X, y = data.xor()
    optimizer = Adam(model.parameters(), lr=0.1)
    arguments: dict[str, Any] = {
        "model": model, "X": X, "y": y, "optimizer": optimizer, "epochs": 5, **kwargs
    }  # fmt: skip
    before, optimizer_before = model.state_dict(), optimizer.state_dict()
    with pytest.raises(error, match=message):
        fit(**arguments)
    assert model.state_dict() == before and optimizer.state_dict() == optimizer_before


def test_an_optimizer_over_another_models_parameters_is_refused() -> None:
    """It would step on gradients fit never computes: nothing would train, silently."""
    model, other = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"moves 13 of its 13 Values that are not parameters"):
        fit(model, *data.xor(), optimizer=SGD(other.parameters(), lr=0.1), epochs=3)
    stranger = Value(1.0)
    with pytest.raises(ValueError, match="moves 1 of its 14 Values"):
        fit(model, *data.xor(), optimizer=SGD([*model.parameters(), stranger], lr=0.1))
    assert model.state_dict() == before


def test_an_optimizer_over_some_of_the_parameters_trains_only_those() -> None:
    """Freezing a layer: the optimizer holds the output layer's parameters only."""
    model = MLP(2, [3, 1], activation=["tanh", "linear"], seed=0)
    hidden_before = [p.data for p in model.layers[0].parameters()]
    output_before = [p.data for p in model.layers[1].parameters()]
    fit(model, *data.xor(), optimizer=SGD(model.layers[1].parameters(), lr=0.1), epochs=3)
    assert [p.data for p in model.layers[0].parameters()] == hidden_before  # exactly
    output_after = [p.data for p in model.layers[1].parameters()]
    assert all(a != b for a, b in zip(output_after, output_before, strict=True))


def test_no_callbacks_may_be_given_as_none() -> None:
    history = fit(MLP(2, [2, 1], seed=0), *data.xor(), epochs=2, callbacks=None)
    assert history.steps == 2


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((None, [[0.0, 1.0]], [1.0]), TypeError, "model must be an nn.Module, got NoneType"),
        ((Neuron(2, seed=0), [[0.0, 1.0]], [1.0], "mse"), TypeError, "got 'mse'"),
        ((Neuron(2, seed=0), [[0.0]], [1.0]), ValueError, r"evaluate expects X .*\(samples, 2\)"),
        ((Neuron(2, seed=0), [[0.0, 1.0]], [1.0, 2.0]), ValueError, r"shape \(1,\); got shape"),
    ],
)
def test_evaluate_names_a_bad_argument(
    arguments: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        evaluate(*arguments)


def test_progress_bar_draws_on_stderr_only_when_asked_or_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    X, y = data.xor()
    fit(MLP(2, [2, 1], seed=0), X, y, epochs=3, progress=True)
    shown = capsys.readouterr()
    assert shown.out == ""
    assert shown.err.startswith("\r[") and "epoch 3/3" in shown.err and shown.err.endswith("\n")
    assert "accuracy" in shown.err
    fit(MLP(2, [2, 1], seed=0), X, y, epochs=3)  # captured stderr is not a terminal
    assert capsys.readouterr() == ("", "")


def test_no_standard_error_means_no_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", None)
    assert fit(MLP(2, [2, 1], seed=0), *data.xor(), epochs=2, progress=True).steps == 2


def test_the_progress_line_ends_on_the_last_step_even_when_training_stops_early(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fit(MLP(2, [2, 1], seed=0), *data.xor(), epochs=50, progress=True,
        callbacks=[lambda report: report.step == 2])  # fmt: skip
    last = capsys.readouterr().err.split("\r")[-1]
    assert "epoch 2/50  step 2  loss" in last and last.endswith("\n")


def _trained(compile: bool, optimizer: str, callbacks: Any = None) -> tuple[Any, History]:
    X, y = data.moons(40, noise=0.1, seed=1, labels=(-1.0, 1.0))
    model = nn.MLP(2, [8, 8, 1], activation=["relu", "tanh", "linear"], seed=3)
    chosen = (
        optim.Adam(model.parameters(), lr=0.01)
        if optimizer == "adam"
        else optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    )
    history = fit(model, X, y, loss=nn.HingeLoss(l2=1e-3), optimizer=chosen, epochs=6,
                  batch_size=16, seed=0, callbacks=callbacks, compile=compile)  # fmt: skip
    return model, history


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_flat_compiled_training_follows_eager_training(optimizer: str) -> None:
    eager_model, eager = _trained(False, optimizer)
    flat_model, flat = _trained(True, optimizer)
    assert len(flat.loss) == len(eager.loss) == 18
    np.testing.assert_allclose(flat.loss, eager.loss, rtol=1e-10)
    np.testing.assert_allclose(
        [p.data for p in flat_model.parameters()],
        [p.data for p in eager_model.parameters()],
        rtol=1e-9, atol=1e-12,
    )  # fmt: skip


def test_a_callback_reads_the_current_parameters_on_the_flat_path() -> None:
    seen: dict[bool, list[list[float]]] = {True: [], False: []}

    def watch(compiled: bool) -> Callback:
        return lambda report: seen[compiled].append(
            [p.data for p in report.model.parameters()]
        ) and None  # fmt: skip

    _trained(False, "sgd", [watch(False)])
    _trained(True, "sgd", [watch(True)])
    np.testing.assert_allclose(seen[True], seen[False], rtol=1e-9, atol=1e-12)


def test_compiled_is_the_default_and_uses_the_flat_path(monkeypatch: Any) -> None:
    used: list[str] = []
    original = train_module.FlatStep.update

    def update(self: Any, optimizer: Any) -> None:
        used.append("flat")
        original(self, optimizer)

    monkeypatch.setattr(train_module.FlatStep, "update", update)
    X, y = data.moons(20, noise=0.1, seed=1, labels=(-1.0, 1.0))
    model = nn.MLP(2, [8, 8, 1], activation=["relu", "relu", "linear"], seed=3)
    fit(model, X, y, loss=nn.HingeLoss(), epochs=2)
    assert used == ["flat", "flat"]
