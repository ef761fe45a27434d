"""The worker and relay Lambda handlers under moto: partial batch failures, the redrive to
the DLQ, `atende ops` on dead letters, the stream relay."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import dramatiq
import pytest
from dramatiq import Message

from infra import ops
from infra.aws import relay, runtime, worker
from infra.services import topology
from shared.aws import client
from shared.broker import build_broker
from shared.clock import SystemClock
from shared.logs import correlation_id
from shared.outbox import OUTBOX_PK, UnitOfWork
from shared.settings import Settings
from shared.tables.dynamodb import dynamodb_tables, table_name
from shared.topology import queue_of
from tests.aws.lambda_events import sqs_poll, stream_insert

QUEUE = queue_of("meetings")
SQS_NAME = f"atende-test_{QUEUE}"


@pytest.fixture(scope="module")
def broker(aws: Settings) -> Any:
    b = build_broker(aws)
    applied: list[str] = []

    def ok(doc: dict[str, Any]) -> None:
        applied.append(doc["id"])

    def boom(doc: dict[str, Any]) -> None:
        raise RuntimeError("poison")

    dramatiq.actor(ok, broker=b, actor_name="meetings_on_event", queue_name=QUEUE)
    dramatiq.actor(boom, broker=b, actor_name="boom", queue_name=QUEUE)
    b.applied = applied
    yield b
    b.close()


@pytest.fixture
def worker_env(aws: Settings, broker: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ATENDE_SERVICE", "meetings")
    fake = SimpleNamespace(broker=broker, settings=aws)
    monkeypatch.setattr(runtime, "platform", lambda services, http: fake)
    return client(aws, "sqs")


def _send(broker: Any, actor: str, event_id: str) -> Message:
    return broker.enqueue(Message(queue_name=QUEUE, actor_name=actor,
                                  args=({"id": event_id, "type": "MeetingScheduled",
                                         "request_id": "r1"},), kwargs={}, options={}))


def test_worker_runs_actors_and_reports_the_poison_record(worker_env: Any, broker: Any,
                                                          aws: Settings) -> None:
    sqs = worker_env
    good = _send(broker, "meetings_on_event", "e-good")
    bad = _send(broker, "boom", "e-bad")
    event = sqs_poll(sqs, SQS_NAME)
    assert len(event["Records"]) == 2
    result = worker.handler(event, None)
    assert broker.applied == ["e-good"]
    ids = {r["messageId"]: r for r in event["Records"]}
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        m for m, r in ids.items() if bad.message_id in _decode(r["body"])]
    # Lambda deletes the records that did not fail; the poison one keeps coming back
    # (the worker set a short backoff) until the redrive policy moves it to the DLQ.
    url = sqs.get_queue_url(QueueName=SQS_NAME)["QueueUrl"]
    for r in event["Records"]:
        if r["messageId"] not in {f["itemIdentifier"] for f in result["batchItemFailures"]}:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=r["receiptHandle"])
    receives = 1
    while (event := sqs_poll(sqs, SQS_NAME))["Records"]:
        receives += 1
        assert worker.handler(event, None)["batchItemFailures"]
        assert receives < 20
    from infra.aws import template

    assert receives == template.queue_attributes(QUEUE)[1]
    assert good.message_id not in str(ops.dead_letters(aws))
    dead = [d for d in ops.dead_letters(aws) if d.queue == QUEUE]
    assert [(d.actor, d.event_id, d.request_id) for d in dead] == [("boom", "e-bad", "r1")]


def test_replay_puts_dead_letters_back(worker_env: Any, aws: Settings, broker: Any) -> None:
    dead = [d for d in ops.dead_letters(aws) if d.queue == QUEUE]
    assert dead, "runs after the poison test"
    assert ops.replay(aws, [d.id for d in dead]) == len(dead)
    assert not [d for d in ops.dead_letters(aws) if d.queue == QUEUE]
    event = sqs_poll(worker_env, SQS_NAME)
    assert [("boom" in _decode(r["body"])) for r in event["Records"]] == [True]
    url = worker_env.get_queue_url(QueueName=SQS_NAME)["QueueUrl"]
    for r in event["Records"]:
        worker_env.delete_message(QueueUrl=url, ReceiptHandle=r["receiptHandle"])


def test_an_undecodable_record_is_a_failure_too(worker_env: Any) -> None:
    event = {"Records": [{"messageId": "m1", "receiptHandle": "h", "body": "not base64!",
                          "attributes": {}, "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}]}
    assert worker.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_an_event_consumers_records_are_applied_together(aws: Settings, worker_env: Any,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The records of a consumer that applies batches go to it at once, each with its own
    correlation id; only the one that raised is a failure. A job's record runs alone."""
    b = build_broker(aws)
    batches: list[list[tuple[str, str | None]]] = []
    jobs: list[str] = []

    def consume(doc: dict[str, Any]) -> None:
        raise AssertionError("applied one by one")

    def together(docs: Any) -> list[BaseException | None]:
        batches.append([(doc["id"], own.run(correlation_id.get)) for doc, own in docs])
        return [RuntimeError("poison") if doc["id"] == "e2" else None for doc, _ in docs]

    consume.together = together  # type: ignore[attr-defined]
    dramatiq.actor(consume, broker=b, actor_name="meetings_on_event", queue_name=QUEUE)
    dramatiq.actor(lambda doc: jobs.append(doc["id"]), broker=b, actor_name="job",
                   queue_name=QUEUE)
    monkeypatch.setattr(runtime, "platform",
                        lambda services, http: SimpleNamespace(broker=b, settings=aws))
    sent = [b.enqueue(Message(queue_name=QUEUE, actor_name=actor,
                              args=({"id": i, "type": "MeetingScheduled"},), kwargs={},
                              options={"correlation_id": f"corr-{i}"}))
            for actor, i in [("meetings_on_event", "e1"), ("job", "j1"),
                             ("meetings_on_event", "e2"), ("meetings_on_event", "e3")]]
    event = sqs_poll(worker_env, SQS_NAME)
    assert len(event["Records"]) == 4
    failed = {f["itemIdentifier"] for f in worker.handler(event, None)["batchItemFailures"]}
    by_id = {m.message_id: m for m in sent}
    ids = sorted(i for i, _ in batches[0])
    assert (len(batches), ids, jobs) == (1, ["e1", "e2", "e3"], ["j1"])
    assert all(corr == f"corr-{i}" for i, corr in batches[0])
    assert [by_id[m].args[0]["id"] for r in event["Records"] for m in by_id
            if m in _decode(r["body"]) and r["messageId"] in failed] == ["e2"]
    url = worker_env.get_queue_url(QueueName=SQS_NAME)["QueueUrl"]
    for r in event["Records"]:
        worker_env.delete_message(QueueUrl=url, ReceiptHandle=r["receiptHandle"])
    b.close()


def test_stream_relay_sends_outbox_inserts_and_deletes_them(aws: Settings) -> None:
    table = dynamodb_tables(aws, ["requests"])["requests"]
    # No relay: as if the send failed.
    with UnitOfWork(table, None, SystemClock(), topology()) as uow:
        uow.send_task("followups", "followups_notify", {"id": "t1", "request_id": "r1"})
        uow.commit()
    entry = uow.entries[0]
    assert table.get(OUTBOX_PK, entry["sk"]) is not None
    name = table_name(aws, "requests")
    other = stream_insert(name, {"pk": "REQ#1", "sk": "REQ", "version": 1}, seq=1)
    result = relay.handler({"Records": [other, stream_insert(name, entry, seq=2)]}, None)
    assert result == {"batchItemFailures": []}
    assert table.get(OUTBOX_PK, entry["sk"]) is None
    sqs = client(aws, "sqs")
    got = sqs_poll(sqs, f"atende-test_{queue_of('followups')}")["Records"]
    assert len(got) == 1 and "followups_notify" in _decode(got[0]["body"])
    # A second delivery of the same stream record sends nothing again.
    assert relay.handler({"Records": [stream_insert(name, entry, seq=2)]}, None) == {
        "batchItemFailures": []}
    assert not sqs_poll(sqs, f"atende-test_{queue_of('followups')}")["Records"]


def _decode(body: str) -> str:
    from base64 import b64decode

    return b64decode(body).decode()


