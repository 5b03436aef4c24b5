"""The tutorial series, parts 1–4: its steps, its hand-derived gradients, its networks.

The "gradient descent from scratch" series trains sigmoid neurons without bias
on the squared error ``(predicted - target) ** 2``. It derives dE/dw by hand as
a product of local derivatives, the g-factors: for one neuron,
g1 = dE/dpredicted, g2 = dpredicted/dsop, g3 = dsop/dw. This package holds:

* the published step functions under their published names (``sigmoid``,
  ``error``, ``error_predicted_deriv``, ``activation_sop_deriv``,
  ``sop_w_deriv``, ``update_w``) and the gradients derived by hand
  (:mod:`~tinygrad_gd.tutorial.steps`), with the published variants and their defects;
* the same networks built from Values, so each has an automatic gradient
  (:mod:`~tinygrad_gd.tutorial.graphs`);
* the published examples in one registry (:mod:`~tinygrad_gd.tutorial.examples`)
  and a gradient-descent loop over any of four gradients
  (:mod:`~tinygrad_gd.tutorial.descent`);
* the demo that tells it all (:mod:`~tinygrad_gd.tutorial.demo`).

>>> w = [0.5]
>>> neuron_gradient(PART1.x, w, PART1.target)  # g1 · g2 · g3
array([0.01061823])
>>> automatic_neuron_gradient(PART1.x, w, PART1.target)
array([0.01061823])
>>> published_neuron_gradient(PART1.x, w, PART1.target)  # σ' taken at predicted
array([0.00995665])
"""

from tinygrad_gd.tutorial.descent import (
    GRADIENT_METHODS,
    GradientMethod,
    Run,
    example_gradients,
    gradient_descent,
    initial_weights,
    predict,
    tutorial_program,
)
from tinygrad_gd.tutorial.examples import (
    EXAMPLES,
    PART1,
    PART1_FAST,
    PART2_TEN_INPUTS,
    PART2_TWO_INPUTS,
    PART3,
    PART4_EIGHT,
    PART4_FIVE,
    PARTS,
    Example,
    example_of,
)
from tinygrad_gd.tutorial.graphs import (
    HiddenLayerGraph,
    NeuronGraph,
    automatic_hidden_layer_gradients,
    automatic_neuron_gradient,
    build_hidden_layer,
    build_neuron,
)
from tinygrad_gd.tutorial.steps import (
    activation_sop_deriv,
    error,
    error_predicted_deriv,
    hidden_layer_gradients,
    neuron_gradient,
    published_hidden_layer_gradients,
    published_neuron_gradient,
    sigmoid,
    sop_w_deriv,
    update_w,
)

__all__ = [
    "EXAMPLES", "GRADIENT_METHODS", "PART1", "PART1_FAST", "PART2_TEN_INPUTS",
    "PART2_TWO_INPUTS", "PART3", "PART4_EIGHT", "PART4_FIVE", "PARTS", "Example",
    "GradientMethod", "HiddenLayerGraph", "NeuronGraph", "Run", "activation_sop_deriv",
    "automatic_hidden_layer_gradients", "automatic_neuron_gradient", "build_hidden_layer",
    "build_neuron", "error", "error_predicted_deriv", "example_gradients", "example_of",
    "gradient_descent", "hidden_layer_gradients", "initial_weights", "neuron_gradient",
    "predict", "published_hidden_layer_gradients", "published_neuron_gradient", "sigmoid",
    "sop_w_deriv", "tutorial_program", "update_w",
]  # fmt: skip
