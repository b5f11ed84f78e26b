"""Intent quality on CLINC150 beside the published systems of its paper.

    .venv/bin/python -m bench.clinc150 [--grid 0.5,1,2,4] [--jobs 2]

CLINC150 (../shared/benchmarks/clinc150/data_full.json) is written out in the project's
own Rasa NLU YAML format, read back with bot.nlu.training_data.load_training_data, trained
with bot.nlu.model.train and parsed with IntentParser (normalise, classify, fuzzy fallback),
exactly as production. Two protocols of the paper:

- "oos as a trained class": oos_train is one more intent; a query is out of scope when
  the parser's top intent is "oos".
- "oos by confidence threshold": trained without oos; a query is out of scope when the
  parser's confidence is below a threshold.

C (and the threshold) are chosen on the validation split only, by the largest sum of
in-scope accuracy and out-of-scope recall on val + oos_val; the test split is parsed once,
with the chosen model. A second threshold, declared here beforehand too, is reported
beside it: the one with the best accuracy over all val + oos_val queries, where out of
scope is 3% of the queries, as it may be in a helpdesk; it favours in-scope accuracy.
The whole validation trade-off (threshold -> in-scope accuracy, oos recall) is recorded.

A third row, declared before its test split was parsed: the trained class with the rest
of the mass (IntentClassifier's `rest_weight`): oos scores at least the weight times the
chance that no other candidate applies. On the trained class's chosen model, the weight
is the largest of `REST_WEIGHTS` whose val in-scope accuracy is at most
`REST_IN_SCOPE_COST` points below that without it; test is parsed once more with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, SHARED_DIR, table, write_result
from bot.config.settings import load_settings
from bot.nlu.model import CLASSIFIER_PARAMS, TrainedModel, train
from bot.nlu.parser import IntentParser
from bot.nlu.training_data import TrainingData, load_training_data

DATA = SHARED_DIR / "benchmarks" / "clinc150" / "data_full.json"
OOS = "oos"
TRAINED, THRESHOLD = "oos as a trained class", "oos by confidence threshold"
THRESHOLDS = [round(i / 100, 2) for i in range(101)]
REST = "oos as a trained class, with the rest of the mass"
REST_WEIGHTS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
# Eight of val's 3,000 in-scope queries: what the rest may cost there.
REST_IN_SCOPE_COST = 0.25

# ../shared/benchmarks/clinc150/README.md: Larson et al. 2019, Table 2, "Full" data;
# in-scope accuracy / out-of-scope recall (%), quoted as given there.
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "SVM (bag of words)": {TRAINED: (91.0, 14.5), THRESHOLD: (88.2, 18.0)},
    "FastText": {TRAINED: (89.0, 9.7), THRESHOLD: (88.6, 28.3)},
    "Rasa (spaCy + scikit-learn)": {TRAINED: (91.5, 45.3), THRESHOLD: (90.9, 31.2)},
    "MLP on USE embeddings": {TRAINED: (93.5, 47.4), THRESHOLD: (93.4, 49.1)},
    "BERT (fine-tuned)": {TRAINED: (96.9, 40.3), THRESHOLD: (96.2, 52.3)},
}

Pairs = list[tuple[str, str]]
Predictions = list[tuple[str, float]]


@dataclass(frozen=True)
class Fit:
    """One trained model and its parses of the validation split.

    Attributes:
        protocol: TRAINED or THRESHOLD.
        C: The classifier's C.
        seconds: Training time.
        model_file: The pickled TrainedModel.
        val: (intent, confidence) per val query, then per oos_val query.
        val_rest: For the trained class: val's predictions at each of `REST_WEIGHTS`.
    """

    protocol: str
    C: float
    seconds: float
    model_file: str
    val: Predictions
    val_rest: dict[float, Predictions]


def rasa_yaml(pairs: Iterable[tuple[str, str]]) -> str:
    """Examples as a Rasa 3.1 NLU YAML file, one '- intent:' entry per intent."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in pairs:
        by_intent.setdefault(intent, []).append(" ".join(text.split()))
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        # Quoted: YAML reads the CLINC150 intents "yes" and "no" as booleans otherwise.
        lines += [f'- intent: "{intent}"', "  examples: |"]
        lines += [f"    - {text}" for text in texts if text]
    return "\n".join(lines) + "\n"


def training_data(pairs: Pairs, folder: Path) -> TrainingData:
    """Write `pairs` as a project's intents/ and load them the way the bot does."""
    (folder / "intents").mkdir(parents=True)
    (folder / "intents" / "clinc150.yml").write_text(rasa_yaml(pairs), encoding="utf-8")
    data = load_training_data(folder)
    written = [(" ".join(t.split()), i) for t, i in pairs if t.strip()]
    if list(zip(data.texts(), data.labels(), strict=True)) != written:
        raise RuntimeError("the Rasa YAML did not read back as written")
    return data


def parser_of(model: TrainedModel) -> IntentParser:
    """The production parser over `model`, with the project's thresholds (config.yml)."""
    return model.parser(load_settings(PROJECT_DIR).nlu)


def with_rest(model: TrainedModel, weight: float) -> TrainedModel:
    """`model` with oos taking `weight` of the rest of the mass (0: none)."""
    scorer = model.scorer
    rest = (scorer.classes.index(OOS), weight) if weight > 0 else None
    return dataclasses.replace(model, scorer=dataclasses.replace(scorer, rest=rest))


def predict(parser: IntentParser, texts: Sequence[str]) -> Predictions:
    """The parser's top intent and confidence per text."""
    found = []
    for text in texts:
        result = parser.parse(text)
        found.append((result.intent or OOS, result.confidence))
    return found


def fit(protocol: str, C: float, pairs: Pairs, val: Sequence[str], workdir: str) -> Fit:
    """Train one model (in a worker process) and parse the validation split."""
    folder = Path(tempfile.mkdtemp(dir=workdir))
    data = training_data(pairs, folder)
    start = time.perf_counter()
    model = train(data, {**CLASSIFIER_PARAMS, "C": C, "rest_intent": OOS})
    seconds = time.perf_counter() - start
    model_file = folder / "model.pkl"
    model_file.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    predictions = predict(parser_of(model), val)
    rest: dict[float, Predictions] = {}
    if protocol == TRAINED:
        # Weight 0 is the model as trained: its predictions are those above.
        rest = {
            w: predict(parser_of(with_rest(model, w)), val) if w else predictions
            for w in REST_WEIGHTS
        }
    return Fit(protocol, C, seconds, str(model_file), predictions, rest)


def score(
    predictions: Predictions, gold: Sequence[str], threshold: float | None
) -> tuple[float, float]:
    """In-scope accuracy and out-of-scope recall (%); below `threshold` counts as oos."""
    guesses = [
        OOS if threshold is not None and confidence < threshold else intent
        for intent, confidence in predictions
    ]
    in_scope = [g == t for g, t in zip(guesses, gold, strict=True) if t != OOS]
    oos = [g == OOS for g, t in zip(guesses, gold, strict=True) if t == OOS]
    return 100 * sum(in_scope) / len(in_scope), 100 * sum(oos) / len(oos)


def overall_accuracy(predictions: Predictions, gold: Sequence[str], threshold: float) -> float:
    """Share (%) of all queries, in scope or not, that get the right answer."""
    guesses = [OOS if c < threshold else i for i, c in predictions]
    return 100 * sum(g == t for g, t in zip(guesses, gold, strict=True)) / len(gold)


def choose(fits: Sequence[Fit], gold: Sequence[str]) -> tuple[Fit, float | None, float]:
    """The fit (and threshold) with the largest in-scope accuracy + oos recall on val."""
    best: tuple[float, Fit, float | None] | None = None
    for candidate in fits:
        thresholds: list[float | None] = [None]
        if candidate.protocol == THRESHOLD:
            thresholds = list(THRESHOLDS)
        for threshold in thresholds:
            total = sum(score(candidate.val, gold, threshold))
            if best is None or total > best[0] + 1e-9:
                best = (total, candidate, threshold)
    if best is None:
        raise ValueError("no fits to choose from")
    return best[1], best[2], best[0]


def run(grid: Sequence[float], jobs: int) -> dict[str, Any]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    train_pairs: Pairs = [(t, i) for t, i in data["train"]]
    oos_train: Pairs = [(t, OOS) for t, _ in data["oos_train"]]
    val = [t for t, _ in data["val"]] + [t for t, _ in data["oos_val"]]
    val_gold = [i for _, i in data["val"]] + [OOS] * len(data["oos_val"])
    test = [t for t, _ in data["test"]] + [t for t, _ in data["oos_test"]]
    test_gold = [i for _, i in data["test"]] + [OOS] * len(data["oos_test"])
    protocols = {TRAINED: train_pairs + oos_train, THRESHOLD: train_pairs}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as workdir:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(fit, protocol, C, pairs, val, workdir)
                for protocol, pairs in protocols.items()
                for C in grid
            ]
            fits = [future.result() for future in futures]
        for protocol in protocols:
            candidates = [f for f in fits if f.protocol == protocol]
            chosen, threshold, _ = choose(candidates, val_gold)
            model = pickle.loads(Path(chosen.model_file).read_bytes())
            parser = parser_of(model)
            start = time.perf_counter()
            test_predictions = predict(parser, test)
            parse_ms = 1000 * (time.perf_counter() - start) / len(test)
            in_scope, oos_recall = score(test_predictions, test_gold, threshold)
            results[protocol] = {
                "C": chosen.C,
                "threshold": threshold,
                "test": {"in_scope_accuracy": in_scope, "oos_recall": oos_recall},
                "test_without_threshold": dict(
                    zip(
                        ("in_scope_accuracy", "oos_recall"),
                        score(test_predictions, test_gold, None),
                        strict=True,
                    )
                ),
                "train_seconds": round(chosen.seconds, 1),
                "mean_parse_ms": round(parse_ms, 3),
                "model_bytes": Path(chosen.model_file).stat().st_size,
                "val_grid": [
                    {
                        "C": f.C,
                        "train_seconds": round(f.seconds, 1),
                        "val": _best_on_val(f, val_gold),
                    }
                    for f in candidates
                ],
            }
            if protocol == THRESHOLD:
                results[protocol].update(
                    _accuracy_first(chosen, val_gold, test_predictions, test_gold)
                )
            else:
                results[REST] = _with_the_rest(chosen, model, val_gold, test, test_gold)
    return {
        "data": {
            "train": len(train_pairs),
            "oos_train": len(oos_train),
            "val": len(data["val"]),
            "oos_val": len(data["oos_val"]),
            "test": len(data["test"]),
            "oos_test": len(data["oos_test"]),
        },
        "selection": "largest in-scope accuracy + oos recall on val + oos_val",
        "jobs": jobs,
        "protocols": results,
        "published": {
            name: {p: {"in_scope_accuracy": a, "oos_recall": r} for p, (a, r) in rows.items()}
            for name, rows in PUBLISHED.items()
        },
    }


def _accuracy_first(
    chosen: Fit, val_gold: Sequence[str], test: Predictions, test_gold: Sequence[str]
) -> dict[str, Any]:
    """The second operating point and the validation trade-off of the chosen model."""
    threshold = max(THRESHOLDS, key=lambda t: (overall_accuracy(chosen.val, val_gold, t), -t))
    in_scope, oos = score(test, test_gold, threshold)
    curve = []
    for t in THRESHOLDS:
        val_in, val_oos = score(chosen.val, val_gold, t)
        curve.append({"threshold": t, "in_scope_accuracy": val_in, "oos_recall": val_oos})
    return {
        "accuracy_first": {
            "threshold": threshold,
            "test": {"in_scope_accuracy": in_scope, "oos_recall": oos},
        },
        "val_curve": curve,
    }


def choose_rest(val: dict[float, tuple[float, float]]) -> float:
    """The largest weight whose val in-scope accuracy stays within
    `REST_IN_SCOPE_COST` of the model's without it (`val`: weight -> in-scope accuracy,
    oos recall)."""
    floor = val[0.0][0] - REST_IN_SCOPE_COST
    return max(w for w, (in_scope, _) in val.items() if in_scope >= floor)


def _with_the_rest(
    chosen: Fit, model: TrainedModel, val_gold: Sequence[str], test: list[str], gold: list[str]
) -> dict[str, Any]:
    """The third row: the trained class's model with the chosen share of the rest."""
    val = {w: score(chosen.val_rest[w], val_gold, None) for w in REST_WEIGHTS}
    weight = choose_rest(val)
    in_scope, oos = score(predict(parser_of(with_rest(model, weight)), test), gold, None)
    curve = [
        {"weight": w, "in_scope_accuracy": val_in, "oos_recall": val_oos}
        for w, (val_in, val_oos) in val.items()
    ]
    return {
        "C": chosen.C,
        "weight": weight,
        "test": {"in_scope_accuracy": in_scope, "oos_recall": oos},
        "val_curve": curve,
    }


def _best_on_val(fit_: Fit, gold: Sequence[str]) -> dict[str, Any]:
    _, threshold, _ = choose([fit_], gold)
    in_scope, oos = score(fit_.val, gold, threshold)
    return {"threshold": threshold, "in_scope_accuracy": in_scope, "oos_recall": oos}


def report(figures: dict[str, Any]) -> str:
    """The paper's table with our rows under it."""
    rows: list[list[object]] = [
        [name, f"{a:.1f} / {r:.1f}", f"{ta:.1f} / {tr:.1f}"]
        for name, ((a, r), (ta, tr)) in (
            (name, (p[TRAINED], p[THRESHOLD])) for name, p in PUBLISHED.items()
        )
    ]
    ours = figures["protocols"]
    cells = []
    for protocol in (TRAINED, THRESHOLD):
        found = ours[protocol]
        test = found["test"]
        cells.append(f"**{test['in_scope_accuracy']:.1f} / {test['oos_recall']:.1f}**")
    rows.append(["**PC Patrol NLU (this project)**", *cells])
    second = ours[THRESHOLD]["accuracy_first"]
    test = second["test"]
    rows.append(
        [
            f"PC Patrol NLU, threshold {second['threshold']:.2f} (best overall val accuracy)",
            "",
            f"{test['in_scope_accuracy']:.1f} / {test['oos_recall']:.1f}",
        ]
    )
    rest = ours[REST]
    test = rest["test"]
    rows.append(
        [
            f"PC Patrol NLU, oos with {rest['weight']:g} of the rest (C={rest['C']:g})",
            f"{test['in_scope_accuracy']:.1f} / {test['oos_recall']:.1f}",
            "",
        ]
    )
    lines = [table(["model", TRAINED, THRESHOLD], rows), ""]
    for protocol in (TRAINED, THRESHOLD):
        found = ours[protocol]
        chosen = f"C={found['C']}"
        if found["threshold"] is not None:
            chosen += f", threshold {found['threshold']:.2f}"
        lines.append(
            f"{protocol}: {chosen} (chosen on val); training {found['train_seconds']:.0f} s, "
            f"{found['mean_parse_ms']:.2f} ms per parse, model {found['model_bytes'] / 1e6:.0f} MB"
        )
        for point in found["val_grid"]:
            val = point["val"]
            note = f", threshold {val['threshold']:.2f}" if val["threshold"] is not None else ""
            lines.append(
                f"  val C={point['C']}{note}: {val['in_scope_accuracy']:.1f} / "
                f"{val['oos_recall']:.1f} (trained in {point['train_seconds']:.0f} s)"
            )
    lines.append(f"{REST}: weight {rest['weight']:g} (chosen on val)")
    for point in rest["val_curve"]:
        lines.append(
            f"  val weight {point['weight']:g}: {point['in_scope_accuracy']:.1f} / "
            f"{point['oos_recall']:.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grid", default="0.5,1,2,4", help="values of C to try (default: 0.5,1,2,4)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="models trained at once (default: 2, one per core)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = run([float(c) for c in args.grid.split(",")], args.jobs)
    print(report(figures))
    print(f"written to {write_result('clinc150', figures, started)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
