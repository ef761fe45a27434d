"""No hot partition on DynamoDB: during a run of many workflows through the Lambda entry
points, no partition key takes more than a small share of the writes (the outbox, the
consumers' markers and the idempotency records are spread over shards), and the records
that only guard against repeats carry an expiry DynamoDB acts on."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.services import SERVICES
from shared.aws import client
from shared.clock import FrozenClock
from shared.settings import Settings
from shared.tables import Put
from shared.tables.dynamodb import TTL_SECONDS, DynamoTable, logical_pk, table_name
from tests.aws.conftest import aws_environment, aws_settings
from tests.aws.harness import AwsHarness
from tests.helpers import approve, conclude, idem, setup_service, submit

pytestmark = pytest.mark.slow

WORKFLOWS = 4  # moto copies every table on each transaction: more would take minutes
# The largest share of all writes one partition key shared by workflows may take: one hot
# partition caps the whole service at what one DynamoDB partition takes (about 1,000
# writes/s). The outbox takes about a quarter of all writes, so each of its four shards
# about 6.5%: the writes of every service together reach about 15,000 a second before one
# shard is full. The bound leaves room for the chance of a short run's few writes. A
# request's own keys take a share that shrinks as requests grow in number, so they are not
# candidates.
MAX_SHARE = 0.11


@dataclass
class Run:
    settings: Settings
    written: Counter[str]  # physical partition key -> writes
    rids: list[str]

    @property
    def total(self) -> int:
        return sum(self.written.values())

    def shared(self, keys: Counter[str]) -> Counter[str]:
        return Counter({k: n for k, n in keys.items()
                        if not any(r in k for r in self.rids)})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """WORKFLOWS workflows through the Lambda entry points, every write's physical
    partition key counted."""
    written: Counter[str] = Counter()
    request = DynamoTable._request

    def counting(self: DynamoTable, op: Any) -> dict[str, Any]:
        body = request(self, op)
        (kind, spec), = body.items()
        if kind != "ConditionCheck":
            written[(spec.get("Item") or spec["Key"])["pk"]["S"]] += 1
        return body

    DynamoTable._request = counting  # type: ignore[method-assign]
    try:
        with aws_environment(aws_settings(tmp_path_factory.mktemp("aws"))) as aws:
            h = AwsHarness(aws, FrozenClock(datetime.now(UTC).replace(microsecond=0)))
            s = setup_service(h)
            rids = []
            for _ in range(WORKFLOWS):
                rid = submit(h, s)
                rids.append(rid)
                approve(h, s, rid)
                h.drain()
                r = h.client.simulate_post(f"/requests/{rid}/followups",
                                           headers=idem(s.h("assignee")),
                                           json={"body": "Recebemos a sua solicitação."})
                assert r.status_code == 201, r.text
                h.drain()
                conclude(h, s, rid)
                h.drain()
                r = h.client.simulate_post(f"/requests/{rid}/review",
                                           json={"verdict": "approved"},
                                           headers=idem(s.h("citizen")))
                assert r.status_code == 201, r.text
                h.drain()
            yield Run(aws, written, rids)
    finally:
        DynamoTable._request = request  # type: ignore[method-assign]


def test_no_partition_key_takes_more_than_a_small_share_of_writes(run: Run) -> None:
    key, most = run.shared(run.written).most_common(1)[0]
    print(f"\n{run.total} writes over {len(run.written)} keys; the largest shared, {key}: "
          f"{most / run.total:.1%}")
    assert run.total > 400  # enough writes for a share to mean something
    assert most / run.total <= MAX_SHARE, run.shared(run.written).most_common(5)
    assert {k.rpartition("#")[0] for k in run.written
            if k.startswith(("OUTBOX#", "APPLIED#", "IDEM#"))} == {"OUTBOX", "APPLIED", "IDEM"}


def test_without_shards_the_bookkeeping_would_be_hot_partitions(run: Run) -> None:
    """What the first test guards against: the same writes, each bookkeeping partition
    under one key, as before shards."""
    unsharded: Counter[str] = Counter()
    for key, n in run.written.items():
        unsharded[logical_pk(key)] += n
    key, most = run.shared(unsharded).most_common(1)[0]
    print(f"\nunsharded, {key} would take {most / run.total:.1%}")
    assert key == "OUTBOX" and most / run.total > 2 * MAX_SHARE


def test_markers_and_idempotency_records_expire_outbox_entries_do_not(run: Run) -> None:
    aws = run.settings
    dynamodb = client(aws, "dynamodb")
    now = time.time()
    seen: Counter[str] = Counter()
    for service in SERVICES:
        name = table_name(aws, service)
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            for raw in page["Items"]:
                base = raw["pk"]["S"].rpartition("#")[0]
                if base in ("APPLIED", "IDEM"):
                    seen[base] += 1
                    expires = int(raw["expires_at"]["N"])
                    assert now + TTL_SECONDS - 600 < expires <= now + TTL_SECONDS + 5
                else:
                    assert "expires_at" not in raw
    assert seen["APPLIED"] > 0 and seen["IDEM"] > 0
    # The port never sees the attribute: what was put is what is read.
    table = DynamoTable(dynamodb, table_name(aws, "requests"))
    marker = {"pk": "APPLIED", "sk": "test#1", "type": "X"}
    table.transact([Put(marker, must_not_exist=True)])
    assert table.get("APPLIED", "test#1") == marker
    assert [i for i in table.query("APPLIED", prefix="test#").items] == [marker]
