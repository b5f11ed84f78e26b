"""The bot's own sentences, per language, from responses.yml."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from bot.config.errors import ProjectError
from bot.config.yamlfile import load_yaml
from bot.handoff.routes import ROUTE_SENTENCES
from bot.nlu import Language

RESPONSES_FILE = "responses.yml"
LANGUAGES: tuple[Language, ...] = ("nl", "en")
# Every key the actions use; responses.yml must define each in every language.
REQUIRED = (
    "greet",
    "thanks",
    "goodbye",
    "how_can_i_help",
    "ask_what_goes_wrong",
    "answer_intro",
    "read_more",
    "excerpt_read_on",
    "excerpt_ask_colleague",
    "feedback_question",
    "button_yes",
    "button_no",
    "feedback_helped",
    "clarify_question",
    "button_other",
    "escalate_low_confidence",
    "escalate_low_confidence_again",
    "escalate_not_understood",
    "queue_received",
    "queue_email_instead",
    "escalate_out_of_scope",
    "escalate_request_human",
    "escalate_complaint",
    "escalate_not_helped",
    "button_colleague",
    "queue_position",
    "ask_customer_email",
    "invalid_customer_email",
    "ask_customer_question",
    "invalid_customer_question",
    "button_same_question",
    "button_cancel",
    "form_submitted",
    "form_cancelled",
    "agent_joined",
    "agent_left",
    *ROUTE_SENTENCES,
)
FIELDS = frozenset({"email", "url", "position", "agent"})


@dataclass(frozen=True)
class Responses:
    """Texts by key and language."""

    texts: dict[str, dict[str, str]]

    def text(self, key: str, language: Language | str, **fields: str) -> str:
        """The text for `key` in `language` (Dutch when unknown), with fields filled in."""
        variants = self.texts[key]
        return variants.get(language, variants["nl"]).format(**fields)

    def __contains__(self, key: str) -> bool:
        return key in self.texts


def load_responses(project_dir: Path) -> Responses:
    """Read responses.yml, checking every required key, language and placeholder.

    Raises:
        ProjectError: naming the file and line of each problem.
    """
    doc = load_yaml(project_dir / RESPONSES_FILE)
    data = doc.data
    if not isinstance(data, dict):
        raise ProjectError([doc.problem((), "must map response names to texts per language")])
    problems = [doc.problem((), f"missing response {key!r}") for key in REQUIRED if key not in data]
    texts: dict[str, dict[str, str]] = {}
    for key, variants in data.items():
        if not isinstance(variants, dict):
            problems.append(doc.problem((key,), f"{key} must map nl and en to a text"))
            continue
        for language in LANGUAGES:
            text = variants.get(language)
            if not isinstance(text, str):
                problems.append(doc.problem((key,), f"{key} needs a {language} text"))
                continue
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            if names - FIELDS:
                problems.append(
                    doc.problem(
                        (key, language),
                        f"unknown placeholder in {key}: {', '.join(sorted(names - FIELDS))}",
                    )
                )
        unknown = set(variants) - set(LANGUAGES)
        if unknown:
            problems.append(doc.problem((key,), f"unknown language {sorted(unknown)[0]!r}"))
        texts[str(key)] = {str(k): str(v) for k, v in variants.items()}
    if problems:
        raise ProjectError(problems)
    return Responses(texts)
