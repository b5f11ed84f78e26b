"""Checking a project before it trains or serves: every problem with its file and line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from rapidfuzz import fuzz, process

from bot.config.errors import Problem, ProjectError
from bot.config.settings import Settings, load_settings
from bot.dialogue.knowledge import KnowledgeBase, load_knowledge
from bot.dialogue.policy import POLICY_INTENTS, SMALLTALK_INTENTS
from bot.dialogue.responses import Responses, load_responses
from bot.nlu import Example, TrainingData, load_training_data, normalize

RECOMMENDED_EXAMPLES = 10
NEAR_DUPLICATE = 95  # rapidfuzz ratio of two normalised examples
T = TypeVar("T")


def validate_project(project_dir: Path) -> list[Problem]:
    """Every problem in the project's config, responses, articles and intents."""
    problems: list[Problem] = []

    def attempt(load: Callable[[Path], T]) -> T | None:
        try:
            return load(project_dir)
        except ProjectError as exc:
            problems.extend(exc.problems)
            return None

    settings = attempt(load_settings)
    knowledge = attempt(load_knowledge)
    responses = attempt(load_responses)
    data = attempt(load_training_data)
    if data is not None:
        problems += check_examples(data)
        problems += check_near_duplicates(data)
    if data is not None and knowledge is not None and responses is not None:
        problems += check_coverage(data, knowledge, responses)
    if knowledge is not None and settings is not None:
        problems += check_links(knowledge, settings)
    if knowledge is not None:
        problems += check_excerpts(knowledge)
    return problems


def check_examples(data: TrainingData) -> list[Problem]:
    """Duplicate examples, examples under two intents, intents with too few examples."""
    problems: list[Problem] = []
    first: dict[str, Example] = {}
    for example in data.examples:
        key = normalize(example.text)
        earlier = first.get(key)
        if earlier is None:
            first[key] = example
        elif earlier.intent == example.intent:
            problems.append(
                Problem(
                    example.path,
                    example.line,
                    f"duplicate example {example.text!r} (also {earlier.path}:{earlier.line})",
                )
            )
        else:
            problems.append(
                Problem(
                    example.path,
                    example.line,
                    f"example {example.text!r} is "
                    f"under {example.intent!r} and under {earlier.intent!r} "
                    f"({earlier.path}:{earlier.line})",
                )
            )
    counts = Counter(data.labels())
    for intent, (path, line) in data.intent_lines().items():
        if counts[intent] < RECOMMENDED_EXAMPLES:
            problems.append(
                Problem(
                    path,
                    line,
                    f"intent {intent!r} has {counts[intent]} examples; "
                    f"{RECOMMENDED_EXAMPLES} or more recognise it reliably",
                    "warning",
                )
            )
    return problems


def check_near_duplicates(data: TrainingData) -> list[Problem]:
    """Examples of two intents that differ by a typo or two: the classifier cannot keep
    those intents apart, and one of the two is probably under the wrong intent."""
    texts = [normalize(e.text) for e in data.examples]
    scores = process.cdist(
        texts, texts, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE, dtype=np.uint8, workers=-1
    )
    problems = []
    for i, j in zip(*np.nonzero(np.triu(scores, k=1)), strict=True):
        first, second = data.examples[i], data.examples[j]
        if first.intent != second.intent and texts[i] != texts[j]:
            problems.append(
                Problem(
                    second.path,
                    second.line,
                    f"example {second.text!r} "
                    f"({second.intent}) is nearly the same as {first.text!r} "
                    f"({first.intent}, {first.path}:{first.line})",
                    "warning",
                )
            )
    return problems


def check_coverage(
    data: TrainingData, knowledge: KnowledgeBase, responses: Responses
) -> list[Problem]:
    """Intents nothing answers, and articles no intent reaches."""
    problems: list[Problem] = []
    answered = knowledge.intents
    for intent, (path, line) in data.intent_lines().items():
        replied = intent in SMALLTALK_INTENTS and intent in responses
        if intent not in answered and intent not in POLICY_INTENTS and not replied:
            message = f"intent {intent!r} has no article in faq/ and no reply in responses.yml"
            if intent in responses:
                # The reply alone is not enough: the parser must know it carries no topic.
                message = (
                    f"intent {intent!r} has a reply in responses.yml, but the bot replies "
                    "only to the small-talk intents of SOCIAL_INTENTS in bot/nlu/parser.py: "
                    "add it there, or give it an article in faq/"
                )
            problems.append(Problem(path, line, message))
    trained = set(data.intents)
    for article in knowledge.articles:
        if not article.intents:
            problems.append(Problem(article.path, 2, f"article {article.id!r} has no intents"))
        for intent in article.intents:
            if intent not in trained:
                problems.append(
                    Problem(
                        article.path,
                        2,
                        f"article {article.id!r} answers "
                        f"intent {intent!r}, which has no examples in intents/",
                    )
                )
    for intent in sorted(POLICY_INTENTS - trained):
        problems.append(
            Problem(
                Path("intents"),
                None,
                f"no examples of {intent!r}; the bot cannot recognise it",
                "warning",
            )
        )
    return problems


def check_links(knowledge: KnowledgeBase, settings: Settings) -> list[Problem]:
    """Articles that link to a config.yml URL that is not set."""
    urls = vars(settings.urls)
    problems = []
    for article in knowledge.articles:
        for name in article.setting_links():
            if name not in urls:
                problems.append(
                    Problem(
                        article.path,
                        None,
                        f"links to setting:{name}, which config.yml's urls does not have",
                    )
                )
            elif not urls[name]:
                problems.append(
                    Problem(
                        article.path,
                        None,
                        f"links to urls.{name}, which is "
                        "not set in config.yml: the link shows as plain text",
                        "warning",
                    )
                )
    return problems


def check_excerpts(knowledge: KnowledgeBase) -> list[Problem]:
    """Excerpts without a URL: the customer cannot read the rest, so the answer can only
    offer a colleague."""
    return [
        Problem(
            article.path,
            None,
            "an excerpt without a url: the answer offers a colleague instead of the "
            "full article; set url to the published article",
            "warning",
        )
        for article in knowledge.articles
        if article.excerpt and not article.url
    ]
