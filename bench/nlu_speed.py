"""NLU speed: parse latency and throughput, training time and model size, at scale.

    .venv/bin/python -m bench.nlu_speed [--sizes 100,1000,5000] [--train-budget 900]

Today's data: the project's intents/ and articles trained with bot.nlu.model.train, parsed
with IntentParser.parse (normalise, classify with the question part of long messages,
domain evidence, fuzzy fallback) over the messages of tests/data/dev.tsv and dev2.tsv
(long stories included), each parse timed alone. Synthetic sets (bench/synthetic.py) of
N intents x 20 examples the same way, each trained in a child process under a time and
memory budget. The fuzzy fallback is timed both ways in the same run: against the
examples of the classifier's best intents (the parser's way) and against every example
(the way before the pre-filter).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import queue
import random
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import Any

from bench.common import DEV2, PROJECT_DIR, dev_messages, percentile, table, write_result
from bench.memory import rss
from bench.synthetic import Generator
from bot.config.settings import NluSettings, load_settings
from bot.dialogue.knowledge import load_knowledge
from bot.nlu.classifier import IntentClassifier
from bot.nlu.fuzzy import FuzzyHit, FuzzyMatcher
from bot.nlu.model import CLASSIFIER_PARAMS, ArticleText, TrainedModel, train
from bot.nlu.normalize import normalize
from bot.nlu.parser import FUZZY_INTENTS, IntentParser
from bot.nlu.training_data import TrainingData, load_training_data

PER_INTENT = 20
TARGET_P99_MS = 1.0
TARGET_TRAIN_S = 60.0


class FullScanMatcher(FuzzyMatcher):
    """The fuzzy fallback as it was: every example, whatever intents it is given."""

    def best(
        self, text: str, score_cutoff: float, intents: Iterable[str] | None = None
    ) -> FuzzyHit | None:
        return super().best(text, score_cutoff)


def parse_figures(parser: IntentParser, messages: Sequence[str], rounds: int) -> dict[str, Any]:
    """Latency of each parse (ms) over `rounds` shuffled passes, and throughput."""
    for text in messages:  # warm up: caches, lazy scorer
        parser.parse(text)
    rng = random.Random(0)
    order = list(messages)
    timings: list[float] = []
    fuzzy = 0
    started = time.perf_counter()
    for _ in range(rounds):
        rng.shuffle(order)
        for text in order:
            before = time.perf_counter_ns()
            result = parser.parse(text)
            timings.append((time.perf_counter_ns() - before) / 1e6)
            fuzzy += result.best is not None and result.best.source == "fuzzy"
    elapsed = time.perf_counter() - started
    return {
        "parses": len(timings),
        "p50_ms": percentile(timings, 0.50),
        "p99_ms": percentile(timings, 0.99),
        "max_ms": max(timings),
        "mean_ms": statistics.fmean(timings),
        "messages_per_s": len(timings) / elapsed,
        "fuzzy_decided_share": fuzzy / len(timings),
        "fallback_consulted_share": _consulted(parser, messages),
    }


def _consulted(parser: IntentParser, messages: Sequence[str]) -> float:
    """Share of messages on which the classifier is unsure, so the fuzzy fallback runs."""
    texts = [normalize(m) for m in messages]
    texts = [t for t in texts if t]
    threshold = parser.settings.answer_threshold
    unsure = [bool(parser.scorer.probabilities(t).max() < threshold) for t in texts]
    return sum(unsure) / len(unsure)


def typo_copies(
    texts: Sequence[str], intents: Sequence[str], count: int, seed: int = 2
) -> list[tuple[str, str]]:
    """`count` training examples with one letter changed, with their intents: what the
    fuzzy fallback is for."""
    rng = random.Random(seed)
    picked = rng.sample(list(zip(texts, intents, strict=True)), min(count, len(texts)))
    copies = []
    for text, intent in picked:
        at = rng.randrange(len(text))
        copies.append((text[:at] + rng.choice("aeiounrst") + text[at + 1 :], intent))
    return copies


def fallback_check(
    model: TrainedModel, settings: NluSettings, messages: Sequence[str]
) -> dict[str, Any]:
    """Whether the pre-filtered fallback finds the same example as the full scan, on
    `messages` and on 500 misspelled copies of training examples (for those, also how
    often each finds the copy's own intent)."""
    parser = IntentParser(
        model.scorer, FuzzyMatcher(model.texts, model.intents), settings, model.evidence
    )
    found = dict.fromkeys(
        ("consulted", "full_scan_hits", "different_hits", "full_scan_right", "prefiltered_right"),
        0,
    )
    labelled = [(m, None) for m in messages]
    for message, intent in [*labelled, *typo_copies(model.texts, model.intents, 500)]:
        text = normalize(message)
        if not text:
            continue
        probabilities = model.scorer.probabilities(text)
        if probabilities.max() >= settings.answer_threshold:
            continue
        found["consulted"] += 1
        order = probabilities.argsort()[::-1][:FUZZY_INTENTS]
        candidates = [model.scorer.classes[i] for i in order]
        full = parser.fuzzy.best(text, settings.fuzzy_threshold)
        few = parser.fuzzy.best(text, settings.fuzzy_threshold, candidates)
        found["full_scan_hits"] += full is not None
        found["different_hits"] += full != few
        if intent is not None:
            found["full_scan_right"] += full is not None and full.intent == intent
            found["prefiltered_right"] += few is not None and few.intent == intent
    return found


def both_ways(
    model: TrainedModel, settings: NluSettings, messages: Sequence[str], rounds: int
) -> dict[str, Any]:
    """Parse figures with the pre-filtered fallback and with the full scan, side by side."""
    fuzzy = FuzzyMatcher(model.texts, model.intents)
    now = IntentParser(model.scorer, fuzzy, settings, model.evidence)
    full_scan = FullScanMatcher(model.texts, model.intents)
    before = IntentParser(model.scorer, full_scan, settings, model.evidence)
    return {
        "prefiltered": parse_figures(now, messages, rounds),
        "full_scan": parse_figures(before, messages, rounds),
        "fallback_check": fallback_check(model, settings, messages),
    }


def timed_train(
    data: TrainingData, articles: Sequence[ArticleText] = ()
) -> tuple[TrainedModel, float]:
    start = time.perf_counter()
    model = train(data, articles=articles)
    return model, time.perf_counter() - start


def today(rounds: int, trainings: int) -> dict[str, Any]:
    """Figures for the project's own intents/ and the dev messages."""
    settings = load_settings(PROJECT_DIR).nlu
    data = load_training_data(PROJECT_DIR)
    articles = load_knowledge(PROJECT_DIR).for_training()
    runs = [timed_train(data, articles) for _ in range(trainings)]
    model = runs[-1][0]
    messages = [*dev_messages(), *dev_messages(DEV2)]
    return {
        "intents": len(data.intents),
        "examples": len(data.examples),
        "train_s": statistics.median(s for _, s in runs),
        "model_bytes": len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)),
        "messages": len(messages),
        **both_ways(model, settings, messages, rounds),
    }


def feature_count(texts: Sequence[str]) -> int:
    """Columns of the classifier's feature space for these examples."""
    features = IntentClassifier(**CLASSIFIER_PARAMS).features().fit(list(texts))
    return int(features.transform(list(texts[:1])).shape[1])


def _loaded_child(path: str, queries: Sequence[str], out: multiprocessing.Queue[int]) -> None:
    """RSS of a fresh process that loads the stored model and parses: what `serve` holds."""
    with open(path, "rb") as handle:
        model = pickle.load(handle)
    for text in queries:
        model.scorer.probabilities(normalize(text))
    out.put(rss(os.getpid())["rss_bytes"])


def _synthetic_child(intents: int, rounds: int, out: multiprocessing.Queue[dict[str, Any]]) -> None:
    generator = Generator(intents)
    data = generator.training_data(PER_INTENT)
    model, seconds = timed_train(data)
    stored = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    figures: dict[str, Any] = {
        "train_s": seconds,
        "train_peak_rss_bytes": rss(os.getpid())["peak_rss_bytes"],
        "model_bytes": len(stored),
    }
    with tempfile.NamedTemporaryFile(suffix=".pkl") as handle:
        handle.write(stored)
        handle.flush()
        del stored
        loaded: multiprocessing.Queue[int] = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=_loaded_child, args=(handle.name, generator.queries(100), loaded)
        )
        child.start()
        figures["loaded_rss_bytes"] = loaded.get()
        child.join()
    settings = load_settings(PROJECT_DIR).nlu
    figures.update(both_ways(model, settings, generator.queries(500), rounds))
    out.put(figures)


def synthetic(intents: int, rounds: int, budget: float) -> dict[str, Any]:
    """Train and parse a synthetic set in a child process, within a time budget."""
    generator = Generator(intents)
    data = generator.training_data(PER_INTENT)
    figures: dict[str, Any] = {
        "intents": intents,
        "examples": len(data.examples),
        "feature_columns": feature_count([normalize(t) for t in data.texts()]),
        "fuzzy_lookup": fuzzy_lookup(data, generator.queries(300)),
    }
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[dict[str, Any]] = context.Queue()
    child = context.Process(target=_synthetic_child, args=(intents, rounds, out))
    child.start()
    try:
        figures.update(out.get(timeout=budget))
    except queue.Empty:
        figures["skipped"] = f"training and parsing took more than the budget of {budget:.0f} s"
    finally:
        child.terminate()
        child.join()
    return figures


def fuzzy_lookup(data: TrainingData, queries: Sequence[str]) -> dict[str, float]:
    """Microseconds per fallback lookup: all examples vs the examples of 10 intents."""
    texts = [normalize(t) for t in data.texts()]
    matcher = FuzzyMatcher(texts, data.labels())
    intents = sorted(set(data.labels()))
    rng = random.Random(1)
    normalized = [normalize(q) for q in queries]
    picks = [rng.sample(intents, min(FUZZY_INTENTS, len(intents))) for _ in normalized]
    start = time.perf_counter()
    for text in normalized:
        matcher.best(text, 90)
    full = time.perf_counter() - start
    start = time.perf_counter()
    for text, pick in zip(normalized, picks, strict=True):
        matcher.best(text, 90, pick)
    few = time.perf_counter() - start
    return {
        "all_examples_us": 1e6 * full / len(queries),
        "ten_intents_us": 1e6 * few / len(queries),
    }


def _memory(found: dict[str, Any]) -> str:
    if "loaded_rss_bytes" not in found:
        return "-"
    peak, loaded = found["train_peak_rss_bytes"], found["loaded_rss_bytes"]
    return f"{peak / 2**20:,.0f} / {loaded / 2**20:,.0f} MiB"


def report(figures: dict[str, Any]) -> str:
    rows: list[list[object]] = []
    sets = [("today", figures["today"]), *((str(s["intents"]), s) for s in figures["synthetic"])]
    for name, found in sets:
        label = f"{name} ({found['intents']} intents, {found['examples']:,} examples)"
        if "prefiltered" not in found:
            rows.append([label, "-", "-", "-", "-", "-", "-", found["skipped"]])
            continue
        now, before = found["prefiltered"], found["full_scan"]
        check = found["fallback_check"]
        rows.append(
            [
                label,
                f"{now['p50_ms']:.3f} / {now['p99_ms']:.3f}",
                f"{before['p50_ms']:.3f} / {before['p99_ms']:.3f}",
                f"{now['messages_per_s']:,.0f}",
                f"{found['train_s']:.1f} s",
                f"{found['model_bytes'] / 1e6:,.1f} MB",
                _memory(found),
                f"fallback on {now['fallback_consulted_share']:.0%}; "
                f"{check['different_hits']} of {check['full_scan_hits']} fallback hits "
                f"differ; right intent {check['prefiltered_right']} vs "
                f"{check['full_scan_right']} (full scan)",
            ]
        )
    headers = [
        "data",
        "parse p50 / p99 ms",
        "before (full scan)",
        "parses/s",
        "training",
        "model",
        "RSS training peak / loaded",
        "note",
    ]
    lookups = [
        [
            f"{s['intents']} intents",
            f"{s['fuzzy_lookup']['all_examples_us']:,.0f}",
            f"{s['fuzzy_lookup']['ten_intents_us']:,.0f}",
        ]
        for s in figures["synthetic"]
    ]
    return "\n\n".join(
        [
            table(headers, rows),
            table(["fuzzy fallback lookup", "all examples (us)", "10 intents (us)"], lookups),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="synthetic intents")
    parser.add_argument("--rounds", type=int, default=30, help="passes over the messages")
    parser.add_argument("--trainings", type=int, default=3, help="trainings on today's data")
    parser.add_argument(
        "--train-budget", type=float, default=900, help="seconds per synthetic set (900)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = {
        "targets": {"p99_ms_today": TARGET_P99_MS, "train_s_5000_intents": TARGET_TRAIN_S},
        "today": today(args.rounds, args.trainings),
        "synthetic": [
            synthetic(int(n), max(1, args.rounds // 10), args.train_budget)
            for n in args.sizes.split(",")
        ],
    }
    print(report(figures))
    print(f"written to {write_result('nlu_speed', figures, started)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
