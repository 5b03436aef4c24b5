"""What a notebook shows of a result: HTML tables holding the numbers, checked by hand."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest
from helpers import sigmoid as sig

from tinygrad_gd import Value, compare, explain
from tinygrad_gd.learning.train import History
from tinygrad_gd.tools.gradcheck import GradcheckError, gradcheck


class Tables(HTMLParser):
    """The captions and the rows of cells of every table in a piece of HTML."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.captions: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.paragraphs: list[str] = []
        self._where: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")
        self._where = tag

    def handle_endtag(self, tag: str) -> None:
        self._where = None

    def handle_data(self, data: str) -> None:
        if self._where in ("td", "th"):
            self.tables[-1][-1][-1] += data
        elif self._where == "caption":
            self.captions.append(data)
        elif self._where in ("p", "b"):
            self.paragraphs.append(data)


def test_explain_shows_each_path_as_a_table_of_its_factors() -> None:
    w, x, t = Value(0.5, label="w"), Value(0.1, label="x"), Value(0.3, label="t")
    sop = w * x
    sop.label = "sop"
    predicted = sop.sigmoid()
    predicted.label = "predicted"
    error = (predicted - t) ** 2
    error.label = "error"
    shown = Tables(explain(error, w)._repr_html_())
    p = sig(0.05)
    g1, g2, g3 = 2 * (p - 0.3), p * (1 - p), 0.1
    assert shown.paragraphs[0] == f"d error / d w = {g1 * g2 * g3:.10g}"
    assert shown.captions == ["path 1: error ← predicted ← sop ← w"]
    (table,) = shown.tables
    assert table[0] == ["factor", "formula", "value"]
    assert [row[0] for row in table[1:]] == [
        "d error / d predicted", "d predicted / d sop", "d sop / d w", "product",
    ]  # fmt: skip
    values = [float(row[2]) for row in table[1:]]
    assert values == pytest.approx([g1, g2, g3, g1 * g2 * g3], rel=1e-9)
    assert table[1][1] == "2 * (predicted - t)"


def test_explain_html_escapes_and_lists_generated_names() -> None:
    a = Value(2.0, label="a<b")
    y = a
    for _ in range(6):
        y = (y * a).sin()  # long formulas: generated names t1, t2 ...
    html = explain(y, a, collapse=False, max_paths=1000)._repr_html_()
    assert "a<b" not in html and "a&lt;b" in html
    assert Tables(html).captions[0] == "where"


def test_explain_of_unrelated_values_is_one_sentence() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    assert explain(a * 2, b)._repr_html_() == "<p>d y / d b = 0: no path leads from y back to b</p>"


def test_compare_shows_both_gradients_and_the_verdict() -> None:
    report = compare({"w": [0.25, 0.5]}, {"w": [0.25, 0.75]})
    shown = Tables(report._repr_html_())
    (table,) = shown.tables
    assert table == [
        ["parameter", "manual", "automatic", "abs diff", "rel diff", ""],
        ["w[0]", "0.25", "0.25", "0.0e+00", "0.0e+00", "ok"],
        ["w[1]", "0.5", "0.75", "2.5e-01", "3.3e-01", "differs"],
    ]
    assert shown.captions == [
        "largest abs diff 2.5e-01; 1 of 2 entries differ beyond atol=1e-10, rtol=1e-07"
    ]


def test_a_long_comparison_shows_fifty_rows_those_that_differ_first() -> None:
    right = np.arange(80.0)
    wrong = right.copy()
    wrong[70] += 1
    (table,) = Tables(compare(wrong, right)._repr_html_()).tables
    assert len(table) == 1 + 50 + 1
    assert table[1][0] == "w[70]" and table[1][-1] == "differs"
    assert table[-1][0] == "... 30 more entries"


def test_a_failed_gradcheck_carries_a_report_that_shows_as_html() -> None:
    with pytest.raises(GradcheckError) as caught:  # .data cuts the graph: 3 instead of 2x = 6
        gradcheck(lambda x: x * x.data, 3.0)
    (table,) = Tables(caught.value.report._repr_html_()).tables
    assert table[1][0] == "x" and table[1][-1] == "differs"
    assert float(table[1][1]) == 3.0 and float(table[1][2]) == pytest.approx(6.0)


def test_history_shows_about_ten_steps_first_and_last_included() -> None:
    loss = [1.0 / (k + 1) for k in range(100)]
    history = History(loss=loss, metrics={"accuracy": [k / 100 for k in range(100)]}, epochs=5)
    shown = Tables(history._repr_html_())
    assert shown.captions == ["History: 100 steps, 5 epochs"]
    (table,) = shown.tables
    assert table[0] == ["step", "loss", "accuracy"]
    steps = [int(row[0]) for row in table[1:]]
    assert steps[0] == 1 and steps[-1] == 100 and len(steps) == 10
    for row in table[1:]:
        step = int(row[0])
        assert float(row[1]) == pytest.approx(1.0 / step, rel=1e-3)
        assert float(row[2]) == pytest.approx((step - 1) / 100, abs=1e-4)


def test_history_says_why_training_stopped_early() -> None:
    history = History(loss=[float("nan")], epochs=1, stop_reason="loss became nan")
    assert Tables(history._repr_html_()).captions == [
        "History: 1 step, 1 epoch; stopped early: loss became nan"
    ]
