"""The self-contained HTML report: figures as data: URIs, every text escaped."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape

from .analysis import Evaluation
from .scores import macro_average
from .sweep import config_change

STYLE = """
body {
  font-family: system-ui, sans-serif; color: #222;
  margin: 2em auto; padding: 0 1.5em; max-width: 72em;
}
h1, h2, h3 { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.recommended { background: #dbe9f7; font-weight: 600; }
tr.current td:first-child::after { content: " (now)"; color: #666; }
tr.wrong-answer { background: #fbe3de; }
pre { background: #f4f4f4; padding: 0.8em; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
.note { color: #555; }
"""


def data_uri(png: bytes) -> str:
    """A PNG as a data: URI for an <img src>."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if i in numeric else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figures(evaluation: Evaluation) -> str:
    rows = []
    for name, value in evaluation.figures().items():
        shown = str(value) if name == "rows" else _percent(float(value))
        rows.append((name.replace("_", " "), shown))
    return _table(("figure", "value"), rows, {1})


def _per_label(evaluation: Evaluation, heading: str) -> str:
    rows = [
        (
            s.label,
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
            str(s.support),
            str(s.predicted),
        )
        for s in evaluation.scores
    ]
    macro = macro_average(evaluation.scores)
    rows.append(
        (
            "macro average",
            f"{macro['precision']:.3f}",
            f"{macro['recall']:.3f}",
            f"{macro['f1']:.3f}",
            str(sum(s.support for s in evaluation.scores)),
            "",
        )
    )
    return _table(
        (heading, "precision", "recall", "F1", "support", "predicted"), rows, {1, 2, 3, 4, 5}
    )


def _sweep(evaluation: Evaluation) -> str:
    recommended = evaluation.recommended
    current = evaluation.settings.answer_threshold
    lines = []
    for row in evaluation.sweep:
        classes = []
        if recommended is not None and row.threshold == recommended.threshold:
            classes.append("recommended")
        if abs(row.threshold - current) < 1e-9:
            classes.append("current")
        cells = (
            f"{row.threshold:.2f}",
            _percent(row.answered_rate),
            _percent(row.wrong_answer_rate),
            _percent(row.answer_accuracy),
        )
        attribute = f' class="{" ".join(classes)}"' if classes else ""
        lines.append(
            f"<tr{attribute}>"
            + "".join(f'<td class="num">{escape(c)}</td>' for c in cells)
            + "</tr>"
        )
    header = "".join(
        f"<th>{escape(h)}</th>"
        for h in ("answer_threshold", "answered", "answered wrongly", "answer accuracy")
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _errors(evaluation: Evaluation) -> str:
    errors = evaluation.errors()
    if not errors:
        return '<p class="note">No errors.</p>'
    lines = []
    for j in errors:
        cells = (
            j.prediction.where,
            j.prediction.text,
            j.prediction.outcome or j.prediction.expected,
            j.got,
            j.intent or "",
            f"{j.confidence:.2f}",
        )
        attribute = ' class="wrong-answer"' if j.wrong_answer else ""
        lines.append(
            f"<tr{attribute}>"
            + "".join(
                f'<td class="num">{escape(c)}</td>' if i == 5 else f"<td>{escape(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    header = "".join(
        f"<th>{escape(h)}</th>"
        for h in ("where", "message", "expected", "got", "top intent", "confidence")
    )
    return (
        f'<p class="note">{len(errors)} messages; wrong answers (highlighted) first.</p>'
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


def _section(evaluation: Evaluation, images: Mapping[str, bytes]) -> str:
    key = evaluation.key
    heading = "intent" if key == "cross_validation" else "label"
    change = config_change(
        evaluation.recommended, evaluation.settings.answer_threshold, evaluation.target
    )
    figure_titles = {
        "confusion": "Confusion matrix",
        "confidence": "Confidence of the top intent",
        "sweep": "Threshold sweep",
    }
    pictures = "".join(
        f'<h3>{escape(caption)}</h3><img alt="{escape(caption)}" src="{data_uri(images[name])}">'
        for name, caption in figure_titles.items()
        if name in images
    )
    return (
        f'<section id="{escape(key)}">'
        f"<h2>{escape(evaluation.title)}</h2>"
        f"{_figures(evaluation)}"
        f"<h3>Recommended threshold</h3>"
        f'<p class="note">The lowest answer_threshold whose share of wrongly answered messages '
        f"is at or under nlu.max_wrong_answer_rate ({escape(_percent(evaluation.target))}).</p>"
        f"<pre>{escape(change)}</pre>"
        f"{pictures}"
        f"<h3>Per {escape(heading)}</h3>{_per_label(evaluation, heading)}"
        f"<h3>Sweep</h3>{_sweep(evaluation)}"
        f"<h3>Errors</h3>{_errors(evaluation)}"
        "</section>"
    )


def render(
    evaluations: Sequence[Evaluation],
    images: Mapping[str, Mapping[str, bytes]],
    subtitle: str,
) -> str:
    """The whole page.

    Args:
        evaluations: The evaluations, each a section.
        images: Per evaluation key, its PNGs by name ("confusion", "confidence", "sweep").
        subtitle: The project and time of the run.
    """
    sections = "".join(_section(e, images.get(e.key, {})) for e in evaluations)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>PC Patrol assistant: evaluation</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>PC Patrol assistant: evaluation</h1>"
        f'<p class="note">{escape(subtitle)}</p>'
        f"{sections}</body></html>\n"
    )
