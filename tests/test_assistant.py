"""Whole turns and conversations with the trained assistant (bot/dialogue/assistant.py)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import CLARIFY_CANDIDATES

from bot.dialogue.assistant import Assistant, Turn
from bot.dialogue.policy import ConversationState, Decision

SENDER = "klant-1"


def escalation(turn: Turn) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        m["custom"]["escalation"] for m in turn.messages if "escalation" in m.get("custom", {})
    ]
    assert len(found) == 1, turn.messages
    return found[0]


def texts(turn: Turn) -> str:
    return "\n".join(m.get("text", "") for m in turn.messages)


def answered_article(assistant: Assistant, turn: Turn) -> str | None:
    """The id of the article the turn's decision names, if any."""
    return assistant.articles.get(turn.decision.intent or "")


# --- single messages ---------------------------------------------------------------------


async def test_a_clear_question_is_answered_with_its_article(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())
    assert turn.decision.kind == "answer"
    article = assistant.project.knowledge.for_intent(turn.decision.intent or "")
    assert article is not None and article.id == "betalen-met-ideal"
    assert article.title in turn.messages[0]["text"]
    assert turn.messages[0]["custom"]["article"]["id"] == "betalen-met-ideal"
    assert all(m["recipient_id"] == SENDER for m in turn.messages)


async def test_a_greeting_is_smalltalk(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "hoi", ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("smalltalk", "greet")
    assert texts(turn) == assistant.project.responses.text("greet", "nl")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Goedemiddag, u spreekt met Henk Bos van Schildersbedrijf Bos uit Kampen.", "greet"),
        ("Bedankt, de factuur van vorige maand is inmiddels betaald.", "thanks"),
        ("Momentje, ik zoek even mijn klantnummer erbij.", "hold_on"),
        ("Ik moet nu naar een afspraak, ik kijk morgen verder. Doei!", "goodbye"),
    ],
)
async def test_small_talk_that_tells_a_story_is_small_talk(
    assistant: Assistant, text: str, intent: str
) -> None:
    # Names, a company, an invoice in passing: no question for an article or a colleague.
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("smalltalk", intent)


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [
        ("momentje, ik moet het even zoeken", "hold_on", "nl"),
        ("one moment please", "hold_on", "en"),
        ("sorry, dat was een typfout", "apology", "nl"),
        ("wat een goede bot zeg", "compliment", "nl"),
        ("kan ik hier ook Engels schrijven?", "languages", "nl"),
        ("do you understand English?", "languages", "en"),
    ],
)
async def test_a_moment_or_an_apology_is_smalltalk_not_a_colleague(
    assistant: Assistant, text: str, intent: str, language: str
) -> None:
    # "Momentje" is no question for a colleague: the bot waits, in the customer's language.
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("smalltalk", intent)
    assert texts(turn) == assistant.project.responses.text(intent, language)


@pytest.mark.parametrize(
    ("text", "language", "reply"),
    [
        # "hulp" alone once read as "bedankt voor de hulp", "I have a problem" as a goodbye.
        ("ik heb een probleem", "nl", "how_can_i_help"),
        ("hulp", "nl", "how_can_i_help"),
        ("I have a problem", "en", "how_can_i_help"),
        # Unsure whether it is a complaint: a help opener all the same.
        ("ik zit met een probleem", "nl", "how_can_i_help"),
        # Saying only that something is wrong: asked what goes wrong.
        ("het werkt niet", "nl", "ask_what_goes_wrong"),
        ("ik zit vast", "nl", "ask_what_goes_wrong"),
        ("help, it's broken", "en", "ask_what_goes_wrong"),
    ],
)
async def test_a_message_without_a_topic_is_asked_what_it_is_about(
    assistant: Assistant, text: str, language: str, reply: str
) -> None:
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert turn.decision.kind == "smalltalk"
    assert texts(turn) == assistant.project.responses.text(reply, language)


@pytest.mark.parametrize(
    ("text", "article"),
    [
        ("Goedendag, ik heb een vraag over het inzien van mijn facturen.", "facturen-inzien"),
        ("even een vraagje rond iDeal betalingen", "betalen-met-ideal"),
    ],
)
async def test_a_topic_named_after_a_greeting_is_answered(
    assistant: Assistant, text: str, article: str
) -> None:
    # These once got "Hallo! ... Stel uw vraag": the opener outweighed the topic.
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert turn.decision.kind == "answer"
    assert turn.messages[0]["custom"]["article"]["id"] == article


@pytest.mark.parametrize("text", ["wat kun je?", "what can you do?"])
async def test_asking_what_the_bot_can_do_is_told_what_it_is(
    assistant: Assistant, text: str
) -> None:
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("smalltalk", "bot_challenge")


@pytest.mark.parametrize(
    ("text", "intent"),
    [("ik heb geen vragen meer", "goodbye"), ("mijn vraag is beantwoord", "thanks")],
)
async def test_no_more_questions_ends_the_chat_without_a_colleague(
    assistant: Assistant, text: str, intent: str
) -> None:
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("smalltalk", intent)


async def test_asking_for_a_person_escalates(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "ik wil een medewerker spreken", ConversationState())
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "request_human"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ik ben zeer ontevreden over jullie helpdesk", "nl"),
        ("Goedemorgen, ik wil een klacht indienen over de afhandeling van mijn ticket.", "nl"),
        ("bedankt voor niks", "nl"),
        ("I want to file a complaint about your support", "en"),
    ],
)
async def test_a_complaint_is_handed_to_a_colleague_with_an_apology(
    assistant: Assistant, text: str, language: str
) -> None:
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("escalate", "complaint")
    assert escalation(turn)["reason"] == "complaint"
    assert texts(turn).startswith(assistant.project.responses.text("escalate_complaint", language))


@pytest.mark.parametrize(
    "text",
    ["ik ben heel tevreden over jullie service", "geen klagen hier, alles werkt prima"],
)
async def test_praise_in_a_complaints_words_is_a_compliment(
    assistant: Assistant, text: str
) -> None:
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert (turn.decision.kind, turn.parse.intent) == ("smalltalk", "compliment")


async def test_a_complaint_before_a_question_gets_the_answer(assistant: Assistant) -> None:
    text = "Ik ben het echt zat met jullie. Hoe kan ik mijn facturen met iDEAL betalen?"
    turn = await assistant.handle(SENDER, text, ConversationState())
    assert turn.decision.kind == "answer"
    assert answered_article(assistant, turn) == "betalen-met-ideal"


async def test_bedankt_voor_niks_after_an_answer_says_it_did_not_help(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "bedankt voor niks", state)
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_helped"


async def test_the_same_article_after_its_answer_fetches_a_colleague(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(
        SENDER, "nee, ik zie nergens een knop om met ideal te betalen", state
    )
    assert turn.parse.intent == "pay_with_ideal"
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_helped"


async def test_a_payload_answers_with_full_confidence(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "/pay_with_ideal", ConversationState())
    assert turn.parse.confidence == 1.0
    assert turn.parse.best is not None and turn.parse.best.source == "payload"
    assert turn.decision.kind == "answer"
    assert turn.messages[0]["custom"]["article"]["id"] == "betalen-met-ideal"


async def test_nothing_to_understand_asks_to_say_it_another_way(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "???", ConversationState())
    assert turn.parse.ranking == ()
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_understood"


@pytest.mark.parametrize("gibberish", ["sdfsdf", "ksjdhf ksjdfh sdkjfh", "xyz 123"])
async def test_gibberish_gets_a_chance_to_rephrase_even_with_only_a_mailto_link(
    assistant: Assistant, gibberish: str
) -> None:
    say = assistant.project.responses.text
    turn = await assistant.handle(SENDER, gibberish, ConversationState())
    assert turn.escalation is None  # no handoff yet
    (reply,) = turn.messages
    assert reply["text"] == say("escalate_not_understood", "nl")
    assert reply["text"] == "Ik begrijp u niet helemaal, kunt u het anders zeggen?"
    colleague = {"title": say("button_colleague", "nl"), "payload": "/request_human"}
    assert reply["buttons"] == [colleague]
    again = await assistant.handle(SENDER, gibberish, turn.state)
    assert again.escalation is not None and again.escalation.reason == "not_understood"
    assert texts(again).startswith(say("escalate_low_confidence_again", "nl"))


async def test_a_clear_question_no_article_answers_goes_to_a_person_at_once(
    assistant: Assistant,
) -> None:
    turn = await assistant.handle(SENDER, "hoe verhuis ik mijn domeinnaam", ConversationState())
    assert turn.escalation is not None and turn.escalation.reason == "out_of_scope"
    assert "mailto" in escalation(turn)


async def test_rest_messages_have_only_rest_channel_keys(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())
    for message in turn.messages:
        assert set(message) <= {"recipient_id", "text", "image", "buttons", "custom"}
        assert isinstance(message["text"], str)
        for button in message.get("buttons", []):
            assert set(button) == {"title", "payload"}


# --- conversations -----------------------------------------------------------------------


async def test_no_after_an_answer_escalates_as_not_helped(assistant: Assistant) -> None:
    state = ConversationState()
    first = await assistant.handle(SENDER, "kan ik met ideal betalen", state)
    state = first.state
    assert first.decision.kind == "answer"
    assert state.feedback_article == "betalen-met-ideal"
    second = await assistant.handle(SENDER, "/deny", state)
    state = second.state
    assert second.decision.kind == "escalate"
    assert escalation(second)["reason"] == "not_helped"
    assert texts(second).startswith(assistant.project.responses.text("escalate_not_helped", "nl"))
    assert state.feedback_article is None
    # The customer's question, not the button, goes into the e-mail to a colleague.
    assert state.question == "kan ik met ideal betalen"
    assert "kan%20ik%20met%20ideal%20betalen" in escalation(second)["mailto"]


async def test_it_does_not_work_after_an_answer_escalates_as_not_helped(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "het werkt niet", state)
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_helped"
    assert texts(turn).startswith(assistant.project.responses.text("escalate_not_helped", "nl"))


async def test_disappointment_after_an_answer_escalates_as_not_helped(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "jammer", state)
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_helped"
    # As a first message the bot asks what goes wrong.
    first = await assistant.handle(SENDER, "pff, balen", ConversationState())
    assert first.decision.kind == "smalltalk"
    assert texts(first) == assistant.project.responses.text("ask_what_goes_wrong", "nl")


async def test_a_new_question_after_a_thanks_is_answered(assistant: Assistant) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "top! en waar vind ik mijn facturen?", state)
    assert turn.decision.kind == "answer"
    assert answered_article(assistant, turn) == "facturen-inzien"


async def test_a_compliment_after_an_answer_says_it_helped(assistant: Assistant) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "goede bot zeg", state)
    assert turn.parse.intent == "compliment"
    assert turn.decision == Decision("smalltalk", "affirm")
    assert texts(turn) == assistant.project.responses.text("feedback_helped", "nl")
    assert turn.state.more_questions_asked
    assert turn.state.question is None  # answered to the customer's satisfaction
    # Without an answer before it, praise gets thanks for it.
    first = await assistant.handle(SENDER, "goede bot zeg", ConversationState())
    assert texts(first) == assistant.project.responses.text("compliment", "nl")


async def test_a_no_with_nothing_more_to_ask_after_an_answer_says_goodbye(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "nee hoor, verder niets. doei", state)
    assert turn.decision == Decision("smalltalk", "goodbye")
    assert texts(turn) == assistant.project.responses.text("goodbye", "nl")


async def test_success_with_the_answers_topic_says_it_helped(assistant: Assistant) -> None:
    state = ConversationState()
    state = (await assistant.handle(SENDER, "waar kan ik mijn facturen inzien", state)).state
    turn = await assistant.handle(SENDER, "gelukt, ik zie mijn facturen nu staan", state)
    assert turn.decision == Decision("smalltalk", "affirm")
    assert texts(turn) == assistant.project.responses.text("feedback_helped", "nl")
    # ...but not when it still fails.
    state = ConversationState()
    state = (await assistant.handle(SENDER, "waar kan ik mijn facturen inzien", state)).state
    turn = await assistant.handle(SENDER, "het is niet gelukt, ik zie geen facturen", state)
    assert turn.decision.kind == "escalate"


async def test_nothing_works_after_an_answer_is_not_thanked_for(assistant: Assistant) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "nothing works", state)
    assert turn.parse.reports_trouble  # whatever the classifier reads ("works": a yes?)
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_helped"


async def test_surprise_is_asked_about_and_doubts_an_answer(assistant: Assistant) -> None:
    turn = await assistant.handle(SENDER, "jeetje", ConversationState())
    assert turn.decision.kind == "smalltalk"
    assert texts(turn) == assistant.project.responses.text("how_can_i_help", "nl")
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", turn.state)).state
    turn = await assistant.handle(SENDER, "echt?", state)
    assert turn.decision.kind == "escalate"
    assert escalation(turn)["reason"] == "not_helped"


async def test_yes_it_works_after_an_answer_is_thanked_for(assistant: Assistant) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    turn = await assistant.handle(SENDER, "ja het werkt", state)
    assert turn.decision.kind == "smalltalk"
    assert turn.state.feedback_article is None


async def test_asking_for_a_person_after_no_hands_over_the_question_still_open(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    state = (await assistant.handle(SENDER, "/deny", state)).state
    turn = await assistant.handle(SENDER, "ik wil een medewerker spreken", state)
    assert turn.escalation is not None and turn.escalation.reason == "request_human"
    assert turn.escalation.question == "kan ik met ideal betalen"
    assert "body=kan%20ik%20met%20ideal%20betalen" in escalation(turn)["mailto"]


async def test_a_question_answered_with_yes_is_no_longer_handed_over(
    assistant: Assistant,
) -> None:
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", ConversationState())).state
    state = (await assistant.handle(SENDER, "/affirm", state)).state
    assert state.question is None
    turn = await assistant.handle(SENDER, "ik wil een medewerker spreken", state)
    assert turn.escalation is not None
    assert turn.escalation.question == "ik wil een medewerker spreken"


async def test_yes_after_an_answer_is_thanked_for(assistant: Assistant) -> None:
    state = ConversationState()
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", state)).state
    turn = await assistant.handle(SENDER, "/affirm", state)
    state = turn.state
    assert turn.decision.kind == "smalltalk"
    assert texts(turn) == assistant.project.responses.text("feedback_helped", "nl")
    assert state.feedback_article is None


async def test_clicking_a_clarify_option_answers_that_article(assistant: Assistant) -> None:
    for candidate in CLARIFY_CANDIDATES:
        state = ConversationState()
        turn = await assistant.handle(SENDER, candidate, state)
        state = turn.state
        if turn.decision.kind == "clarify":
            break
    else:
        pytest.skip("none of the candidate messages makes the current model clarify")
    assert state.clarify_options == list(turn.decision.options)
    (question,) = turn.messages
    payloads = [b["payload"] for b in question["buttons"]]
    assert payloads[-1] == "/request_human"
    chosen = payloads[1]  # the second option, so not simply the top guess
    answer = await assistant.handle(SENDER, chosen, state)
    state = answer.state
    assert answer.decision.kind == "answer"
    article = assistant.project.knowledge.for_intent(chosen.removeprefix("/"))
    assert article is not None
    assert answer.messages[0]["custom"]["article"]["id"] == article.id
    assert state.clarify_options == []
    assert state.feedback_article == article.id


async def test_an_option_click_after_clarify_state_answers(assistant: Assistant) -> None:
    state = ConversationState(clarify_options=["pay_with_ideal", "view_invoices"])
    turn = await assistant.handle(SENDER, "/view_invoices", state)
    state = turn.state
    assert turn.decision.kind == "answer"
    assert turn.messages[0]["custom"]["article"]["id"] == "facturen-inzien"
    assert state.clarify_options == []


async def test_something_else_after_clarify_escalates(assistant: Assistant) -> None:
    state = ConversationState(clarify_options=["pay_with_ideal", "view_invoices"])
    turn = await assistant.handle(SENDER, "/request_human", state)
    state = turn.state
    assert escalation(turn)["reason"] == "request_human"
    assert state.clarify_options == []


async def test_no_to_a_clarify_question_escalates_as_not_helped(assistant: Assistant) -> None:
    # Clarifying leaves no feedback_article: the reason comes from the policy's decision.
    state = ConversationState(clarify_options=["pay_with_ideal", "view_invoices"])
    turn = await assistant.handle(SENDER, "/deny", state)
    state = turn.state
    assert (turn.decision.kind, turn.decision.reason) == ("escalate", "not_helped")
    assert escalation(turn)["reason"] == "not_helped"
    assert texts(turn).startswith(assistant.project.responses.text("escalate_not_helped", "nl"))
    assert state.clarify_options == []


async def test_an_english_question_gets_english_around_the_dutch_article(
    assistant: Assistant,
) -> None:
    say = assistant.project.responses.text
    state = ConversationState()
    turn = await assistant.handle(SENDER, "Can I pay my invoice with iDEAL?", state)
    state = turn.state
    assert state.language == "en"
    assert turn.decision.kind == "answer"
    article = assistant.project.knowledge.by_id("betalen-met-ideal")
    assert article is not None
    intro, answer, feedback = turn.messages
    assert intro["text"] == say("answer_intro", "en")
    # The article starts with its title, as in Dutch; the article itself stays Dutch.
    assert answer["text"].startswith(article.shown_title)
    assert article.plain_text({}) in answer["text"]
    assert feedback["text"] == say("feedback_question", "en")
    assert [b["title"] for b in feedback["buttons"]] == ["Yes", "No"]
    # A button payload keeps the conversation's language.
    after = await assistant.handle(SENDER, "/deny", state)
    state = after.state
    assert state.language == "en"
    assert texts(after).startswith(say("escalate_not_helped", "en"))


async def test_a_second_misunderstood_message_gets_the_again_text(assistant: Assistant) -> None:
    say = assistant.project.responses.text
    state = ConversationState()
    first = await assistant.handle(SENDER, "???", state)
    state = first.state
    assert texts(first).startswith(say("escalate_not_understood", "nl"))
    assert state.low_confidence_count == 1
    second = await assistant.handle(SENDER, "...", state)
    state = second.state
    assert texts(second).startswith(say("escalate_low_confidence_again", "nl"))
    assert state.low_confidence_count == 2


async def test_an_answer_resets_the_low_confidence_count(assistant: Assistant) -> None:
    state = ConversationState()
    state = (await assistant.handle(SENDER, "???", state)).state
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", state)).state
    assert state.low_confidence_count == 0
    turn = await assistant.handle(SENDER, "???", state)
    state = turn.state
    assert texts(turn).startswith(assistant.project.responses.text("escalate_not_understood", "nl"))


@pytest.mark.parametrize("no", ["nee", "nee bedankt"])
@pytest.mark.parametrize("first", ["bedankt", "/pay_with_ideal"])
async def test_no_to_another_question_ends_the_chat(
    assistant: Assistant, first: str, no: str
) -> None:
    # "Graag gedaan! Heeft u nog een vraag?" "Nee." It used to get "Waarmee kan ik u helpen?".
    say = assistant.project.responses.text
    state = (await assistant.handle(SENDER, first, ConversationState())).state
    if first.startswith("/"):  # an answer, then "Heeft dit antwoord u geholpen?" "Ja."
        turn = await assistant.handle(SENDER, "ja", state)
        assert texts(turn) == say("feedback_helped", "nl")
        state = turn.state
    assert state.more_questions_asked
    turn = await assistant.handle(SENDER, no, state)
    assert (turn.decision.kind, texts(turn)) == ("smalltalk", say("goodbye", "nl"))
    assert not turn.state.more_questions_asked
    # The question was asked once: a later "nee" is no goodbye.
    again = await assistant.handle(SENDER, "nee", turn.state)
    assert texts(again) == say("how_can_i_help", "nl")


async def test_a_reply_that_asks_nothing_forgets_the_question(assistant: Assistant) -> None:
    state = (await assistant.handle(SENDER, "bedankt", ConversationState())).state
    state = (await assistant.handle(SENDER, "kan ik met ideal betalen", state)).state
    assert not state.more_questions_asked


async def test_smalltalk_in_between_resets_the_low_confidence_count(
    assistant: Assistant,
) -> None:
    state = ConversationState()
    state = (await assistant.handle(SENDER, "???", state)).state
    greeting = await assistant.handle(SENDER, "hoi", state)
    state = greeting.state
    assert greeting.decision.kind == "smalltalk"
    assert state.low_confidence_count == 0
    turn = await assistant.handle(SENDER, "???", state)
    state = turn.state
    assert texts(turn).startswith(assistant.project.responses.text("escalate_not_understood", "nl"))


async def test_each_conversation_has_its_own_state(assistant: Assistant) -> None:
    first, second = ConversationState(), ConversationState()
    first = (await assistant.handle("a", "kan ik met ideal betalen", first)).state
    turn = await assistant.handle("b", "/deny", second)
    second = turn.state
    # Without an answer before it, "no" is not an escalation.
    assert turn.decision.kind == "smalltalk"
    assert first.feedback_article == "betalen-met-ideal"
    assert second.feedback_article is None


async def test_the_turn_returns_the_new_state_and_leaves_the_callers_alone(
    assistant: Assistant,
) -> None:
    before = ConversationState()
    turn = await assistant.handle(SENDER, "kan ik met ideal betalen", before)
    assert turn.state.feedback_article == "betalen-met-ideal"
    assert before == ConversationState()
