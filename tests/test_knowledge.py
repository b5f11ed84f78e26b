"""faq/ articles: front matter, published titles, plain text for chat
(bot/dialogue/knowledge.py)."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path

import pytest
from helpers import REPO, write_article

from bot.config.errors import ProjectError
from bot.dialogue.knowledge import ID_PATTERN, load_article, load_knowledge


def published_articles(source: str) -> dict[str, str]:
    """Title -> published excerpt, from the helpcenter page text.

    An article is a bullet ("  • Title") followed by its indented excerpt; the
    category bullets are followed by another bullet instead.
    """
    lines = source.splitlines()
    found: dict[str, str] = {}
    for line, following in itertools.pairwise(lines):
        if line.startswith("  • ") and following.startswith("    ") and following.strip():
            found[line.removeprefix("  • ").strip()] = following.strip()
    return found


def words(text: str) -> list[str]:
    """Lower-case words without URL schemes, for comparing an article with its source."""
    return [w for w in re.findall(r"\w+", text.lower()) if w not in ("https", "http")]


# --- the real articles -------------------------------------------------------------------


def test_every_real_article_loads() -> None:
    knowledge = load_knowledge(REPO)
    files = sorted((REPO / "faq").glob("*.md"))
    assert len(knowledge.articles) == len(files) == 11
    for article in knowledge.articles:
        assert ID_PATTERN.match(article.id)
        assert article.category == "Administratie"
        assert article.intents, article.id
        assert article.body.strip()
        assert knowledge.by_id(article.id) is article
        for intent in article.intents:
            assert knowledge.for_intent(intent) is article


def test_titles_are_exactly_the_published_titles(helpcenter_source: str) -> None:
    published = published_articles(helpcenter_source)
    assert len(published) == 11, "the source lists 11 Administratie articles"
    titles = [a.title for a in load_knowledge(REPO).articles]
    assert sorted(titles) == sorted(published)


def test_article_text_is_taken_from_the_published_excerpt(helpcenter_source: str) -> None:
    """Never invent facts: every article's words appear, in order, in its excerpt."""
    published = published_articles(helpcenter_source)
    for article in load_knowledge(REPO).articles:
        as_published = dataclasses.replace(article, edits=())
        body = " ".join(words(as_published.plain_text({})))
        source = " ".join(words(published[article.title]))
        assert body in source, article.id


def test_excerpt_marks_exactly_the_articles_whose_source_breaks_off(
    helpcenter_source: str,
) -> None:
    published = published_articles(helpcenter_source)
    for article in load_knowledge(REPO).articles:
        as_published = dataclasses.replace(article, edits=())
        body = words(as_published.plain_text({}))
        # The page glues the reader count to the excerpt: "...incasso.Weinig lezers".
        source = words(re.sub(r"(Enkele|Weinig|Veel) lezers$", "", published[article.title]))
        assert article.excerpt == (body != source), article.id


def test_the_chat_shows_the_published_text_with_only_the_recorded_edits() -> None:
    for article in load_knowledge(REPO).articles:
        shown = article.plain_text({})
        for edit in article.edits:
            assert edit.reason.strip()
            assert edit.shown in shown or edit.shown in article.shown_title, article.id
            shown = shown.replace(edit.shown, edit.published)
        assert shown == dataclasses.replace(article, edits=()).plain_text({}), article.id
    # What the customer reads says "u", as the bot does.
    for article in load_knowledge(REPO).articles:
        text = f"{article.shown_title} {article.plain_text({})}"
        assert not {"je", "jij", "jou", "jouw"} & set(words(text)), article.id


@pytest.mark.parametrize(
    ("published", "shown"),
    [
        ("Hoe maak ik een klantaccount aan ?", "Hoe maak ik een klantaccount aan?"),
        ("Hoe geef ik een machtiging af.", "Hoe geef ik een machtiging af"),
        ("Wat  nu :  dit", "Wat nu: dit"),
        ("En dan...", "En dan..."),
    ],
)
def test_a_shown_title_cleans_typography_only(tmp_path: Path, published: str, shown: str) -> None:
    path = write_article(tmp_path / "faq", "voorbeeld", title=f'"{published}"')
    article = load_article(path)
    assert article.title == published
    assert article.shown_title == shown


def test_edits_change_what_the_chat_shows_and_name_their_reason(tmp_path: Path) -> None:
    extra = (
        "edits:\n"
        '  - published: "van je bank"\n'
        '    shown: "van uw bank"\n'
        '    reason: "the bot says u"\n'
    )
    path = write_article(
        tmp_path / "faq", "voorbeeld", body="Dat hangt af van je bank.", extra=extra
    )
    article = load_article(path)
    assert article.body == "Dat hangt af van je bank."  # kept as published
    assert article.plain_text({}) == "Dat hangt af van uw bank."


@pytest.mark.parametrize(
    ("extra", "message", "line"),
    [
        (
            'edits:\n  - published: "niet er in"\n    shown: "x"\n    reason: "y"\n',
            "edit: 'niet er in' is not in the article",
            7,
        ),
        ('edits:\n  - published: "tekst"\n    shown: "x"\n', "published, shown and reason", 7),
        ("edits: tekst\n", "edits must be a list", 6),
        ("excerpt: ja graag\n", "excerpt must be true or false", 6),
        ("next: agent\n", "next must be one of person", 6),
    ],
)
def test_bad_excerpt_next_or_edits_name_their_line(
    tmp_path: Path, extra: str, message: str, line: int
) -> None:
    path = write_article(tmp_path / "faq", "voorbeeld", body="Een tekst.", extra=extra)
    with pytest.raises(ProjectError) as caught:
        load_article(path)
    (problem,) = caught.value.problems
    assert message in problem.message
    assert (problem.path, problem.line) == (path, line)


# --- plain text --------------------------------------------------------------------------


def article_with_body(tmp_path: Path, body: str) -> Path:
    return write_article(tmp_path / "faq", "voorbeeld", body=body)


def test_plain_text_writes_out_autolinks(tmp_path: Path) -> None:
    article = load_article(
        article_with_body(
            tmp_path,
            "Ga naar: <https://mijn.pcpatrol.nl/Klanten/inloggen>. Mail <info@pcpatrol.nl>",
        )
    )
    assert article.plain_text({}) == (
        "Ga naar: https://mijn.pcpatrol.nl/Klanten/inloggen. Mail info@pcpatrol.nl"
    )


def test_plain_text_writes_out_markdown_links(tmp_path: Path) -> None:
    article = load_article(
        article_with_body(
            tmp_path,
            "Log in via [het klantenpaneel](https://mijn.pcpatrol.nl) of "
            "[klanten.pcpatrol.nl](https://klanten.pcpatrol.nl).",
        )
    )
    assert article.plain_text({}) == (
        "Log in via het klantenpaneel (https://mijn.pcpatrol.nl) of https://klanten.pcpatrol.nl."
    )


def test_setting_links_resolve_from_urls_or_become_plain_text(tmp_path: Path) -> None:
    article = load_article(
        article_with_body(tmp_path, "Lees ze [hier](setting:terms_and_conditions).")
    )
    assert article.setting_links() == ["terms_and_conditions"]
    url = "https://www.pcpatrol.nl/voorwaarden"
    assert article.plain_text({"terms_and_conditions": url}) == f"Lees ze hier ({url})."
    assert article.plain_text({"terms_and_conditions": None}) == "Lees ze hier."
    assert article.plain_text({}) == "Lees ze hier."


def test_the_real_terms_article_links_to_the_configured_url() -> None:
    article = load_knowledge(REPO).by_id("algemene-voorwaarden")
    assert article is not None
    assert article.setting_links() == ["terms_and_conditions"]
    text = article.plain_text({"terms_and_conditions": "https://example.nl/av"})
    assert "hier te klikken (https://example.nl/av)" in text
    assert "setting:" not in article.plain_text({"terms_and_conditions": None})


def test_no_markup_is_left_in_any_real_article() -> None:
    for article in load_knowledge(REPO).articles:
        text = article.plain_text({"terms_and_conditions": "https://example.nl/av"})
        assert "](" not in text, article.id
        assert "<" not in text and ">" not in text, article.id
        assert "setting:" not in text, article.id


def test_a_mailto_link_becomes_the_bare_address(tmp_path: Path) -> None:
    article = load_article(
        article_with_body(tmp_path, "Mail [info@pcpatrol.nl](mailto:info@pcpatrol.nl).")
    )
    assert article.plain_text({}) == "Mail info@pcpatrol.nl."


def test_a_mailto_link_with_other_text_shows_the_bare_address(tmp_path: Path) -> None:
    article = load_article(
        article_with_body(tmp_path, "Stuur [een e-mail](mailto:info@pcpatrol.nl).")
    )
    assert article.plain_text({}) == "Stuur een e-mail (info@pcpatrol.nl)."


# --- front matter ------------------------------------------------------------------------


def only_problem(path: Path) -> tuple[Path, int | None, str]:
    with pytest.raises(ProjectError) as caught:
        load_article(path)
    assert len(caught.value.problems) == 1, caught.value
    problem = caught.value.problems[0]
    return problem.path, problem.line, problem.message


def test_a_valid_article_loads_with_its_fields(tmp_path: Path) -> None:
    path = write_article(
        tmp_path / "faq",
        "betalen-met-ideal",
        title="Kan ik mijn facturen ook met iDEAL betalen?",
        intents="[pay_with_ideal, pay_other]",
        extra="url: https://help.example/ideal\npopularity: weinig\n",
        body="Het kan.",
    )
    article = load_article(path)
    assert article.id == "betalen-met-ideal"
    assert article.title == "Kan ik mijn facturen ook met iDEAL betalen?"
    assert article.intents == ("pay_with_ideal", "pay_other")
    assert article.url == "https://help.example/ideal"
    assert article.popularity == "weinig"
    assert article.body == "Het kan."
    assert article.path == path


def test_a_missing_key_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "geen-titel.md"
    path.write_text(
        "---\nid: geen-titel\ncategory: Administratie\nintents: [x]\n---\nTekst.\n",
        encoding="utf-8",
    )
    where, line, message = only_problem(path)
    assert where == path
    assert line == 2
    assert "'title'" in message


def test_a_bad_id_names_the_line_of_the_id(tmp_path: Path) -> None:
    path = tmp_path / "faq" / "x.md"
    path.parent.mkdir()
    path.write_text(
        "---\ntitle: T\nid: Betalen_Met_IDEAL\ncategory: Administratie\nintents: [x]\n---\nT.\n",
        encoding="utf-8",
    )
    where, line, message = only_problem(path)
    assert (where, line) == (path, 3)
    assert "slug" in message


def test_an_unclosed_front_matter_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "open.md"
    path.write_text("---\nid: open\ntitle: T\ncategory: C\nintents: [x]\nTekst.\n", "utf-8")
    where, line, message = only_problem(path)
    assert (where, line) == (path, 1)
    assert "not closed" in message
    with pytest.raises(ProjectError, match=re.escape(f"{path}:1: error:")):
        load_article(path)


def test_a_file_without_front_matter_is_an_error_at_line_1(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("Gewoon tekst.\n", encoding="utf-8")
    assert only_problem(path)[:2] == (path, 1)


def test_an_unknown_front_matter_key_names_its_line(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a", extra="populariteit: weinig\n")
    where, line, message = only_problem(path)
    assert (where, line) == (path, 6)
    assert "populariteit" in message


def test_invalid_yaml_in_front_matter_names_the_file_line(tmp_path: Path) -> None:
    path = tmp_path / "kapot.md"
    path.write_text(
        "---\nid: kapot\ntitle: T\n  category: C\nintents: [x]\n---\nTekst.\n", encoding="utf-8"
    )
    # Line 4 of the file is line 3 of the front matter: the offset must be applied.
    where, line, message = only_problem(path)
    assert (where, line) == (path, 4)
    assert "invalid YAML" in message


def test_intents_must_be_a_list_of_names(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a", intents="pay_with_ideal")
    where, line, message = only_problem(path)
    assert (where, line) == (path, 5)
    assert "intents" in message


def test_an_article_without_text_is_an_error(tmp_path: Path) -> None:
    path = write_article(tmp_path, "leeg", body="")
    assert "no text" in only_problem(path)[2]


def test_two_files_with_the_same_id_are_an_error(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    first = write_article(faq, "dubbel", intents="[one]", filename="a.md")
    second = write_article(faq, "dubbel", intents="[two]", filename="b.md")
    with pytest.raises(ProjectError) as caught:
        load_knowledge(tmp_path)
    (problem,) = caught.value.problems
    assert problem.path == second
    assert problem.line == 2
    assert "'dubbel'" in problem.message
    assert str(first) in problem.message


def test_two_articles_answering_one_intent_are_an_error(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    write_article(faq, "een", intents="[pay_with_ideal]")
    twee = write_article(faq, "twee", intents="[pay_with_ideal]")
    with pytest.raises(ProjectError) as caught:
        load_knowledge(tmp_path)
    (problem,) = caught.value.problems
    assert problem.path == twee
    assert "pay_with_ideal" in problem.message


def test_problems_of_several_files_are_reported_together(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    write_article(faq, "goed", intents="[ok]")
    (faq / "a.md").write_text("geen front matter\n", encoding="utf-8")
    write_article(faq, "Fout_Id", intents="[other]", filename="b.md")
    with pytest.raises(ProjectError) as caught:
        load_knowledge(tmp_path)
    assert sorted(p.path.name for p in caught.value.problems) == ["a.md", "b.md"]


def test_an_article_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    text = (REPO / "faq" / "betalen-met-ideal.md").read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    article = load_article(path)
    original = load_article(REPO / "faq" / "betalen-met-ideal.md")
    assert article.id == "betalen-met-ideal"
    assert (article.title, article.intents, article.body) == (
        original.title,
        original.intents,
        original.body,
    )
