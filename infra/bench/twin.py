"""The write path's naive twin: a minimal Falcon app that takes the follow-up post's JSON
body, validates it with pydantic, inserts it into SQLite in a transaction and sends one
Dramatiq message to the broker of ``ATENDE_BROKER_URL``. No outbox, no idempotency, no
authorization: what a first version of the route would do, under the same server and
settings (``python -m infra.bench.twin PORT DB``)."""

from __future__ import annotations

import sqlite3
import sys
import threading
import uuid
from typing import Annotated

import dramatiq
import falcon
from dramatiq import Message
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

TWIN_ACTOR, TWIN_QUEUE = "bench_twin", "bench-twin"


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                           max_length=5000)]


class Followups:
    def __init__(self, db_path: str, broker: dramatiq.Broker) -> None:
        self.db_path = db_path
        self.broker = broker
        self.local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            # The platform's own SQLite settings, so that only the work differs.
            conn = sqlite3.connect(self.db_path, isolation_level=None, timeout=30,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self.local.conn = conn
        return conn

    def on_post(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        try:
            post = PostIn.model_validate_json(req.bounded_stream.read())
        except ValidationError as e:
            raise falcon.HTTPBadRequest(title="invalid body", description=str(e)) from e
        fid = uuid.uuid4().hex
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT INTO followups (id, request_id, body) VALUES (?, ?, ?)",
                         (fid, request_id, post.body))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.broker.enqueue(Message(queue_name=TWIN_QUEUE, actor_name=TWIN_ACTOR,
                                    args=({"id": fid, "request_id": request_id},),
                                    kwargs={}, options={}))
        resp.status = falcon.HTTP_201
        resp.media = {"id": fid, "request_id": request_id, "body": post.body}


def app(db_path: str, broker: dramatiq.Broker) -> falcon.App:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS followups "
                     "(id TEXT PRIMARY KEY, request_id TEXT NOT NULL, body TEXT NOT NULL)")
    broker.declare_queue(TWIN_QUEUE)
    twin = falcon.App()
    twin.add_route("/requests/{request_id}/followups", Followups(db_path, broker))
    twin.add_route("/health", _Health())
    return twin


class _Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


if __name__ == "__main__":
    from infra.server import build_server
    from shared.broker import build_broker
    from shared.settings import Settings

    settings = Settings()
    build_server(app(sys.argv[2], build_broker(settings)), settings, "127.0.0.1",
                 int(sys.argv[1])).run()
