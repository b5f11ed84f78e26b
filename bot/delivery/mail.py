"""Handoff e-mails: composed once when queued, sent over SMTP by the outbox."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from bot.config.settings import Settings
from bot.handoff.model import REASON_TEXTS, Handoff
from bot.store import Event

TIMEZONE = ZoneInfo("Europe/Amsterdam")
SPEAKERS = {"user": "Klant", "bot": "Bot", "agent": "Medewerker"}
# A composed handoff mail, as the outbox stores it until it is sent ("from" is a keyword,
# hence the functional form).
MailPayload = TypedDict(
    "MailPayload",
    {
        "to": str,
        "from": str,
        "reply_to": str | None,
        "subject": str,
        "body": str,
        "message_id": str,
        "date": str,
    },
)


def compose(settings: Settings, handoff: Handoff, transcript: list[Event]) -> MailPayload:
    """The handoff as an e-mail, ready for the outbox.

    The Message-ID is fixed here, so a retried delivery is recognisably the same mail.
    """
    to = settings.escalation.email
    sender = settings.email.from_address or to
    guesses = (
        "\n".join(f"- {g['intent']} ({g['confidence']:.0%})" for g in handoff.guesses[:5])
        or "- (geen)"
    )
    lines = []
    for event in transcript:
        stamp = _local(event.time)
        text = event.data.get("display") or event.text or ""
        lines.append(f"[{stamp}] {SPEAKERS.get(event.kind, event.kind)}: {text}")
    body = "\n".join(
        [
            "Een klant stelde via de chat een vraag die de bot niet kon beantwoorden.",
            "",
            f"E-mailadres van de klant: {handoff.customer_email}",
            f"Reden: {REASON_TEXTS.get(handoff.reason, handoff.reason)}",
            f"Tijd: {_local(handoff.created_at)}",
            "",
            "Vraag:",
            handoff.question,
            "",
            "Wat de bot dacht:",
            guesses,
            "",
            "Gesprek:",
            *lines,
            "",
            f"(gesprek {handoff.sender}, overdracht {handoff.id})",
        ]
    )
    subject_question = " ".join(handoff.question.split())[:60]
    return {
        "to": to,
        "from": sender,
        "reply_to": handoff.customer_email,
        "subject": f"Vraag via de chat: {subject_question}",
        "body": body,
        "message_id": make_msgid(domain=sender.rpartition("@")[2] or None),
        "date": formatdate(handoff.created_at, localtime=False),
    }


def send(settings: Settings, payload: Mapping[str, Any]) -> None:
    """Deliver one composed mail over SMTP (blocking; run it in a thread).

    Raises:
        OSError, smtplib.SMTPException: when the server cannot be reached or refuses it.
    """
    email = settings.email
    if not email.smtp_host:
        raise smtplib.SMTPException("no SMTP server configured (email.smtp_host)")
    message = EmailMessage()
    message["From"] = payload["from"]
    message["To"] = payload["to"]
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = payload["message_id"]
    message["Date"] = payload["date"]
    message.set_content(payload["body"])
    with smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=email.timeout_seconds) as smtp:
        if email.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if email.username:
            smtp.login(email.username, os.environ.get(email.password_env, ""))
        smtp.send_message(message)


def _local(moment: float) -> str:
    return datetime.fromtimestamp(moment, TIMEZONE).strftime("%d-%m-%Y %H:%M")
