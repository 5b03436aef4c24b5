"""optim: every update checked against the same update computed by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_gd import Value
from tinygrad_gd.learning.optim import SGD, Adam, ExponentialDecay, Optimizer, StepDecay

finite = st.floats(-1e6, 1e6, allow_nan=False)


def run(optimizer: Optimizer, gradients: list[list[float]]) -> list[list[float]]:
    """Apply one step per row of gradients; return the parameters after each step."""
    trajectory = []
    for row in gradients:
        for p, g in zip(optimizer.params, row, strict=True):
            p.grad = g
        optimizer.step()
        trajectory.append([p.data for p in optimizer.params])
    return trajectory


def run_one(optimizer: Optimizer, gradients: list[float]) -> list[float]:
    """``run`` for an optimizer of one parameter: its value after each step."""
    return [w for (w,) in run(optimizer, [[g] for g in gradients])]


@given(w=finite, gradient=finite, lr=st.floats(1e-6, 10.0))
def test_plain_sgd_is_the_tutorials_update_to_the_last_bit(
    w: float, gradient: float, lr: float
) -> None:
    parameter = Value(w)
    parameter.grad = gradient
    SGD([parameter], lr=lr).step()
    assert parameter.data == w - lr * gradient  # update_w: w = w - learning_rate * grad


def test_plain_sgd_trains_the_tutorial_part1_neuron_like_the_tutorial_loop() -> None:
    """x = 0.1, target = 0.3, w = 0.5, lr = 0.5, the hand-derived gradient in plain floats."""
    x, target, lr = 0.1, 0.3, 0.5
    w_by_hand = 0.5
    w = Value(0.5)
    optimizer = SGD([w], lr=lr)
    for _ in range(200):
        predicted = 1 / (1 + math.exp(-w_by_hand * x))
        grad = 2 * (predicted - target) * predicted * (1 - predicted) * x
        w_by_hand = w_by_hand - lr * grad
        optimizer.zero_grad()
        (((w * x).sigmoid() - target) ** 2).backward()
        optimizer.step()
    assert w.data == pytest.approx(w_by_hand, rel=1e-12)


def test_momentum_two_steps_by_hand() -> None:
    # v1 = g1 = 1.0, p1 = 1 - 0.1 * 1.0 = 0.9; v2 = 0.9 * 1.0 + 2.0 = 2.9, p2 = 0.9 - 0.29
    trajectory = run_one(SGD([Value(1.0)], lr=0.1, momentum=0.9), [1.0, 2.0])
    assert trajectory == pytest.approx([0.9, 0.61])


def test_nesterov_two_steps_by_hand() -> None:
    # step 1: v = 1, direction = 1 + 0.9 * 1 = 1.9, p = 1 - 0.19 = 0.81
    # step 2: v = 0.9 + 2 = 2.9, direction = 2 + 0.9 * 2.9 = 4.61, p = 0.81 - 0.461 = 0.349
    trajectory = run_one(SGD([Value(1.0)], lr=0.1, momentum=0.9, nesterov=True), [1.0, 2.0])
    assert trajectory == pytest.approx([0.81, 0.349])


def test_weight_decay_adds_decay_times_parameter_to_the_gradient() -> None:
    # g = 1 + 0.5 * 2 = 2, p = 2 - 0.1 * 2 = 1.8; then g = 1 + 0.9 = 1.9, p = 1.8 - 0.19
    trajectory = run_one(SGD([Value(2.0)], lr=0.1, weight_decay=0.5), [1.0, 1.0])
    assert trajectory == pytest.approx([1.8, 1.61])


def test_adam_two_steps_with_bias_correction_by_hand() -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    g1, g2 = 0.5, -2.0
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    p1 = 1.0 - lr * (m1 / 0.1) / (math.sqrt(v1 / 0.001) + eps)  # 1 - 0.9, 1 - 0.999
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    p2 = p1 - lr * (m2 / (1 - 0.9**2)) / (math.sqrt(v2 / (1 - 0.999**2)) + eps)
    trajectory = run_one(Adam([Value(1.0)], lr=lr, betas=(b1, b2), eps=eps), [g1, g2])
    assert trajectory == pytest.approx([p1, p2], rel=1e-14)
    assert p1 == pytest.approx(1.0 - lr)  # a first step moves by lr, whatever the gradient


def test_adam_weight_decay_enters_the_gradient() -> None:
    # g = 0 + 1.0 * 3.0: the first step still moves by lr, in the direction of the decay
    assert run_one(Adam([Value(3.0)], lr=0.1, weight_decay=1.0), [0.0]) == pytest.approx([2.9])


def test_every_parameter_moves_independently() -> None:
    trajectory = run(SGD([Value(1.0), Value(2.0)], lr=0.5), [[1.0, -1.0]])
    assert trajectory == [[0.5, 2.5]]


def test_schedules() -> None:
    step = StepDecay(1.0, step_size=3, gamma=0.5)
    assert [step(k) for k in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert [ExponentialDecay(2.0, gamma=0.5)(k) for k in range(3)] == [2.0, 1.0, 0.5]


def test_an_optimizer_follows_its_schedule_step_by_step() -> None:
    optimizer = SGD([Value(0.0)], lr=ExponentialDecay(1.0, gamma=0.5))
    assert run_one(optimizer, [1.0, 1.0, 1.0]) == [-1.0, -1.5, -1.75]
    assert optimizer.learning_rate == 0.125


def test_zero_grad() -> None:
    params = [Value(1.0), Value(2.0)]
    for p in params:
        p.grad = 3.0
    SGD(params, lr=0.1).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@pytest.mark.parametrize(
    "build",
    [
        lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: Adam(p, lr=StepDecay(0.05, step_size=2)),
    ],
)
def test_saved_state_resumes_training_exactly(build: Callable[[list[Value]], Any]) -> None:
    gradients = [[0.5, -1.0], [0.2, 0.3], [-0.7, 0.1], [1.0, 1.0]]
    uninterrupted = run(build([Value(1.0), Value(-1.0)]), gradients)

    first = build([Value(1.0), Value(-1.0)])
    run(first, gradients[:2])
    resumed = build([Value(p.data) for p in first.params])
    resumed.load_state_dict(first.state_dict())
    assert run(resumed, gradients[2:]) == uninterrupted[2:]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(type="SGD"), "optimizer state is for SGD, not Adam"),
        (lambda s: s.update(steps=-1), "optimizer steps must be at least 0, got -1"),
        (lambda s: s.update(steps=1.5), "optimizer steps must be a whole number, got float"),
        (lambda s: s["buffers"]["m"].__setitem__(0, "1"), r"'m'\[0\] must be a number, got str"),
        (lambda s: s["buffers"]["m"].__setitem__(0, 10**400), r"'m'\[0\] is too large"),
        (lambda s: s.pop("steps"), "keys 'type', 'steps' and 'buffers'"),
        (lambda s: s["buffers"].pop("v"), r"needs buffers \['m', 'v'\]"),
        (lambda s: s["buffers"]["m"].pop(), "'m' must list 2 numbers"),
        (lambda s: s["buffers"]["v"].__setitem__(1, math.inf), r"'v'\[1\] must be a non-neg"),
        (lambda s: s.update(steps=True), "optimizer steps must be a whole number, got bool"),
        # v is a running mean of g²: a negative one would fail the next step's square root.
        (lambda s: s["buffers"]["v"].__setitem__(0, -1e-3), r"'v'\[0\] must be a non-negative"),
    ],
)
def test_a_bad_state_raises_and_changes_nothing(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    optimizer = Adam([Value(1.0), Value(2.0)])
    run(optimizer, [[1.0, 1.0]])
    before = optimizer.state_dict()
    state = optimizer.state_dict()
    state["steps"] = 7
    change(state)
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(state)
    assert optimizer.state_dict() == before


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: SGD([], lr=0.1), ValueError, "empty list of parameters"),
        (lambda: SGD(Value(1.0), lr=0.1), TypeError, "iterable of Values"),
        (lambda: SGD([1.0], lr=0.1), TypeError, r"params\[0\] must be a Value, got float"),
        (lambda: SGD([w := Value(1.0), w], lr=0.1), ValueError, "same Value twice"),
        (lambda: SGD([Value(1.0)], lr=0.0), ValueError, "lr must be a positive finite number"),
        (lambda: SGD([Value(1.0)], lr=math.nan), ValueError, "lr must be a positive finite"),
        (lambda: SGD([Value(1.0)], lr="0.1"), TypeError, "lr must be a number, got str"),
        (lambda: SGD([Value(1.0)], lr=10**400), ValueError, "lr is too large for a float"),
        (lambda: SGD([Value(1.0)], 0.1, momentum=1.0), ValueError, r"momentum must be .* \[0, 1\)"),
        (lambda: SGD([Value(1.0)], 0.1, momentum=None), TypeError, "momentum must be a number"),
        (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True), ValueError, "needs a momentum"),
        (lambda: SGD([Value(1.0)], 0.1, 0.9, nesterov="no"), TypeError, "nesterov must be True"),
        (lambda: SGD([Value(1.0)], 0.1, weight_decay=-1), ValueError, "weight_decay must be"),
        (lambda: Adam([Value(1.0)], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be .* 1\)"),
        (lambda: Adam([Value(1.0)], betas=(0.9,)), ValueError, r"betas must be two .* \[0.9\]"),
        (lambda: Adam([Value(1.0)], betas=0.9), TypeError, r"betas must be two numbers"),
        (lambda: Adam([Value(1.0)], betas="ab"), TypeError, r"betas must be two numbers"),
        (lambda: Adam([Value(1.0)], eps=0.0), ValueError, "eps must be a positive finite number"),
        (lambda: StepDecay(1.0, step_size=0), ValueError, "step_size must be at least 1, got 0"),
        (lambda: StepDecay(1.0, step_size=2.0), TypeError, "step_size must be a whole number"),
        (lambda: StepDecay("1", step_size=2), TypeError, "lr must be a number, got str"),
        (lambda: ExponentialDecay(1.0, gamma=-0.5), ValueError, "gamma must be a positive"),
    ],
)
def test_bad_arguments_name_the_problem(
    build: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build()


def test_a_gradient_that_is_not_a_number_stops_the_step_before_any_change() -> None:
    params = [Value(1.0), Value(2.0)]
    params[0].grad, params[1].grad = 1.0, Value(1.0)
    optimizer = Adam(params)
    with pytest.raises(TypeError, match=r"params\[1\]\.grad must be a number, got Value"):
        optimizer.step()
    assert [p.data for p in params] == [1.0, 2.0] and optimizer.steps == 0
    assert optimizer.state_dict()["buffers"]["m"] == [0.0, 0.0]


def test_a_schedule_giving_a_bad_rate_is_refused() -> None:
    optimizer = SGD([Value(1.0)], lr=lambda step: -1.0)
    with pytest.raises(ValueError, match="learning rate at step 0 must be a non-negative finite"):
        optimizer.step()
    assert optimizer.params[0].data == 1.0 and optimizer.steps == 0


def test_a_schedule_giving_a_rate_too_large_for_a_float_is_refused() -> None:
    optimizer = SGD([Value(1.0)], lr=lambda step: 10**400)
    with pytest.raises(ValueError, match="learning rate at step 0 is too large for a float"):
        optimizer.step()
    assert optimizer.params[0].data == 1.0 and optimizer.steps == 0


def test_a_gradient_too_large_for_a_float_moves_no_parameter() -> None:
    params = [Value(float(i)) for i in range(5)]
    for p in params:
        p.grad = 1.0
    params[2].grad = 10**400  # a Python int: no float holds it
    optimizer = SGD(params, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"params\[2\]\.grad is too large for a float: an int"):
        optimizer.step()
    assert [p.data for p in params] == [0.0, 1.0, 2.0, 3.0, 4.0] and optimizer.steps == 0
    assert optimizer.state_dict()["buffers"]["velocity"] == [0.0] * 5


@pytest.mark.parametrize("nan", [math.nan, np.float64("nan")])
def test_a_nan_gradient_of_either_float_type_moves_the_parameter_to_nan(nan: float) -> None:
    """IEEE: w - lr * nan is nan; fit's stop on a nan loss reports it, the step does not."""
    w = Value(1.0)
    w.grad = nan
    optimizer = SGD([w], lr=0.1)
    optimizer.step()
    assert math.isnan(w.data) and optimizer.steps == 1


class _FailsAtThirdParameter(SGD):
    """Plain SGD whose update fails at params[2], as an arithmetic fault would."""

    def _update(self, i: int, data: float, gradient: float, lr: float, *rest: Any) -> float:
        if i == 2:
            raise OverflowError("math range error")
        return data - lr * gradient


@pytest.mark.parametrize("build", [_FailsAtThirdParameter, Adam])
def test_a_step_failing_midway_is_not_taken_at_all(build: Callable[..., Optimizer]) -> None:
    """Every new value is computed before any is stored: no half-moved model, no step counted."""
    params = [Value(1.0) for _ in range(5)]
    optimizer = build(params, lr=0.1, weight_decay=0.5)
    for p in params:
        p.grad = 1.0
    params[2].data = 10**400  # type: ignore[assignment]  # weight decay multiplies it
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=r"step 1 failed at params\[2\].*no parameter moved"):
        optimizer.step()
    assert [p.data for p in params[:2] + params[3:]] == [1.0] * 4
    assert optimizer.state_dict() == before


def test_a_growing_schedule_overflowing_names_the_learning_rate_and_moves_nothing() -> None:
    schedule = ExponentialDecay(0.1, gamma=1.5)
    # Exact rational arithmetic, rounded once: just past where 1.5 ** step alone overflows.
    assert schedule(1751) == pytest.approx(float(Fraction(0.1) * Fraction(3, 2) ** 1751), rel=1e-12)
    assert schedule(2000) == math.inf  # 0.1 * 1.5 ** 2000 is about 1e351
    optimizer = SGD([w := Value(1.0)], lr=schedule)
    optimizer.steps = 2000
    w.grad = 1.0
    with pytest.raises(ValueError, match="learning rate at step 2000 must be a non-negative"):
        optimizer.step()
    assert w.data == 1.0 and optimizer.steps == 2000


def test_betas_may_be_any_pair_and_numpy_numbers_count() -> None:
    """A list, as JSON or a config file gives, is as good as a tuple; numpy ints are counts."""
    assert Adam([Value(1.0)], betas=[0.5, 0.25]).betas == (0.5, 0.25)
    assert Adam([Value(1.0)], betas=np.array([0.5, 0.25])).betas == (0.5, 0.25)
    schedule = StepDecay(np.float64(1.0), step_size=np.int64(2), gamma=0.5)
    assert [schedule(k) for k in range(4)] == [1.0, 1.0, 0.5, 0.5]
    assert repr(schedule) == "StepDecay(lr=1.0, step_size=2, gamma=0.5)"


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (lambda p: SGD(p, lr=0.1), "SGD(2 parameters, lr=0.1)"),
        (lambda p: SGD(p, lr=0.1, momentum=0.9), "SGD(2 parameters, lr=0.1, momentum=0.9)"),
        (
            lambda p: SGD(p, 0.1, 0.5, nesterov=True, weight_decay=0.01),
            "SGD(2 parameters, lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.01)",
        ),
        (lambda p: Adam(p, weight_decay=0.5), "Adam(2 parameters, lr=0.001, weight_decay=0.5)"),
    ],
)
def test_the_repr_shows_every_setting_that_is_not_its_default(
    make: Callable[[list[Value]], Optimizer], shown: str
) -> None:
    """A printed optimizer tells how it updates: one with momentum does not read as plain SGD."""
    assert repr(make([Value(1.0), Value(2.0)])) == shown
