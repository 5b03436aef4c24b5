"""Losses: a per-sample formula, its mean over a batch, an optional L2 penalty.

Each loss is written with operators and rule-table ops, so one formula runs on
floats and on Values, and anything that reads the table (printing, compiling)
can read it too. A classification loss also names the two labels its targets
use and how an output becomes one of them.

>>> from tinygrad_gd.core.value import Value
>>> MSELoss()([Value(0.5), Value(1.0)], [0.0, 1.0]).data
0.125
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import Any, ClassVar

from tinygrad_gd._support.checks import number
from tinygrad_gd.core.ops import ABS, EXP, LOG, RELU
from tinygrad_gd.core.value import Value

__all__ = [
    "BCEWithLogitsLoss", "HingeLoss", "Loss", "MSELoss", "binary_cross_entropy_with_logits",
    "hinge", "squared_error",
]  # fmt: skip


def squared_error(output: Any, target: Any) -> Any:
    """The tutorial's error: ``(output - target) ** 2``.

    >>> squared_error(0.5, 0.3)  # doctest: +NUMBER
    0.04
    """
    return (output - target) ** 2


def binary_cross_entropy_with_logits(logit: Any, target: Any) -> Any:
    """Cross-entropy of ``sigmoid(logit)`` against ``target`` in [0, 1], without overflow.

    log(1 + e^z) is written as max(z, 0) + log(1 + e^-|z|), whose exp never
    overflows; the derivative is sigmoid(z) - target.

    >>> round(binary_cross_entropy_with_logits(0.0, 1.0), 6)  # log 2
    0.693147
    >>> [binary_cross_entropy_with_logits(z, 0.0) for z in (1000.0, -1000.0)]
    [1000.0, 0.0]
    """
    magnitude = ABS(logit)
    # max(z, 0) as (z + |z|) / 2, not relu(z): at z = 0 the subgradients of relu and
    # |z| (both 0) would give the derivative -target instead of 1/2 - target.
    return (logit + magnitude) * 0.5 - logit * target + LOG(1.0 + EXP(-magnitude))


def hinge(output: Any, target: Any) -> Any:
    """The max-margin loss ``max(0, 1 - target * output)`` for a target of -1 or 1.

    >>> hinge(0.3, 1.0), hinge(2.0, 1.0), hinge(2.0, -1.0)
    (0.7, 0.0, 3.0)
    """
    return RELU(1.0 - target * output)


class Loss:
    """The mean of a per-sample loss over a batch, plus ``l2`` times Σ p² if asked.

    Call it as ``loss(outputs, targets, parameters)``; the parameters are
    needed only for the L2 penalty. A classification loss also says which two
    ``labels`` its targets use and how an output is turned into one of them
    (:meth:`classify`), which gives :meth:`accuracy`.

    >>> loss = MSELoss()
    >>> loss([Value(0.5), Value(1.0)], [0.0, 1.0]).data  # (0.25 + 0) / 2
    0.125
    """

    labels: ClassVar[tuple[float, float]]
    threshold: ClassVar[float]
    target_rule: ClassVar[str] = "any finite number"
    l2: float

    def __init__(self, l2: float = 0.0) -> None:
        self.l2 = number(l2, "l2", non_negative=True)

    def sample(self, output: Any, target: Any) -> Any:
        """The loss of one output against its target, on numbers or on Values.

        >>> HingeLoss().sample(0.25, 1.0), MSELoss().sample(Value(0.5), 0.25).data
        (0.75, 0.0625)
        """
        raise NotImplementedError

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Whether ``target`` is a target this loss is defined for.

        >>> MSELoss.accepts(0.3), MSELoss.accepts(float("inf"))
        (True, False)
        """
        return math.isfinite(target)

    def check_targets(self, targets: Sequence[float]) -> None:
        """Raise ``ValueError`` naming the first target this loss is not defined for.

        >>> HingeLoss().check_targets([1.0, 0.0])
        Traceback (most recent call last):
        ValueError: HingeLoss needs targets that are -1 or 1; target 1 is 0.0
        """
        for i, target in enumerate(targets):
            try:
                accepted = self.accepts(number(target, "target", finite=False))
            except (TypeError, ValueError):  # not a number, nan or too large for a float
                accepted = False
            if not accepted:
                raise ValueError(
                    f"{type(self).__name__} needs targets that are {self.target_rule}; "
                    f"target {i} is {target!r}"
                )

    def __call__(
        self,
        outputs: Sequence[Any],
        targets: Sequence[float],
        parameters: Sequence[Value | float] = (),
    ) -> Any:
        """The mean loss of ``outputs`` against ``targets``, plus the L2 penalty.

        ``outputs`` are numbers or Values (then the result is a Value to
        differentiate); ``parameters`` are needed only when ``l2`` is set.

        >>> loss = MSELoss(l2=0.1)
        >>> w = Value(2.0)
        >>> total = loss([w * 1.0, w * 3.0], [1.0, 6.0], [w])  # ((2-1)² + 0²) / 2 + 0.1 · 4
        >>> total.data
        0.9
        """
        if len(outputs) != len(targets) or len(outputs) == 0:
            raise ValueError(
                f"{type(self).__name__} needs as many outputs as targets, at least one; "
                f"got {len(outputs)} outputs and {len(targets)} targets"
            )
        self.check_targets(targets)
        terms = [self.sample(o, t) for o, t in zip(outputs, targets, strict=True)]
        total = functools.reduce(operator.add, terms) / len(terms)
        if self.l2:
            if not parameters:
                raise ValueError(
                    f"{self!r} adds an L2 penalty and needs the parameters: "
                    "loss(outputs, targets, model.parameters())"
                )
            total = total + self.penalty(parameters)
        return total

    def penalty(self, parameters: Sequence[Value | float]) -> Any:
        """The L2 penalty the loss adds: ``l2`` times Σ p² (0.0 without ``l2``).

        >>> MSELoss(l2=0.5).penalty([1.0, 2.0])
        2.5
        """
        if not self.l2 or not parameters:
            return 0.0
        return self.l2 * functools.reduce(operator.add, [p * p for p in parameters])

    def classify(self, output: float) -> float:
        """The label predicted by an output: ``labels[1]`` above ``threshold``.

        >>> BCEWithLogitsLoss().classify(0.3), HingeLoss().classify(-0.2)
        (1.0, -1.0)
        """
        return self.labels[1] if output > self.threshold else self.labels[0]

    def is_classification(self, targets: Sequence[float]) -> bool:
        """Whether every target is one of the two ``labels`` (so accuracy means something).

        >>> MSELoss().is_classification([0.0, 1.0]), MSELoss().is_classification([0.3])
        (True, False)
        """
        return all(target in self.labels for target in targets)

    def accuracy(self, outputs: Sequence[float], targets: Sequence[float]) -> float:
        """The fraction of outputs whose :meth:`classify` equals the target.

        >>> HingeLoss().accuracy([0.5, -2.0, 0.1], [1.0, -1.0, -1.0])  # doctest: +NUMBER
        0.667
        """
        if len(outputs) != len(targets) or len(outputs) == 0:
            raise ValueError(
                f"accuracy needs as many outputs as targets, at least one; "
                f"got {len(outputs)} and {len(targets)}"
            )
        hits = sum(self.classify(o) == t for o, t in zip(outputs, targets, strict=True))
        return hits / len(outputs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(l2={self.l2!r})" if self.l2 else f"{type(self).__name__}()"


class MSELoss(Loss):
    """Mean squared error; on one sample, exactly the tutorial's ``(predicted - target)**2``.

    As a classifier (targets 0 and 1, e.g. after a sigmoid) an output above
    0.5 means 1.

    >>> MSELoss()([Value(0.5)], [0.3]).data  # doctest: +NUMBER
    0.04
    """

    labels = (0.0, 1.0)
    threshold = 0.5

    def sample(self, output: Any, target: Any) -> Any:
        """The squared error of one output.

        >>> MSELoss().sample(0.5, 0.3)  # doctest: +NUMBER
        0.04
        """
        return squared_error(output, target)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy of ``sigmoid(output)``, computed stably from the logit.

    Put no sigmoid on the last layer (``activation=[..., "linear"]``); targets
    lie in [0, 1], and a logit above 0 means class 1.

    >>> round(BCEWithLogitsLoss()([Value(0.0)], [1.0]).data, 6)  # log 2
    0.693147
    """

    labels = (0.0, 1.0)
    threshold = 0.0
    target_rule = "between 0 and 1"

    def sample(self, output: Any, target: Any) -> Any:
        """The cross-entropy of one logit.

        >>> round(BCEWithLogitsLoss().sample(0.0, 1.0), 6)  # log 2
        0.693147
        """
        return binary_cross_entropy_with_logits(output, target)

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Targets are probabilities: 0 <= target <= 1.

        >>> BCEWithLogitsLoss.accepts(0.25), BCEWithLogitsLoss.accepts(2.0)
        (True, False)
        """
        return 0.0 <= target <= 1.0


class HingeLoss(Loss):
    """The max-margin (SVM) loss ``max(0, 1 - target * output)``, targets -1 or 1.

    With ``l2`` it is the soft-margin objective of a support vector machine.

    >>> HingeLoss(l2=0.5)([Value(0.5)], [1.0], [Value(2.0)]).data  # 0.5 + 0.5 * 4
    2.5
    """

    labels = (-1.0, 1.0)
    threshold = 0.0
    target_rule = "-1 or 1"

    def sample(self, output: Any, target: Any) -> Any:
        """The hinge loss of one output.

        >>> HingeLoss().sample(0.25, -1.0)  # on the wrong side: 1 + 0.25
        1.25
        """
        return hinge(output, target)

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Targets are the labels -1 and 1.

        >>> HingeLoss.accepts(-1.0), HingeLoss.accepts(0.0)
        (True, False)
        """
        return target in cls.labels
