"""data: the generated sets have the geometry, labels and reproducibility they promise."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_gd.learning.data import moons, xor
from tinygrad_gd.learning.optim import SGD
from tinygrad_gd.learning.train import fit
from tinygrad_gd.tutorial.examples import EXAMPLES as TUTORIAL_EXAMPLES
from tinygrad_gd.tutorial.examples import tutorial_data, tutorial_example, tutorial_network


def test_xor_is_the_truth_table() -> None:
    X, y = xor()
    assert [(int(a), int(b), int(c)) for (a, b), c in zip(X, y, strict=True)] == [
        (0, 0, 0),
        (0, 1, 1),
        (1, 0, 1),
        (1, 1, 0),
    ]
    assert xor(labels=(-1, 1))[1].tolist() == [-1.0, 1.0, 1.0, -1.0]


def test_noiseless_moons_lie_on_their_two_half_circles() -> None:
    X, y = moons(101, noise=0.0, seed=0, labels=(-1, 1))
    upper, lower = X[y == -1], X[y == 1]
    assert len(upper) == 50 and len(lower) == 51
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)  # the upper half of the unit circle
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)  # the lower half around (1, 0.5)


def test_moons_noise_has_the_asked_standard_deviation() -> None:
    clean, _ = moons(4000, noise=0.0, seed=1)
    noisy, _ = moons(4000, noise=0.1, seed=1)
    # Same seed, same order: the difference is the noise alone.
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.05)
    assert abs(np.mean(noisy - clean)) < 0.01


def test_moons_are_reproducible_with_a_seed_and_shuffled() -> None:
    first, labels = moons(100, seed=3)
    again, _ = moons(100, seed=3)
    other, _ = moons(100, seed=4)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert 0 < np.sum(labels[:50]) < 50  # classes are interleaved, not in two blocks


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 1}, ValueError, "n must be at least 2, got 1"),
        ({"n": 10.0}, TypeError, "n must be a whole number, got float"),
        ({"noise": -0.1}, ValueError, "noise must be a non-negative finite number, got -0.1"),
        ({"noise": None}, TypeError, "noise must be a number, got NoneType"),
        ({"seed": "abc"}, TypeError, "seed must be a whole number, got str: 'abc'"),
        ({"seed": -1}, ValueError, "seed must be at least 0, got -1"),
        ({"labels": (1, 1)}, ValueError, "labels must be two different numbers"),
        ({"labels": (0, 1, 2)}, ValueError, "labels must be two different numbers"),
        ({"labels": "01"}, TypeError, "labels must be two different numbers, got '01'"),
        ({"labels": (0, 10**400)}, ValueError, r"labels\[1\] is too large for a float"),
        ({"labels": (0, "1")}, TypeError, r"labels\[1\] must be a number, got str"),
    ],
)
def test_bad_arguments_name_the_problem(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        moons(**kwargs)  # type: ignore[arg-type]


def test_labels_may_be_any_pair_and_numpy_counts_count() -> None:
    X, y = moons(np.int64(6), noise=0.0, seed=np.int64(0), labels=np.array([-1, 1]))
    assert X.shape == (6, 2) and sorted(y.tolist()) == [-1.0] * 3 + [1.0] * 3
    assert xor(labels=[-1, 1])[1].tolist() == [-1.0, 1.0, 1.0, -1.0]


def test_tutorial_examples_are_the_published_ones() -> None:
    """The table of the series (inputs; target; learning rate; hidden layer)."""
    ten = (0.1, 0.4, 4.1, 4.3, 1.8, 2.0, 0.01, 0.9, 3.8, 1.6)
    published = {
        (x, target, lr, hidden)
        for x, target, lr, hidden in [
            ((0.1,), 0.3, 0.01, 0),
            ((0.1,), 0.3, 0.5, 0),
            ((0.1, 0.4), 0.3, 0.1, 0),
            (ten, 0.3, 0.01, 0),
            ((0.1, 0.4, 4.1), 0.2, 0.001, 2),
            ((0.1, 0.4, 4.1), 0.2, 0.001, 5),
            ((0.1, 0.4, 4.1), 0.2, 0.001, 8),
        ]
    }
    assert {(e.x, e.target, e.learning_rate, e.hidden) for e in TUTORIAL_EXAMPLES} == published


def test_a_tutorial_example_is_a_data_set_and_a_network() -> None:
    assert tutorial_data("part 4, 5 hidden") == ([[0.1, 0.4, 4.1]], [0.2])
    model = tutorial_network(tutorial_example("part-4-5-hidden"), seed=0)
    assert repr(model) == "MLP(3, [5, 1], activation='sigmoid', bias=False)"
    assert len(model.parameters()) == 3 * 5 + 5
    assert len(tutorial_network("part 2, 10 inputs").parameters()) == 10
    with pytest.raises(ValueError, match="no tutorial example 'part9'; choose from part-1"):
        tutorial_example("part9")
    for function in (tutorial_data, tutorial_network):
        with pytest.raises(TypeError, match="must be a tutorial Example or its name, got int"):
            function(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name must be a str, got int: 3"):
        tutorial_example(3)  # type: ignore[arg-type]


def test_the_tutorial_network_trains_on_its_example() -> None:
    """Part 1 (x = 0.1, target 0.3) with w = 0.5 and lr = 0.5 reaches |pred - target| < 1e-3."""
    X, y = tutorial_data("part 1, lr 0.5")
    model = tutorial_network("part 1, lr 0.5")
    model.load_state_dict({"layers": [{"weight": [[0.5]]}]})
    fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.5), epochs=50_000, target_loss=1e-6)
    assert abs(model.predict(X)[0] - 0.3) <= 1e-3
