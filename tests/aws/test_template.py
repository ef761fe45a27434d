"""infra/template.yaml: lint-clean, and consistent with the code that relies on it."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.aws import template
from infra.gateway import service_for
from infra.services import SERVICES, queues
from shared.broker import SQS_VISIBILITY_TIMEOUT
from shared.settings import Settings


def test_cfn_lint_is_clean() -> None:
    # The cfn-lint installed next to this interpreter (the project's dev dependency).
    exe = Path(sys.executable).with_name("cfn-lint")
    run = subprocess.run([str(exe), str(template.TEMPLATE)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def _functions() -> dict[str, dict]:
    return {k: r for k, r in template.load()["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"}


def test_every_handler_exists() -> None:
    for name, fn in _functions().items():
        module, attr = fn["Properties"]["Handler"].rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attr)), name


def _sample(path: str) -> str:
    return re.sub(r"\{proxy\+\}", "x/y", re.sub(r"\{[a-z]+\}", "r1", path))


def test_routes_go_where_the_local_gateway_sends_them() -> None:
    routes = 0
    for name, fn in _functions().items():
        handler = fn["Properties"]["Handler"]
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            routes += 1
            path = event["Properties"]["Path"]
            expected = service_for(_sample(path))
            if path == "/console" or path.startswith("/console/"):  # beside the services
                assert handler == "infra.aws.http_console.handler", path
            elif expected is None:
                assert handler == "infra.aws.http_gateway.handler", path
            else:
                assert handler == f"infra.aws.http_{expected}.handler", (name, path)
    assert routes >= 18


@pytest.mark.parametrize(("queue", "service"), queues())
def test_every_queue_fits_the_code_and_has_its_worker(queue: str, service: str) -> None:
    """Each queue of the contracts (a service's event queue, a job's own) is in the
    template, named as dramatiq_sqs names it, with its DLQ, and polled by its service's
    worker function, which may hold its messages back; every function that relays may
    send to it."""
    attrs, max_receives = template.queue_attributes(queue)
    assert int(attrs["VisibilityTimeout"]) == SQS_VISIBILITY_TIMEOUT
    env = template.load()["Globals"]["Function"]["Environment"]["Variables"]
    assert max_receives == int(env["ATENDE_MAX_RETRIES"]) + 1
    assert Settings().max_retries + 1 == max_receives
    logical = template.queue_logical(queue)
    props = template.resource(logical)["Properties"]
    assert props["QueueName"] == {"Fn::Sub": f"${{TablePrefix}}-${{Environment}}_{queue}"}
    dlq = template.resource(template.queue_logical(queue, "DeadLetterQueue"))["Properties"]
    assert dlq["QueueName"] == {"Fn::Sub": f"${{TablePrefix}}-${{Environment}}_{queue}_dlq"}
    assert props["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [template.queue_logical(queue, "DeadLetterQueue"), "Arn"]}
    arn = {"Fn::GetAtt": [logical, "Arn"]}
    worker = _functions()[f"{service.capitalize()}WorkerFunction"]["Properties"]
    assert worker["Timeout"] * 6 <= SQS_VISIBILITY_TIMEOUT  # AWS's advice for SQS triggers
    polled = [e["Properties"] for e in worker["Events"].values() if e["Type"] == "SQS"]
    assert [e["Queue"] for e in polled].count(arn) == 1
    visibility = [st["Resource"] for p in worker["Policies"] if isinstance(p, dict)
                  for st in p.get("Statement", []) if "sqs:ChangeMessageVisibility" in st["Action"]]
    assert len(visibility) == 1
    assert arn in (visibility[0] if isinstance(visibility[0], list) else [visibility[0]])
    publish = template.resource("PublishEventsPolicy")["Properties"]["PolicyDocument"]
    assert arn in publish["Statement"][0]["Resource"]


@pytest.mark.parametrize("service", SERVICES)
def test_tables_fit_the_code(service: str) -> None:
    spec = template.table_spec(service, "t")
    assert {i["IndexName"] for i in spec["GlobalSecondaryIndexes"]} == {
        "gsi1", "gsi2", "gsi3", "gsi4"}
    assert spec["StreamSpecification"]["StreamEnabled"]


def test_handlers_build_nothing_at_import() -> None:
    """Importing a handler module creates no client and loads no AWS SDK: the platform is
    built on the first event."""
    code = ("import sys, infra.aws.http_requests, infra.aws.worker, infra.aws.relay, "
            "infra.aws.scheduler, infra.aws.http_gateway; "
            "print(sorted(m for m in ('boto3', 'botocore', 'dramatiq_sqs', 'falcon') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_secrets_are_noecho_parameters_given_only_to_who_needs_them() -> None:
    doc = template.load()
    params = doc["Parameters"]
    for name in ("InviteSecret", "JitsiAppSecret"):
        assert params[name]["NoEcho"] is True, name
    assert all("Description" in p for p in params.values())
    globals_env = doc["Globals"]["Function"]["Environment"]["Variables"]
    assert not {"ATENDE_INVITE_SECRET", "ATENDE_JITSI_APP_SECRET"} & set(globals_env)
    holders = {name: set(fn["Properties"].get("Environment", {}).get("Variables", {}))
               for name, fn in _functions().items()}
    with_invite = {n for n, env in holders.items() if "ATENDE_INVITE_SECRET" in env}
    assert with_invite == {"MeetingsHttpFunction", "MeetingsWorkerFunction",
                           "SchedulerFunction"}
    with_jitsi = {n for n, env in holders.items() if "ATENDE_JITSI_APP_SECRET" in env}
    assert with_jitsi == {"MeetingsHttpFunction"}
    env = _functions()["MeetingsHttpFunction"]["Properties"]["Environment"]["Variables"]
    assert env["ATENDE_INVITE_SECRET"] == {"Ref": "InviteSecret"}
    # Every setting the template passes is one Settings knows (a typo would be ignored).
    known = {f"ATENDE_{k.upper()}" for k in Settings.model_fields} | {"ATENDE_SERVICE",
                                                                     "ATENDE_LOG_LEVEL"}
    for name, env in holders.items():
        assert env | set(globals_env) <= known, name


def test_mail_and_queues_are_granted_per_function() -> None:
    """Least privilege: only the functions that send mail may use SES; each worker may
    only change the visibility of its own queue; HTTP functions touch their own table."""
    mailers = set()
    for name, fn in _functions().items():
        policies = fn["Properties"].get("Policies", [])
        if {"Ref": "SendMailPolicy"} in policies:
            mailers.add(name)
        for p in policies:
            if "DynamoDBCrudPolicy" in p and name.endswith(("HttpFunction", "WorkerFunction")):
                service = name.removesuffix("HttpFunction").removesuffix("WorkerFunction")
                assert p["DynamoDBCrudPolicy"]["TableName"] == {"Ref": f"{service}Table"}
    # Mail goes out from outbox jobs, which workers run; HTTP functions never send it.
    assert mailers == {"FollowupsWorkerFunction", "MeetingsWorkerFunction"}
    ses = template.resource("SendMailPolicy")["Properties"]["PolicyDocument"]["Statement"][0]
    assert ses["Condition"]["StringEquals"]["ses:FromAddress"] == {"Ref": "SesSender"}
    relay = _functions()["OutboxRelayFunction"]["Properties"]
    assert {e["Type"] for e in relay["Events"].values()} == {"DynamoDB"}
    assert len(relay["Events"]) == len(SERVICES)
    tick = _functions()["SchedulerFunction"]["Properties"]["Events"]["Tick"]
    assert tick["Type"] == "Schedule"


def test_the_layer_carries_every_runtime_dependency() -> None:
    """sam build installs the functions' packages from the layer's requirements: each of
    the project's runtime dependencies must be there (but the local WSGI server)."""
    import tomllib

    def name(req: str) -> str:
        return re.split(r"[\[<>=~ ]", req, maxsplit=1)[0].lower().replace("_", "-")

    root = template.TEMPLATE.parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    layer = template.resource("DependenciesLayer")["Properties"]["ContentUri"]
    lines = (template.TEMPLATE.parent / layer / "requirements.txt").read_text().splitlines()
    have = {name(x) for x in lines if x.strip() and not x.startswith("#")}
    want = {name(d) for d in project["dependencies"]} - {"waitress"} | {"dramatiq-sqs"}
    assert want == have
    assert template.load()["Globals"]["Function"]["Layers"] == [{"Ref": "DependenciesLayer"}]


def test_direct_uploads_fit_the_bucket_and_the_role() -> None:
    """Slots' objects live where the lifecycle rule expires them and where the requests
    HTTP function (and it alone) may delete them (docs/uploads.md, *Direct uploads*)."""
    from shared.blobs_s3 import S3Blobs

    key = S3Blobs(Settings(), prefix="requests").upload_key("01m91r1naftq03bs5ecsdtsxe3")
    resources = template.load()["Resources"]
    rules = resources["BlobBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["Prefix"] for r in rules if r["Status"] == "Enabled"] == ["requests/uploads/"]
    assert key.startswith("requests/uploads/")
    deleters = {}
    for name, fn in _functions().items():
        for policy in fn["Properties"].get("Policies", []):
            for st in policy.get("Statement", []) if isinstance(policy, dict) else []:
                if "s3:DeleteObject" in st["Action"]:
                    deleters[name] = st["Resource"]
    assert deleters == {
        "RequestsHttpFunction": {"Fn::Sub": "${BlobBucket.Arn}/requests/uploads/*"}}
