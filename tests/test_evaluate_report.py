"""`pcpatrol-bot evaluate`: k-fold cross-validation, reports, threshold sweep (bot/evaluation)."""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import write_small_project

from bot.cli.main import main
from bot.config.errors import ProjectError
from bot.config.project import load_project
from bot.config.settings import NluSettings, load_settings
from bot.dialogue.assistant import Assistant
from bot.dialogue.policy import ConversationState
from bot.evaluation.command import evaluate_tests_file
from bot.evaluation.crossval import folds
from bot.evaluation.judging import label_of
from bot.evaluation.predictions import Predictor
from bot.evaluation.progress import Progress
from bot.evaluation.sweep import THRESHOLDS, SweepRow, config_change, recommend
from bot.evaluation.testsfile import read_tests
from bot.nlu.fuzzy import FuzzyMatcher
from bot.nlu.model import load
from bot.nlu.parser import IntentParser, Steps
from bot.nlu.training_data import load_training_data

SCRIPT = "<script>alert('pwned')</script>"
PNG_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
TESTS_TSV = (
    "text\texpected\n"
    "kan ik met ideal betalen\tbetalen-met-ideal\n"
    "waar vind ik mijn facturen\tfacturen-inzien\n"
    "hallo\tsmalltalk\n"
    "ik wil een medewerker spreken\tescalate\n"
    "mijn website is traag\tescalate\n"
    f"{SCRIPT}\tbetalen-met-ideal\n"
)


def with_script_example(project: Path) -> Path:
    """The small project, with markup as an example of pay_with_ideal."""
    intents = project / "intents" / "nlu.yml"
    text = intents.read_text(encoding="utf-8")
    marker = "    - betaalmogelijkheden\n"
    intents.write_text(text.replace(marker, f"{marker}    - {SCRIPT}\n"), encoding="utf-8")
    return project


def run_evaluate(*args: str | Path) -> tuple[int, str, str]:
    """`pcpatrol-bot evaluate ARGS` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["evaluate", *map(str, args)])
    return code, out.getvalue(), err.getvalue()


@dataclasses.dataclass(frozen=True)
class Run:
    project: Path
    tests: Path
    out_dir: Path
    code: int
    stdout: str
    report: dict[str, Any]
    html: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One `evaluate --folds 3 --tests` run on the small project, reports in a tmp folder.

    The run stores the project's model, so later tests on `run.project` do not train.
    """
    base = tmp_path_factory.mktemp("evaluate")
    project = with_script_example(write_small_project(base / "small"))
    tests = base / "cases.tsv"
    tests.write_text(TESTS_TSV, encoding="utf-8")
    out_dir = base / "reports"
    code, stdout, _ = run_evaluate(
        "--folds", "3", "--tests", tests, "--out", out_dir, "--project", project
    )
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    return Run(project, tests, out_dir, code, stdout, report, html)


# --- cross-validation --------------------------------------------------------------------


def test_folds_are_stratified_and_hold_out_every_example_once(small_project: Path) -> None:
    data = load_training_data(small_project)
    splits = folds(data, 5)
    assert len(splits) == 5
    held_out = [example for _, fold in splits for example in fold]
    assert sorted(held_out, key=data.examples.index) == list(data.examples)
    for training, fold in splits:
        assert set(training.examples).isdisjoint(fold)
        assert len(training.examples) + len(fold) == len(data.examples)
        # Every intent has at least five examples, so every fold holds each one out.
        assert {e.intent for e in fold} == set(data.intents)


def test_too_few_examples_for_the_folds_names_the_intent(small_project: Path) -> None:
    data = load_training_data(small_project)
    with pytest.raises(ProjectError) as caught:
        folds(data, 6)
    (problem,) = [p for p in caught.value.problems if "'greet'" in p.message]
    assert problem.path == small_project / "intents" / "nlu.yml"
    assert problem.line is not None
    assert "6-fold cross-validation needs 6 or more" in problem.message


def test_k_fold_judges_every_example_and_lists_every_intent(run: Run) -> None:
    assert run.code == 0
    data = load_training_data(run.project)
    crossval = run.report["evaluations"]["cross_validation"]
    assert crossval["figures"]["rows"] == len(data.examples)
    table = [row["label"] for row in crossval["per_intent"]]
    assert set(data.intents) <= set(table)
    assert sum(row["support"] for row in crossval["per_intent"]) == len(data.examples)
    for row in crossval["per_intent"]:
        assert 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1 and 0 <= row["f1"] <= 1
    matrix = crossval["confusion_matrix"]
    assert len(matrix) == len(crossval["labels"]) == len(table)
    assert sum(map(sum, matrix)) == len(data.examples)
    # The printed table names every intent too.
    for intent in data.intents:
        assert re.search(rf"^  {intent} +\d", run.stdout, re.M), intent


def test_the_tests_file_is_evaluated_beside_the_folds(run: Run) -> None:
    tests = run.report["evaluations"]["tests"]
    assert tests["figures"]["rows"] == 6
    labels = [row["label"] for row in tests["per_intent"]]
    assert {"betalen-met-ideal", "facturen-inzien", "escalate", "smalltalk"} <= set(labels)
    assert "cases.tsv: 6 messages" in run.stdout


# --- reports -----------------------------------------------------------------------------


def test_the_html_report_embeds_its_pngs_and_needs_no_other_file(run: Run) -> None:
    pngs = PNG_URI.findall(run.html)
    assert len(pngs) == 6  # confusion, confidence and sweep, for both evaluations
    for data in pngs:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert not re.search(r'(src|href)=(?!"data:image/png;base64,)', run.html)
    assert "<link" not in run.html
    for name in ("confusion", "confidence", "sweep"):
        path = run.out_dir / f"cross_validation-{name}.png"
        assert path.read_bytes().startswith(b"\x89PNG")


def test_the_html_report_escapes_messages(run: Run) -> None:
    errors = [e["text"] for e in run.report["evaluations"]["cross_validation"]["errors"]]
    errors += [e["text"] for e in run.report["evaluations"]["tests"]["errors"]]
    assert SCRIPT in errors  # the markup is listed among the errors ...
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in run.html  # ... escaped
    assert "<script" not in run.html


def test_the_html_report_shows_the_table_sweep_and_errors(run: Run) -> None:
    for heading in ("Per intent", "Per label", "Sweep", "Errors", "Recommended threshold"):
        assert f"<h3>{heading}</h3>" in run.html
    for intent in load_training_data(run.project).intents:
        assert f"<td>{intent}</td>" in run.html


def test_the_json_report_has_the_sweep(run: Run) -> None:
    for evaluation in run.report["evaluations"].values():
        sweep = evaluation["sweep"]
        assert [row["threshold"] for row in sweep["rows"]] == list(THRESHOLDS)
        assert THRESHOLDS[0] == 0.3 and THRESHOLDS[-1] == 0.95
        assert sweep["target_wrong_answer_rate"] == 0.01
        assert sweep["current_threshold"] == 0.6
        for row in sweep["rows"]:
            assert set(row) == {
                "threshold",
                "answered_rate",
                "wrong_answer_rate",
                "answer_accuracy",
            }
            assert 0 <= row["wrong_answer_rate"] <= row["answered_rate"] <= 1


def test_the_recommended_threshold_is_the_lowest_within_the_target(run: Run) -> None:
    for evaluation in run.report["evaluations"].values():
        sweep = evaluation["sweep"]
        target = sweep["target_wrong_answer_rate"]
        within = [r["threshold"] for r in sweep["rows"] if r["wrong_answer_rate"] <= target]
        assert sweep["recommended_threshold"] == (min(within) if within else None)
        if within:
            shown = f"answer_threshold: {min(within):g}   # now 0.6"
            assert shown in sweep["config_change"]
            assert shown in run.stdout


def test_the_sweep_at_the_configured_threshold_is_the_evaluation(run: Run) -> None:
    for evaluation in run.report["evaluations"].values():
        (row,) = [r for r in evaluation["sweep"]["rows"] if r["threshold"] == 0.6]
        for name in ("answered_rate", "wrong_answer_rate", "answer_accuracy"):
            assert row[name] == evaluation["figures"][name]


# --- judging -----------------------------------------------------------------------------


def test_parse_at_is_what_the_parser_returns_at_each_threshold(run: Run) -> None:
    settings = load_settings(run.project)
    data = load_training_data(run.project)
    model = load(settings.model_file)
    assert model is not None
    predictor = Predictor(model, settings.nlu)
    texts = [
        *data.texts(),
        "kan ik met idael betalen",
        "facturen bekijkn",
        "waar vind ik mijn factuur dan",
        "xq zzv blorp",
        "",
        "/pay_with_ideal",
    ]
    fuzzy = FuzzyMatcher(model.texts, model.intents)
    fell_back = 0
    for text in texts:
        prediction = predictor.predict(text, "x", None, path="here", line=1)
        fell_back += prediction.fallback != prediction.plain
        for threshold in THRESHOLDS:
            real = IntentParser(
                model.scorer,
                fuzzy,
                dataclasses.replace(settings.nlu, answer_threshold=threshold),
                model.evidence,
            )
            assert prediction.parse_at(threshold) == real.parse(text), (text, threshold)
    assert fell_back  # some messages do go to the fuzzy fallback


async def test_tests_file_judgements_are_the_assistants(run: Run) -> None:
    # The tests file is judged on predictions, not through the assistant: each row must
    # still get the parse and decision the assistant gives it as a first message.
    assistant = Assistant.load(run.project)
    cases = read_tests(run.tests, [a.id for a in assistant.project.knowledge.articles])
    evaluation = evaluate_tests_file(assistant, cases, run.tests, io.StringIO())
    for case, judgement in zip(cases, evaluation.judgements, strict=True):
        turn = await assistant.handle("evaluate", case.text, ConversationState())
        assert (judgement.parse, judgement.decision) == (turn.parse, turn.decision), case.text
    assert run.report["evaluations"]["tests"]["figures"] == evaluation.figures()


def test_tests_file_judgements_follow_the_assistants_parser_steps(
    trained_assistant: Assistant, tmp_path: Path
) -> None:
    # bench.answer_quality --ablation switches a step off in the assistant's parser; the
    # judging once built a parser of its own with every step on, and measured nothing.
    text = "Goedendag, ik heb een vraag over het inzien van mijn facturen."
    path = tmp_path / "tests.tsv"
    path.write_text(f"text\texpected\n{text}\tfacturen-inzien\n", encoding="utf-8")
    cases = read_tests(path, [a.id for a in trained_assistant.project.knowledge.articles])
    ablated = copy.copy(trained_assistant)
    settings = trained_assistant.project.settings.nlu
    steps = Steps(topic_part=False, greeting_part=False)
    ablated.parser = trained_assistant.model.parser(settings, steps)
    judged = [
        evaluate_tests_file(assistant, cases, path, io.StringIO()).judgements[0]
        for assistant in (trained_assistant, ablated)
    ]
    assert [j.correct for j in judged] == [True, False]
    assert judged[1].parse == ablated.parser.parse(text)


def test_labels_of_intents_in_a_first_message(small_project: Path) -> None:
    knowledge = load_project(small_project).knowledge
    assert label_of("pay_with_ideal", knowledge) == "betalen-met-ideal"
    assert label_of("out_of_scope", knowledge) == "escalate"
    assert label_of("request_human", knowledge) == "escalate"
    assert label_of("greet", knowledge) == "smalltalk"
    assert label_of("affirm", knowledge) == "smalltalk"
    assert label_of(None, knowledge) == "(none)"


def test_crossval_judges_affirm_and_deny_by_intent_only(run: Run) -> None:
    errors = run.report["evaluations"]["cross_validation"]["errors"]
    for error in errors:
        if error["expected"] in ("affirm", "deny"):
            assert error["expected_outcome"] is None
            assert error["intent"] != error["expected"]


# --- the sweep's choice ------------------------------------------------------------------


def rows(*rates: tuple[float, float]) -> list[SweepRow]:
    return [SweepRow(threshold, 0.5, wrong, 0.9) for threshold, wrong in rates]


def test_recommend_takes_the_lowest_threshold_at_or_under_the_target() -> None:
    sweep = rows((0.3, 0.05), (0.35, 0.01), (0.4, 0.02), (0.45, 0.0))
    recommended = recommend(sweep, 0.01)
    assert recommended is not None and recommended.threshold == 0.35
    assert recommend(sweep, 0.001) == sweep[3]
    assert recommend(rows((0.3, 0.2), (0.5, 0.1)), 0.01) is None


def test_config_change_is_the_yaml_to_paste() -> None:
    assert config_change(rows((0.55, 0.0))[0], 0.6, 0.01) == (
        "nlu:\n  answer_threshold: 0.55   # now 0.6"
    )
    assert config_change(rows((0.6, 0.0))[0], 0.6, 0.01).endswith("# now 0.6, no change")
    assert "No answer_threshold from 0.3 to 0.95" in config_change(None, 0.6, 0.01)


# --- command line ------------------------------------------------------------------------


def test_folds_below_two_are_refused(small_project: Path) -> None:
    code, _, stderr = run_evaluate("--folds", "1", "--project", small_project)
    assert code == 2
    assert "--folds needs 2 or more" in stderr


def test_too_many_folds_is_a_project_error_naming_the_file(small_project: Path) -> None:
    code, _, stderr = run_evaluate("--folds", "9", "--project", small_project)
    assert code == 1
    assert f"{small_project / 'intents' / 'nlu.yml'}:" in stderr
    assert "9-fold cross-validation needs 9 or more" in stderr


def test_reports_go_to_the_project_by_default_and_json_stays_clean(run: Run) -> None:
    code, stdout, stderr = run_evaluate("--tests", run.tests, "--json", "--project", run.project)
    assert code == 0
    # --tests alone prints the figures as before; the report files are named on stderr.
    figures = json.loads(stdout)
    assert figures["rows"] == 6
    assert set(figures) >= {"answer_accuracy", "wrong_answer_rate", "escalation_recall"}
    assert (run.project / "reports" / "report.html").exists()
    assert "report.html" in stderr


# --- config and progress -----------------------------------------------------------------


def test_max_wrong_answer_rate_defaults_and_loads(tmp_path: Path) -> None:
    assert NluSettings().max_wrong_answer_rate == 0.01
    (tmp_path / "config.yml").write_text("nlu:\n  max_wrong_answer_rate: 0.02\n", "utf-8")
    assert load_settings(tmp_path).nlu.max_wrong_answer_rate == 0.02


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_max_wrong_answer_rate_outside_0_1_names_its_line(tmp_path: Path, value: str) -> None:
    (tmp_path / "config.yml").write_text(
        f"nlu:\n  margin: 0.2\n  max_wrong_answer_rate: {value}\n", "utf-8"
    )
    with pytest.raises(ProjectError) as caught:
        load_settings(tmp_path)
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert problem.message == "nlu.max_wrong_answer_rate must be between 0 and 1"


def test_max_wrong_answer_rate_must_be_a_number(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("nlu:\n  max_wrong_answer_rate: low\n", "utf-8")
    with pytest.raises(ProjectError) as caught:
        load_settings(tmp_path)
    assert "nlu.max_wrong_answer_rate must be a number" in str(caught.value)


def test_progress_draws_on_a_terminal_only() -> None:
    quiet = io.StringIO()
    with Progress(3, "work", quiet) as progress:
        progress.advance(3)
    assert quiet.getvalue() == ""  # a StringIO is no terminal
    drawn = io.StringIO()
    with Progress(4, "work", drawn, enabled=True) as progress:
        progress.advance(4)
        assert progress.line() == f"work [{'#' * 30}] 4/4"
    assert "\rwork [" in drawn.getvalue()
    assert drawn.getvalue().endswith("\r")  # the line is wiped at the end


def test_errors_list_wrong_answers_first(run: Run) -> None:
    errors = run.report["evaluations"]["cross_validation"]["errors"]
    assert errors
    flags = [e["wrong_answer"] for e in errors]
    assert flags == sorted(flags, reverse=True)
