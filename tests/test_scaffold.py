"""`pcpatrol-bot new-intent NAME --article ID` (bot/maintenance/scaffold.py): a new
intents/ file and the article's front matter, so a maintainer adds an intent without
touching Python."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from helpers import copy_project, write_article, write_small_project

from bot.cli.main import main
from bot.dialogue.assistant import Assistant
from bot.dialogue.policy import ConversationState
from bot.maintenance.validate import validate_project
from bot.nlu.training_data import load_intents_file

ARTICLE = "factuuradres-wijzigen"
TITLE = "Hoe wijzig ik mijn factuuradres?"
NAME = "change_billing_address"
# The template's comment, version and nlu lines come first; the title is line 9.
TITLE_LINE = 9
EXAMPLES = [
    "factuuradres wijzigen",
    "ander factuuradres",
    "hoe pas ik mijn factuuradres aan",
    "mijn adres op de factuur klopt niet",
    "we zijn verhuisd, hoe wijzig ik het adres op de factuur",
    "factuur adres veranderen",
    "facturen naar een ander adres sturen",
    "adreswijziging doorgeven voor de facturen",
    "kunt u het adres op mijn facturen aanpassen",
    "how do I change my billing address",
    "factuuradres aanpasen",
]


def new_article(project: Path, intents: str = "[]") -> Path:
    return write_article(
        project / "faq",
        ARTICLE,
        title=TITLE,
        intents=intents,
        body="Uw factuuradres past u aan in het klantenpaneel.",
    )


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the real project with a new article that no intent answers yet."""
    project = copy_project(tmp_path / "pcpatrol")
    new_article(project)
    return project


def test_new_intent_writes_the_file_and_adds_it_to_the_article(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = project / "faq" / f"{ARTICLE}.md"
    before = article.read_text(encoding="utf-8")

    code, out, err = cli(capsys, "new-intent", NAME, "--article", ARTICLE, "--project", project)

    path = project / "intents" / f"{NAME}.yml"
    assert (code, err) == (0, "")
    assert f"Wrote {path} and added {NAME} to {article}" in out
    assert "pcpatrol-bot validate" in out
    # A Rasa 3.1 NLU file whose first example is the article's title.
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# {NAME}: ")
    assert f'version: "3.1"\nnlu:\n- intent: {NAME}\n  examples: |\n    - {TITLE}\n' in text
    assert [(e.text, e.intent, e.line) for e in load_intents_file(path)] == [
        (TITLE, NAME, TITLE_LINE)
    ]
    # The article answers it now; nothing else in the article changed.
    assert article.read_text(encoding="utf-8") == before.replace(
        "intents: []", f"intents: [{NAME}]"
    )


def test_an_intent_is_added_after_the_articles_other_intents(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = project / "faq" / "betalen-met-ideal.md"
    before = article.read_text(encoding="utf-8")

    code, _, _ = cli(
        capsys,
        "new-intent",
        "pay_by_transfer",
        "--article",
        "betalen-met-ideal",
        "--project",
        project,
    )

    assert code == 0
    assert article.read_text(encoding="utf-8") == before.replace(
        "intents: [pay_with_ideal]", "intents: [pay_with_ideal, pay_by_transfer]"
    )


def test_validate_then_asks_for_more_examples_naming_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "new-intent", NAME, "--article", ARTICLE, "--project", project)[0] == 0
    path = project / "intents" / f"{NAME}.yml"

    code, out, _ = cli(capsys, "validate", "--project", project)

    assert code == 1
    assert (
        f"{path}:{TITLE_LINE}: error: intent '{NAME}' has 1 example; the classifier needs 2 or more"
    ) in out
    assert "1 errors, " in out


def test_with_examples_added_the_new_article_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = write_small_project(tmp_path / "small")
    new_article(small)
    assert cli(capsys, "new-intent", NAME, "--article", ARTICLE, "--project", small)[0] == 0
    path = small / "intents" / f"{NAME}.yml"
    with path.open("a", encoding="utf-8") as file:
        file.writelines(f"    - {example}\n" for example in EXAMPLES)

    problems = validate_project(small)

    assert [p for p in problems if p.severity == "error"] == []
    assert [p for p in problems if p.path in (path, small / "faq" / f"{ARTICLE}.md")] == []
    assistant = Assistant.load(small)
    turn = asyncio.run(
        assistant.handle("klant", "hoe verander ik het factuuradres", ConversationState())
    )
    described = assistant.describe(turn)
    assert (described["action"], described["article"]["id"]) == ("answer", ARTICLE)


@pytest.mark.parametrize("name", ["ChangeAddress", "change-address", "9lives", "_x", "a b", ""])
def test_a_bad_name_is_an_error_and_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    article = project / "faq" / f"{ARTICLE}.md"
    before = article.read_bytes()
    intents = sorted((project / "intents").iterdir())

    code, out, err = cli(capsys, "new-intent", name, "--article", ARTICLE, "--project", project)

    assert code == 1
    assert f"bad intent name {name!r}; use lower_case_with_underscores" in err
    assert out == ""
    assert sorted((project / "intents").iterdir()) == intents
    assert article.read_bytes() == before


def test_an_existing_file_is_an_error_and_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = project / "faq" / f"{ARTICLE}.md"
    before = article.read_bytes()
    existing = project / "intents" / "billing.yml"
    billing = existing.read_bytes()

    code, _, err = cli(capsys, "new-intent", "billing", "--article", ARTICLE, "--project", project)

    assert code == 1
    assert f"{existing}: error: already exists" in err
    assert existing.read_bytes() == billing
    assert article.read_bytes() == before


def test_an_unknown_article_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "new-intent", NAME, "--article", "bestaat-niet", "--project", project
    )

    assert code == 1
    assert "no article 'bestaat-niet' in faq/" in err
    assert out == ""
    assert not (project / "intents" / f"{NAME}.yml").exists()


def test_an_article_without_a_one_line_intents_list_is_an_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = new_article(project, intents="\n  - some_intent")
    before = article.read_bytes()

    code, _, err = cli(capsys, "new-intent", NAME, "--article", ARTICLE, "--project", project)

    assert code == 1
    assert "cannot find a one-line 'intents: [...]'" in err
    assert article.read_bytes() == before
    assert not (project / "intents" / f"{NAME}.yml").exists()


def test_without_an_article_the_file_waits_for_examples(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "new-intent", NAME, "--project", project)

    path = project / "intents" / f"{NAME}.yml"
    assert code == 0
    assert out.startswith(f"Wrote {path}\n")
    assert path.read_text(encoding="utf-8").endswith(f"- intent: {NAME}\n  examples: |\n")
    # An intent without examples is an error at its line, not silently left out.
    code, out, _ = cli(capsys, "validate", "--project", project)
    assert code == 1
    assert f"{path}:7: error: intent '{NAME}' has no examples" in out
