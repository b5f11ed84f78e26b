"""Writing the reports: PNG figures, report.json and the self-contained report.html."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import htmlpage, plots
from .analysis import KEYS, Evaluation

HTML_FILE, JSON_FILE = "report.html", "report.json"
FIGURES = ("confusion", "confidence", "sweep")


def figures_of(evaluation: Evaluation) -> dict[str, bytes]:
    """The evaluation's PNGs by name: confusion, confidence, sweep."""
    right, wrong = evaluation.confidences()
    return {
        "confusion": plots.confusion_png(
            evaluation.labels, evaluation.matrix, f"Confusion matrix: {evaluation.title}"
        ),
        "confidence": plots.confidence_png(
            right, wrong, f"Top-intent confidence: {evaluation.title}"
        ),
        "sweep": plots.sweep_png(
            evaluation.sweep,
            evaluation.target,
            evaluation.recommended,
            evaluation.settings.answer_threshold,
            f"Threshold sweep: {evaluation.title}",
        ),
    }


def write_reports(
    evaluations: Sequence[Evaluation], out_dir: Path, project_dir: Path
) -> dict[str, Path]:
    """Write every PNG, report.json and report.html into `out_dir`; return their paths.

    The PNGs are also embedded in the HTML, which needs no other file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # Figures of an evaluation this run does not make are from an earlier run: remove them.
    for key in set(KEYS) - {e.key for e in evaluations}:
        for name in FIGURES:
            (out_dir / f"{key}-{name}.png").unlink(missing_ok=True)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    written: dict[str, Path] = {}
    images: dict[str, dict[str, bytes]] = {}
    sections: dict[str, Any] = {}
    for evaluation in evaluations:
        pngs = figures_of(evaluation)
        images[evaluation.key] = pngs
        names = {}
        for name, png in pngs.items():
            path = out_dir / f"{evaluation.key}-{name}.png"
            path.write_bytes(png)
            names[name] = path.name
            written[f"{evaluation.key}-{name}"] = path
        sections[evaluation.key] = evaluation.to_json(names)
    settings = evaluations[0].settings if evaluations else None
    report = {
        "generated_at": when,
        "project": str(project_dir.resolve()),
        "nlu_settings": asdict(settings) if settings else None,
        "evaluations": sections,
    }
    json_path = out_dir / JSON_FILE
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    html_path = out_dir / HTML_FILE
    subtitle = f"Project {project_dir.resolve()}, {when}"
    html_path.write_text(htmlpage.render(evaluations, images, subtitle), "utf-8")
    written["json"], written["html"] = json_path, html_path
    return written
