"""config.yml loading (bot/config/settings.py, bot/config/yamlfile.py) and opening
hours (bot/config/hours.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from helpers import REPO, dedent

from bot.config.errors import Problem, ProjectError
from bot.config.hours import OpeningHours
from bot.config.settings import (
    EscalationSettings,
    LivechatSettings,
    NluSettings,
    Settings,
    UrlSettings,
    load_settings,
)
from bot.config.yamlfile import load_yaml, parse_yaml


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config.yml").write_text(dedent(text), encoding="utf-8")
    return tmp_path


def config_problems(tmp_path: Path, text: str) -> list[Problem]:
    write_config(tmp_path, text)
    with pytest.raises(ProjectError) as caught:
        load_settings(tmp_path)
    return caught.value.problems


# --- yamlfile ----------------------------------------------------------------------------


def test_parse_yaml_records_the_line_of_every_key_and_item() -> None:
    doc = parse_yaml(
        dedent(
            """
            # a comment
            nlu:
              margin: 0.2
            list:
              - first
              - second: 2
            """
        ),
        Path("x.yml"),
    )
    assert doc.lines[("nlu",)] == 2
    assert doc.lines[("nlu", "margin")] == 3
    assert doc.lines[("list", 0)] == 5
    assert doc.lines[("list", 1)] == 6
    assert doc.lines[("list", 1, "second")] == 6
    # A path without a line of its own falls back to its nearest ancestor.
    assert doc.line(("nlu", "margin", "deeper")) == 3


def test_parse_yaml_offsets_lines_for_text_that_starts_later_in_a_file() -> None:
    doc = parse_yaml("id: x\ntitle: y\n", Path("a.md"), first_line=2)
    assert doc.lines[("id",)] == 2
    assert doc.lines[("title",)] == 3


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: b\n  c: d\n", 2),
        ("ok: 1\nnlu:\n  margin: 0.2\nescalation: x\n  email: y\n", 5),
        ("ok: 1\nalso: 2\nlist: [1, 2\n", 4),
    ],
)
def test_invalid_yaml_names_file_and_line(text: str, line: int) -> None:
    with pytest.raises(ProjectError) as caught:
        parse_yaml(text, Path("broken.yml"))
    (problem,) = caught.value.problems
    assert problem.path == Path("broken.yml")
    assert problem.line == line
    assert "invalid YAML" in problem.message
    assert str(problem).startswith(f"broken.yml:{line}: error: invalid YAML")


def test_load_yaml_rejects_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("title: café\n".encode("latin-1"))
    with pytest.raises(ProjectError) as caught:
        load_yaml(path)
    assert caught.value.problems[0].path == path
    assert "UTF-8" in caught.value.problems[0].message


# --- config.yml --------------------------------------------------------------------------


def test_the_real_config_loads() -> None:
    settings = load_settings(REPO)
    assert settings.project_dir == REPO.resolve()
    assert settings.escalation.email == "info@pcpatrol.nl"
    assert settings.livechat.timezone == "Europe/Amsterdam"
    assert 0 < settings.nlu.clarify_threshold <= settings.nlu.answer_threshold <= 1


def test_an_empty_config_takes_every_default(tmp_path: Path) -> None:
    write_config(tmp_path, "# nothing set\n")
    settings = load_settings(tmp_path)
    assert settings.nlu == NluSettings()
    assert 0 < settings.nlu.clarify_threshold <= settings.nlu.answer_threshold <= 1
    assert 0 < settings.nlu.fuzzy_threshold <= 100
    assert settings.escalation == EscalationSettings(email="info@pcpatrol.nl")
    assert settings.livechat == LivechatSettings()
    assert settings.urls == UrlSettings(helpcenter=None, terms_and_conditions=None)
    assert settings.model_path == "models/nlu.pkl"
    assert settings.model_file == tmp_path.resolve() / "models" / "nlu.pkl"
    # No opening hours: the livechat is never open.
    assert not settings.opening_hours.is_open(datetime(2026, 1, 5, 10, tzinfo=UTC))


def test_a_partial_section_keeps_the_other_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "nlu:\n  margin: 0.3\nescalation:\n  email: hulp@example.nl\n")
    settings = load_settings(tmp_path)
    assert settings.nlu.margin == 0.3
    assert settings.nlu.answer_threshold == Settings().nlu.answer_threshold
    assert settings.escalation.email == "hulp@example.nl"


def test_whole_numbers_are_accepted_for_numbers_and_become_floats(tmp_path: Path) -> None:
    write_config(tmp_path, "nlu:\n  fuzzy_threshold: 85\n  answer_threshold: 1\n")
    settings = load_settings(tmp_path)
    assert settings.nlu.fuzzy_threshold == 85.0
    assert isinstance(settings.nlu.fuzzy_threshold, float)
    assert isinstance(settings.nlu.answer_threshold, float)


def test_a_missing_config_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as caught:
        load_settings(tmp_path)
    assert caught.value.problems[0].path == tmp_path / "config.yml"
    assert "missing" in str(caught.value)


def test_an_unknown_key_names_the_key_and_its_line(tmp_path: Path) -> None:
    (problem,) = config_problems(tmp_path, "nlu:\n  answer_treshold: 0.5\n")
    assert "nlu.answer_treshold" in problem.message
    assert problem.line == 2
    assert problem.path == tmp_path / "config.yml"
    assert "config.yml:2: error: unknown key 'nlu.answer_treshold'" in str(problem)


def test_an_unknown_top_level_key_names_its_line(tmp_path: Path) -> None:
    text = """
        model_path: models/nlu.pkl
        nlu:
          margin: 0.2
        chanels:
          rest: true
        """
    (problem,) = config_problems(tmp_path, text)
    assert "'chanels'" in problem.message
    assert problem.line == 4


def test_a_wrong_type_names_the_key_line_and_expected_type(tmp_path: Path) -> None:
    (problem,) = config_problems(tmp_path, "# thresholds\nnlu:\n  answer_threshold: high\n")
    assert problem.line == 3
    assert "nlu.answer_threshold must be a number" in problem.message


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("nlu:\n  margin: true\n", "nlu.margin", 2),
        ("nlu: 5\n", "nlu", 1),
        ("escalation:\n  email: [a, b]\n", "escalation.email", 2),
        ("urls:\n  helpcenter: 5\n", "urls.helpcenter", 2),
        ("livechat:\n  opening_hours:\n    monday: '09:00-17:00'\n", "livechat.opening_hours", 2),
        ("livechat:\n  closed_days: 2026-12-25\n", "livechat.closed_days", 2),
    ],
)
def test_bad_values_name_their_key_and_line(tmp_path: Path, text: str, key: str, line: int) -> None:
    (problem,) = config_problems(tmp_path, text)
    assert key in problem.message
    assert problem.line == line


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
        nlu:
          answer_treshold: 0.5
          margin: wide
        escalaton:
          email: x@example.nl
        """
    problems = config_problems(tmp_path, text)
    assert [p.line for p in problems] == [2, 3, 4]
    assert "nlu.answer_treshold" in problems[0].message
    assert "nlu.margin" in problems[1].message
    assert "escalaton" in problems[2].message


def test_invalid_yaml_in_config_names_its_line(tmp_path: Path) -> None:
    (problem,) = config_problems(tmp_path, "nlu:\n  margin: 0.2\n answer_threshold: 0.5\n")
    assert problem.line == 3
    assert "invalid YAML" in problem.message


def test_bad_opening_hours_are_an_error_at_the_livechat_section(tmp_path: Path) -> None:
    text = """
        escalation:
          email: info@pcpatrol.nl
        livechat:
          opening_hours:
            monday: ["17:00-09:00"]
        """
    (problem,) = config_problems(tmp_path, text)
    assert "17:00-09:00" in problem.message
    assert problem.line == 3


def test_an_unknown_weekday_in_config_is_an_error(tmp_path: Path) -> None:
    (problem,) = config_problems(
        tmp_path, "livechat:\n  opening_hours:\n    maandag: ['09:00-17:00']\n"
    )
    assert "maandag" in problem.message


def test_a_repeated_key_in_config_is_an_error(tmp_path: Path) -> None:
    text = """
        nlu:
          answer_threshold: 0.7
        escalation:
          email: info@pcpatrol.nl
        nlu:
          margin: 0.3
        """
    (problem,) = config_problems(tmp_path, text)
    assert (problem.path, problem.line) == (tmp_path / "config.yml", 5)
    assert problem.message == "key 'nlu' appears twice"


def test_a_repeated_nested_key_names_its_dotted_path(tmp_path: Path) -> None:
    text = """
        nlu:
          margin: 0.2
          margin: 0.3
        """
    (problem,) = config_problems(tmp_path, text)
    assert problem.line == 3
    assert problem.message == "key 'nlu.margin' appears twice"


def test_unquoted_closed_days_are_dates(tmp_path: Path) -> None:
    text = """
        livechat:
          opening_hours:
            friday: ["09:00-17:00"]
          closed_days: [2026-12-25, "2026-12-26"]
        """
    write_config(tmp_path, text)
    hours = load_settings(tmp_path).opening_hours
    assert hours.closed_days == frozenset({date(2026, 12, 25), date(2026, 12, 26)})
    # Friday 25 December 2026, 10:00 local: closed.
    assert not hours.is_open(datetime(2026, 12, 25, 9, 0, tzinfo=UTC))
    assert hours.is_open(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))


def test_opening_hours_until_midnight_load_from_config(tmp_path: Path) -> None:
    write_config(tmp_path, 'livechat:\n  opening_hours:\n    monday: ["18:00-24:00"]\n')
    hours = load_settings(tmp_path).opening_hours
    # Monday 5 January 2026, 23:59 local (CET = UTC+1).
    assert hours.is_open(datetime(2026, 1, 5, 22, 59, tzinfo=UTC))


# --- opening hours -----------------------------------------------------------------------


def amsterdam_hours(
    weekly: dict[str, list[str]], closed: list[str | date] | None = None
) -> OpeningHours:
    return OpeningHours.parse("Europe/Amsterdam", weekly, closed or [])


def test_parse_reads_ranges_per_weekday() -> None:
    hours = amsterdam_hours({"monday": ["09:00-12:00", "13:00-17:00"], "friday": ["10:00-11:30"]})
    assert hours.ranges[0] == ((time(9), time(12)), (time(13), time(17)))
    assert hours.ranges[4] == ((time(10), time(11, 30)),)
    assert hours.ranges[6] == ()
    assert str(hours.timezone) == "Europe/Amsterdam"


def test_is_open_uses_amsterdam_time_in_winter_and_summer() -> None:
    hours = amsterdam_hours({"monday": ["09:00-17:00"]})
    winter = date(2026, 1, 5)
    summer = date(2026, 7, 6)
    assert winter.weekday() == summer.weekday() == 0
    # Winter: CET = UTC+1. 07:30 UTC is 08:30 local (closed), 08:30 UTC is 09:30 (open).
    assert not hours.is_open(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 1, 5, 8, 30, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 1, 5, 15, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    # Summer: CEST = UTC+2. 07:30 UTC is already 09:30 local.
    assert hours.is_open(datetime(2026, 7, 6, 7, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 7, 6, 15, 0, tzinfo=UTC))


def test_start_is_inclusive_and_end_exclusive() -> None:
    hours = amsterdam_hours({"monday": ["09:00-17:00"]})
    assert hours.is_open(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))  # 09:00 local
    assert not hours.is_open(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # 17:00 local


def test_a_lunch_break_between_two_ranges_is_closed() -> None:
    hours = amsterdam_hours({"monday": ["09:00-12:00", "13:00-17:00"]})
    assert hours.is_open(datetime(2026, 1, 5, 10, 30, tzinfo=UTC))  # 11:30
    assert not hours.is_open(datetime(2026, 1, 5, 11, 30, tzinfo=UTC))  # 12:30
    assert hours.is_open(datetime(2026, 1, 5, 12, 30, tzinfo=UTC))  # 13:30


def test_days_without_ranges_are_closed() -> None:
    hours = amsterdam_hours({"monday": ["09:00-17:00"]})
    tuesday_noon = datetime(2026, 1, 6, 11, 0, tzinfo=UTC)
    assert tuesday_noon.date().weekday() == 1
    assert not hours.is_open(tuesday_noon)


def test_closed_days_use_the_local_date() -> None:
    every_day = {day: ["00:00-23:59"] for day in ("thursday", "friday")}
    hours = amsterdam_hours(every_day, ["2026-12-25"])
    # 23:30 UTC on the 24th is 00:30 on Christmas Day in Amsterdam: closed.
    assert not hours.is_open(datetime(2026, 12, 24, 23, 30, tzinfo=UTC))
    # 22:30 UTC on the 24th is still the 24th locally: open.
    assert hours.is_open(datetime(2026, 12, 24, 22, 30, tzinfo=UTC))
    assert hours.closed_days == frozenset({date(2026, 12, 25)})


def test_24_00_ends_a_range_at_midnight() -> None:
    hours = amsterdam_hours({"monday": ["18:00-24:00"]})
    ((start, _),) = hours.ranges[0]
    assert start == time(18)
    # Winter: CET = UTC+1.
    assert not hours.is_open(datetime(2026, 1, 5, 16, 59, tzinfo=UTC))  # 17:59 Monday
    assert hours.is_open(datetime(2026, 1, 5, 17, 0, tzinfo=UTC))  # 18:00 Monday
    assert hours.is_open(datetime(2026, 1, 5, 22, 59, 59, tzinfo=UTC))  # 23:59:59 Monday
    assert not hours.is_open(datetime(2026, 1, 5, 23, 0, tzinfo=UTC))  # 00:00 Tuesday


def test_24_00_with_spaces_and_in_a_second_range() -> None:
    hours = amsterdam_hours({"friday": ["09:00-12:00", "13:00 - 24:00"]})
    assert len(hours.ranges[4]) == 2
    assert hours.is_open(datetime(2026, 1, 9, 22, 30, tzinfo=UTC))  # 23:30 Friday


def test_closed_days_may_be_dates() -> None:
    hours = amsterdam_hours({"friday": ["09:00-17:00"]}, [date(2026, 12, 25)])
    assert hours.closed_days == frozenset({date(2026, 12, 25)})
    assert not hours.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=UTC))


def test_spaces_around_the_dash_are_accepted() -> None:
    hours = amsterdam_hours({"tuesday": ["09:00 - 17:00"]})
    assert hours.ranges[1] == ((time(9), time(17)),)


@pytest.mark.parametrize(
    ("weekly", "closed", "words"),
    [
        ({"monday": ["17:00-09:00"]}, [], ["17:00-09:00", "end before they start"]),
        ({"monday": ["09:00-09:00"]}, [], ["09:00-09:00"]),
        ({"monday": ["nine to five"]}, [], ["nine to five"]),
        ({"monday": ["09:00"]}, [], ["'09:00'"]),
        ({"monday": ["18:00-24:30"]}, [], ["18:00-24:30"]),
        ({"monday": ["24:00-24:00"]}, [], ["24:00-24:00"]),
        ({"maandag": ["09:00-17:00"]}, [], ["unknown weekday", "maandag"]),
        ({"Monday": ["09:00-17:00"]}, [], ["unknown weekday", "Monday"]),
        ({}, ["25-12-2026"], ["25-12-2026"]),
    ],
)
def test_bad_hours_raise_value_error_naming_the_value(
    weekly: dict[str, list[str]], closed: list[str], words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        amsterdam_hours(weekly, closed)
    for word in words:
        assert word in str(caught.value)


def test_an_unknown_time_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Europe/Amsterdan"):
        OpeningHours.parse("Europe/Amsterdan", {}, [])
