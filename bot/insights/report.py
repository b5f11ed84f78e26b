"""`pcpatrol-bot report`: the insights page as files (HTML, PNG charts, CSV)."""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.figure import Figure

from bot.evaluation.plots import png_bytes
from bot.handoff.model import REASON_TEXTS
from bot.insights.figures import Insights
from bot.insights.page import (
    BAR_COLOR,
    ROUTES,
    day_label,
    insights_html,
    render_body,
)

STYLE = Path(__file__).resolve().parents[1] / "web" / "static" / "insights.css"


def write_report(insights: Insights, out: Path, title: str) -> list[Path]:
    """index.html, figures.csv and the PNG charts in `out`; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    charts = [
        _bar_png(
            out / "conversations.png",
            f"Gesprekken {'per dag' if insights.period.by == 'day' else 'per week'}",
            [(day_label(day), bucket.conversations) for day, bucket in insights.buckets.items()],
        ),
        _bar_png(
            out / "handoffs.png",
            "Overdrachten naar reden",
            [(REASON_TEXTS.get(k, k), v) for k, v in insights.reasons.most_common()],
        ),
    ]
    images = "".join(
        f'<img src="{chart.name}" alt="{chart.stem}" class="pci-chart">' for chart in charts
    )
    body = render_body(insights) + f"<section><h2>Grafieken</h2>{images}</section>"
    style = f"<style>{STYLE.read_text(encoding='utf-8')}</style>"
    page = out / "index.html"
    page.write_text(insights_html(body, title, style), encoding="utf-8")
    table = out / "figures.csv"
    write_csv(insights, table)
    return [page, table, *charts]


def write_csv(insights: Insights, path: Path) -> None:
    """One figure a row: section, name, value (counts, shares as fractions, seconds)."""
    i = insights
    rows: list[tuple[str, str, object]] = [
        ("summary", "conversations", i.conversations),
        ("summary", "customer_messages", i.messages),
        ("summary", "resolved_by_bot", i.resolved),
        ("summary", "handed_over", i.handed_over),
        ("summary", "resolved_share", _fraction(i.resolved_share)),
        ("summary", "handed_over_share", _fraction(i.handed_over_share)),
    ]
    for day, bucket in i.buckets.items():
        rows += [
            (f"{i.period.by}:{day.isoformat()}", "conversations", bucket.conversations),
            (f"{i.period.by}:{day.isoformat()}", "customer_messages", bucket.messages),
            (f"{i.period.by}:{day.isoformat()}", "resolved_by_bot", bucket.resolved),
            (f"{i.period.by}:{day.isoformat()}", "handed_over", bucket.handed_over),
        ]
    rows += [("handoff_reason", k, v) for k, v in sorted(i.reasons.items())]
    rows += [("handoff_route", ROUTES.get(k, k), v) for k, v in sorted(i.routes.items())]
    for article in i.articles:
        rows += [
            (f"article:{article.article_id}", "given", article.given),
            (f"article:{article.article_id}", "yes", article.yes),
            (f"article:{article.article_id}", "no", article.no),
            (f"article:{article.article_id}", "no_rate", _fraction(article.no_rate)),
        ]
    rows += [("unanswered", group.text, group.count) for group in i.unanswered]
    rows += [
        ("livechat", "wait_median_s", _seconds(i.wait(0.5))),
        ("livechat", "wait_p90_s", _seconds(i.wait(0.9))),
        ("livechat", "close_median_s", _seconds(i.close_time(0.5))),
        ("livechat", "close_p90_s", _seconds(i.close_time(0.9))),
    ]
    rows += [("agent", name, count) for name, count in sorted(i.per_agent.items())]
    rows += [("label", name, count) for name, count in sorted(i.labels.items())]
    rows += [("clarify", "offered", i.clarify_offers)]
    rows += [("clarify", f"taken:{k}", v) for k, v in sorted(i.clarify_taken.items())]
    rows += [("language", k, v) for k, v in sorted(i.languages.items())]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["section", "name", "value"])
        writer.writerows(rows)


def _fraction(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _bar_png(path: Path, title: str, bars: list[tuple[str, int]]) -> Path:
    figure = Figure(figsize=(8, 3.2))
    axes = figure.add_subplot()
    labels = [label for label, _ in bars] or ["-"]
    values = [value for _, value in bars] or [0]
    axes.bar(range(len(values)), values, color=BAR_COLOR)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    axes.set_title(title)
    axes.spines[["top", "right"]].set_visible(False)
    path.write_bytes(png_bytes(figure))
    return path
