"""The report's figures as PNG bytes, drawn with matplotlib's Agg backend (no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .sweep import SweepRow, format_threshold

DPI = 100


def png_bytes(figure: Figure) -> bytes:
    """A figure as PNG, drawn by the Agg canvas (no pyplot, no global backend)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def confusion_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> bytes:
    """Expected (rows) against predicted (columns): counts written in, coloured by row share.

    Colouring by the share of the row keeps small intents readable next to a large one.
    """
    size = max(5.0, 0.42 * len(labels) + 2.5)
    figure = Figure(figsize=(size + 1.5, size))
    axes = figure.add_subplot()
    shares = [[count / (sum(row) or 1) for count in row] for row in matrix]
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the expected row")
    ticks = range(len(labels))
    axes.set_xticks(ticks, labels, rotation=90, fontsize=8)
    axes.set_yticks(ticks, labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    axes.set_title(title)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                colour = "white" if shares[i][j] > 0.5 else "black"
                axes.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
    return png_bytes(figure)


def confidence_png(right: Sequence[float], wrong: Sequence[float], title: str) -> bytes:
    """Histogram of top-intent confidences, right and wrong top intents apart."""
    figure = Figure(figsize=(7, 4))
    axes = figure.add_subplot()
    bins = [i / 20 for i in range(21)]
    axes.hist(
        [list(right), list(wrong)],
        bins=bins,
        stacked=True,
        color=["#4c9a5a", "#c8553d"],
        label=[f"right intent ({len(right)})", f"wrong intent ({len(wrong)})"],
    )
    axes.set_xlim(0, 1)
    axes.set_xlabel("confidence of the top intent")
    axes.set_ylabel("messages")
    axes.set_title(title)
    axes.legend()
    return png_bytes(figure)


def sweep_png(
    rows: Sequence[SweepRow],
    target: float,
    recommended: SweepRow | None,
    current: float,
    title: str,
) -> bytes:
    """Answered and wrongly answered share per threshold; target and recommendation marked."""
    figure = Figure(figsize=(7, 6))
    top, bottom = figure.subplots(2, 1, sharex=True)
    thresholds = [row.threshold for row in rows]
    top.plot(thresholds, [r.answered_rate for r in rows], "o-", label="answered")
    top.plot(thresholds, [r.answer_accuracy for r in rows], "s--", label="answer accuracy")
    top.set_ylabel("share")
    top.set_ylim(0, 1.02)
    top.set_title(title)
    bottom.plot(
        thresholds,
        [r.wrong_answer_rate for r in rows],
        "o-",
        color="#c8553d",
        label="answered wrongly",
    )
    bottom.axhline(target, color="black", linestyle=":", label=f"target {target:.1%}")
    bottom.set_ylabel("share of all messages")
    bottom.set_xlabel("nlu.answer_threshold")
    bottom.set_ylim(0, max([target, *(r.wrong_answer_rate for r in rows)]) * 1.2 + 1e-3)
    for axes in (top, bottom):
        axes.axvline(
            current,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"now {format_threshold(current)}",
        )
        if recommended is not None:
            axes.axvline(
                recommended.threshold,
                color="#2a6fb0",
                linewidth=2,
                label=f"recommended {format_threshold(recommended.threshold)}",
            )
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="best")
    if recommended is not None:
        bottom.plot(
            [recommended.threshold],
            [recommended.wrong_answer_rate],
            "*",
            markersize=14,
            color="#2a6fb0",
        )
        top.plot(
            [recommended.threshold],
            [recommended.answered_rate],
            "*",
            markersize=14,
            color="#2a6fb0",
        )
    return png_bytes(figure)
