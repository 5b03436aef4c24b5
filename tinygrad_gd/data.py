"""``tinygrad_gd.data``: small data sets, and the tutorial's examples as data.

The public face of :mod:`tinygrad_gd.learning.data` (``xor``, ``moons``) and of
the tutorial's registry (:mod:`tinygrad_gd.tutorial.examples`): each
published example is a data set of one sample, trained by the network
``tutorial_network`` builds.

>>> tutorial_data("part 3")
([[0.1, 0.4, 4.1]], [0.2])
"""

from tinygrad_gd.learning.data import moons, xor
from tinygrad_gd.tutorial.examples import EXAMPLES as TUTORIAL_EXAMPLES
from tinygrad_gd.tutorial.examples import tutorial_data, tutorial_example, tutorial_network

__all__ = [
    "TUTORIAL_EXAMPLES", "moons", "tutorial_data", "tutorial_example", "tutorial_network", "xor",
]  # fmt: skip
