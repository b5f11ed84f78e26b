"""Training the NLU and storing it with a fingerprint of what it was trained on."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.config.settings import NluSettings, Settings
from bot.nlu.evidence import DomainEvidence
from bot.nlu.fuzzy import FuzzyMatcher
from bot.nlu.normalize import normalize
from bot.nlu.parser import ALL_STEPS, OUT_OF_SCOPE, SOCIAL_INTENTS, IntentParser, Steps
from bot.nlu.scorer import CompiledScorer
from bot.nlu.training_data import TrainingData
from bot.nlu.words import WordAnalyzer

if TYPE_CHECKING:
    from bot.nlu.classifier import IntentClassifier

logger = logging.getLogger(__name__)

# Chosen by cross-validation over intents/ and the dev sets (docs/design-notes.md).
CLASSIFIER_PARAMS: dict[str, Any] = {
    "word_ngrams": (1, 2),
    "char_ngrams": (2, 5),
    "C": 2.0,
    "word_forms": "stem",
    "compounds": True,
    "spelling": True,
    "meaning": 0.75,
    "meaning_dimensions": 64,
    "n_jobs": -1,
}
# A stored model starts with this line's prefix and a JSON header, then the pickle.
MAGIC = b"pcpatrol-nlu "
# Bumped when a stored model's layout changes (its classes or their fitted attributes):
# a file of another format is retrained, never unpickled. 3: the scorer is stored, not
# the scikit-learn classifier. 4: the scorer holds the meaning's embedder.
MODEL_FORMAT = 4
# The libraries whose output a stored model holds (fitted estimators, stems, word lists).
MODEL_LIBRARIES = ("scikit-learn", "snowballstemmer", "wordfreq", "wordllama", "tokenizers")
# The modules whose code decides what a stored model contains: when any of them changes,
# a model stored by the older code is retrained instead of served.
MODEL_CODE = (
    "normalize.py",
    "stopwords.py",
    "words.py",
    "classifier.py",
    "svm_training.py",
    "scorer.py",
    "ngrams.py",
    "meaning.py",
    "language.py",  # which examples and messages get a meaning
    "candidates.py",
    "evidence.py",
    "model.py",
)


@dataclass(frozen=True)
class ArticleText:
    """What the NLU learns from one article besides the examples.

    Attributes:
        intents: The intents the article answers.
        title: Its title: its words are evidence of those intents.
        body: Its text: its words join the vocabulary spelling and compounds map onto.
    """

    intents: tuple[str, ...]
    title: str
    body: str


@dataclass
class TrainedModel:
    """A fitted classifier's scorer and the normalised examples behind it.

    Attributes:
        scorer: The fitted IntentClassifier's scorer: all a parse needs of it, without
            scikit-learn.
        texts: Normalised training examples (for the fuzzy fallback).
        intents: Their intents.
        fingerprint: Hash of the examples, articles, parameters and library versions.
        trained_at: ISO time of training.
        evidence: The domain words each article's intents need in a message.
    """

    scorer: CompiledScorer
    texts: list[str]
    intents: list[str]
    fingerprint: str
    trained_at: str
    evidence: DomainEvidence | None = None

    @property
    def version(self) -> str:
        """Short model version for /health and logs."""
        return self.fingerprint[:12]

    def parser(self, settings: NluSettings, steps: Steps = ALL_STEPS) -> IntentParser:
        """An IntentParser over this model with these thresholds (and all its steps,
        unless a measurement switches one off)."""
        return IntentParser(
            self.scorer,
            FuzzyMatcher(self.texts, self.intents),
            settings,
            evidence=self.evidence,
            steps=steps,
        )


def fingerprint(
    data: TrainingData,
    params: Mapping[str, Any] = CLASSIFIER_PARAMS,
    articles: Sequence[ArticleText] = (),
    normalized: Sequence[str] | None = None,
) -> str:
    """Hash of everything that changes the trained model; `normalized` are the
    examples' normalised texts when the caller has them already."""
    if normalized is None:
        normalized = [normalize(e.text) for e in data.examples]
    digest = hashlib.sha256()
    inputs = {
        "bot": __version__,
        "format": MODEL_FORMAT,
        "code": code_digest(),
        "libraries": {name: importlib.metadata.version(name) for name in MODEL_LIBRARIES},
        "params": dict(params),
        # The normalised text too: what the classifier learns from, whatever changed it.
        "examples": sorted(
            [e.intent, e.text, n] for e, n in zip(data.examples, normalized, strict=True)
        ),
        "articles": [
            [list(a.intents), a.title, a.body, normalize(f"{a.title} {a.body}")] for a in articles
        ],
    }
    digest.update(json.dumps(inputs, sort_keys=True, default=list).encode())
    return digest.hexdigest()


@cache
def code_digest() -> str:
    """Hash of the source of `MODEL_CODE`."""
    digest = hashlib.sha256()
    for name in MODEL_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def train(
    data: TrainingData,
    params: Mapping[str, Any] = CLASSIFIER_PARAMS,
    articles: Sequence[ArticleText] = (),
) -> TrainedModel:
    """Fit the classifier on every example, and the domain evidence of the articles.

    Args:
        data: The examples.
        params: IntentClassifier parameters; the project's own by default (benchmarks
            try others).
        articles: The articles' intents, titles and text. Without them no intent
            needs domain evidence.
    """
    texts = [normalize(text) for text in data.texts()]
    intents = data.labels()
    vocabulary = [normalize(f"{a.title} {a.body}") for a in articles]
    classifier = fit_classifier(texts, intents, vocabulary, params)
    analyzer = classifier.analyzer_ or WordAnalyzer("none", compounds=False, spelling=False)
    titles = {intent: normalize(a.title) for a in articles for intent in a.intents}
    evidence = DomainEvidence(analyzer, titles, OUT_OF_SCOPE, SOCIAL_INTENTS).fit(
        texts, intents, titles, vocabulary
    )
    return TrainedModel(
        scorer=CompiledScorer.from_classifier(classifier),
        texts=texts,
        intents=intents,
        fingerprint=fingerprint(data, params, articles, texts),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        evidence=evidence,
    )


def fit_classifier(
    texts: Sequence[str],
    intents: Sequence[str],
    vocabulary: Sequence[str] = (),
    params: Mapping[str, Any] = CLASSIFIER_PARAMS,
) -> IntentClassifier:
    """The IntentClassifier fitted on normalised examples, with the articles' normalised
    text as the vocabulary its domain words may correct and split towards."""
    # Imported here: only training needs scikit-learn, and serving a stored model never
    # loads it (some 70 MiB; bot/nlu/ngrams.py).
    from bot.nlu.classifier import IntentClassifier

    return IntentClassifier(**params).fit(texts, intents, vocabulary)


def header() -> dict[str, Any]:
    """What a stored model must have been written with to be unpickled here: the model
    format (the layout of the classes it holds)."""
    return {"format": MODEL_FORMAT}


def save(model: TrainedModel, path: Path) -> None:
    """Write the model atomically, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(MAGIC + json.dumps(header(), sort_keys=True).encode() + b"\n")
        pickle.dump(model, tmp, protocol=pickle.HIGHEST_PROTOCOL)
    # NamedTemporaryFile creates mode 0600; give the model the mode any new file gets.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.name, 0o666 & ~umask)
    os.replace(tmp.name, path)


def load(path: Path) -> TrainedModel | None:
    """The stored model, or None when it is missing, unreadable or written in another
    model format (then: retrain). The header is checked before anything is unpickled."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
            written = _header_of(first)
            if written != header():
                logger.warning(
                    "Stored model %s was written as %s, this code needs %s; it will be retrained",
                    path,
                    written or "an older format",
                    header(),
                )
                return None
            model = pickle.load(handle)
    except FileNotFoundError:
        return None
    # Whatever a damaged file raises while it is unpickled, it is retrained, not served.
    except (
        OSError,
        pickle.UnpicklingError,
        AttributeError,
        EOFError,
        ImportError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
    ) as exc:
        logger.warning("Stored model %s is unreadable (%s); it will be retrained", path, exc)
        return None
    return model if isinstance(model, TrainedModel) else None


def _header_of(line: bytes) -> dict[str, Any] | None:
    """The JSON header of a stored model's first line, or None for a file without one."""
    if not line.startswith(MAGIC):
        return None
    try:
        found = json.loads(line[len(MAGIC) :])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def ensure_trained(
    settings: Settings, data: TrainingData, articles: Sequence[ArticleText] = ()
) -> TrainedModel:
    """The stored model when it matches `data`, else one freshly trained (in a child
    process: `train_elsewhere`) and stored."""
    model = load(settings.model_file)
    if model is not None and model.fingerprint == fingerprint(data, articles=articles):
        return model
    logger.info("Training the NLU model on %d examples", len(data.examples))
    model = train_elsewhere(data, articles)
    save(model, settings.model_file)
    return model


def train_elsewhere(data: TrainingData, articles: Sequence[ArticleText] = ()) -> TrainedModel:
    """`train` with the project's parameters, in a child process of its own
    (`bot.nlu.training_child`): training imports scikit-learn and peaks at several
    times the memory a parse needs, and a process that serves (started without a stored
    model, or hot-reloading) should keep neither.

    Raises:
        Whatever `train` raised in the child; RuntimeError when the child died.
    """
    # The parameters as they are now (a benchmark's ablation changes them).
    request = pickle.dumps((data, dict(CLASSIFIER_PARAMS), list(articles)))
    # The child imports bot from where this process did, not from its working folder.
    path = [os.path.abspath(entry) if entry else os.getcwd() for entry in sys.path]
    child = subprocess.run(
        [sys.executable, "-P", "-m", "bot.nlu.training_child"],
        input=request,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"training stopped (exit status {child.returncode}); see above")
    outcome = pickle.loads(child.stdout)
    if isinstance(outcome, Exception):
        raise outcome
    if not isinstance(outcome, TrainedModel):
        raise RuntimeError(f"training returned {type(outcome).__name__}, not a model")
    return outcome
