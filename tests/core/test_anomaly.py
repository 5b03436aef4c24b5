"""detect_anomaly(): the first non-finite result names its op, operands and line.

The expected line numbers are found by reading this file itself: each culprit
statement carries a unique marker comment, and :func:`line_of` finds it.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import tinygrad_gd
from tinygrad_gd import AnomalyError, Value, detect_anomaly, grad, gradients, no_grad, parse
from tinygrad_gd.core.ops import Op

HERE = os.path.abspath(__file__)
PACKAGE_DIR = os.path.dirname(os.path.abspath(tinygrad_gd.__file__))


def line_of(marker: str) -> int:
    """The number of the one line of this file that holds ``# marker``."""
    with open(HERE, encoding="utf-8") as source:
        found = [i for i, line in enumerate(source, 1) if line.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, f"marker {marker!r} found {len(found)} times"
    return found[0]


def made_at(where: str | Callable[..., object]) -> str:
    """The tail of a message that names the line of ``# where`` (or of a lambda)."""
    line = line_of(where) if isinstance(where, str) else where.__code__.co_firstlineno
    return f"\n  made at {HERE}:{line}: "


@contextmanager
def anomaly() -> Iterator[pytest.ExceptionInfo[AnomalyError]]:
    with pytest.raises(AnomalyError) as caught, detect_anomaly():
        yield caught


# -- forward: the op whose result is not finite ------------------------------------


def test_log_of_zero_names_op_operand_and_line() -> None:
    x = Value(0.0)
    with anomaly() as caught:
        x.log()  # forward log
    message = str(caught.value)
    assert message.startswith("log(0.0) gave -inf" + made_at("forward log"))
    assert message.endswith("x.log()  # forward log")


@pytest.mark.parametrize(
    ("build", "description"),
    [
        (lambda: Value(-1.0).log(), "log(-1.0) gave nan"),
        (lambda: Value(1.0) / 0.0, "div(1.0, 0.0) gave inf"),
        (lambda: 1.0 / Value(0.0), "div(1.0, 0.0) gave inf"),
        (lambda: Value(1000.0).exp(), "exp(1000.0) gave inf"),
        (lambda: Value(0.0) ** -1, "pow(0.0) gave inf"),
        (lambda: Value(-8.0) ** Value(1 / 3), "pow(-8.0, 0.3333333333333333) gave nan"),
        (lambda: Value(-4.0).sqrt(), "sqrt(-4.0) gave nan"),
        (lambda: Value(math.inf) * 0.0, "mul(inf, 0.0) gave nan"),
        (lambda: Value(1e308) + 1e308, "add(1e+308, 1e+308) gave inf"),
        (lambda: Value(math.inf).sin(), "sin(inf) gave nan"),
    ],
)
def test_each_forward_anomaly_names_the_culprit(
    build: Callable[[], Value], description: str
) -> None:
    with anomaly() as caught:
        build()
    assert str(caught.value).startswith(description + made_at(build))


def test_the_line_is_the_users_even_inside_helpers_and_grad() -> None:
    def loss(w: Value) -> Value:
        return (w - 2.0).log()  # inside loss

    with anomaly() as caught:
        grad(loss)(2.0)
    assert made_at("inside loss") in str(caught.value)
    # A parsed formula is package code: the line is the one that called it.
    with anomaly() as caught:
        parse("log(w - 2)")(Value(2.0))  # calling a formula
    assert str(caught.value).startswith("log(0.0) gave -inf" + made_at("calling a formula"))


def test_grad_of_a_non_finite_value_names_the_users_op_not_its_own_alias() -> None:
    # grad differentiates a Value argument through an alias x * 1 of its own; that
    # node is no op of the user's, so the first one named is the user's exp.
    with anomaly() as caught:
        grad(lambda x: x.exp() * 2.0)(Value(math.inf))  # exp of inf
    assert str(caught.value).startswith("exp(inf) gave inf" + made_at("exp of inf"))


def test_forward_check_also_works_without_recording() -> None:
    x = Value(-1.0)
    with no_grad(), anomaly() as caught:
        x.log()  # under no_grad
    assert str(caught.value).startswith("log(-1.0) gave nan" + made_at("under no_grad"))


def test_finite_results_pass_and_keep_their_graph() -> None:
    x = Value(0.5)
    with detect_anomaly():
        y = (x * 0.1).sigmoid() - 0.3
        error = y * y
        error.backward()
    assert [p.data for p in error.parents] == [y.data, y.data]
    assert x.grad == pytest.approx(0.0106182320, abs=1e-10)  # the tutorial's dE/dw


# -- backward: the op whose gradient flow is not finite ----------------------------


def test_sqrt_at_zero_names_the_backward_op_and_its_line() -> None:
    x = Value(0.0)
    with anomaly() as caught:
        root = x.sqrt()  # backward sqrt
        root.backward()
    assert str(caught.value) == (
        "backward through sqrt(0.0): the gradient for operand 0.0 is inf "
        "(local partial inf, incoming gradient 1.0)"
        + made_at("backward sqrt")
        + "root = x.sqrt()  # backward sqrt"
    )


@pytest.mark.parametrize(
    ("build", "description"),
    [
        # log is finite at a subnormal, its slope 1/x is not.
        (lambda x: (x * 1e-320).log(), "backward through log(1e-320): the gradient for "
         "operand 1e-320 is inf (local partial inf, incoming gradient 1.0)"),
        (lambda x: (x * 0.0) ** 0.5, "backward through pow(0.0): the gradient for operand "
         "0.0 is inf"),
        # inf * 0: the downstream gradient is 0, the flow is nan.
        (lambda x: (x * 0.0).sqrt() * 0.0, "backward through sqrt(0.0): the gradient for "
         "operand 0.0 is nan (local partial inf, incoming gradient 0.0)"),
        # d(a**b)/db = a**b log(a) is nan for a < 0.
        (lambda x: (x - 3.0) ** Value(2.0), "backward through pow(-2.0, 2.0): the gradient "
         "for operand 2.0 is nan"),
    ],
)  # fmt: skip
def test_each_backward_anomaly_names_the_culprit(
    build: Callable[[Value], Value], description: str
) -> None:
    x = Value(1.0)
    with anomaly() as caught:
        build(x).backward()
    assert str(caught.value).startswith(description)
    assert made_at(build) in str(caught.value)


def test_the_first_culprit_on_the_way_back_is_named() -> None:
    x = Value(0.0)
    with anomaly() as caught:
        inner = x.sqrt()  # inner sqrt
        outer = inner.sqrt()  # outer sqrt
        outer.backward()
    # Walking back from outer, its own flow is inf first; inner's then is inf * inf.
    assert made_at("outer sqrt") in str(caught.value)
    assert made_at("inner sqrt") not in str(caught.value)


def test_gradients_and_grad_check_too() -> None:
    x = Value(0.0)
    with anomaly() as caught:
        gradients(x.sqrt(), [x])  # via gradients
    assert made_at("via gradients") in str(caught.value)
    with anomaly() as caught:
        grad(lambda w: w.sqrt())(0.0)  # via grad
    assert str(caught.value).startswith("backward through sqrt(0.0)")
    assert made_at("via grad") in str(caught.value)


def test_a_failed_backward_leaves_every_grad_untouched() -> None:
    x, w = Value(0.0), Value(3.0)
    x.grad, w.grad = 5.0, 7.0
    y = (x * w).sqrt() + w
    with anomaly():
        y.backward()
    assert (x.grad, w.grad, y.grad) == (5.0, 7.0, 0.0)
    # The pass left no state behind: the same backward outside the block gives
    # IEEE results, accumulated onto the untouched grads.
    y.backward()
    # By hand: d sqrt(u)/du = inf at u = 0; dy/dx = w·inf = inf, dy/dw = x·inf + 1 = nan.
    assert x.grad == math.inf and math.isnan(w.grad) and y.grad == 1.0


def test_a_node_made_outside_the_block_has_no_line() -> None:
    x = Value(0.0)
    root = x.sqrt()
    with anomaly() as caught:
        root.backward()
    assert str(caught.value).startswith("backward through sqrt(0.0)")
    assert "made at" not in str(caught.value)


def test_anomaly_error_is_a_floating_point_error() -> None:
    assert issubclass(AnomalyError, FloatingPointError)
    assert tinygrad_gd.AnomalyError is AnomalyError


# -- off by default -------------------------------------------------------------------


def test_off_by_default_gives_ieee_results_silently() -> None:
    x = Value(0.0)
    y = x.log()
    assert y.data == -math.inf
    root = x.sqrt()
    root.backward()
    assert x.grad == math.inf


def test_off_again_after_the_block_even_after_an_error() -> None:
    with anomaly():
        Value(0.0).log()
    assert Value(0.0).log().data == -math.inf
    with detect_anomaly():
        inside = Value(0.0).sqrt()
    inside.backward()  # the check belongs to the block, not to the node
    assert inside.parents[0].grad == math.inf


# -- per thread and per task -----------------------------------------------------------


def probe(record: bool, detect: bool) -> list[str]:
    """What differs from a thread expecting ``record`` and ``detect`` modes."""
    wrong = []
    node = Value(2.0) * 3.0
    if bool(node.parents) != record:
        wrong.append(f"records={bool(node.parents)}, expected {record}")
    try:
        Value(0.0).log()
        raised = False
    except AnomalyError:
        raised = True
    if raised != detect:
        wrong.append(f"detects={raised}, expected {detect}")
    return wrong


def test_threads_toggling_modes_concurrently_see_only_their_own() -> None:
    # Four threads, one per combination of (no_grad, detect_anomaly). In each
    # round all of them enter their modes, meet at a barrier (so every mode is
    # set at once), check, meet again, leave, and check the defaults are back.
    combinations = [(r, d) for r in (True, False) for d in (True, False)]
    barrier = threading.Barrier(len(combinations), timeout=30)
    failures: list[str] = []

    def worker(record: bool, detect: bool) -> None:
        try:
            for round_number in range(20):
                # Alternate which threads hold a mode, so every pairing overlaps.
                flip = round_number % 2 == 1
                want_record, want_detect = record != flip, detect != flip
                with (
                    no_grad() if not want_record else _nothing(),
                    detect_anomaly() if want_detect else _nothing(),
                ):
                    barrier.wait()
                    failures.extend(probe(want_record, want_detect))
                    barrier.wait()
                failures.extend(probe(True, False))
                barrier.wait()
        except threading.BrokenBarrierError:
            failures.append("barrier broken")
        except Exception as error:  # reported below rather than lost in the thread
            failures.append(repr(error))
            barrier.abort()

    threads = [threading.Thread(target=worker, args=c) for c in combinations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert probe(True, False) == []  # the main thread was never touched


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def test_asyncio_tasks_interleaving_keep_their_own_modes() -> None:
    async def task(record: bool, detect: bool) -> list[str]:
        wrong = []
        with no_grad() if not record else _nothing(), detect_anomaly() if detect else _nothing():
            for _ in range(5):
                await asyncio.sleep(0)  # hand control to the other tasks mid-block
                wrong += probe(record, detect)
        return wrong + probe(True, False)

    async def all_tasks() -> list[list[str]]:
        return await asyncio.gather(*(task(r, d) for r in (True, False) for d in (True, False)))

    assert asyncio.run(all_tasks()) == [[], [], [], []]


def test_concurrent_backward_through_a_shared_leaf() -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a busy machine would
    try:
        wrong = [dw for _ in range(100) for dw in _race_two_backward_passes(terms=200)]
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def _race_two_backward_passes(terms: int) -> list[float]:
    """Two threads each differentiate terms·w·x_k through one shared w; the wrong results."""
    w = Value(0.5)
    barrier = threading.Barrier(2, timeout=30)
    wrong: list[float] = []

    def worker(x_k: float) -> None:
        barrier.wait()
        y = w * x_k
        for _ in range(terms - 1):
            y = y + w * x_k
        (dw,) = gradients(y, [w])
        if dw != terms * x_k:
            wrong.append(dw)

    threads = [threading.Thread(target=worker, args=(x_k,)) for x_k in (1.0, 2.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wrong


# -- defects found by these tests, fixed since -------------------------------------------


def test_gradient_that_overflows_when_flows_are_summed() -> None:
    x = Value(1e-10, label="x")
    with detect_anomaly():
        y = x * 1e308 + x * 1e308  # flows sum to inf
        assert math.isfinite(y.data)
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    assert x.grad == 0.0
    message = str(caught.value)
    expected = "backward: the gradients flowing into the leaf x = 1e-10 from its 2 uses"
    assert message.startswith(expected)
    assert message.count(made_at("flows sum to inf")) == 2


def test_create_graph_names_the_op_being_differentiated_and_its_line() -> None:
    x = Value(0.0)
    with anomaly() as caught:
        root = x.sqrt()  # sqrt under create_graph
        gradients(root, [x], create_graph=True)
    assert str(caught.value).startswith("backward through sqrt(0.0)")
    assert made_at("sqrt under create_graph") in str(caught.value)


def test_user_code_in_a_folder_named_like_the_package_is_user_code() -> None:
    def user_log(x: Value) -> Value:
        return x.log()

    sibling = os.path.join(PACKAGE_DIR + "_examples", "user.py")
    user_log.__code__ = user_log.__code__.replace(co_filename=sibling)
    with anomaly() as caught:
        user_log(Value(0.0))
    assert f"made at {sibling}:" in str(caught.value)


# -- fit(..., detect_anomaly=True) -------------------------------------------------------


def test_fit_with_detect_anomaly_names_the_first_bad_op_before_updating() -> None:
    from tinygrad_gd import nn
    from tinygrad_gd.learning.train import fit

    neuron = nn.Neuron(1, activation="linear", bias=False, seed=0)
    neuron.load_state_dict({"weight": [1e100]})
    with pytest.raises(AnomalyError) as caught:
        fit(neuron, [[1e100]], [0.0], epochs=3, detect_anomaly=True)  # fit with the flag
    # The output 1e200 is finite, its squared error is not. The loss is package
    # code, so the line named is the user's call of fit.
    message = str(caught.value)
    assert "(1e+200" in message.splitlines()[0] and " gave inf" in message.splitlines()[0]
    assert made_at("fit with the flag") in message
    assert neuron.state_dict()["weight"] == [1e100]
    # Without the flag the same step gives an inf loss, and fit stops on it.
    history = fit(neuron, [[1e100]], [0.0], epochs=3)
    assert history.stop_reason == "loss became inf" and history.loss == [math.inf]
    with pytest.raises(TypeError, match="detect_anomaly must be True or False, got int: 1"):
        fit(neuron, [[1.0]], [0.0], detect_anomaly=1)  # type: ignore[arg-type]

# -- anomaly mode: which flow is named ---------------------------------------------------------


def test_a_flow_that_overflows_as_a_product_names_its_op() -> None:
    # u = x·1e200 is finite (1e-100), its incoming gradient is 1e200, its partial
    # for x is 1e200: the flow 1e200·1e200 is inf, though neither factor is.
    x = Value(1e-300)
    with detect_anomaly():
        u = x * 1e200
        y = u * 1e200
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    assert str(caught.value).startswith(
        "backward through mul(1e-300, 1e+200): the gradient for operand 1e-300 is inf "
        "(local partial 1e+200, incoming gradient 1e+200)"
    )


def test_an_overflowing_sum_names_its_leaf_and_the_lines_of_three_uses() -> None:
    x = Value(1e-10, label="x")
    with detect_anomaly():
        uses = [x * 1e308 for _ in range(4)]  # each flow into x is 1e308, their sum inf
        y = uses[0] + uses[1] + uses[2] + uses[3]
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    message = str(caught.value)
    assert message.startswith(
        "backward: the gradients flowing into the leaf x = 1e-10 from its 4 uses sum to inf"
    )
    assert message.count("\n  made at ") == 3


# -- rules made outside the table ------------------------------------------------------------


def test_a_constant_partial_of_two_doubles_the_flow_in_a_created_graph() -> None:
    double = Op("double", 1, lambda a: 2.0 * a, lambda a: 2.0 * a, lambda a, out: (2.0,), "2{0}")
    x = Value(3.0)
    (d,) = gradients(Value.apply(double, x), [x], create_graph=True)
    assert d.data == 2.0  # d(2x)/dx
    (d,) = gradients(Value.apply(double, x) * x, [x], create_graph=True)
    assert d.data == 12.0  # d(2x·x)/dx = 4x


def test_anomaly_mode_refuses_a_rule_with_more_partials_than_operands() -> None:
    extra = Op("extra", 1, lambda a: a, lambda a: a, lambda a, out: (1.0, 1.0), "extra({0})")
    x = Value(3.0)
    with detect_anomaly():
        y = Value.apply(extra, x)
        with pytest.raises(ValueError):
            y.backward()
    assert x.grad == 0.0  # the refused pass added nothing
