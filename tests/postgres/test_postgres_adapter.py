"""What the contract suite cannot see of the PostgreSQL adapter: pages are index range scans
whatever the table's size, the schema migrates once and idempotently, a server restart
costs no request, an unreachable server is one clear line, and a transaction that need not
be durable skips the WAL's flush for itself alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from shared.tables import Check, ConditionFailed, Delete, Put, Where
from shared.tables.postgres import DatabaseUnavailable, PostgresDatabase, PostgresTable
from shared.tables.postgres_schema import LATEST, SCHEMA_TABLE, SchemaBehind
from shared.tables.postgres_sql import page_sql, range_args
from tests.helpers import SHARED_SERVERS
from tests.live import eventually
from tests.postgres.scratch import scratch_database
from tests.postgres.wire import round_trips

pytestmark = SHARED_SERVERS


@pytest.fixture
def url() -> Iterator[str]:
    with scratch_database() as u:
        yield u


@pytest.fixture
def db(url: str) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(url, max_size=4)
    database.migrate(["t"])
    yield database
    database.close()


def _plan(table: PostgresTable, pk: str, **query: object) -> str:
    args, shape = range_args(pk, **query)  # type: ignore[arg-type]
    sql = page_sql(table.name, "body::text", *shape)
    with table.db.pool.connection() as conn:  # configured as the adapter's own are
        rows = conn.execute("EXPLAIN " + sql, [*args, 51]).fetchall()
    return "\n".join(r[0] for r in rows)


def test_every_page_shape_is_an_index_range_scan(db: PostgresDatabase) -> None:
    table = db.table("t")
    with psycopg.connect(db.pool.conninfo, autocommit=True) as conn:
        # 50,000 items over 50 partitions, a fifth of them in gsi1.
        conn.execute("""INSERT INTO t (pk, sk, version, body, gsi1pk, gsi1sk)
            SELECT 'P' || (n % 50), lpad(n::text, 8, '0'), 1,
                   json_build_object('n', n, 'status', CASE WHEN n % 2 = 0 THEN 'a' ELSE 'b' END),
                   CASE WHEN n % 5 = 0 THEN 'G' || (n % 3) END, lpad(n::text, 8, '0')
            FROM generate_series(1, 50000) AS n""")
        conn.execute("ANALYZE t")
    cursor = table.query("G1", index="gsi1", limit=3).next_cursor
    shapes: list[tuple[str, dict[str, object]]] = [
        ("P7", {}), ("P7", {"forward": False}), ("P7", {"prefix": "0001"}),
        ("P7", {"start": "00001000", "end": "00040000"}),
        ("P7", {"cursor": table.query("P7", limit=3).next_cursor}),
        ("P7", {"where": [Where("status", "=", "a")]}),
        ("G1", {"index": "gsi1"}), ("G1", {"index": "gsi1", "forward": False}),
        ("G1", {"index": "gsi1", "cursor": cursor}),
        ("G1", {"index": "gsi1", "prefix": "0002", "where": [Where("n", ">", 3)]}),
    ]
    for pk, query in shapes:
        plan = _plan(table, pk, **query)
        assert "Index Scan" in plan and "Seq Scan" not in plan and "Sort" not in plan, plan
        if query.get("index"):
            assert "t_gsi1" in plan, plan


def test_migrations_apply_once_even_when_processes_race(url: str) -> None:
    dbs = [PostgresDatabase(url, max_size=2) for _ in range(4)]
    made: list[list[str]] = []
    threads = [threading.Thread(target=lambda d=d: made.append(d.migrate(["a", "b"])))
               for d in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(m) for m in made) == [0, 0, 0, 2 * LATEST]
    assert dbs[0].migrate(["a", "b"]) == []
    assert dbs[0].ensure_schema(["a", "b"], migrate=False) == []
    with psycopg.connect(url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {SCHEMA_TABLE}").fetchone()[0] == 2 * LATEST
    for d in dbs:
        d.close()


def test_a_schema_behind_is_refused_when_migrating_is_not_allowed(url: str) -> None:
    db = PostgresDatabase(url, max_size=2)
    with pytest.raises(SchemaBehind, match="atende ops create"):
        db.ensure_schema(["requests"], migrate=False)
    assert db.ensure_schema(["requests"], migrate=True)  # the lines it applied
    db.table("requests").transact([Put({"pk": "a", "sk": "b", "version": 1})])
    db.close()


def test_pooled_connections_broken_by_a_restart_are_replaced(db: PostgresDatabase) -> None:
    table = db.table("t")
    table.transact([Put({"pk": "a", "sk": "1", "version": 1})])
    with psycopg.connect(db.pool.conninfo, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    assert table.get("a", "1") == {"pk": "a", "sk": "1", "version": 1}
    table.transact([Put({"pk": "a", "sk": "2", "version": 1}, must_not_exist=True)])
    assert table.get("a", "2") is not None


def test_a_transaction_on_a_connection_the_server_closed_runs_on_another(
        db: PostgresDatabase) -> None:
    """A transaction is sent in one round trip, whose outcome is unknown if the connection
    breaks under it: one the server had closed while it idled in the pool is not used."""
    table = db.table("t")
    table.transact([Put({"pk": "a", "sk": "1", "version": 1})])
    others = ("FROM pg_stat_activity WHERE datname = current_database() "
              "AND pid <> pg_backend_pid()")
    with psycopg.connect(db.pool.conninfo, autocommit=True) as conn:
        conn.execute(f"SELECT pg_terminate_backend(pid) {others}")
        # pg_terminate_backend only signals: the pooled connections are closed once their
        # backends are gone (a transaction racing that is the unknown outcome it should be).
        eventually(lambda: conn.execute(f"SELECT count(*) {others}").fetchone() == (0,))
    table.transact([Put({"pk": "a", "sk": "2", "version": 1}, must_not_exist=True),
                    Put({"pk": "a", "sk": "1", "version": 2}, expect_version=1)])
    assert [i["version"] for i in table.query("a").items] == [2, 1]


def test_a_transaction_is_one_round_trip_and_a_failed_condition_undoes_it(
        url: str, caplog: pytest.LogCaptureFixture) -> None:
    db = PostgresDatabase(url, max_size=1)
    try:
        db.migrate(["t"])
        table = db.table("t")
        # Each twice: a statement run alone is prepared, the first time on a connection,
        # in a round trip of its own.
        for n in (1, 2):
            with round_trips(db) as trips:
                table.transact([Put({"pk": "a", "sk": f"{n}", "version": 1},
                                    must_not_exist=True),
                                Put({"pk": "a", "sk": f"x{n}", "version": 1}),
                                Check("a", f"{n}", must_exist=True)])
            assert trips.count == 1
            with round_trips(db) as trips:
                table.transact([Put({"pk": "a", "sk": f"{n}", "version": 2}, expect_version=1)])
            assert trips.count == (2 if n == 1 else 1)
            with round_trips(db) as trips:
                table.transact([Delete("a", f"x{n}")], durable=False)
            assert trips.count == 1
            with round_trips(db) as trips:
                assert table.get_many([("a", f"{n}"), ("a", f"x{n}")]) == [
                    {"pk": "a", "sk": f"{n}", "version": 2}, None]
            assert trips.count == (2 if n == 1 else 1)
        table.transact([Delete("a", "2")])
        # Each kind of condition, failing in the middle of a transaction: nothing of it
        # is left, the failed write is named, and the connection goes on as before.
        for n, failing in enumerate([Put({"pk": "a", "sk": "1", "version": 1},
                                         must_not_exist=True),
                                     Put({"pk": "a", "sk": "1", "version": 9},
                                         expect_version=8),
                                     Delete("a", "1", expect_version=1),
                                     Check("a", "1", expect_version=1),
                                     Check("a", "none", must_exist=True),
                                     Check("a", "1", must_not_exist=True)]):
            with pytest.raises(ConditionFailed) as err:
                table.transact([Put({"pk": "b", "sk": str(n), "version": 1}), failing,
                                Put({"pk": "c", "sk": str(n), "version": 1})])
            assert err.value.index == 1, failing
        assert table.query("b").items == table.query("c").items == []
        table.transact([Check("a", "1", must_exist=True, expect_version=2),
                        Check("a", "none", must_not_exist=True),
                        Delete("a", "1", expect_version=2)])
        assert table.get("a", "1") is None
        assert not [r for r in caplog.records if r.name == "psycopg"]
    finally:
        db.close()


def test_statements_skipped_after_a_failed_condition_are_prepared_later_as_ever(
        url: str) -> None:
    """The statements after a failed one in a transaction's pipeline are skipped by the
    server, their preparation with them: the connection must not take them for prepared
    (psycopg would, had it counted them as prepared when it queued them), else each would
    fail on it from then on."""
    db = PostgresDatabase(url, max_size=1)
    try:
        db.migrate(["t"])
        table = db.table("t")
        table.transact([Put({"pk": "a", "sk": "taken", "version": 1}),
                        Put({"pk": "b", "sk": "x", "version": 1})])
        for n in range(1, 13):
            table.transact([Put({"pk": "a", "sk": f"k{n}", "version": 1}, must_not_exist=True),
                            Put({"pk": "b", "sk": "x", "version": n + 1}, expect_version=n)])
            with pytest.raises(ConditionFailed) as err:
                table.transact([Put({"pk": "a", "sk": "taken", "version": 1},
                                    must_not_exist=True),
                                Put({"pk": "a", "sk": f"skipped{n}", "version": 1},
                                    must_not_exist=True),
                                Put({"pk": "b", "sk": "x", "version": 99},
                                    expect_version=n + 1)])
            assert err.value.index == 0
        assert table.get("b", "x") == {"pk": "b", "sk": "x", "version": 13}
        assert table.query("a", prefix="skipped").items == []
    finally:
        db.close()


def test_an_unreachable_server_is_one_clear_line_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailable) as err:
        PostgresDatabase("postgresql://atende:s3cret@127.0.0.1:1/atende", connect_timeout=2)
    text = str(err.value)
    assert "127.0.0.1:1/atende" in text and "ATENDE_DATABASE_URL" in text
    assert "s3cret" not in text and "\n" not in text


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the adapter's connections are sent from now on, as sent."""
    sent: list[str] = []
    real = psycopg.Connection.execute

    def execute(conn: psycopg.Connection[object], query: object, *args: object,
                **kwargs: object) -> object:
        sent.append(str(query))
        return real(conn, query, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    return sent


def test_a_transaction_that_need_not_be_durable_skips_the_flush_for_itself_alone(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = PostgresDatabase(url, max_size=1)  # one connection: whatever one leaves, the next meets
    try:
        db.migrate(["t"])
        table = db.table("t")
        sent = _statements(monkeypatch)
        table.transact([Put({"pk": "a", "sk": "1", "version": 1})], durable=False)
        assert sent == ["SELECT set_config('synchronous_commit', 'off', true)"]
        sent.clear()
        table.transact([Put({"pk": "a", "sk": "2", "version": 1})])
        assert sent == []
        # Committed and seen by every other connection at once, as a durable commit is.
        with psycopg.connect(url, autocommit=True) as other:
            rows = other.execute("SELECT sk FROM t WHERE pk = 'a' ORDER BY sk").fetchall()
        assert rows == [("1",), ("2",)]
        # Refused by its condition: rolled back whole, and the setting with it.
        with pytest.raises(ConditionFailed):
            table.transact([Put({"pk": "a", "sk": "3", "version": 1}),
                            Put({"pk": "a", "sk": "1", "version": 1}, must_not_exist=True)],
                           durable=False)
        assert table.get("a", "3") is None
        monkeypatch.undo()
        # What the pooled connection keeps for the transactions after: durable commits.
        with db.pool.connection() as conn:
            setting = conn.execute("SHOW synchronous_commit").fetchone()
        assert setting == ("on",)
    finally:
        db.close()
