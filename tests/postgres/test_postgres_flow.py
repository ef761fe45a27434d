"""The end-to-end flows of the embedded platform's own tests, run again with every service's
table on PostgreSQL: the same assertions, another store."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.helpers import SHARED_SERVERS
from tests.requests import test_requests_flow as requests_flow
from tests.reviews import test_reviews_e2e as reviews_e2e

pytestmark = SHARED_SERVERS


def test_a_request_from_submission_to_conclusion_on_postgres(pg_harness: Any) -> None:
    requests_flow.test_a_request_from_submission_to_conclusion_and_another_rejected(pg_harness)


def test_reviews_screened_moderated_and_published_on_postgres(pg_harness: Any,
                                                              pg_url: str) -> None:
    reviews_e2e.test_review_flow_through_the_gateway(pg_harness)
    # The flow did run on PostgreSQL: every service's table holds its items there, and
    # every outbox entry was delivered and acknowledged.
    with psycopg.connect(pg_url) as conn:
        for service in ("requests", "followups", "meetings", "reviews"):
            assert conn.execute(f'SELECT count(*) FROM "{service}"').fetchone()[0] > 0
            assert conn.execute(f"SELECT count(*) FROM \"{service}\" WHERE pk = 'OUTBOX'"
                                ).fetchone()[0] == 0
    assert not (pg_harness.platform.settings.data_dir / "atende.db").exists()


def test_reproject_reads_every_request_from_postgres(pg_harness: Any, pg_url: str) -> None:
    """`atende ops reproject`'s full scan, on PostgreSQL: every request read, every view a
    consumer wrote found unchanged, and a lost view written again."""
    from infra.ops import reproject
    from tests.helpers import approve, setup_service, submit

    h = pg_harness
    s = setup_service(h)
    rids = [submit(h, s) for _ in range(3)]
    approve(h, s, rids[0])
    h.drain()
    settings = h.platform.settings
    done = {r.service: r for r in reproject(settings, ("followups",), dry_run=True)}
    assert (done["followups"].requests, done["followups"].unchanged) == (3, 3)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM followups WHERE pk = %s AND sk = 'VIEW'", (f"REQ#{rids[1]}",))
    done = {r.service: r for r in reproject(settings, ("followups",))}
    assert (done["followups"].written, done["followups"].unchanged) == (1, 2)
