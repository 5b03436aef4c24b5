"""export on JAX and PyTorch: the same numbers as numpy, and JAX's transformations apply.

Each test runs only where its library is installed (CI installs the jax extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinygrad_gd import Value, export, nn


def mlp_loss() -> tuple[Any, list[Value], np.ndarray, np.ndarray]:
    model = nn.MLP(2, [5, 4, 1], activation=["tanh", "sigmoid", "linear"], seed=0)
    params = model.parameters()

    def loss(x: list[Value], y: Value) -> Value:
        return (1 - y * model(x)).relu() + 1e-3 * sum((p * p for p in params), Value(0.0))

    rng = np.random.default_rng(0)
    return loss, params, rng.normal(size=(7, 2)), rng.choice([-1.0, 1.0], 7)


def test_jax_export_matches_numpy_and_transforms() -> None:
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    loss, params, X, y = mlp_loss()
    reference = export(loss, wrt=params)
    P = reference.params
    expected_value, expected_G = reference.value_and_grad(P, X, y)
    exported = export(loss, "jax", wrt=params)
    Pj, Xj, yj = jnp.asarray(P), jnp.asarray(X), jnp.asarray(y)
    assert Pj.dtype == jnp.float64  # x64 is on: the engine's precision
    value, G = jax.jit(exported.value_and_grad)(Pj, Xj, yj)
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(G), expected_G, rtol=1e-12, atol=1e-15)
    # jax.grad of the packed forward is the packed reverse pass
    np.testing.assert_allclose(
        np.asarray(jax.grad(exported.forward)(Pj, Xj, yj)), np.asarray(G), rtol=1e-12, atol=1e-15
    )
    # vmap over several parameter vectors: one value per vector
    stacked = jnp.stack([Pj, 2 * Pj])
    values = jax.vmap(exported.forward, in_axes=(0, None, None))(stacked, Xj, yj)
    np.testing.assert_allclose(
        np.asarray(values), [expected_value, reference.forward(2 * P, X, y)], rtol=1e-12
    )


def test_jax_program_first_loaded_under_jit_keeps_no_traced_constant() -> None:
    jax = pytest.importorskip("jax")
    taps = [Value(0.5), Value(-0.25)]

    def smooth(x: list[Value]) -> Value:  # shifted windows: index arrays in the program
        return sum(((taps[0] * x[t] + taps[1] * x[t + 1]).relu() for t in range(3)), Value(0.0))

    exported = export(smooth, "jax", wrt=taps)
    step = jax.jit(exported.value_and_grad)
    X = np.random.default_rng(7).normal(size=(5, 4))
    first = step(np.array([0.5, -0.25]), X)  # the program is written while jit traces
    again = exported.value_and_grad(np.array([0.5, -0.25]), X)  # no jit now, same program
    expected = export(smooth, wrt=taps).value_and_grad(np.array([0.5, -0.25]), X)
    np.testing.assert_allclose(float(first[0]), expected[0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(again[1]), expected[1], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(first[1]), expected[1], rtol=1e-12)


def test_jax_source_is_pure_array_code() -> None:
    pytest.importorskip("jax")
    loss, params, X, y = mlp_loss()
    exported = export(loss, "jax", wrt=params)
    exported.forward(exported.params, X, y)
    assert "+=" not in exported.source and ".at[" in exported.source


def test_torch_export_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    loss, params, X, y = mlp_loss()
    reference = export(loss, wrt=params)
    expected_value, expected_G = reference.value_and_grad(reference.params, X, y)
    exported = export(loss, "torch", wrt=params)
    value, G = exported.value_and_grad(
        torch.as_tensor(reference.params), torch.as_tensor(X), torch.as_tensor(y)
    )
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-12)
    np.testing.assert_allclose(G.numpy(), expected_G, rtol=1e-12, atol=1e-15)


def test_a_missing_backend_says_how_to_install_it() -> None:
    try:
        import jax  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r'pip install "tinygrad_gd\[jax\]"'):
            export(lambda x: x, "jax", wrt=[])
    else:
        pytest.skip("jax is installed")


def rnn_and_windows() -> list[tuple[Any, list[Value], list[np.ndarray]]]:
    rng = np.random.default_rng(2)
    W = [[Value(float(w)) for w in row] for row in rng.normal(size=(3, 3)) * 0.5]
    U = [Value(float(u)) for u in rng.normal(size=3)]
    V = [Value(float(v)) for v in rng.normal(size=3)]

    def rnn(xs: list[Value], y: Value) -> Value:  # the same W and U at every step
        h = [Value(0.0)] * 3
        for x in xs:
            h = [
                (sum((W[j][i] * h[i] for i in range(3)), Value(0.0)) + U[j] * x).tanh()
                for j in range(3)
            ]
        return (sum((v * hj for v, hj in zip(V, h, strict=True)), Value(0.0)) - y) ** 2

    taps = [Value(0.5), Value(-0.25), Value(0.1)]

    def windows(x: list[Value]) -> Value:  # taps read out of order: index arrays, repeats
        return sum(
            ((taps[0] * x[t] + taps[1] * x[t + 2] + taps[2] * x[t + 1]).relu() for t in range(3)),
            Value(0.0),
        )

    return [
        (
            rnn,
            [*(w for row in W for w in row), *U, *V],
            [rng.normal(size=(4, 5)), rng.normal(size=4)],
        ),
        (windows, taps, [rng.normal(size=(4, 5))]),
    ]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_backends_agree_with_numpy_on_shared_weights_and_shifted_windows(backend: str) -> None:
    library = pytest.importorskip(backend)
    for f, params, columns in rnn_and_windows():
        reference = export(f, wrt=params)
        expected_value, expected_G = reference.value_and_grad(reference.params, *columns)
        exported = export(f, backend, wrt=params)
        if backend == "torch":  # (torch once failed here: its operators import lazily)
            P, columns = (
                library.as_tensor(reference.params),
                [library.as_tensor(c) for c in columns],
            )
        else:
            P = reference.params
        value, G = exported.value_and_grad(P, *columns)
        np.testing.assert_allclose(float(value), expected_value, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(G), expected_G, rtol=1e-12, atol=1e-15)
