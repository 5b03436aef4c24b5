"""``tinygrad_gd.optim``: optimizers and learning-rate schedules.

The public face of :mod:`tinygrad_gd.learning.optim`.

>>> from tinygrad_gd import Value
>>> w = Value(1.0)
>>> w.grad = 0.5
>>> SGD([w], lr=0.1).step()
>>> w.data
0.95
"""

from tinygrad_gd.learning.optim import SGD, Adam, ExponentialDecay, Optimizer, Schedule, StepDecay

__all__ = ["SGD", "Adam", "ExponentialDecay", "Optimizer", "Schedule", "StepDecay"]
