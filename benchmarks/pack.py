"""Packed code against hand-written code: one MLP training step at several widths.

The workload: ``MLP(2, [W, W, 1])``, relu, hinge loss with L2 1e-4, 100
two-moons points, one step = forward, backward and an SGD update (lr 0.05).
Side by side in one process, interleaved, best of ``--repeat`` rounds:

- hand numpy: batched backpropagation written by hand (the floor);
- packed flat: ``export(...).value_and_grad(P, X, y)`` then
  ``SGD.step_arrays(P, G)``, the parameters in one array;
- fit's step: ``FlatStep``, what ``fit`` runs by default (lists in, as fit
  hands them over);
- compile(wrt=Values): ``compile(f, wrt=params, reduce="mean")`` called on
  the batch, reading the Values and updating them (packed automatically);
- scalar compile: the same with ``pack=False``, one numpy call per scalar op
  (skipped above ``--scalar-max``, too slow);
- with JAX installed: a hand-written step under ``jax.jit`` and the JAX
  export's ``value_and_grad`` under ``jax.jit``.

Then, each width in a fresh process: the cost of tracing and packing
(seconds, peak memory above the process's size before, microseconds per
scalar op).

    python benchmarks/pack.py [--widths 16,64,256] [--repeat 25] [--scalar-max 64]
"""

# ruff: noqa: E402  (the imports follow the thread settings, which numpy reads at import)
from __future__ import annotations

import os

# One thread for every library: on a shared machine, BLAS and XLA thread pools fighting
# other processes for cores swing a 100×256 matmul by 10×. Set before numpy is imported.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_gd import Value, compile, data, export, nn, optim
from tinygrad_gd.learning.train import FlatStep

jax: Any = None  # imported in the timing process only, when installed (it is large)
jnp: Any = None

SAMPLES, ALPHA, LEARNING_RATE = 100, 1e-4, 0.05


def workload(width: int) -> tuple[nn.MLP, nn.HingeLoss, np.ndarray, np.ndarray]:
    model = nn.MLP(2, [width, width, 1], activation=["relu", "relu", "linear"], seed=0)
    X, y = data.moons(SAMPLES, noise=0.1, seed=0, labels=(-1.0, 1.0))
    return model, nn.HingeLoss(l2=ALPHA), np.asarray(X, dtype=float), np.asarray(y, dtype=float)


def sample_loss(model: nn.MLP, loss: nn.HingeLoss) -> Callable[[list[Value], Value], Value]:
    parameters = model.parameters()

    def f(x: list[Value], target: Value) -> Value:
        return loss.sample(model(x), target) + loss.penalty(parameters)

    return f


def matrices(model: nn.MLP) -> list[np.ndarray]:
    """The model's weights (inputs × outputs) and biases, for the hand-written steps."""
    arrays = []
    for layer in model.state_dict()["layers"]:
        arrays += [np.array(layer["weight"], dtype=float).T, np.array(layer["bias"], dtype=float)]
    return arrays


def hand_numpy_step(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Forward, backward and SGD update, by hand; returns the loss before the update."""
    W1, b1, W2, b2, W3, b3 = params
    z1 = X @ W1 + b1
    h1 = np.maximum(z1, 0.0)
    z2 = h1 @ W2 + b2
    h2 = np.maximum(z2, 0.0)
    score = (h2 @ W3 + b3)[:, 0]
    margin = 1.0 - y * score
    loss = np.maximum(margin, 0.0).mean() + ALPHA * sum((p * p).sum() for p in params)
    d_score = (np.where(margin > 0, -y, 0.0) / len(y))[:, None]
    d_h2 = d_score @ W3.T
    d_z2 = d_h2 * (z2 > 0)
    d_h1 = d_z2 @ W2.T
    d_z1 = d_h1 * (z1 > 0)
    grads = [X.T @ d_z1, d_z1.sum(0), h1.T @ d_z2, d_z2.sum(0), h2.T @ d_score, d_score.sum(0)]
    for p, g in zip(params, grads, strict=True):
        p -= LEARNING_RATE * (g + 2 * ALPHA * p)
    return float(loss)


def contenders(width: int, scalar: bool) -> dict[str, Callable[[], Any]]:
    model, loss, X, y = workload(width)
    f = sample_loss(model, loss)
    params = model.parameters()
    hand = matrices(model)
    exported = export(f, wrt=params)
    P = exported.params
    sgd = optim.SGD([Value(0.0) for _ in params], lr=LEARNING_RATE)

    def packed_flat() -> None:
        _, G = exported.value_and_grad(P, X, y)
        sgd.step_arrays(P, G)

    step_model, step_loss, _, _ = workload(width)
    fit_optimizer = optim.SGD(step_model.parameters(), lr=LEARNING_RATE)
    flat_step = FlatStep(step_model, step_loss, fit_optimizer)
    inputs, targets = X.tolist(), y.tolist()

    def fit_step() -> None:
        flat_step(inputs, targets)
        flat_step.update(fit_optimizer)

    runs: dict[str, Callable[[], Any]] = {
        "hand numpy": lambda: hand_numpy_step(hand, X, y),
        "packed flat": packed_flat,
        "fit's step": fit_step,
    }
    columns = list(X.T)
    for name, pack in (("compile(wrt=Values)", None), ("scalar compile", False)):
        if pack is False and not scalar:
            continue
        value_model, value_loss, _, _ = workload(width)
        compiled = compile(
            sample_loss(value_model, value_loss), wrt=value_model.parameters(), reduce="mean",
            pack=pack,
        )  # fmt: skip

        values = value_model.parameters()

        def values_step(compiled: Any = compiled, values: Any = values) -> None:
            _, gradient = compiled(columns, y)
            for p, g in zip(values, gradient, strict=True):
                p.data -= LEARNING_RATE * g

        runs[name] = values_step
    first = hand_numpy_step(matrices(model), X, y)
    assert abs(exported.value_and_grad(exported.params, X, y)[0] - first) < 1e-12 * abs(first)
    if jax is not None:
        runs.update(jax_contenders(model, f, X, y))
    return runs


def jax_contenders(
    model: nn.MLP, f: Callable[..., Value], X: np.ndarray, y: np.ndarray
) -> dict[str, Callable[[], Any]]:
    exported = export(f, "jax", wrt=model.parameters())  # turns on float64 in JAX

    def hand_loss(params: list[Any], X: Any, y: Any) -> Any:
        W1, b1, W2, b2, W3, b3 = params
        h = jnp.maximum(jnp.maximum(X @ W1 + b1, 0.0) @ W2 + b2, 0.0)
        score = (h @ W3 + b3)[:, 0]
        penalty = sum(jnp.sum(p * p) for p in params)
        return jnp.mean(jnp.maximum(1.0 - y * score, 0.0)) + ALPHA * penalty

    @jax.jit
    def hand_step(params: list[Any], X: Any, y: Any) -> list[Any]:
        grads = jax.grad(hand_loss)(params, X, y)
        return [p - LEARNING_RATE * g for p, g in zip(params, grads, strict=True)]

    @jax.jit
    def export_step(P: Any, X: Any, y: Any) -> Any:
        _, G = exported.value_and_grad(P, X, y)
        return P - LEARNING_RATE * G

    state = {
        "hand": [jnp.asarray(m) for m in matrices(model)],
        "export": jnp.asarray(exported.params),
    }
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    jax.block_until_ready(hand_step(state["hand"], Xj, yj))  # compile both first
    jax.block_until_ready(export_step(state["export"], Xj, yj))

    def run_hand() -> None:
        state["hand"] = jax.block_until_ready(hand_step(state["hand"], Xj, yj))

    def run_export() -> None:
        state["export"] = jax.block_until_ready(export_step(state["export"], Xj, yj))

    return {"hand jax.jit": run_hand, "JAX export, jax.jit": run_export}


def best_times(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Seconds per call, best of ``repeat`` interleaved rounds of about 20 ms each: short
    rounds, many of them, so that the best ones fall between other processes' bursts."""
    calls = {}
    for name, run in runs.items():
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < 0.02:
            run()
            count += 1
        calls[name] = count
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                run()
            best[name] = min(best[name], (time.perf_counter() - start) / calls[name])
    return best


def compile_cost(width: int) -> dict[str, float]:
    """Trace and pack once, in this (fresh) process: seconds, MB above the start, µs per op."""
    model, loss, X, y = workload(width)
    f = sample_loss(model, loss)
    before = _memory_mb("VmRSS")
    start = time.perf_counter()
    exported = export(f, wrt=model.parameters())
    packed = exported.packing(X, y)
    exported.value_and_grad(exported.params, X, y)  # written and loaded too
    seconds = time.perf_counter() - start
    peak = _memory_mb("VmHWM")  # the peak since exec (ru_maxrss would count the parent's)
    return {
        "seconds": seconds,
        "mb": peak - before,
        "ops": packed.scalar_ops,
        "us_per_op": seconds / packed.scalar_ops * 1e6,
    }


def _memory_mb(field: str) -> float:
    """A field of /proc/self/status (Linux), in MB: VmRSS now, VmHWM the peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="16,64,256")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--scalar-max", type=int, default=64)
    parser.add_argument("--cost", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.cost:
        print(json.dumps(compile_cost(args.cost)))
        return
    global jax, jnp
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:  # an optional peer
        pass
    widths = [int(w) for w in args.widths.split(",")]
    print(f"MLP 2-W-W-1 relu, hinge + {ALPHA} L2, {SAMPLES} moons points; one SGD step")
    print(f"{'W':>4}  {'contender':<22} {'ms':>9}  {'× hand numpy':>12}  {'× hand jax.jit':>14}")
    for width in widths:
        best = best_times(contenders(width, width <= args.scalar_max), args.repeat)
        hand, hand_jax = best["hand numpy"], best.get("hand jax.jit")
        for name, seconds in best.items():
            jax_row = hand_jax and "jax" in name.lower()
            versus_jax = f"{seconds / hand_jax:14.2f}" if jax_row else ""
            ratio = seconds / hand
            print(f"{width:>4}  {name:<22} {seconds * 1e3:9.4f}  {ratio:12.2f}  {versus_jax}")
    print("\ncompile cost (trace + pack + write + load, fresh process each)")
    for width in widths:
        child = [sys.executable, __file__, "--cost", str(width)]
        cost = json.loads(subprocess.run(child, capture_output=True, text=True, check=True).stdout)
        print(
            f"{width:>4}  {cost['ops']:>8,} scalar ops  {cost['seconds']:6.2f} s  "
            f"{cost['mb']:6.1f} MB  {cost['us_per_op']:5.2f} µs per op"
        )


if __name__ == "__main__":
    main()
