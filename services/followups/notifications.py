"""Who is told what (API.md), as one table of rules, and the texts, from templates.

Each rule says: for an event of this type, these recipients get this kind of message.
For every (event, recipient) the consumer writes one in-app notification and, when the
recipient has an e-mail address, queues one mail job, both in the transaction that marks
the event applied: a repeated delivery adds nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.followups import repository
from services.followups.contract import MAIL_ACTOR
from services.followups.model import RequestView
from shared import messages as m
from shared.clock import in_brasilia, iso, to_brasilia
from shared.identity import real_name
from shared.ids import new_id
from shared.outbox import UnitOfWork

if TYPE_CHECKING:
    from jinja2 import Environment, Template

Recipients = Callable[[Any, RequestView | None], Sequence[m.Party | None]]


@dataclass(frozen=True)
class Rule:
    event: type[m.Event]
    recipients: Recipients
    kind: str  # also the template: templates/<kind>.txt.j2


def _citizen(e: m.RequestEvent, view: RequestView | None) -> list[m.Party | None]:
    return [e.request.citizen]


def _assignee(e: m.RequestEvent, view: RequestView | None) -> list[m.Party | None]:
    return [e.request.assignee]


def _previous(e: m.RequestReassigned, view: RequestView | None) -> list[m.Party | None]:
    return [e.previous]


def _other_side(e: m.FollowupPosted, view: RequestView | None) -> list[m.Party | None]:
    if e.recipient is not None:
        return [e.recipient]
    return [view.other_side(e.author_role)] if view else []


def _meeting_citizen(e: m.MeetingEvent, view: RequestView | None) -> list[m.Party | None]:
    return [e.citizen or (view.citizen if view else None)]


def _participants(e: m.MeetingReminderDue, view: RequestView | None
                  ) -> Sequence[m.Party | None]:
    return e.recipients or _meeting_citizen(e, view)


def _review_assignee(e: m.ReviewSubmitted, view: RequestView | None) -> list[m.Party | None]:
    return [e.assignee or (view.assignee if view else None)]


def _review_author(e: m.ReviewModerated, view: RequestView | None) -> list[m.Party | None]:
    return [e.citizen]


RULES: tuple[Rule, ...] = (
    Rule(m.AnalysisStarted, _citizen, "analysis_started"),
    Rule(m.RequestRejected, _citizen, "request_rejected"),
    Rule(m.RequestApproved, _citizen, "request_approved"),
    Rule(m.RequestApproved, _assignee, "request_assigned"),
    Rule(m.RequestConcluded, _citizen, "request_concluded"),
    Rule(m.RequestReassigned, _citizen, "request_reassigned"),
    Rule(m.RequestReassigned, _assignee, "request_assigned"),
    Rule(m.RequestReassigned, _previous, "request_unassigned"),
    Rule(m.FollowupPosted, _other_side, "followup_posted"),
    Rule(m.MeetingScheduled, _meeting_citizen, "meeting_scheduled"),
    Rule(m.MeetingRescheduled, _meeting_citizen, "meeting_rescheduled"),
    Rule(m.MeetingCanceled, _meeting_citizen, "meeting_canceled"),
    Rule(m.MeetingReminderDue, _participants, "meeting_reminder"),
    Rule(m.ReviewSubmitted, _review_assignee, "citizen_verdict"),
    # Not in API.md's list, but the reviews issue asks that the citizen learn the outcome.
    Rule(m.ReviewModerated, _review_author, "review_moderated"),
)


# --- texts -------------------------------------------------------------------------

def _hour(value: datetime) -> str:
    return to_brasilia(value).strftime("%H:%M")


@functools.cache
def _template(name: str) -> Template:
    """A template, compiled on its first use and kept."""
    return _env().get_template(name)


def _named(party: m.Party | None) -> str:
    """A person's name for a text, or "" (the template says who instead): never a sub,
    which with gov.br is a CPF, nor a bare label."""
    return real_name(party.name, party.sub) if party is not None else ""


@functools.cache
def _env() -> Environment:
    """The texts' templates, loaded on the first render: the service's HTTP side (a
    function's first answer) lists notifications and renders none, and loads no Jinja."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the code: no stat of each file at every use.
        auto_reload=False,
    )
    env.filters.update(when=in_brasilia, hour=_hour, named=_named)
    return env


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    text: str
    html: str


def render(kind: str, event: m.Event, view: RequestView | None,
           recipient: m.Party, link: str | None = None) -> Message:
    """The texts of one notification. Templates see the event (which never carries a
    follow-up's text) and the request's names; what they choose to show is reviewed."""
    title, body = note_texts(kind, event, view, recipient)
    text, html = mail_texts(title, body, recipient, event.request_id, link)
    return Message(title, body, text, html)


def note_texts(kind: str, event: m.Event, view: RequestView | None,
               recipient: m.Party) -> tuple[str, str]:
    """The in-app notification's title and body."""
    snapshot = event.request if isinstance(event, m.RequestEvent) else (
        view.snapshot if view else None)
    context = {
        "event": event, "recipient": recipient, "request_id": event.request_id,
        "service_name": snapshot.service_name if snapshot else None,
        "citizen": snapshot.citizen if snapshot else None,
        "assignee": snapshot.assignee if snapshot else None,
    }
    module = _template(f"{kind}.txt.j2").make_module(context)
    title = " ".join(str(module.title).split())  # type: ignore[attr-defined]
    body = str(module.body).strip()  # type: ignore[attr-defined]
    return title, body


def mail_texts(title: str, body: str, recipient: m.Party, request_id: str,
               link: str | None = None) -> tuple[str, str]:
    """The mail's text and HTML, around the notification's title and body."""
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
    page = {"recipient": recipient, "title": title, "body": body,
            "link": link.format(id=request_id) if link else None}
    return (_template("mail.txt.j2").render(page).strip() + "\n",
            _template("mail.html.j2").render(page, paragraphs=paragraphs))


# --- the effect --------------------------------------------------------------------


def notify(uow: UnitOfWork, event: m.Event, view: RequestView | None,
           link: str | None = None) -> list[str]:
    """Register every notification ``event`` calls for; the ids of those written."""
    written: list[str] = []
    told: set[str] = set()
    for rule in RULES:
        if rule.event.__name__ != event.type:
            continue
        for party in rule.recipients(event, view):
            if party is None or party.sub in told:
                continue  # nobody in that role yet, or already told of this event
            told.add(party.sub)
            written.append(_tell(uow, rule.kind, event, view, party, link))
    return written


def _tell(uow: UnitOfWork, kind: str, event: m.Event, view: RequestView | None,
          party: m.Party, link: str | None = None) -> str:
    title, body = note_texts(kind, event, view, party)
    note_id = new_id()
    note = repository.new_note(note_id, party.sub, kind, event.request_id, title, body,
                               iso(event.occurred_at))
    if party.email:
        # The mail waits on the notification; the job names only the notification, so
        # that no address or text travels through the broker, its dead letters or a log.
        text, html = mail_texts(title, body, party, event.request_id, link)
        note["mail"] = {"to": party.email, "subject": title, "text": text, "html": html}
        uow.send_task("followups", MAIL_ACTOR, {
            "notification_id": note_id, "correlation_id": event.correlation_id})
    uow.put(note, new=True)
    return note_id
