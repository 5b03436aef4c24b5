"""micrograd's programs, run as their users write them, against micrograd's published numbers.

Only the imports change: ``micrograd.engine.Value`` is ``tinygrad_gd.Value`` and
``micrograd.nn`` is ``tinygrad_gd.nn``. Each expected number comes from
micrograd's README, its notebook's printed output, or a derivation by hand (in
the comments); micrograd's own tests compare with PyTorch, which is not a
dependency here, so the PyTorch values are derived in closed form instead.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np

import tinygrad_gd
from tinygrad_gd import Value
from tinygrad_gd.nn import MLP


def test_readme_example_prints_micrograds_numbers() -> None:
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    assert f"{g.data:.4f}" == "24.7041"  # the README's printed numbers
    g.backward()
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"
    # By hand: c = 3a + 4b + 3 = -1; d = 12(ab + b³) + 4 relu(a + b) + relu(b - a) = 6,
    # since relu(a + b) = relu(-2) = 0 and relu(b - a) = 6; e = -7; g = e²/2 + 10/e².
    # dg/de = e - 20/e³; de/da = 3 - (12b - 1) = -20; de/db = 4 - (12(a + 3b²) + 1) = -93.
    e_ = Fraction(-7)
    dg_de = e_ - 20 / e_**3
    assert abs(g.data - float(e_**2 / 2 + 10 / e_**2)) < 1e-12
    assert abs(a.grad - float(dg_de * -20)) < 1e-9  # test_more_ops' tolerance is 1e-6
    assert abs(b.grad - float(dg_de * -93)) < 1e-9


def test_engine_sanity_check_matches_the_closed_form() -> None:
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    # z = 3x + 2 = -10, so relu(z) = 0 and q = zx = 40, h = z² = 100, y = 100 + 40 - 160.
    # dy/dx = 2z·3 + (3x + z) + (3x + z)·x + q = -60 - 22 + 88 + 40 = 46.
    assert y.data == -20.0
    assert x.grad == 46.0


def moons_as_micrograds_notebook_draws_them() -> tuple[np.ndarray, np.ndarray]:
    """The points of scikit-learn's ``make_moons(n_samples=100, noise=0.1)`` after
    ``np.random.seed(1337)``, drawn the same way: two half circles of 50 points, the
    order shuffled, then Gaussian noise, from numpy's legacy generator seeded 1337
    (a fresh one here, so the global one stays untouched)."""
    draws = np.random.RandomState(1337)
    angles = np.linspace(0.0, np.pi, 50)
    outer = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    inner = np.stack([1.0 - np.cos(angles), 0.5 - np.sin(angles)], axis=1)
    X = np.concatenate([outer, inner])
    y = np.repeat([0, 1], 50)
    order = np.arange(100)
    draws.shuffle(order)
    X, y = X[order], y[order]
    X = X + draws.normal(scale=0.1, size=X.shape)
    return X, y * 2 - 1  # the notebook's "make y be -1 or 1"


def model_as_micrograd_initialises_it() -> MLP:
    """``MLP(2, [16, 16, 1])`` after ``random.seed(1337)`` in micrograd: weights
    ``random.uniform(-1, 1)`` neuron after neuron, biases 0."""
    model = MLP(2, [16, 16, 1])
    draws = random.Random(1337)
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.load_state_dict({"weight": [draws.uniform(-1, 1) for _ in neuron.w], "bias": 0})
    return model


# The notebook's printed steps: (step, loss, accuracy).
PUBLISHED = [
    (0, 0.8958441028683222, 0.50),
    (1, 1.7235905336972022, 0.81),
    (2, 0.7429006313851131, 0.77),
    (10, 0.24507023853658053, 0.91),
    (22, 0.11733695088756485, 0.97),
    (40, 0.06016009895234464, 1.00),
    (83, 0.011589314549188726, 1.00),
    (99, 0.010978370135492717, 1.00),
]


def test_demo_as_written_gives_the_notebooks_first_steps() -> None:
    X, y = moons_as_micrograds_notebook_draws_them()
    model = model_as_micrograd_initialises_it()

    # The notebook's code from here on (its batch_size option left out).
    def loss() -> tuple[Value, float]:
        Xb, yb = X, y
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores, strict=True)]
        return total_loss, sum(accuracy) / len(accuracy)

    printed = []
    for k in range(3):  # each eager step takes a fraction of a second; the compiled test runs 100
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        printed.append((k, total_loss.data, acc))
    for (k, loss_, acc), (step, published_loss, published_acc) in zip(
        printed, PUBLISHED[:3], strict=True
    ):
        assert k == step
        assert abs(loss_ - published_loss) <= 1e-13 * published_loss  # summation order aside
        assert acc == published_acc


def test_demo_compiled_follows_the_notebook_for_all_100_steps() -> None:
    X, y = moons_as_micrograds_notebook_draws_them()
    model = model_as_micrograd_initialises_it()
    parameters = model.parameters()

    def sample_loss(x0: Value, x1: Value, target: Value) -> tuple[Value, Value]:
        score = model([x0, x1])
        return (1 + -target * score).relu() + 1e-4 * sum(p * p for p in parameters), score

    step = tinygrad_gd.compile(sample_loss, wrt=parameters, reduce="mean", has_aux=True)
    seen = {}
    for k in range(100):
        (total_loss, scores), gradient = step(X[:, 0], X[:, 1], y.astype(float))
        seen[k] = (total_loss, np.mean((y > 0) == (scores > 0)))
        for p, g in zip(parameters, gradient, strict=True):
            p.data -= (1.0 - 0.9 * k / 100) * g
    for k, published_loss, published_acc in PUBLISHED:
        assert abs(seen[k][0] - published_loss) <= 1e-11 * published_loss, k
        assert seen[k][1] == published_acc, k
