"""intents/*.yml in Rasa 3.x NLU format (bot/nlu/training_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, dedent

from bot.config.errors import Problem, ProjectError
from bot.dialogue.knowledge import load_knowledge
from bot.nlu.training_data import (
    ENTITY_ANNOTATION,
    INTENT_NAME,
    MIN_EXAMPLES,
    load_intents_file,
    load_training_data,
)


def write_intents(tmp_path: Path, text: str, name: str = "nlu.yml") -> Path:
    directory = tmp_path / "intents"
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ProjectError) as caught:
        load_intents_file(path)
    return caught.value.problems


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line in `path` that contains `needle`."""
    hits = [
        number
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if needle in line
    ]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


# --- the real intents/ -------------------------------------------------------------------


def test_the_real_intents_load() -> None:
    data = load_training_data(REPO)
    assert len(data.examples) > 100
    for required in ("greet", "affirm", "deny", "request_human", "out_of_scope"):
        assert required in data.intents
    for intent in data.intents:
        assert INTENT_NAME.match(intent)
    assert len(data.texts()) == len(data.labels()) == len(data.examples)


def test_every_real_example_points_at_its_own_line() -> None:
    data = load_training_data(REPO)
    cache: dict[Path, list[str]] = {}
    for example in data.examples:
        lines = cache.setdefault(
            example.path, example.path.read_text(encoding="utf-8").splitlines()
        )
        raw = lines[example.line - 1].strip()
        assert raw.startswith("- "), (example.path, example.line, raw)
        assert ENTITY_ANNOTATION.sub(r"\1", raw[2:]).strip() == example.text


def test_every_real_article_intent_has_examples() -> None:
    trained = set(load_training_data(REPO).intents)
    for article in load_knowledge(REPO).articles:
        assert set(article.intents) <= trained, article.id


# --- loading a file ----------------------------------------------------------------------


def test_examples_get_their_intent_and_exact_line(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        # Billing.
        version: "3.1"
        nlu:
        - intent: pay_with_ideal
          examples: |
            - kan ik met ideal betalen

            - betalen met [iDEAL](payment_method)
            - betalen via [bancontact]{"entity": "payment_method"}
        - intent: greet
          examples: |
            - hoi
            - goedemorgen
        """,
    )
    examples = load_intents_file(path)
    assert [(e.intent, e.text) for e in examples] == [
        ("pay_with_ideal", "kan ik met ideal betalen"),
        ("pay_with_ideal", "betalen met iDEAL"),
        ("pay_with_ideal", "betalen via bancontact"),
        ("greet", "hoi"),
        ("greet", "goedemorgen"),
    ]
    assert [e.line for e in examples] == [
        line_of(path, "kan ik met ideal"),
        line_of(path, "betalen met [iDEAL]"),
        line_of(path, "betalen via"),
        line_of(path, "- hoi"),
        line_of(path, "goedemorgen"),
    ]
    assert all(e.path == path for e in examples)


def test_intents_keep_their_order_and_first_line(tmp_path: Path) -> None:
    write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: b_intent
          examples: |
            - een
            - drie
        - intent: a_intent
          examples: |
            - twee
            - vier
        """,
    )
    data = load_training_data(tmp_path)
    assert data.intents == ["b_intent", "a_intent"]
    lines = data.intent_lines()
    assert lines["b_intent"][1] == 5
    assert lines["a_intent"][1] == 9


def test_an_intent_with_one_example_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - hoi
            - hallo
        - intent: new_topic
          examples: |
            - een nieuw onderwerp
        """,
    )
    with pytest.raises(ProjectError) as caught:
        load_training_data(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == (path, line_of(path, "een nieuw onderwerp"))
    assert problem.severity == "error"
    assert problem.message == (
        f"intent 'new_topic' has 1 example; the classifier needs {MIN_EXAMPLES} or more"
    )


def test_the_examples_of_an_intent_are_counted_over_all_files(tmp_path: Path) -> None:
    intent = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - {}\n'
    write_intents(tmp_path, intent.format("hoi"), "a.yml")
    write_intents(tmp_path, intent.format("hallo"), "b.yml")
    assert load_training_data(tmp_path).labels() == ["greet", "greet"]


def test_an_extra_top_level_key_names_file_and_line(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - hoi
        responses:
          utter_greet: []
        """,
    )
    (problem,) = problems_of(path)
    assert (problem.path, problem.line) == (path, 6)
    assert "'responses'" in problem.message


@pytest.mark.parametrize("version", ['"2.0"', '"3.0"', "3"])
def test_a_wrong_version_names_its_line(tmp_path: Path, version: str) -> None:
    path = write_intents(
        tmp_path,
        f"""
        # comment
        version: {version}
        nlu:
        - intent: greet
          examples: |
            - hoi
        """,
    )
    (problem,) = problems_of(path)
    assert (problem.path, problem.line) == (path, 2)
    assert "3.1" in problem.message


def test_a_missing_version_is_an_error(tmp_path: Path) -> None:
    path = write_intents(tmp_path, "nlu:\n- intent: greet\n  examples: |\n    - hoi\n")
    (problem,) = problems_of(path)
    assert problem.path == path
    assert "version" in problem.message


def test_an_example_without_dash_names_its_line(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - hoi
            - hallo
            goedemorgen
            - hey
        """,
    )
    (problem,) = problems_of(path)
    assert problem.path == path
    assert problem.line == line_of(path, "goedemorgen") == 7
    assert "- " in problem.message and "goedemorgen" in problem.message
    assert str(problem).startswith(f"{path}:7: error:")


def test_an_entry_with_an_extra_key_names_its_line(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - hoi
        - intent: thanks
          metadata: {}
          examples: |
            - bedankt
        """,
    )
    (problem,) = problems_of(path)
    assert (problem.path, problem.line) == (path, 6)
    assert "'intent' and 'examples'" in problem.message


def test_a_bad_intent_name_names_its_line(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: Pay-With-Ideal
          examples: |
            - ideal
        """,
    )
    (problem,) = problems_of(path)
    assert (problem.path, problem.line) == (path, 3)
    assert "Pay-With-Ideal" in problem.message


def test_nlu_must_be_a_list(tmp_path: Path) -> None:
    path = write_intents(tmp_path, 'version: "3.1"\nnlu:\n  greet: hoi\n')
    (problem,) = problems_of(path)
    assert (problem.path, problem.line) == (path, 2)


def test_problems_of_all_files_are_collected(tmp_path: Path) -> None:
    first = write_intents(tmp_path, 'version: "2.0"\nnlu: []\n', "a.yml")
    second = write_intents(tmp_path, 'version: "3.1"\nnlu:\n- intent: x\n', "b.yml")
    with pytest.raises(ProjectError) as caught:
        load_training_data(tmp_path)
    assert {p.path for p in caught.value.problems} == {first, second}


def test_no_intent_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "intents").mkdir()
    with pytest.raises(ProjectError, match=r"no \*\.yml files"):
        load_training_data(tmp_path)


def test_a_repeated_examples_key_is_an_error(tmp_path: Path) -> None:
    path = write_intents(
        tmp_path,
        """
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - hoi
            - hallo
          examples: |
            - goedemorgen
        """,
    )
    (problem,) = problems_of(path)
    assert (problem.path, problem.line) == (path, 7)
    assert problem.message == "key 'nlu.0.examples' appears twice"
