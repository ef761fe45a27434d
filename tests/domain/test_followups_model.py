"""The follow-up rules on their own: who speaks for which side, when, and what the event
tells the rest of the platform (never the message itself)."""

from __future__ import annotations

import pytest

from services.followups.model import Followup, RequestView
from shared import messages as m
from shared.errors import Forbidden, InvalidTransition, NotFound
from shared.identity import Principal
from tests.domain.support import (
    ASSIGNEE,
    CITIZEN,
    COLLEAGUE,
    ELSEWHERE,
    FOREIGN,
    NOON,
    OTHER_CITIZEN,
    REGISTRAR,
    party,
    snapshot,
)

TEXT = "Segue a planta baixa assinada, conforme pedido."


def view(status: str = "in_service") -> RequestView:
    return RequestView("r1", snapshot(status, 3))


@pytest.mark.parametrize(("who", "role"), [(CITIZEN, "citizen"), (ASSIGNEE, "attendant")])
def test_the_citizen_and_the_assignee_are_the_two_sides(who: Principal, role: str) -> None:
    assert view().author_role(who) == role


@pytest.mark.parametrize("who", [COLLEAGUE, REGISTRAR], ids=["colleague", "registrar"])
def test_staff_who_read_the_conversation_may_not_post_in_it(who: Principal) -> None:
    assert view().visible_to(who)
    with pytest.raises(Forbidden):
        view().author_role(who)


@pytest.mark.parametrize("who", [OTHER_CITIZEN, ELSEWHERE, FOREIGN],
                         ids=["another-citizen", "another-unit", "another-org"])
def test_a_request_others_may_not_see_is_not_found(who: Principal) -> None:
    assert not view().visible_to(who)
    with pytest.raises(NotFound):
        view().author_role(who)


@pytest.mark.parametrize("status", ["in_analysis", "concluded"])
def test_follow_ups_are_exchanged_only_while_in_service(status: str) -> None:
    with pytest.raises(InvalidTransition):
        view(status).author_role(CITIZEN)


def test_a_citizens_post_names_the_assignee_as_recipient_and_never_carries_the_text() -> None:
    followup = Followup.post("f1", view(), CITIZEN, view().author_role(CITIZEN), TEXT, [], NOON)
    assert (followup.author_role, followup.author) == ("citizen", party(CITIZEN))
    [event] = followup.events
    assert isinstance(event, m.FollowupPosted)
    assert event.recipient == party(ASSIGNEE) and event.attachments == 0
    assert TEXT not in event.model_dump_json()


def test_an_assignees_post_is_for_the_citizen() -> None:
    [event] = Followup.post("f1", view(), ASSIGNEE, view().author_role(ASSIGNEE), TEXT, [],
                                NOON).events
    assert isinstance(event, m.FollowupPosted)
    assert (event.author_role, event.recipient) == ("attendant", party(CITIZEN))
