"""``atende ops``: create an environment's tables and queues (from infra/template.yaml),
list and replay dead letters on whichever broker is configured, show outbox lag, re-run the
request projections of the other services.

Dead letters live where each broker keeps them: SQS in the DLQs; Redis in Dramatiq's
``dramatiq:<queue>.XQ`` sorted set and its ``.XQ.msgs`` hash; RabbitMQ in the ``<queue>.XQ``
queues; the in-process broker as outbox entries with status "dead". A listing shows ids,
actor, event type and request, never an event's contents (they may hold personal data).
"""

from __future__ import annotations

import json
from base64 import b64decode
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from infra.services import SERVICES
from shared.settings import Settings
from shared.topology import Topology, queue_of


@dataclass
class DeadLetter:
    queue: str
    id: str  # what `replay` takes: SQS/RabbitMQ message id, Redis message id, outbox sk
    actor: str | None
    event_type: str | None
    event_id: str | None
    request_id: str | None


def _summary(queue: str, ident: str, message: Any) -> DeadLetter:
    event = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
    return DeadLetter(queue, ident, message.actor_name, event.get("type"), event.get("id"),
                      event.get("request_id"))


# --- create -----------------------------------------------------------------------------


def create(settings: Settings) -> list[str]:
    """Create what is missing: a table per service, each event queue with its DLQ and
    redrive policy, and the blob bucket. Idempotent. On PostgreSQL, the schema's missing
    migrations (RabbitMQ and Redis queues are declared by the processes themselves)."""
    if settings.table_backend == "postgres":
        return _create_postgres(settings)
    from infra.aws import template
    from shared.aws import client
    from shared.tables.dynamodb import table_name

    made: list[str] = []
    dynamodb = client(settings, "dynamodb")
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for service in (*SERVICES, "console"):  # the console's: its login sessions
        name = table_name(settings, service)
        if name not in existing:
            dynamodb.create_table(**template.table_spec(service, name))
            dynamodb.get_waiter("table_exists").wait(TableName=name)
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=template
                                         .time_to_live(service))
            made.append(f"table {name}")
    sqs = client(settings, "sqs")
    for service in SERVICES:
        base = f"{settings.table_prefix}-{settings.environment}_{queue_of(service)}"
        dlq_url = sqs.create_queue(QueueName=f"{base}_dlq",
                                   Attributes=template.dead_letter_attributes(service))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]
                                           )["Attributes"]["QueueArn"]
        attrs, max_receives = template.queue_attributes(service)
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": max_receives})
        sqs.create_queue(QueueName=base, Attributes=attrs)
        made.append(f"queue {base}")
    s3 = client(settings, "s3")
    try:
        s3.head_bucket(Bucket=settings.bucket)
    except Exception:
        kwargs: dict[str, Any] = {}
        if settings.aws_region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
        s3.create_bucket(Bucket=settings.bucket, **kwargs)
        s3.put_bucket_encryption(Bucket=settings.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        made.append(f"bucket {settings.bucket}")
    return made


def _create_postgres(settings: Settings) -> list[str]:
    from shared.tables import StoreUnavailable
    from shared.tables.postgres import PostgresDatabase

    if not settings.database_url:
        raise StoreUnavailable("ATENDE_DATABASE_URL is not set: set it to the database's "
                         "postgresql:// URL")
    db = PostgresDatabase(settings.database_url, max_size=1)
    try:
        made = db.migrate((*SERVICES, "console"))  # the console's: its login sessions
    finally:
        db.close()
    if settings.blob_backend == "s3":
        made += _create_bucket(settings)
    return made


def _create_bucket(settings: Settings) -> list[str]:
    """The blob bucket on the S3-compatible store, if missing."""
    from shared.blobs_s3 import S3Blobs

    s3 = S3Blobs(settings, prefix="").client
    try:
        s3.head_bucket(Bucket=settings.bucket)
        return []
    except Exception:
        s3.create_bucket(Bucket=settings.bucket)
        return [f"bucket {settings.bucket}"]


# --- dead letters ------------------------------------------------------------------------


def _kind(settings: Settings) -> str:
    url = settings.broker_url
    for prefix, kind in (("sqs://", "sqs"), ("redis", "redis"), ("amqp", "rabbitmq"),
                         ("memory://", "outbox")):
        if url.startswith(prefix):
            return kind
    raise ValueError(f"unsupported broker URL {url}")


def dead_letters(settings: Settings) -> list[DeadLetter]:
    return list(globals()[f"_{_kind(settings)}_list"](settings))


def replay(settings: Settings, ids: list[str] | None = None) -> int:
    """Put dead letters back on their queues (all, or those with the given ids)."""
    return int(globals()[f"_{_kind(settings)}_replay"](settings, set(ids) if ids else None))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _decode(raw: bytes | str) -> Any:
    from dramatiq import Message

    return Message.decode(raw if isinstance(raw, bytes) else raw.encode())


# SQS: a DLQ per queue, named as dramatiq_sqs and the template name them.
def _sqs_queues(settings: Settings) -> Iterator[tuple[str, str, str]]:
    from shared.aws import client

    sqs = client(settings, "sqs")
    for service in SERVICES:
        base = f"{settings.table_prefix}-{settings.environment}_{queue_of(service)}"
        yield (queue_of(service), sqs.get_queue_url(QueueName=base)["QueueUrl"],
               sqs.get_queue_url(QueueName=f"{base}_dlq")["QueueUrl"])


def _sqs_receive(sqs: Any, url: str, hold: int) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    VisibilityTimeout=hold, WaitTimeSeconds=0
                                    ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for m in fresh:
            seen.add(m["MessageId"])
            yield m


def _sqs_list(settings: Settings) -> Iterator[DeadLetter]:
    from shared.aws import client

    sqs = client(settings, "sqs")
    for queue, _, dlq in _sqs_queues(settings):
        # Reading hides a message; hold them while listing (so each is seen once), then
        # make them all visible again: a listing leaves the DLQ as it was.
        held = list(_sqs_receive(sqs, dlq, hold=60))
        for m in held:
            try:
                yield _summary(queue, m["MessageId"], _decode(b64decode(m["Body"])))
            except Exception:
                yield DeadLetter(queue, m["MessageId"], None, None, None, None)
        for n in range(0, len(held), 10):
            sqs.change_message_visibility_batch(QueueUrl=dlq, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(held[n:n + 10])])


def _sqs_replay(settings: Settings, ids: set[str] | None) -> int:
    from shared.aws import client

    sqs = client(settings, "sqs")
    count = 0
    for _, url, dlq in _sqs_queues(settings):
        for m in _sqs_receive(sqs, dlq, hold=30):
            if ids is not None and m["MessageId"] not in ids:
                continue
            sqs.send_message(QueueUrl=url, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            count += 1
    return count


# Redis: Dramatiq keeps dead message ids in a sorted set and their bodies in a hash.
def _redis_list(settings: Settings) -> Iterator[DeadLetter]:
    import redis

    client = redis.Redis.from_url(settings.broker_url)
    for service in SERVICES:
        queue = queue_of(service)
        for ident, raw in client.hgetall(f"dramatiq:{queue}.XQ.msgs").items():
            yield _summary(queue, _text(ident), _decode(raw))


def _redis_replay(settings: Settings, ids: set[str] | None) -> int:
    import redis

    from shared.broker import build_broker

    client = redis.Redis.from_url(settings.broker_url)
    broker = build_broker(settings)
    count = 0
    for service in SERVICES:
        queue = queue_of(service)
        broker.declare_queue(queue)
        for ident, raw in client.hgetall(f"dramatiq:{queue}.XQ.msgs").items():
            if ids is not None and _text(ident) not in ids:
                continue
            message = _decode(raw)
            # A fresh retry budget: the replayed message gets the same chances as a new one.
            broker.enqueue(message.copy(options={**message.options, "retries": 0}))
            client.zrem(f"dramatiq:{queue}.XQ", ident)
            client.hdel(f"dramatiq:{queue}.XQ.msgs", ident)
            count += 1
    broker.close()
    return count


# RabbitMQ: a "<queue>.XQ" queue per queue.
def _rabbit_each(settings: Settings, ids: set[str] | None, replay: bool
                 ) -> Iterator[DeadLetter]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    channel = conn.channel()
    try:
        for service in SERVICES:
            queue = queue_of(service)
            held = []
            while True:
                method, props, body = channel.basic_get(f"{queue}.XQ", auto_ack=False)
                if method is None:
                    break
                message = _decode(body)
                if replay and (ids is None or message.message_id in ids):
                    channel.basic_publish("", queue, body, props)
                    channel.basic_ack(method.delivery_tag)
                else:
                    held.append(method.delivery_tag)
                yield _summary(queue, message.message_id, message)
            for tag in held:  # listed only: back where they were
                channel.basic_nack(tag, requeue=True)
    finally:
        conn.close()


def _rabbitmq_list(settings: Settings) -> Iterator[DeadLetter]:
    yield from _rabbit_each(settings, None, replay=False)


def _rabbitmq_replay(settings: Settings, ids: set[str] | None) -> int:
    return sum(1 for d in _rabbit_each(settings, ids, replay=True)
               if ids is None or d.id in ids)


# The in-process broker: the outbox keeps the entries whose delivery died.
def _tables(settings: Settings) -> dict[str, Any]:
    from infra.bootstrap import _tables

    return _tables(settings)[0]


def _outbox_list(settings: Settings) -> Iterator[DeadLetter]:
    from shared.outbox import OUTBOX_PK
    from shared.tables import Where

    for table in _tables(settings).values():
        page = table.query(OUTBOX_PK, limit=10_000, where=[Where("status", "=", "dead")])
        for e in page.items:
            event = e.get("event") or {}
            yield DeadLetter(queue_of(e["service"]), e["sk"], e.get("actor"),
                             event.get("type"), event.get("id"), event.get("request_id"))


def _outbox_replay(settings: Settings, ids: set[str] | None) -> int:
    from shared.consumer import APPLIED_PK, DELIVERY_PREFIX
    from shared.outbox import OUTBOX_PK
    from shared.tables import ConditionFailed, Delete, Put, Where

    count = 0
    tables = _tables(settings)
    for table in tables.values():
        page = table.query(OUTBOX_PK, limit=10_000, where=[Where("status", "=", "dead")])
        for e in page.items:
            if ids is not None and e["sk"] not in ids:
                continue
            # Pending again and never dispatched: the next sweep sends it.
            again = {**e, "status": "pending", "dispatched_at": None,
                     "version": e["version"] + 1}
            # Every resend is a new message: forget the crash count that dead-lettered it.
            forget = Delete(APPLIED_PK, f"{DELIVERY_PREFIX}{table.name}#{e['sk']}")
            try:
                table.transact([Put(again, expect_version=e["version"])])
                tables[e["service"]].transact([forget])
                count += 1
            except ConditionFailed:
                pass
    return count


# --- lag ---------------------------------------------------------------------------------


def lag(settings: Settings) -> dict[str, Any]:
    from shared.clock import SystemClock
    from shared.outbox import Relay

    relay = Relay(broker=None, clock=SystemClock(), durable=True)  # type: ignore[arg-type]
    for table in _tables(settings).values():
        relay.watch(table)
    return relay.lag()


# --- reproject ---------------------------------------------------------------------------
#
# The followups, meetings and reviews services each keep a projection of every request: the
# newest RequestSnapshot its request events carried (one "view" item per request). Their
# source of truth is the requests service's store, which keeps no separate event log (outbox
# entries go once delivered): a request item IS the fold of all its events, and the snapshot
# every request event carries is built from it. So re-running a projection means giving
# each request's current snapshot to the service's projection, with the same rule its
# consumer applies (newest version wins; a concurrent event delivery wins a write race),
# plus one more: a view at the source's version but with other contents is rewritten, so a
# fixed projection bug or a hand-damaged item heals. Only the views change: notifications,
# mails or meeting cancellations that an event once caused are not caused again (replay
# dead letters for those).

PROJECTING = ("followups", "meetings", "reviews")


@dataclass
class Reprojection:
    service: str
    requests: int = 0  # requests read from the requests store
    written: int = 0  # views created or rewritten (or, in a dry run, that would be)
    unchanged: int = 0
    skipped: int = 0  # the stored view was newer (an event arrived meanwhile)

    def count(self, outcome: str) -> None:
        """One request done: ``outcome`` is written, unchanged or skipped."""
        self.requests += 1
        setattr(self, outcome, getattr(self, outcome) + 1)


def _view_io(service: str) -> tuple[Any, Any, Any]:
    """The service's own projection reader, writer and view type."""
    import importlib

    repo = importlib.import_module(f"services.{service}.repository")
    view = importlib.import_module(f"services.{service}.model").RequestView
    if service == "reviews":
        return repo.get_request, repo.put_request, view
    return repo.get_view, repo.put_view, view


def _scan_requests(table: Any) -> Iterator[dict[str, Any]]:
    """Every request item, read from the requests table directly (an offline job: a full
    scan, which no HTTP path ever does)."""
    from shared.tables.dynamodb import DynamoTable, from_item

    if table.__class__.__name__ == "PostgresTable":  # not imported: psycopg may be absent
        yield from _scan_postgres(table)
        return
    if isinstance(table, DynamoTable):
        pages = table.client.get_paginator("scan").paginate(
            TableName=table.name, ConsistentRead=True,
            FilterExpression="begins_with(pk, :p) AND sk = :s",
            ExpressionAttributeValues={":p": {"S": "REQ#"}, ":s": {"S": "REQ"}})
        for page in pages:
            yield from (from_item(raw) for raw in page["Items"])
        return
    # In pages, each statement finished before the caller writes: a write on this
    # connection while a read of it is still open fails ("database is locked").
    after = "REQ#"  # "$" follows "#": the primary key's range of requests ends at "REQ$"
    while True:
        rows = table.db.connection().execute(
            f'SELECT pk, body FROM "{table.name}" WHERE pk > ? AND pk < ? AND sk = ? '
            "ORDER BY pk LIMIT 500", (after, "REQ$", "REQ")).fetchall()
        if not rows:
            return
        after = rows[-1][0]
        yield from (json.loads(body) for _, body in rows)


def _scan_postgres(table: Any) -> Iterator[dict[str, Any]]:
    """As SQLite's scan below: pages of the primary key's range of requests."""
    from shared.tables.postgres import from_stored

    after = "REQ#"
    while True:
        rows = table.db.run(lambda conn, after=after: conn.execute(
            f'SELECT pk, body::text FROM "{table.name}" WHERE pk > %s AND pk < %s '
            "AND sk = %s ORDER BY pk LIMIT 500", (after, "REQ$", "REQ")).fetchall())
        if not rows:
            return
        after = rows[-1][0]
        yield from (json.loads(from_stored(body)) for _, body in rows)


def reproject(settings: Settings, services: list[str] | tuple[str, ...] = PROJECTING,
              request_ids: list[str] | None = None, *, dry_run: bool = False
              ) -> list[Reprojection]:
    from services.requests.model import Request

    unknown = set(services) - {*PROJECTING, "requests"}
    if unknown:
        raise ValueError(f"no request projection in {sorted(unknown)}")
    tables = _tables(settings)
    source = tables["requests"]
    if request_ids:
        items: Iterable[dict[str, Any]] = (
            i for i in (source.get(f"REQ#{r}", "REQ") for r in request_ids) if i)
    else:
        items = _scan_requests(source)
    panel = Reprojection("requests") if "requests" in services else None
    targets = [(tables[s], *_view_io(s), Reprojection(s)) for s in services if s != "requests"]
    for item in items:  # streamed: a million requests need not fit in memory
        req = Request.from_doc(item)
        if panel is not None:
            panel.count(_panel_row_one(source, item, req, dry_run))
        snap = req.snapshot()
        for table, get, put, view_type, done in targets:
            done.count(_project_one(table, get, put, view_type(item["id"], snap), dry_run))
    return ([panel] if panel else []) + [done for *_, done in targets]


def _panel_row_one(table: Any, item: dict[str, Any], req: Any, dry_run: bool) -> str:
    """The requests service's own panel row of a request, as a command would write it now
    (a store from before panel rows has none), on condition that the request is still at
    the version read: a command meanwhile wrote a newer row itself."""
    from services.requests.store import panel_row
    from shared.tables import Check, ConditionFailed, Put

    row = panel_row(req)
    if table.get(row["pk"], row["sk"]) == row:
        return "unchanged"
    if dry_run:
        return "written"
    try:
        table.transact([Check(item["pk"], item["sk"], expect_version=item["version"]),
                        Put(row)])
    except ConditionFailed:
        return "skipped"
    return "written"


def _project_one(table: Any, get: Any, put: Any, view: Any, dry_run: bool) -> str:
    from shared.clock import SystemClock
    from shared.outbox import UnitOfWork
    from shared.tables import ConditionFailed

    def contents(v: Any) -> dict[str, Any]:
        return v.snapshot.model_dump(mode="json", exclude={"version"})

    for _ in range(5):
        current = get(table, view.id)
        if current is not None and current.version > view.version:
            return "skipped"
        # The source's version may be ahead with the same contents (the requests service
        # counts other services' activity too): nothing for this projection to learn.
        if current is not None and contents(current) == contents(view):
            return "unchanged"
        if dry_run:
            return "written"
        uow = UnitOfWork(table, None, SystemClock(), Topology())  # it tells nobody
        put(uow, view, current)
        try:
            uow.commit()
        except ConditionFailed:
            continue  # an event delivery wrote it meanwhile: look again
        return "written"
    return "skipped"


# --- the roster's copies ----------------------------------------------------------------
#
# The same services keep a copy of the roster (RosterChanged events) to judge callers by. A
# store from before they did has none, and every attendant would be refused there: this
# copies each entry of the requests store by the consumers' own rule (newest version wins).


@dataclass
class RosterCopy:
    service: str
    entries: int = 0  # roster entries read from the requests store
    written: int = 0
    unchanged: int = 0  # the copy was as new as the source, or newer

    def count(self, outcome: str) -> None:
        self.entries += 1
        setattr(self, outcome, getattr(self, outcome) + 1)


def _scan_roster(table: Any) -> Iterator[dict[str, Any]]:
    """Every roster entry of the requests table (an offline full scan)."""
    from shared.tables.dynamodb import DynamoTable, from_item

    if isinstance(table, DynamoTable):
        pages = table.client.get_paginator("scan").paginate(
            TableName=table.name, ConsistentRead=True,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "ROSTER#"}})
        for page in pages:
            yield from (from_item(raw) for raw in page["Items"])
        return
    after = ("ROSTER#", "")
    while True:
        rows = table.db.connection().execute(
            f'SELECT pk, sk, body FROM "{table.name}" WHERE (pk, sk) > (?, ?) AND pk < ? '
            "ORDER BY pk, sk LIMIT 500", (*after, "ROSTER$")).fetchall()
        if not rows:
            return
        after = (rows[-1][0], rows[-1][1])
        yield from (json.loads(body) for _, _, body in rows)


def reproject_roster(settings: Settings, services: Iterable[str] = PROJECTING, *,
                     dry_run: bool = False) -> list[RosterCopy]:
    from shared.clock import SystemClock
    from shared.messages import Party, RosterChanged
    from shared.outbox import UnitOfWork
    from shared.roster import apply_roster, get_entry
    from shared.tables import ConditionFailed

    tables = _tables(settings)
    targets = [(tables[s], RosterCopy(s)) for s in services]
    for item in _scan_roster(tables["requests"]):
        entry = RosterChanged(
            attendant=Party(sub=item["sub"], name=item["name"], email=item.get("email")),
            org=item["org"], unit=item["unit"], enabled=item["enabled"],
            version=int(item["version"]))
        for table, done in targets:
            outcome = "unchanged"
            for _ in range(5):
                current = get_entry(table, entry.org, entry.attendant.sub)
                if current is not None and int(current["version"]) >= entry.version:
                    break
                outcome = "written"
                if dry_run:
                    break
                uow = UnitOfWork(table, None, SystemClock(), Topology())  # it tells nobody
                apply_roster(uow, entry)
                try:
                    uow.commit()
                    break
                except ConditionFailed:
                    outcome = "unchanged"  # an event delivery wrote it meanwhile: look again
            done.count(outcome)
    return [done for _, done in targets]


# --- the command -------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    ops = sub.add_parser("ops", help="operations: create, dead letters, outbox lag, "
                                     "reproject")
    cmds = ops.add_subparsers(dest="ops_command", required=True)
    for name, text in (("create", "create the tables, queues and bucket (AWS), or the "
                                  "PostgreSQL schema (ATENDE_TABLE_BACKEND=postgres)"),
                       ("dead-letters", "list dead letters"),
                       ("replay", "replay dead letters (all, or --id ...)"),
                       ("lag", "outbox lag per table"),
                       ("reproject", "rebuild the request projections of followups, meetings "
                                     "and reviews, and the panel rows of requests, from the "
                                     "requests store")):
        p = cmds.add_parser(name, help=text)
        p.add_argument("--data-dir")
        p.add_argument("--environment", help="overrides ATENDE_ENVIRONMENT")
        if name == "replay":
            p.add_argument("--id", action="append", dest="ids")
        if name == "reproject":
            p.add_argument("service", choices=[*PROJECTING, "requests", "all", "roster"],
                           help="roster: copy the roster into followups, meetings and "
                                "reviews (a store from before they kept one)")
            p.add_argument("--request", action="append", dest="requests",
                           help="only this request (repeatable); default: every request")
            p.add_argument("--dry-run", action="store_true",
                           help="count what would be written, write nothing")


def check_data_dir(args: Any) -> None:
    """An ops command reads a platform's data: a --data-dir that does not exist is a
    mistyped path, refused rather than created empty (and then reported as "nothing")."""
    from pathlib import Path

    from infra.process import OperatorError

    given = getattr(args, "data_dir", None)
    if given and not Path(given).is_dir():
        raise OperatorError(f"data directory {given} does not exist: give the folder the "
                            f"platform runs on (`atende dev` uses ./var by default)")


def run(args: Any, settings: Settings) -> int:
    if args.environment:
        settings = settings.model_copy(update={"environment": args.environment})
    if args.ops_command == "create":
        made = create(settings)
        for line in made:
            print(f"created {line}")
        if not made:
            print("nothing to create: everything is in place")
    elif args.ops_command == "dead-letters":
        for d in dead_letters(settings):
            print(json.dumps(asdict(d)))
    elif args.ops_command == "replay":
        print(f"replayed {replay(settings, args.ids)}")
    elif args.ops_command == "lag":
        print(json.dumps(lag(settings), indent=2))
    elif args.ops_command == "reproject" and args.service == "roster":
        for copy in reproject_roster(settings, dry_run=args.dry_run):
            print(json.dumps(asdict(copy)))
    elif args.ops_command == "reproject":
        services = ((*PROJECTING, "requests") if args.service == "all"
                    else (args.service,))
        for done in reproject(settings, services, args.requests, dry_run=args.dry_run):
            print(json.dumps(asdict(done)))
    return 0

