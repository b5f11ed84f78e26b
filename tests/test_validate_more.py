"""`pcpatrol-bot validate`, grown for maintainers: near-duplicate examples across intents
(bot/maintenance/validate.py check_near_duplicates) and `--fail-on-warnings` for CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import REPO, copy_project, write_small_project

from bot.cli.main import main
from bot.maintenance.validate import check_near_duplicates, validate_project
from bot.nlu.training_data import load_training_data

# The small project's first pay_with_ideal example (intents/nlu.yml line 5).
IDEAL = "kan ik met ideal betalen"
IDEAL_LINE = 5


def validate(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    code = main(["validate", "--project", str(project), *args])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def write_intents(path: Path, intent: str, *examples: str) -> Path:
    lines = "".join(f"    - {example}\n" for example in examples)
    path.write_text(
        f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n{lines}', encoding="utf-8"
    )
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_small_project(tmp_path / "small")


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """A copy of the real project without its warnings (the unset terms URL, and the
    excerpts whose full article has no known URL)."""
    project = copy_project(tmp_path / "pcpatrol")
    for article in (project / "faq").glob("*.md"):
        text = article.read_text(encoding="utf-8")
        if "\nexcerpt: true" in text:
            url = f"url: https://helpcenter.example.nl/{article.stem}"
            article.write_text(text.replace("url: null", url), encoding="utf-8")
    config = project / "config.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "terms_and_conditions: null",
            "terms_and_conditions: https://www.pcpatrol.nl/algemene-voorwaarden",
        ),
        encoding="utf-8",
    )
    return project


# --- near-duplicates -------------------------------------------------------------------------


def test_a_near_duplicate_under_another_intent_is_a_warning_naming_both_places(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = small / "intents" / "nlu.yml"
    second = write_intents(
        small / "intents" / "typos.yml", "view_invoices", "kan ik met ideal betaalen"
    )

    (problem,) = [p for p in validate_project(small) if "nearly the same" in p.message]

    assert (problem.severity, problem.path, problem.line) == ("warning", second, 5)
    assert problem.message == (
        "example 'kan ik met ideal betaalen' (view_invoices) is nearly the same as "
        f"'{IDEAL}' (pay_with_ideal, {first}:{IDEAL_LINE})"
    )
    code, out = validate(capsys, small)
    assert code == 0  # warnings only
    assert f"{second}:5: warning: example 'kan ik met ideal betaalen'" in out
    assert f"'{IDEAL}' (pay_with_ideal, {first}:{IDEAL_LINE})" in out


def test_near_duplicates_are_found_whatever_the_case_and_punctuation(small: Path) -> None:
    write_intents(small / "intents" / "typos.yml", "view_invoices", "Kan ik met iDEAL betaalen?")

    found = check_near_duplicates(load_training_data(small))

    assert [(p.line, p.severity) for p in found] == [(5, "warning")]
    assert "'Kan ik met iDEAL betaalen?' (view_invoices)" in found[0].message


def test_near_duplicates_under_one_intent_are_no_warning(small: Path) -> None:
    write_intents(small / "intents" / "typos.yml", "pay_with_ideal", "kan ik met ideal betaalen")

    assert check_near_duplicates(load_training_data(small)) == []


def test_the_same_example_under_two_intents_is_an_error_not_a_near_duplicate(
    small: Path,
) -> None:
    write_intents(small / "intents" / "twice.yml", "view_invoices", "Kan ik met iDEAL betalen?")

    problems = validate_project(small)

    assert not any("nearly the same" in p.message for p in problems)
    (error,) = [p for p in problems if p.severity == "error"]
    assert "under 'view_invoices' and under 'pay_with_ideal'" in error.message


def test_examples_that_differ_more_than_a_typo_are_no_near_duplicates(small: Path) -> None:
    write_intents(
        small / "intents" / "other.yml",
        "view_invoices",
        "kan ik met ideal mijn facturen zien",
        "kan ik met ideal betalen of niet",
    )

    assert check_near_duplicates(load_training_data(small)) == []


def test_the_real_intents_have_no_near_duplicates() -> None:
    assert check_near_duplicates(load_training_data(REPO)) == []


# --- --fail-on-warnings -------------------------------------------------------------------


def test_fail_on_warnings_fails_on_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The unset terms URL is a warning, and so is each excerpt without its article's URL.
    project = copy_project(tmp_path / "pcpatrol")

    assert validate(capsys, project)[0] == 0
    code, out = validate(capsys, project, "--fail-on-warnings")

    assert code == 1
    assert "algemene-voorwaarden.md: warning: links to urls.terms_and_conditions" in out
    assert "twee-factor-authenticatie.md: warning: an excerpt without a url" in out
    assert out.rstrip().endswith("0 errors, 7 warnings")


def test_fail_on_warnings_passes_without_warnings(
    clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = validate(capsys, clean, "--fail-on-warnings")

    assert (code, out) == (0, "0 errors, 0 warnings\n")


def test_a_near_duplicate_fails_a_ci_run(clean: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_intents(clean / "intents" / "typos.yml", "view_invoices", "Kan ik met iDEAL betaalen?")

    assert validate(capsys, clean)[0] == 0
    code, out = validate(capsys, clean, "--fail-on-warnings")

    assert code == 1
    assert re.search(r"typos\.yml:5: warning: example .* is nearly the same as", out)
    assert out.rstrip().endswith("0 errors, 1 warnings")


def test_errors_fail_with_or_without_the_flag(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (small / "intents" / "broken.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: pay_with_ideal\n  examples: 5\n', encoding="utf-8"
    )

    for args in ((), ("--fail-on-warnings",)):
        code, out = validate(capsys, small, *args)
        assert code == 1
        assert f"{small / 'intents' / 'broken.yml'}:4: error: examples must be a '|' block" in out


def test_a_character_yaml_does_not_allow_is_an_error_naming_file_and_line(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_intents(
        small / "intents" / "pasted.yml",
        "pay_with_ideal",
        "met ideaal betalen graag",
        "betalen \u0096 hoe dan",
    )

    (problem,) = [p for p in validate_project(small) if p.path == path]

    assert (problem.line, problem.severity) == (6, "error")
    code, out = validate(capsys, small)
    assert code == 1
    assert f"{path}:6: error: " in out


# --- coverage --------------------------------------------------------------------------------


def test_a_reply_for_an_intent_the_bot_does_not_reply_to_is_named(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A maintainer who adds a reply for a new small-talk intent learns what is missing.
    responses = small / "responses.yml"
    weather = "weather_chat:\n  nl: Dat is zeker mooi weer!\n  en: Lovely weather indeed!\n"
    responses.write_text(responses.read_text(encoding="utf-8") + weather, encoding="utf-8")
    path = write_intents(
        small / "intents" / "weather.yml", "weather_chat", "mooi weer he", "wat een zon vandaag"
    )
    code, out = validate(capsys, small)
    assert code == 1
    # Named at its first example, line 5 of the file.
    assert f"{path}:5: error: intent 'weather_chat' has a reply in responses.yml" in out
    assert "SOCIAL_INTENTS in bot/nlu/parser.py" in out
