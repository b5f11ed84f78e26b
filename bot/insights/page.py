"""The insights as HTML: one page for the agent console and the report alike.

Charts are inline SVG drawn here (no script, no CDN), numbers in Dutch format. Message
text appears only in the unanswered groups; no address ever.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from datetime import date

from bot.handoff.model import NEW_TOPIC, REASON_TEXTS
from bot.insights.figures import Insights

PERIODS = {"7d": "7 dagen", "30d": "30 dagen", "90d": "90 dagen", "365d": "een jaar"}
BY = {"day": "per dag", "week": "per week"}
ROUTES = {"livechat": "livechat", "email": "e-mailformulier", "mailto": "mailto-link"}
LANGUAGES = {"nl": "Nederlands", "en": "Engels"}
MONTHS = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
BAR_COLOR = "#1f5fa8"


def number(value: float, decimals: int = 0) -> str:
    """1.234 and 12,5 as Dutch writes them."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def share(part: int, whole: int) -> str:
    return f"{number(100 * part / whole, 1)}%" if whole else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{number(value)} s"
    return f"{number(value / 60, 1)} min"


def day_label(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def bar_chart(title: str, bars: Sequence[tuple[str, int]]) -> str:
    """A vertical bar chart in SVG, labelled for screen readers."""
    width, height, top = max(900, 26 * len(bars)), 180, 24
    highest = max((value for _, value in bars), default=0) or 1
    step = width / max(1, len(bars))
    parts = [
        f'<svg class="pci-chart" viewBox="0 0 {width} {height + 40}" role="img" '
        f'aria-label="{html.escape(title)}">'
    ]
    for index, (label, value) in enumerate(bars):
        bar = (height - top) * value / highest
        x = index * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bar:.1f}" width="{step * 0.7:.1f}" '
            f'height="{bar:.1f}" fill="{BAR_COLOR}"><title>{html.escape(label)}: '
            f"{number(value)}</title></rect>"
        )
        if value and len(bars) <= 31:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{height - bar - 6:.1f}" '
                f'text-anchor="middle" font-size="12" fill="#1b2330">{number(value)}</text>'
            )
        if len(bars) <= 16 or index % max(1, len(bars) // 8) == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{height + 16}" text-anchor="middle" '
                f'font-size="11" fill="#596273">{html.escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    if not rows:
        body = f"<tr><td colspan='{len(headers)}'>Geen in deze periode.</td></tr>"
    return f"<table class='pci-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _counted(counts: Counter[str], names: dict[str, str], whole: int) -> list[list[str]]:
    return [
        [names.get(key, key), number(count), share(count, whole)]
        for key, count in counts.most_common()
    ]


def render_body(insights: Insights, picker: str = "") -> str:
    """The page's content: the period picker (if any), then every figure."""
    i = insights
    handoffs = sum(i.routes.values())
    buckets = [(day_label(day), b.conversations) for day, b in i.buckets.items()]
    summary = table(
        ["", "aantal", "aandeel"],
        [
            ["gesprekken", number(i.conversations), ""],
            ["berichten van klanten", number(i.messages), ""],
            ["door de bot opgelost", number(i.resolved), share(i.resolved, i.conversations)],
            ["overgedragen", number(i.handed_over), share(i.handed_over, i.conversations)],
        ],
    )
    articles = table(
        ["artikel", "gegeven", "Ja", "Nee", "Nee-percentage"],
        [
            [
                a.title,
                number(a.given),
                number(a.yes),
                number(a.no),
                "-" if a.no_rate is None else f"{number(100 * a.no_rate, 1)}%",
            ]
            for a in i.articles
        ],
    )
    rewrite = (
        "<ol>" + "".join(f"<li>{html.escape(a.title)}</li>" for a in i.to_rewrite) + "</ol>"
        if i.to_rewrite
        else "<p>Geen artikel kreeg vaak genoeg Nee.</p>"
    )
    unanswered = table(
        ["vraag (voorbeeld)", "aantal", "dichtstbijzijnde intent", "volgende stap"],
        [
            [
                g.text,
                number(g.count),
                g.closest or "-",
                (
                    f"pcpatrol-bot review, then --accept NR --intent {g.closest}"
                    if g.closest
                    else "pcpatrol-bot review (a new article?)"
                ),
            ]
            for g in i.unanswered
        ],
    )
    agents = _counted(i.per_agent, {}, sum(i.per_agent.values()))
    labels = _counted(i.labels, {NEW_TOPIC: "Nieuw onderwerp (kandidaat-artikel)"}, handoffs)
    taken = {"1": "de eerste optie", "2": "de tweede optie", "none": "geen van beide"}
    return "".join(
        [
            picker,
            "<section><h2>Samenvatting</h2>",
            summary,
            bar_chart(f"Gesprekken {BY[i.period.by]}", buckets),
            "</section><section><h2>Overgedragen aan een medewerker</h2>",
            "<h3>Waarom</h3>",
            table(["reden", "aantal", "aandeel"], _counted(i.reasons, REASON_TEXTS, handoffs)),
            "<h3>Hoe</h3>",
            table(["route", "aantal", "aandeel"], _counted(i.routes, ROUTES, handoffs)),
            "</section><section><h2>Artikelen</h2>",
            articles,
            "<h3>Eerst herschrijven</h3>",
            rewrite,
            "</section><section><h2>Onbeantwoorde vragen</h2>",
            unanswered,
            "</section><section><h2>Livechat</h2>",
            table(
                ["", "mediaan", "p90"],
                [
                    ["wachttijd tot een medewerker", seconds(i.wait(0.5)), seconds(i.wait(0.9))],
                    ["tijd tot afsluiten", seconds(i.close_time(0.5)), seconds(i.close_time(0.9))],
                ],
            ),
            "<h3>Per medewerker</h3>",
            table(["medewerker", "gesprekken", "aandeel"], agents),
            "<h3>Onderwerpen die medewerkers gaven</h3>",
            table(["onderwerp", "aantal", "aandeel"], labels),
            "</section><section><h2>Bedoelt u...?</h2>",
            table(
                ["", "aantal"],
                [["aangeboden", number(i.clarify_offers)]]
                + [[taken[k], number(v)] for k, v in sorted(i.clarify_taken.items())],
            ),
            "</section><section><h2>Taal van de gesprekken</h2>",
            table(
                ["taal", "gesprekken", "aandeel"],
                _counted(i.languages, LANGUAGES, i.conversations),
            ),
            "</section>",
        ]
    )


def render_picker(period: str, by: str, action: str = "/agent/insights") -> str:
    """A form (GET) to choose the period and the buckets; no script needed."""
    periods = "".join(
        f'<option value="{key}"{" selected" if key == period else ""}>{label}</option>'
        for key, label in PERIODS.items()
    )
    bys = "".join(
        f'<option value="{key}"{" selected" if key == by else ""}>{label}</option>'
        for key, label in BY.items()
    )
    return (
        f'<form class="pci-picker" method="get" action="{action}">'
        f'<label for="pci-period">Periode</label><select id="pci-period" name="period">'
        f"{periods}</select>"
        f'<label for="pci-by">Indeling</label><select id="pci-by" name="by">{bys}</select>'
        '<button type="submit">Toon</button></form>'
    )


SHELL = """<!DOCTYPE html>
<html lang="nl">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex, nofollow">
  <title>PC Patrol — inzichten</title>
  {style}
</head>
<body class="pci-page">
  <header class="pci-top">
    <h1>Inzichten <span class="pci-sub">{period}</span></h1>
    {back}
  </header>
  <main class="pci-main">
{body}
  </main>
</body>
</html>
"""


def insights_html(body: str, period: str, style: str, back: str = "") -> str:
    """The whole page around `body`: the console's and the report's alike."""
    return SHELL.format(style=style, period=html.escape(period), back=back, body=body)
