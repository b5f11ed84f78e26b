"""The pcpatrol-bot command (bot/cli/main.py), run as a subprocess; `ask --json` is DESIGN.md §4."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    CLARIFY_CANDIDATES,
    CONTRACT_KEYS,
    REPO,
    SMALL_INTENTS,
    copy_project,
    run_cli,
    write_article,
    write_small_project,
)

from bot.config.project import Project
from bot.dialogue.assistant import Assistant, Turn
from bot.dialogue.knowledge import load_knowledge
from bot.dialogue.policy import ConversationState, Decision
from bot.maintenance.validate import validate_project
from bot.nlu import model as stored_model
from bot.nlu.parser import Match, ParseResult
from bot.nlu.training_data import Example, TrainingData, load_training_data

ACTIONS = {"answer", "clarify", "escalate", "smalltalk"}


def check_contract(obj: Any) -> None:
    """Assert that `obj` is an `ask --json` object as DESIGN.md section 4 defines it."""
    assert isinstance(obj, dict)
    assert set(obj) >= CONTRACT_KEYS, CONTRACT_KEYS - set(obj)
    assert isinstance(obj["text"], str)
    assert obj["intent"] is None or isinstance(obj["intent"], str)
    assert isinstance(obj["confidence"], float)
    assert 0.0 <= obj["confidence"] <= 1.0
    assert obj["action"] in ACTIONS
    if obj["action"] == "answer":
        article = obj["article"]
        assert isinstance(article, dict) and set(article) == {"id", "title", "url"}
        assert isinstance(article["id"], str) and isinstance(article["title"], str)
        assert article["url"] is None or isinstance(article["url"], str)
    else:
        assert obj["article"] is None
    assert isinstance(obj["options"], list)
    for option in obj["options"]:
        assert set(option) == {"id", "title"}
        assert isinstance(option["id"], str) and isinstance(option["title"], str)
    if obj["action"] == "clarify":
        assert len(obj["options"]) >= 2
    else:
        assert obj["options"] == []
    ranking = obj["ranking"]
    assert isinstance(ranking, list) and len(ranking) <= 5
    for entry in ranking:
        assert set(entry) == {"intent", "confidence"}
        assert isinstance(entry["intent"], str) and isinstance(entry["confidence"], float)
    scores = [entry["confidence"] for entry in ranking]
    assert scores == sorted(scores, reverse=True)
    if ranking:
        assert (ranking[0]["intent"], ranking[0]["confidence"]) == (
            obj["intent"],
            obj["confidence"],
        )
    assert isinstance(obj["messages"], list) and obj["messages"]
    for message in obj["messages"]:
        assert isinstance(message["recipient_id"], str)
        assert set(message) <= {"recipient_id", "text", "image", "buttons", "custom"}
        assert isinstance(message.get("text", ""), str)
        for button in message.get("buttons", []):
            assert set(button) == {"title", "payload"}
        assert isinstance(message.get("custom", {}), dict)


def json_lines(stdout: str) -> list[dict[str, Any]]:
    lines = stdout.splitlines()
    assert all(line.strip() for line in lines), stdout
    return [json.loads(line) for line in lines]


# --- ask --json --------------------------------------------------------------------------


def test_ask_json_prints_one_contract_object(trained_project_dir: Path) -> None:
    result = run_cli("ask", "kan ik met ideal betalen", "--json", "--project", trained_project_dir)
    assert result.returncode == 0, result.stderr
    (obj,) = json_lines(result.stdout)
    check_contract(obj)
    assert obj["text"] == "kan ik met ideal betalen"
    assert obj["action"] == "answer"
    assert obj["intent"] == "pay_with_ideal"
    assert obj["article"] == {
        "id": "betalen-met-ideal",
        "title": "Kan ik mijn facturen ook met iDEAL betalen?",
        "url": None,
    }
    assert obj["options"] == []
    assert 1 <= len(obj["ranking"]) <= 5
    assert "Kan ik mijn facturen ook met iDEAL betalen?" in obj["messages"][0]["text"]
    assert obj["messages"][1]["buttons"] == [
        {"title": "Ja", "payload": "/affirm"},
        {"title": "Nee", "payload": "/deny"},
    ]
    assert {m["recipient_id"] for m in obj["messages"]} == {"cli"}


def test_ask_json_reads_one_message_per_line_as_new_conversations(
    trained_project_dir: Path,
) -> None:
    messages = ["kan ik met ideal betalen", "/deny", "ik wil een medewerker spreken"]
    result = run_cli(
        "ask", "--json", "-", "--project", trained_project_dir, stdin="\n".join(messages) + "\n"
    )
    assert result.returncode == 0, result.stderr
    objects = json_lines(result.stdout)
    assert [o["text"] for o in objects] == messages
    for obj in objects:
        check_contract(obj)
    # "/deny" right after an answer would escalate; as a new conversation it does not.
    assert [o["action"] for o in objects] == ["answer", "smalltalk", "escalate"]
    assert objects[1]["confidence"] == 1.0


BATCH = ["/pay_with_ideal", "???", *CLARIFY_CANDIDATES]


@pytest.fixture(scope="module")
def batch(trained_project_dir: Path) -> list[dict[str, Any]]:
    """`ask --json -` over BATCH: one subprocess for several tests."""
    result = run_cli(
        "ask", "--json", "-", "--project", trained_project_dir, stdin="\n".join(BATCH) + "\n"
    )
    assert result.returncode == 0, result.stderr
    objects = json_lines(result.stdout)
    assert [o["text"] for o in objects] == BATCH
    for obj in objects:
        check_contract(obj)
    return objects


def test_ask_json_payload_and_nonsense(batch: list[dict[str, Any]]) -> None:
    payload, nonsense = batch[0], batch[1]
    assert (payload["action"], payload["confidence"]) == ("answer", 1.0)
    assert payload["ranking"] == [{"intent": "pay_with_ideal", "confidence": 1.0}]
    assert payload["article"]["id"] == "betalen-met-ideal"
    assert (nonsense["action"], nonsense["intent"], nonsense["ranking"]) == ("escalate", None, [])
    assert nonsense["confidence"] == 0.0


def test_ask_json_clarify_has_options(batch: list[dict[str, Any]], real_project: Project) -> None:
    clarified = [o for o in batch if o["action"] == "clarify"]
    if not clarified:
        pytest.skip("no candidate message makes the current model clarify")
    for obj in clarified:
        for option in obj["options"]:
            article = real_project.knowledge.by_id(option["id"])
            assert article is not None and option["title"] == article.shown_title
        buttons = obj["messages"][0]["buttons"]
        assert [b["title"] for b in buttons[:-1]] == [o["title"] for o in obj["options"]]
        assert buttons[-1] == {"title": "Iets anders", "payload": "/request_human"}


def test_describe_of_a_clarify_turn(trained_assistant: Assistant) -> None:
    parse = ParseResult(
        "betalen",
        "nl",
        (Match("pay_with_ideal", 0.45, "classifier"), Match("unpaid_invoices", 0.4, "classifier")),
    )
    decision = Decision("clarify", "pay_with_ideal", ("pay_with_ideal", "unpaid_invoices"))
    message = {"recipient_id": "cli", "text": "Bedoelt u een van deze vragen?"}
    obj = trained_assistant.describe(Turn(parse, decision, ConversationState(), [message]))
    check_contract(json.loads(json.dumps(obj)))
    assert obj["action"] == "clarify"
    assert obj["article"] is None
    assert obj["options"] == [
        {"id": "betalen-met-ideal", "title": "Kan ik mijn facturen ook met iDEAL betalen?"},
        {
            "id": "facturen-niet-betalen",
            "title": "Wat gebeurt er wanneer u uw facturen niet betaalt?",
        },
    ]
    assert obj["ranking"] == [
        {"intent": "pay_with_ideal", "confidence": 0.45},
        {"intent": "unpaid_invoices", "confidence": 0.4},
    ]


def test_ask_on_a_broken_project_names_file_and_line(small_project: Path) -> None:
    (small_project / "config.yml").write_text("nlu:\n  answer_treshold: 0.5\n", "utf-8")
    result = run_cli("ask", "hoi", "--json", "--project", small_project)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{small_project / 'config.yml'}:2: error:" in result.stderr
    assert "nlu.answer_treshold" in result.stderr
    assert "Traceback" not in result.stderr


# --- chat --------------------------------------------------------------------------------


def test_chat_buttons_are_picked_by_number(
    trained_project_dir: Path, real_project: Project
) -> None:
    say = real_project.responses.text
    conversation = "kan ik met ideal betalen\n2\n/view_invoices\n1\n"
    result = run_cli("chat", "--project", trained_project_dir, stdin=conversation)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Kan ik mijn facturen ook met iDEAL betalen?" in out
    assert "1) Ja" in out and "2) Nee" in out
    # "2" picks "Nee": the bot hands over to a colleague.
    escalated = out.index(say("escalate_not_helped", "nl"))
    assert escalated > out.index("2) Nee")
    assert "info@pcpatrol.nl" in out[escalated:]
    # "1" after the next answer picks "Ja".
    helped = out.index(f"bot> {say('feedback_helped', 'nl')}")
    assert helped > out.index("Waar kan ik mijn facturen inzien?") > escalated


# --- validate ----------------------------------------------------------------------------


def test_validate_the_real_project() -> None:
    result = run_cli("validate", "--project", REPO)
    assert result.returncode == 0, result.stdout
    assert re.search(r"^0 errors, \d+ warnings$", result.stdout, re.MULTILINE)


def test_the_small_project_is_valid(small_project: Path) -> None:
    """The base of the broken projects below has warnings (few examples) but no errors."""
    problems = validate_project(small_project)
    assert all(p.severity == "warning" for p in problems), problems


def line_number(path: Path, needle: str, occurrence: int = 1) -> int:
    hits = [
        n
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if needle in line
    ]
    return hits[occurrence - 1]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A project with one instance of every validate error, validated once: (folder, output).

    - a duplicate example (same words, other case and punctuation) under pay_with_ideal;
    - the example "ideal" also under view_invoices;
    - an intent domain_prices with no article and no reply;
    - an article facturen-niet-betalen whose intent unpaid_invoices has no examples;
    - a bad value in config.yml.
    """
    project = write_small_project(tmp_path_factory.mktemp("broken") / "project")
    intents = SMALL_INTENTS.replace(
        "    - ideal\n", "    - ideal\n    - Kan ik met iDEAL betalen?\n", 1
    ).replace("    - facturen bekijken\n", "    - facturen bekijken\n    - ideal\n", 1)
    intents += "- intent: domain_prices\n  examples: |\n    - wat kost een domein\n"
    intents += "    - prijs domeinnaam\n"
    (project / "intents" / "nlu.yml").write_text(intents, encoding="utf-8")
    write_article(
        project / "faq",
        "facturen-niet-betalen",
        intents="[unpaid_invoices]",
        body="Wij verwachten dat onze klanten hun facturen op tijd betalen.",
    )
    (project / "config.yml").write_text("nlu:\n  margin: wide\n", encoding="utf-8")
    result = run_cli("validate", "--project", project)
    assert result.returncode == 1, result.stdout
    return project, result.stdout


def test_validate_counts_the_errors(broken: tuple[Path, str]) -> None:
    _, out = broken
    assert re.search(r"^5 errors, \d+ warnings$", out, re.MULTILINE), out


def test_validate_reports_a_duplicate_example(broken: tuple[Path, str]) -> None:
    project, out = broken
    path = project / "intents" / "nlu.yml"
    line = line_number(path, "Kan ik met iDEAL betalen?")
    first = line_number(path, "kan ik met ideal betalen")
    assert f"{path}:{line}: error: duplicate example 'Kan ik met iDEAL betalen?'" in out
    assert f"(also {path}:{first})" in out


def test_validate_reports_an_example_under_two_intents(broken: tuple[Path, str]) -> None:
    project, out = broken
    path = project / "intents" / "nlu.yml"
    line = line_number(path, "    - ideal", occurrence=2)
    assert f"{path}:{line}: error: example 'ideal' is under 'view_invoices'" in out
    assert f"under 'pay_with_ideal' ({path}:{line_number(path, '    - ideal')})" in out


def test_validate_reports_an_intent_without_article_or_reply(broken: tuple[Path, str]) -> None:
    project, out = broken
    path = project / "intents" / "nlu.yml"
    line = line_number(path, "wat kost een domein")
    assert f"{path}:{line}: error: intent 'domain_prices' has no article" in out


def test_validate_reports_an_article_whose_intent_has_no_examples(
    broken: tuple[Path, str],
) -> None:
    project, out = broken
    article = project / "faq" / "facturen-niet-betalen.md"
    assert re.search(
        rf"^{re.escape(str(article))}:\d+: error: .*'unpaid_invoices'.*no examples",
        out,
        re.MULTILINE,
    ), out


def test_validate_reports_config_problems_too(broken: tuple[Path, str]) -> None:
    project, out = broken
    assert f"{project / 'config.yml'}:2: error: nlu.margin must be a number" in out


# --- evaluate ----------------------------------------------------------------------------

FIGURES = ("answer accuracy", "wrong answer rate", "escalation recall", "smalltalk accuracy")
CASES = (
    "text\texpected\n"
    "kan ik met ideal betalen\tbetalen-met-ideal\n"
    "hoi\tsmalltalk\n"
    "ik wil een medewerker spreken\tescalate\n"
    "/pay_with_ideal\tfacturen-inzien\n"
)


def test_evaluate_prints_the_four_figures(trained_project_dir: Path, tmp_path: Path) -> None:
    tests = tmp_path / "cases.tsv"
    tests.write_text(CASES, encoding="utf-8")
    result = run_cli(
        "evaluate", "--tests", tests, "--show-errors", "--project", trained_project_dir
    )
    assert result.returncode == 0, result.stderr
    assert f"{tests}: 4 messages" in result.stdout
    figures = {
        name: float(value)
        for name, value in re.findall(r"^\s+([a-z ]+?)\s+(\d+\.\d)%$", result.stdout, re.M)
    }
    assert set(FIGURES) <= set(figures), result.stdout
    # Two article rows, one answered right; the mislabelled payload is a wrong answer.
    assert figures["answer accuracy"] == 50.0
    assert figures["wrong answer rate"] == 25.0
    assert figures["escalation recall"] == 100.0
    assert figures["smalltalk accuracy"] == 100.0
    assert "line 5: expected facturen-inzien, got betalen-met-ideal" in result.stdout


def test_evaluate_json(trained_project_dir: Path, tmp_path: Path) -> None:
    tests = tmp_path / "cases.tsv"
    tests.write_text(CASES, encoding="utf-8")
    result = run_cli("evaluate", "--tests", tests, "--json", "--project", trained_project_dir)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["rows"] == 4
    assert metrics["answer_accuracy"] == 0.5
    assert metrics["wrong_answer_rate"] == 0.25
    assert metrics["escalation_recall"] == 1.0
    assert metrics["smalltalk_accuracy"] == 1.0


def test_evaluate_rejects_an_unknown_label_naming_its_line(
    trained_project_dir: Path, tmp_path: Path
) -> None:
    tests = tmp_path / "cases.tsv"
    tests.write_text(
        "text\texpected\nhoi\tsmalltalk\nkan ik met ideal betalen\tbetalen-met-idael\n"
        "geen tab op deze regel\n",
        encoding="utf-8",
    )
    result = run_cli("evaluate", "--tests", tests, "--project", trained_project_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{tests}:3: error: unknown label 'betalen-met-idael'" in result.stderr
    assert f"{tests}:4: error:" in result.stderr
    assert "Traceback" not in result.stderr


# --- train and retraining ----------------------------------------------------------------


def test_train_stores_the_model(small_project: Path) -> None:
    model_file = small_project / "models" / "nlu.pkl"
    assert not model_file.exists()
    result = run_cli("train", "--project", small_project)
    assert result.returncode == 0, result.stderr
    data = load_training_data(small_project)
    assert f"Trained on {len(data.examples)} examples of {len(data.intents)} intents" in (
        result.stdout
    )
    assert str(model_file) in result.stdout
    model = stored_model.load(model_file)
    assert model is not None
    assert model.fingerprint == project_fingerprint(small_project)
    assert model.version in result.stdout
    assert sorted(set(model.intents)) == sorted(data.intents)


def project_fingerprint(project: Path) -> str:
    """The fingerprint of what a model of the project is trained on: examples and articles."""
    articles = load_knowledge(project).for_training()
    return stored_model.fingerprint(load_training_data(project), articles=articles)


def fingerprint_of(model_file: Path) -> str:
    model = stored_model.load(model_file)
    assert model is not None
    return model.fingerprint


def test_ask_retrains_when_intents_change_or_the_model_is_gone(small_project: Path) -> None:
    model_file = small_project / "models" / "nlu.pkl"
    assert not model_file.exists()

    def ask() -> dict[str, Any]:
        result = run_cli("ask", "hoi", "--json", "--project", small_project)
        assert result.returncode == 0, result.stderr
        obj: dict[str, Any] = json.loads(result.stdout)
        return obj

    # No model yet: ask trains one and stores it.
    assert ask()["action"] == "smalltalk"
    trained = model_file.stat().st_mtime_ns
    fingerprint = fingerprint_of(model_file)

    # Nothing changed: the stored model is used as it is.
    ask()
    assert model_file.stat().st_mtime_ns == trained

    # A new example: the model is retrained before answering.
    path = small_project / "intents" / "nlu.yml"
    path.write_text(
        SMALL_INTENTS.replace("    - nope\n", "    - nope\n    - nee hoor\n"), encoding="utf-8"
    )
    ask()
    assert model_file.stat().st_mtime_ns != trained
    assert fingerprint_of(model_file) != fingerprint
    assert fingerprint_of(model_file) == project_fingerprint(small_project)
    model = stored_model.load(model_file)
    assert model is not None and "nee hoor" in model.texts

    # The model file deleted: ask trains again.
    model_file.unlink()
    assert ask()["action"] == "smalltalk"
    assert fingerprint_of(model_file) == project_fingerprint(small_project)


def test_an_unreadable_model_file_is_retrained(small_project: Path) -> None:
    model_file = small_project / "models" / "nlu.pkl"
    model_file.parent.mkdir()
    model_file.write_bytes(b"not a pickle")
    assistant = Assistant.load(small_project)
    assert stored_model.load(model_file) is not None
    assert assistant.model.fingerprint == fingerprint_of(model_file)


def test_a_model_of_another_sklearn_minor_version_is_retrained_without_unpickling(
    small_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_file = small_project / "models" / "nlu.pkl"
    model_file.parent.mkdir()
    # A header of scikit-learn 1.0, then bytes that would raise if they were unpickled.
    foreign = {**stored_model.header(), "scikit-learn": "1.0"}
    model_file.write_bytes(stored_model.MAGIC + json.dumps(foreign).encode() + b"\nnot a pickle")
    assert stored_model.load(model_file) is None
    assert "was written as" in caplog.text and "'scikit-learn': '1.0'" in caplog.text
    assert "unreadable" not in caplog.text

    assistant = Assistant.load(small_project)
    stored = stored_model.load(model_file)
    assert stored is not None and stored.fingerprint == assistant.model.fingerprint
    assert model_file.read_bytes().startswith(
        stored_model.MAGIC + json.dumps(stored_model.header(), sort_keys=True).encode()
    )


def test_a_model_stored_before_the_header_existed_is_retrained(
    small_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assistant = Assistant.load(small_project)
    model_file = small_project / "models" / "nlu.pkl"
    model_file.write_bytes(pickle.dumps(assistant.model))  # no header line
    assert stored_model.load(model_file) is None
    assert "an older format" in caplog.text


def test_an_intent_with_one_example_is_an_error_not_a_crash(small_project: Path) -> None:
    write_article(small_project / "faq", "nieuw-artikel", intents="[new_topic]")
    path = small_project / "intents" / "nlu.yml"
    path.write_text(
        SMALL_INTENTS + "- intent: new_topic\n  examples: |\n    - een nieuw onderwerp\n",
        encoding="utf-8",
    )
    line = line_number(path, "een nieuw onderwerp")
    expected = f"{path}:{line}: error: intent 'new_topic' has 1 example; "

    (error,) = [p for p in validate_project(small_project) if p.severity == "error"]
    assert (error.path, error.line) == (path, line)
    assert str(error).startswith(expected)
    validated = run_cli("validate", "--project", small_project)
    assert validated.returncode == 1
    assert expected in validated.stdout
    assert re.search(r"^1 errors, \d+ warnings$", validated.stdout, re.MULTILINE)

    trained = run_cli("train", "--project", small_project)
    assert trained.returncode == 1
    assert "Traceback" not in trained.stderr, trained.stderr
    assert trained.stderr.startswith(expected)
    assert not (small_project / "models" / "nlu.pkl").exists()

    asked = run_cli("ask", "hoi", "--project", small_project)
    assert asked.returncode == 1
    assert "Traceback" not in asked.stderr, asked.stderr
    assert expected in asked.stderr


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_the_stored_model_is_readable_like_the_other_project_files(
    small_project: Path, umask: int, mode: int
) -> None:
    previous = os.umask(umask)
    try:
        stored_model.save(
            stored_model.train(load_training_data(small_project)),
            small_project / "models" / "nlu.pkl",
        )
        (small_project / "models" / "other.txt").write_text("x", encoding="utf-8")
    finally:
        os.umask(previous)
    other = (small_project / "models" / "other.txt").stat().st_mode & 0o777
    assert other == mode
    assert (small_project / "models" / "nlu.pkl").stat().st_mode & 0o777 == other


@pytest.mark.parametrize("stored", [True, False])
def test_serving_never_imports_sklearn_or_matplotlib(
    trained_project_dir: Path, tmp_path: Path, stored: bool
) -> None:
    # scikit-learn (with the parts of SciPy it loads) would cost `serve` some 70 MiB,
    # matplotlib (the reports' figures) some 28 MiB. A start without a stored model
    # trains in a child process, as a hot reload does. `serve` starts from the command.
    project = trained_project_dir if stored else copy_project(tmp_path / "fresh")
    script = (
        "import sys; from pathlib import Path; import bot.cli.main; import bot.web.app; "
        "from bot.dialogue.assistant import Assistant; "
        "a = Assistant.load(Path(sys.argv[1])); "
        "assert a.parser.parse('kan ik met ideal betalen').intent == 'pay_with_ideal'; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'matplotlib')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(project)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stderr
    assert (project / "models" / "nlu.pkl").exists()


def test_an_error_of_training_in_the_child_is_raised_as_it_was(tmp_path: Path) -> None:
    lonely = TrainingData(tuple(Example(t, "greet", tmp_path, 1) for t in ("hoi", "hallo")))
    with pytest.raises(ValueError, match="at least two intents"):
        stored_model.train_elsewhere(lonely)
