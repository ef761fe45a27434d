"""The end-to-end flows of the embedded platform's own tests, run again with every service's
table on PostgreSQL: the same assertions, another store."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.requests import test_requests_flow as requests_flow
from tests.reviews import test_reviews_e2e as reviews_e2e


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
