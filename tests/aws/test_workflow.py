"""The whole workflow on the AWS adapters under moto (DynamoDB, S3, SQS, SES), through the
Lambda entry points: HTTP handlers fed API Gateway v2 events, workers fed SQS batches built
from the messages on the moto queues, the relay fed DynamoDB stream records, the scheduler
tick. Request to review, with follow-ups (and a file), a meeting (schedule, guest, join),
notifications (SES mail and the in-app inbox), and a poison message that ends in the DLQ."""

from __future__ import annotations

import email
from base64 import b64decode
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message as MailMessage

import jwt
import pytest
from dramatiq import Message

from infra import ops
from infra.aws import runtime, scheduler, template, worker
from infra.services import queues
from shared.clock import FrozenClock
from shared.settings import Settings
from shared.topology import actor_of, queue_of
from tests.aws.conftest import aws_environment, aws_settings
from tests.aws.harness import AwsHarness
from tests.aws.lambda_events import sqs_poll
from tests.helpers import approve, conclude, idem, multipart, pdf_bytes, setup_service, submit

JITSI_SECRET = "segredo-do-jitsi-com-32-bytes-ok!"
GUEST = "libras@example.com"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    # As the template sets them on the meetings functions (NoEcho parameters).
    settings = aws_settings(tmp_path_factory.mktemp("aws"), jitsi_app_id="atende",
                            jitsi_app_secret=JITSI_SECRET,
                            invite_secret="convites-" + "x" * 32,
                            jitsi_base_url="https://meet.example.gov.br")
    with aws_environment(settings) as s:
        yield s


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    # At a round minute of real time: bearer tokens are checked against the real clock.
    return FrozenClock(datetime.now(UTC).replace(second=0, microsecond=0))


@pytest.fixture(scope="module")
def h(aws: Settings, clock: FrozenClock) -> AwsHarness:
    return AwsHarness(aws, clock)


def ses_mails(settings: Settings) -> list[MailMessage]:
    """What moto's SES backend has sent, parsed back into messages."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    sent = get_backend("ses")[DEFAULT_ACCOUNT_ID][settings.aws_region].sent_messages
    return [email.message_from_string(m.raw_data) for m in sent]


def subject(msg: MailMessage) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def body_text(msg: MailMessage) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def test_health_and_openapi_through_the_gateway_function(h: AwsHarness) -> None:
    assert h.client.simulate_get("/health").json == {"status": "ok"}
    doc = h.client.simulate_get("/openapi.json").json
    assert doc["openapi"] == "3.1.0" and "/requests" in doc["paths"]
    assert h.client.simulate_get("/nowhere").status_code == 404


def test_request_to_review_on_aws(h: AwsHarness, aws: Settings, clock: FrozenClock) -> None:
    s = setup_service(h)
    c = h.client
    rid = submit(h, s, document=pdf_bytes())
    r = c.simulate_get(f"/requests/{rid}", headers=s.h("citizen"))
    assert r.status_code == 200 and r.headers["etag"]
    doc = r.json["documents"][0]
    # The document went to S3 and comes back through the HTTP handler, as binary.
    r = c.simulate_get(f"/requests/{rid}/documents/{doc['id']}", headers=s.h("citizen"))
    assert r.status_code == 200 and r.content == pdf_bytes()
    assert r.headers["content-type"] == "application/pdf"

    approve(h, s, rid)
    h.drain()

    # Follow-ups: the assignee sends a PDF, the citizen answers.
    url = f"/requests/{rid}/followups"
    form, ctype = multipart({"body": "Segue o formulário."}, [("file", "form.pdf", pdf_bytes())])
    r = c.simulate_post(url, body=form, headers=idem(s.h("assignee", **{"Content-Type": ctype})))
    assert r.status_code == 201, r.text
    staff_msg = r.json
    r = c.simulate_post(url, json={"body": "Obrigada, recebido."},
                        headers=idem(s.h("citizen")))
    assert r.status_code == 201, r.text
    h.drain()
    # The citizen reads the attendant by name and role, never by sub (API.md, Identity).
    as_citizen = {**staff_msg, "author": {"name": staff_msg["author"]["name"],
                                          "role": "attendant"}}
    assert c.simulate_get(url, headers=s.h("citizen")).json["items"] == [as_citizen, r.json]
    att = staff_msg["attachments"][0]
    r = c.simulate_get(f"{url}/{staff_msg['id']}/attachments/{att['id']}",
                       headers=s.h("citizen"))
    assert r.status_code == 200 and r.content == pdf_bytes()

    # A meeting 40 minutes ahead, a guest; the reminder (30 minutes before) fires on the
    # scheduler tick; everyone joins 14 minutes before the start (the window opens at 15).
    meetings = f"/requests/{rid}/meetings"
    starts = clock.now() + timedelta(minutes=40)
    r = c.simulate_post(meetings, headers=idem(s.h("assignee")), json={
        "starts_at": starts.isoformat(), "subject": "Conferir documentos",
        "duration_minutes": 30})
    assert r.status_code == 201, r.text
    mid = r.json["id"]
    r = c.simulate_post(f"{meetings}/{mid}/guests", headers=idem(s.h("assignee")),
                        json={"name": "Intérprete de Libras", "email": GUEST})
    assert r.status_code == 201, r.text
    invite = r.json["invite_token"]
    h.drain()
    clock.advance(minutes=11)
    tick = scheduler.handler({"source": "aws.events"}, None)
    assert tick["failed"] == 0
    h.drain()
    clock.advance(minutes=15)
    joined = [c.simulate_post(f"{meetings}/{mid}/join", headers=s.h(who),
                              json={"display_name": name})
              for who, name in (("assignee", "Bruno"), ("citizen", "Ana"))]
    # The guest joins with the invite token alone, through the meetings function.
    joined.append(c.simulate_post("/meetings/join", json={"invite_token": invite,
                                                         "display_name": "Intérprete"}))
    assert [r.status_code for r in joined] == [200, 200, 200], [r.text for r in joined]
    claims = [jwt.decode(r.json["url"].split("?jwt=")[1], JITSI_SECRET, algorithms=["HS256"],
                         audience="jitsi") for r in joined]
    assert len({cl["room"] for cl in claims}) == 1
    assert [cl["context"]["user"]["moderator"] for cl in claims] == [True, False, False]
    h.drain()

    conclude(h, s, rid, pdf=pdf_bytes())
    h.drain()
    assert h.invocations.get("reviews")  # request events reached the reviews worker

    r = c.simulate_post(f"/requests/{rid}/review", headers=s.h("citizen"),
                        json={"verdict": "approved", "rating": 4,
                              "comment": "Fui bem atendida, obrigada."})
    assert r.status_code == 201, r.text
    review = r.json
    h.drain()  # screening runs in the reviews worker; the verdict reaches requests
    r = c.simulate_post(f"/reviews/{review['id']}/moderation", headers=s.h("assignee"),
                        json={"decision": "approve"})
    assert r.status_code == 200 and r.json["moderation"] == "approved"
    h.drain()
    body = c.simulate_get("/reviews/published", params={"service_id": s.service_id}).json
    assert [i["comment"] for i in body["items"]] == ["Fui bem atendida, obrigada."]
    r = c.simulate_get(f"/requests/{rid}", headers=s.h("assignee"))
    assert r.json["status"] == "concluded" and r.json["citizen_verdict"] == "approved"
    types = [i["type"] for i in c.simulate_get(f"/requests/{rid}/timeline",
                                               headers=s.h("citizen")).json["items"]]
    assert types.count("FollowupPosted") == 2 and types.count("MeetingJoined") == 3
    assert {"MeetingScheduled", "GuestInvited", "RequestConcluded", "ReviewSubmitted"
            } <= set(types)

    # Notifications: the in-app inbox, and the same news mailed through SES.
    kinds = {who: [n["kind"] for n in c.simulate_get("/notifications", headers=s.h(who)
                                                     ).json["items"]]
             for who in ("citizen", "assignee")}
    assert {"analysis_started", "request_approved", "followup_posted", "meeting_scheduled",
            "meeting_reminder", "request_concluded", "review_moderated"} <= set(kinds["citizen"])
    assert {"request_assigned", "followup_posted", "citizen_verdict"} <= set(kinds["assignee"])
    mails = ses_mails(aws)
    assert all(m["From"].endswith(f"<{aws.ses_sender}>") or m["From"] == aws.ses_sender
               for m in mails)
    to_citizen = [subject(m) for m in mails if m["To"] == "ana@example.com"]
    assert len(to_citizen) == len(kinds["citizen"])  # one mail per notification
    assert any(subject(m).startswith("Nova mensagem") for m in mails
               if m["To"] == "bruno@example.gov.br")
    invitation = [m for m in mails if m["To"] == GUEST]
    assert len(invitation) == 1 and invite in body_text(invitation[0])
    assert all("Segue o formulário" not in body_text(m) for m in mails)  # no message bodies

    # Nothing is left behind: no outbox entry, no dead letter; a scheduler tick is a no-op.
    assert all(v["pending"] == 0 and v["dead"] == 0 for v in ops.lag(aws).values())
    ours = {queue for queue, _ in queues(h.workers)}  # the mail queue's among them
    assert [d for d in ops.dead_letters(aws) if d.queue in ours] == []
    assert scheduler.handler({}, None)["swept"] == 0


def test_a_poison_message_fails_each_batch_then_lands_in_the_dlq(
        h: AwsHarness, aws: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An event no consumer can parse, among good ones, on the followups queue: the worker
    reports it (and only it) as a batch item failure on every receive; after the redrive
    policy's maxReceiveCount SQS moves it to the DLQ, where `atende ops` lists it."""
    monkeypatch.setenv("ATENDE_SERVICE", "followups")  # as the template sets it
    broker = runtime.platform(("followups",), http=False).broker
    queue = queue_of("followups")
    poison = broker.enqueue(Message(queue_name=queue, actor_name=actor_of("followups"),
                                    args=({"type": "FollowupPosted", "id": "e-poison",
                                           "request_id": "r-poison"},), kwargs={}, options={}))
    name = f"{aws.table_prefix}-{aws.environment}_{queue}"
    max_receives = template.queue_attributes(queue)[1]
    receives = 0
    while (event := sqs_poll(h.sqs, name))["Records"]:
        receives += 1
        assert receives <= max_receives
        result = worker.handler(event, None)
        assert len(event["Records"]) == 1
        assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0][
            "messageId"]}]}
        assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == str(receives)
    assert receives == max_receives
    dead = [d for d in ops.dead_letters(aws) if d.queue == queue]
    assert [(d.actor, d.event_id, d.request_id) for d in dead] == [
        (actor_of("followups"), "e-poison", "r-poison")]
    assert ops.replay(aws, [dead[0].id]) == 1  # back on its queue, as it was sent
    back = sqs_poll(h.sqs, name)["Records"]
    assert [Message.decode(b64decode(r["body"])).message_id for r in back] == [
        poison.message_id]
    assert not [d for d in ops.dead_letters(aws) if d.queue == queue]
    url = h.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    h.sqs.delete_message(QueueUrl=url, ReceiptHandle=back[0]["receiptHandle"])


def test_reproject_on_dynamodb(h: AwsHarness, aws: Settings) -> None:
    """`atende ops reproject` on the DynamoDB tables: a lost followups view comes back
    from the requests table (a full scan), the others are left as they are."""
    from shared.tables import Delete
    from shared.tables.dynamodb import dynamodb_tables

    tables = dynamodb_tables(aws, ["requests", "followups"])
    rids = [i["id"] for i in tables["requests"].scan("REQ#", "REQ")]
    assert rids, "runs after the workflow test"
    before = tables["followups"].get(f"REQ#{rids[0]}", "VIEW")
    tables["followups"].transact([Delete(f"REQ#{rids[0]}", "VIEW")])
    [done] = ops.reproject(aws, ["followups"])
    assert (done.requests, done.written, done.unchanged) == (len(rids), 1, len(rids) - 1)
    after = tables["followups"].get(f"REQ#{rids[0]}", "VIEW")
    assert after is not None and after["request"] | {"version": 0} == before["request"] | {
        "version": 0}
