"""Suite 5: cold start to the first answer. In a fresh interpreter, each Lambda handler
module of ``infra/aws/`` is imported and answers its first event (an API Gateway v2
request for a real route of its own; one SQS record; a stream record; a scheduler tick),
its AWS backends on a moto server in another process; against a minimal twin (a Falcon
app behind apig-wsgi, or an SQS loop, reading one DynamoDB item with boto3) answering
the same kind of event. Runs alternate between the twin and the handlers, so that both
see the same minutes of the machine; each figure is the median of its runs.

Both run from the repository's packages as ``sam build`` ships them, built by the very
step it runs (``infra/aws/package.py``): source with bytecode compiled by this
interpreter, whatever ``__pycache__`` this checkout holds, and nothing written there
while they run, as in a function's read-only code directory; third-party packages load
from their bytecode, as from the layer (compiled alike)."""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import infra.aws
from infra.bench.procs import Proc, env_for, free_port

Row = dict[str, Any]
TWIN = "infra.bench.lambda_twin"
SECRET = "bench-only-secret-not-for-any-deployment-0123456789"
_CHILD = """import json, sys, time
event = json.load(open(sys.argv[2]))
began, cpu = time.perf_counter(), time.process_time()
import importlib
module = importlib.import_module(sys.argv[1])
out = module.handler(event, None)
took, cpu = time.perf_counter() - began, time.process_time() - cpu
print(json.dumps({"seconds": took, "cpu_seconds": cpu, "status": out.get("statusCode"),
                  "file": module.__file__,
                  "failures": len(out.get("batchItemFailures") or [])}))
"""


def handler_modules() -> list[str]:
    """Every module of infra/aws that defines a Lambda ``handler``."""
    root = Path(infra.aws.__file__).parent
    found = []
    for path in sorted(root.glob("*.py")):
        text = path.read_text()
        if "\nhandler = " in text or "\ndef handler(" in text:
            found.append(f"infra.aws.{path.stem}")
    return found


def shipped_code(work: Path) -> Path:
    """The repository's packages as a deployment holds them (the build's own step)."""
    from infra.aws import package

    return package.code(work / "code")


def aws_env(work: Path, endpoint: str) -> dict[str, str]:
    """The platform on AWS's APIs, served by moto: tables, queues and blobs; metrics off,
    as infra/template.yaml deploys the functions."""
    return env_for(work, "sqs://", ATENDE_TABLE_BACKEND="dynamodb", ATENDE_BLOB_BACKEND="s3",
                   ATENDE_METRICS="false",
                   ATENDE_AWS_ENDPOINT_URL=endpoint, ATENDE_JWT_SECRET=SECRET,
                   ATENDE_SERVICE="requests", AWS_ACCESS_KEY_ID="bench",
                   AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")


def _token(roles: list[str], sub: str) -> str:
    from infra.bench.seed import ORG, UNIT
    from shared.identity import mint
    from shared.settings import Settings

    s = Settings()
    return mint(SECRET, sub=sub, roles=roles, name="Bench", org=ORG, unit=UNIT,
                issuer=s.jwt_issuer, audience=s.jwt_audience, ttl=3600)


def _http(path: str, token: str | None = None) -> dict[str, Any]:
    # As API Gateway sends them: the console refuses a request that did not come over HTTPS.
    headers = {"host": "bench.test", "x-forwarded-proto": "https", "x-forwarded-port": "443",
               **({"authorization": f"Bearer {token}"} if token else {})}
    path, _, query = path.partition("?")
    return {"version": "2.0", "routeKey": f"GET {path}", "rawPath": path,
            "rawQueryString": query, "headers": headers,
            "requestContext": {"accountId": "123456789012", "apiId": "bench",
                               "domainName": "bench.test", "requestId": "bench",
                               "http": {"method": "GET", "path": path,
                                        "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                                        "userAgent": "bench"},
                               "stage": "$default", "timeEpoch": 0},
            "isBase64Encoded": False}


def _sqs(service: str, request_id: str) -> dict[str, Any]:
    from dramatiq import Message

    from shared import messages as m
    from shared.topology import actor_of, queue_of

    doc = m.FollowupPosted(request_id=request_id, followup_id="f-bench",
                           author=m.Party(sub="att-1", name="Ana"),
                           author_role="attendant").model_dump(mode="json")
    msg: Message[Any] = Message(queue_name=queue_of(service), actor_name=actor_of(service),
                                args=(doc,), kwargs={}, options={})
    return {"Records": [{"messageId": "m-bench", "receiptHandle": "h-bench",
                         "body": base64.b64encode(msg.encode()).decode(),
                         "attributes": {"ApproximateReceiveCount": "1"},
                         "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:"
                                           f"atende-dev_{queue_of(service)}"}]}


def _stream() -> dict[str, Any]:
    from shared.outbox import OUTBOX_PK
    from shared.tables.dynamodb import to_item

    image = to_item({"pk": OUTBOX_PK, "sk": "bench", "status": "pending"})
    return {"Records": [{"eventName": "INSERT", "eventSource": "aws:dynamodb",
                         "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/"
                                           "atende-dev-requests/stream/2026",
                         "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]},
                                      "NewImage": image, "SequenceNumber": "1"}}]}


_SEED = """import sys
from pathlib import Path
from infra.bench.seed import seed
print(seed(Path(sys.argv[1]), 1).request_ids[0])
"""


def seed_store(work: Path, env: dict[str, str]) -> str:
    """One request in service, its attendant on every service's roster, written into the
    moto server's tables as the other suites' stores are: so that each first answer is a
    real one (the meetings of a request its attendant may see; the worker's event applied
    to a request that exists), not a refusal. Returns the request's id."""
    done = subprocess.run([sys.executable, "-c", _SEED, str(work / "seed")], env=env,
                          capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"seeding the moto server failed: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def events(request_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each module's first event, and the twin's event of the same kind, about the seeded
    request ``request_id``."""
    att, cit = _token(["attendant"], "att-1"), _token(["citizen"], "cid-0")
    http = {"http_requests": _http("/catalog/services"),
            "http_followups": _http("/notifications", cit),
            "http_meetings": _http(f"/requests/{request_id}/meetings", att),
            "http_reviews": _http("/reviews/published?service_id=s-bench"),
            "http_gateway": _http("/health"),
            "http_console": _http("/console")}
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for module in handler_modules():
        name = module.rsplit(".", 1)[1]
        if name in http:
            out[module] = ("http", http[name])
        elif name == "worker":
            out[module] = ("sqs", _sqs("requests", request_id))
        elif name == "relay":
            out[module] = ("sqs", _stream())
        else:  # the scheduler's tick: EventBridge's event, which it does not read
            out[module] = ("sqs", {"source": "aws.events", "detail-type": "Scheduled Event"})
    return out


def first_answer(module: str, event_file: Path, env: dict[str, str],
                 code: Path | None = None) -> dict[str, Any]:
    """``module``'s first answer in a fresh interpreter; from ``code`` (a shipped copy)
    when given, writing no bytecode there."""
    if code is not None:
        env = {**env, "PYTHONPATH": os.pathsep.join(
            [str(code), *filter(None, [env.get("PYTHONPATH")])]),
               "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", _CHILD, module, str(event_file)], env=env,
                          capture_output=True, text=True, timeout=120,
                          cwd=code)
    if done.returncode != 0:
        raise RuntimeError(f"{module} did not answer its first event: {done.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if code is not None and not Path(answer["file"]).is_relative_to(code):
        raise RuntimeError(f"{module} ran from {answer['file']}, not the shipped copy")
    status = answer["status"]
    # Every first event is about seeded data a caller may see: a refusal would time a
    # shorter path than the one measured.
    if (status is not None and status >= 400) or answer["failures"]:
        raise RuntimeError(f"{module} failed its first event: {answer} {done.stderr[-2000:]}")
    return answer


def run(work: Path, *, runs: int) -> list[Row]:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = aws_env(work, endpoint)
    moto = Proc.python("moto.server", "-H", "127.0.0.1", "-p", str(port), env=env,
                       log=work / "logs" / "moto.log")
    with moto:
        moto.wait_port(port)
        made = subprocess.run([sys.executable, "-m", "infra.cli", "ops", "create"], env=env,
                              capture_output=True, text=True, timeout=180)
        if made.returncode != 0:
            raise RuntimeError(f"atende ops create failed: {made.stderr[-2000:]}")
        todo = events(seed_store(work, env))
        files: dict[str, Path] = {}
        for module, (_, event) in todo.items():
            files[module] = work / f"event-{module}.json"
            files[module].write_text(json.dumps(event))
        for kind in ("http", "sqs"):
            files[f"twin {kind}"] = work / f"event-twin-{kind}.json"
        files["twin http"].write_text(json.dumps(_http("/requests", None)))
        files["twin sqs"].write_text(json.dumps(_sqs("requests", "r-bench")))
        code = shipped_code(work)
        took: dict[str, list[float]] = {name: [] for name in files}
        cpu: dict[str, list[float]] = {name: [] for name in files}
        status: dict[str, Any] = {}

        def one(name: str) -> dict[str, Any]:
            return first_answer(TWIN if name.startswith("twin ") else name, files[name], env,
                                code)

        # Side by side only in the quick form, whose figures mean nothing: it checks that
        # every handler answers, and must not take a minute doing it.
        with ThreadPoolExecutor(1 if runs > 1 else 4) as pool:
            for _ in range(runs):
                for name, answer in zip(files, pool.map(one, files), strict=True):
                    took[name].append(answer["seconds"])
                    cpu[name].append(answer["cpu_seconds"])
                    status[name] = answer["status"]
    med = {name: statistics.median(t) for name, t in took.items()}
    # The process's own CPU time: what a crowded machine blurs least (information only;
    # the target is on the wall time, what a caller waits).
    med_cpu = {name: statistics.median(t) for name, t in cpu.items()}
    rows: list[Row] = [{"suite": "cold", "name": f"first answer, twin ({kind})",
                        "p50_ms": med[f"twin {kind}"] * 1000,
                        "cpu_ms": med_cpu[f"twin {kind}"] * 1000} for kind in ("http", "sqs")]
    for module, (kind, _) in todo.items():
        rows.append({"suite": "cold", "name": f"first answer, {module.rsplit('.', 1)[1]}",
                     "p50_ms": med[module] * 1000, "ratio": med[module] / med[f"twin {kind}"],
                     "cpu_ms": med_cpu[module] * 1000,
                     "cpu_ratio": med_cpu[module] / med_cpu[f"twin {kind}"],
                     "event": kind if module.rsplit(".", 1)[1] not in ("relay", "scheduler")
                     else module.rsplit(".", 1)[1], "status": status[module]})
    return rows
