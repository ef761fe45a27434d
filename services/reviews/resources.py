"""Falcon resources: translate HTTP to a handler call and back."""

from __future__ import annotations

import falcon

from services.reviews import handlers, views
from services.reviews.schemas import ModerationIn, ReviewIn
from shared.context import ServiceContext
from shared.freshness import run_fresh
from shared.http import json_body, page_params, principal, run_command


class _Resource:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx


class RequestReview(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        body = json_body(req, ReviewIn, self.ctx.settings)
        # Every submission bumps its service's stats item: under a burst, each lost race
        # is retried on fresh counts, so allow more rounds than the default.
        run_fresh(self.ctx, req, resp,
                  lambda uow: handlers.submit_review(uow, who, request_id, body,
                                                     self.ctx.clock),
                  view_pk=f"REQUEST#{request_id}", status=201, caller=who.sub, attempts=10)


class ModerationQueue(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        who = principal(req, self.ctx.verifier)
        limit, cursor = page_params(req)
        page = views.moderation_queue(self.ctx.table, who, req.get_param("moderation"),
                                      req.get_param("service_id"), limit, cursor)
        resp.media = page.model_dump(mode="json")


class ReviewModeration(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, review_id: str) -> None:
        who = principal(req, self.ctx.verifier)
        body = json_body(req, ModerationIn, self.ctx.settings)
        run_command(self.ctx, req, resp,
                    lambda uow: handlers.moderate_review(uow, who, review_id, body,
                                                         self.ctx.clock),
                    caller=who.sub)


class PublishedReviews(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, cursor = page_params(req)
        page = views.published(self.ctx.table, req.get_param("service_id"), limit, cursor)
        resp.media = page.model_dump(mode="json")
