"""Falcon resources: translate HTTP to a handler call and back."""

from __future__ import annotations

from typing import TypeAlias

import falcon

from services.meetings import handlers
from services.meetings.deps import MeetingsDeps
from services.meetings.schemas import (
    CancellationIn,
    GuestIn,
    GuestJoinIn,
    JoinIn,
    MeetingIn,
    MeetingPatch,
)
from shared.context import ServiceContext
from shared.freshness import run_fresh
from shared.http import json_body, page_params, principal, run_command

Req: TypeAlias = falcon.Request
Resp: TypeAlias = falcon.Response


class _Resource:
    def __init__(self, ctx: ServiceContext[MeetingsDeps]) -> None:
        self.ctx = ctx
        self.rooms = ctx.deps.rooms
        self.invites = ctx.deps.invites


class Meetings(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        body = json_body(req, MeetingIn, self.ctx.settings)
        run_fresh(self.ctx, req, resp, lambda uow: handlers.schedule(
            uow, self.rooms, self.ctx.settings, who, request_id, body, self.ctx.clock),
            view_pk=f"REQ#{request_id}", status=201, caller=who.sub)

    def on_get(self, req: Req, resp: Resp, request_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        page = handlers.list_meetings(self.ctx.table, who, request_id, limit, cursor)
        resp.media = page.model_dump(mode="json")


class MeetingItem(_Resource):
    def on_patch(self, req: Req, resp: Resp, request_id: str, meeting_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        body = json_body(req, MeetingPatch, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: handlers.change(
            uow, self.ctx.settings, who, request_id, meeting_id, body, self.ctx.clock),
            caller=who.sub)


class Cancellation(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str, meeting_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        # The body is optional: a bare POST cancels without a reason.
        body = (json_body(req, CancellationIn, self.ctx.settings)
                if req.content_length else CancellationIn())
        run_command(self.ctx, req, resp, lambda uow: handlers.cancel(
            uow, who, request_id, meeting_id, body.reason, self.ctx.clock), caller=who.sub)


class Guests(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str, meeting_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        body = json_body(req, GuestIn, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: handlers.invite(
            uow, self.invites, who, request_id, meeting_id, body, self.ctx.clock),
            status=201, caller=who.sub)


class Join(_Resource):
    def on_post(self, req: Req, resp: Resp, request_id: str, meeting_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        body = json_body(req, JoinIn, self.ctx.settings)
        run_command(self.ctx, req, resp, lambda uow: handlers.join(
            uow, self.rooms, who, request_id, meeting_id, body.display_name, self.ctx.clock),
            caller=who.sub)


class GuestJoin(_Resource):
    def on_post(self, req: Req, resp: Resp) -> None:
        body = json_body(req, GuestJoinIn, self.ctx.settings)
        guest = self.invites.guest_id(body.invite_token) or "unknown"
        run_command(self.ctx, req, resp, lambda uow: handlers.guest_join(
            uow, self.rooms, self.invites, body.invite_token, body.display_name,
            self.ctx.clock), caller=f"guest:{guest}")
