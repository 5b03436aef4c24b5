"""``tinygrad_gd.nn``: networks of scalar neurons and the losses that train them.

The public face of :mod:`tinygrad_gd.learning.nn` (``Neuron``, ``Layer``,
``MLP``) and :mod:`tinygrad_gd.learning.losses`, under micrograd's and
PyTorch's names; given no activation they behave as micrograd's (relu hidden
layers, a linear output). ``manual_seed(n)`` seeds every module built without
a ``seed``.

>>> model = MLP(3, [2, 1], activation="sigmoid", bias=False, seed=0)
>>> MSELoss()([model([0.1, 0.4, 4.1])], [0.2]).data < 1
True
"""

from tinygrad_gd.learning.losses import (
    BCEWithLogitsLoss,
    HingeLoss,
    Loss,
    MSELoss,
    binary_cross_entropy_with_logits,
    hinge,
    squared_error,
)
from tinygrad_gd.learning.nn import ACTIVATIONS, MLP, Layer, Module, Neuron, manual_seed

__all__ = [
    "ACTIVATIONS", "BCEWithLogitsLoss", "HingeLoss", "Layer", "Loss", "MLP", "MSELoss",
    "Module", "Neuron", "binary_cross_entropy_with_logits", "hinge", "manual_seed",
    "squared_error",
]  # fmt: skip
