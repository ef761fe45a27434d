"""The table port's contract: every adapter must pass the same suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from shared.tables import Check, ConditionFailed, Delete, Put, Table, TableError, Where
from tests.helpers import SHARED_SERVERS
from tests.kernel.table_adapters import ADAPTERS


@pytest.fixture(params=[pytest.param(a, marks=SHARED_SERVERS) if a == "postgres" else a
                        for a in sorted(ADAPTERS)])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Table]:
    with ADAPTERS[request.param](tmp_path) as t:
        yield t


def item(pk: str, sk: str, version: int = 1, **attrs: object) -> dict[str, object]:
    return {"pk": pk, "sk": sk, "version": version, **attrs}


def test_get_missing_is_none(table: Table) -> None:
    assert table.get("nope", "nope") is None


def test_put_then_get_round_trips_nested_values(table: Table) -> None:
    doc = item("a", "1", name="Zé", tags=["x", "y"], nested={"n": 1.5, "b": True}, none=None)
    table.transact([Put(doc)])
    assert table.get("a", "1") == doc


def test_get_many_reads_each_key_in_the_order_asked(table: Table) -> None:
    a, b = item("a", "1", n=1), item("APPLIED", "c#e1", n=2)  # a hot partition on DynamoDB
    table.transact([Put(a), Put(b)])
    assert table.get_many([]) == []
    assert table.get_many([("APPLIED", "c#e1"), ("a", "none"), ("a", "1"), ("APPLIED", "c#e1")]
                          ) == [b, None, a, b]
    keys = [("a", f"{n:03d}") for n in range(120)]  # past DynamoDB's 100 keys a request
    table.transact([Put(item(pk, sk, n=n)) for n, (pk, sk) in enumerate(keys[:90])])
    table.transact([Put(item(pk, sk, n=n)) for n, (pk, sk) in enumerate(keys[90:], 90)
                    if n % 2])
    assert [(i or {}).get("n") for i in table.get_many(keys[85:])] == [
        n if n < 90 or n % 2 else None for n in range(85, 120)]
    # Every key in reverse order: the items come back in the order asked.
    assert [(i or {}).get("n") for i in table.get_many(keys[::-1])] == [
        n if n < 90 or n % 2 else None for n in range(119, -1, -1)]


def test_must_not_exist_refuses_a_second_create(table: Table) -> None:
    table.transact([Put(item("a", "1"), must_not_exist=True)])
    with pytest.raises(ConditionFailed):
        table.transact([Put(item("a", "1", x=2), must_not_exist=True)])
    assert "x" not in table.get("a", "1")


def test_version_condition_is_optimistic_concurrency(table: Table) -> None:
    table.transact([Put(item("a", "1", 1, v="one"), must_not_exist=True)])
    table.transact([Put(item("a", "1", 2, v="two"), expect_version=1)])
    with pytest.raises(ConditionFailed):
        table.transact([Put(item("a", "1", 2, v="stale"), expect_version=1)])
    assert table.get("a", "1")["v"] == "two"
    with pytest.raises(ConditionFailed):
        table.transact([Put(item("b", "1", 2), expect_version=1)])  # missing item
    assert table.get("b", "1") is None


def test_transaction_is_all_or_nothing(table: Table) -> None:
    table.transact([Put(item("a", "1"))])
    with pytest.raises(ConditionFailed) as err:
        table.transact([Put(item("a", "2")), Put(item("a", "1"), must_not_exist=True)])
    assert err.value.index == 1
    assert table.get("a", "2") is None


def test_new_items_together_are_refused_by_the_one_that_exists(table: Table) -> None:
    table.transact([Put(item("a", "1"))])
    with pytest.raises(ConditionFailed) as err:
        table.transact([Put(item("a", n), must_not_exist=True) for n in ("2", "3", "1", "4")])
    assert err.value.index == 2
    assert [table.get("a", n) for n in ("2", "3", "4")] == [None, None, None]
    with pytest.raises(ConditionFailed) as err:  # twice in one transaction
        table.transact([Put(item("b", "1"), must_not_exist=True),
                        Put(item("b", "1", x=2), must_not_exist=True)])
    assert err.value.index == 1 and table.get("b", "1") is None
    table.transact([Put(item("a", n, tag=n), must_not_exist=True) for n in ("2", "3")])
    assert [table.get("a", n)["tag"] for n in ("2", "3")] == ["2", "3"]


def test_delete_and_check_conditions(table: Table) -> None:
    table.transact([Put(item("a", "1", 3))])
    with pytest.raises(ConditionFailed):
        table.transact([Delete("a", "1", expect_version=2)])
    with pytest.raises(ConditionFailed):
        table.transact([Check("a", "2", must_exist=True), Put(item("a", "3"))])
    assert table.get("a", "3") is None
    table.transact([Check("a", "1", expect_version=3), Delete("a", "1", expect_version=3)])
    assert table.get("a", "1") is None


def _fill(table: Table, n: int = 25) -> None:
    table.transact([Put(item("p", f"s#{i:03d}", n=i, odd=bool(i % 2),
                            gsi1pk="G" if i % 5 else None, gsi1sk=f"k{i % 3}#{i:03d}"))
                    for i in range(n)])
    table.transact([Put(item("q", "s#000"))])


def test_query_by_partition_in_sort_order_both_ways(table: Table) -> None:
    _fill(table)
    fwd = table.query("p", limit=100).items
    assert [i["n"] for i in fwd] == list(range(25))
    back = table.query("p", forward=False, limit=3).items
    assert [i["n"] for i in back] == [24, 23, 22]


def test_query_sort_key_ranges(table: Table) -> None:
    _fill(table)
    assert [i["n"] for i in table.query("p", start="s#010", end="s#012").items] == [10, 11, 12]
    assert [i["n"] for i in table.query("p", prefix="s#02").items] == [20, 21, 22, 23, 24]
    assert table.query("p", prefix="s#9").items == []


def test_cursor_pages_cover_everything_once(table: Table) -> None:
    _fill(table)
    for forward in (True, False):
        seen, cursor = [], None
        while True:
            page = table.query("p", limit=7, cursor=cursor, forward=forward)
            seen += [i["n"] for i in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == sorted(range(25), reverse=not forward)


def test_exact_page_has_no_dangling_cursor(table: Table) -> None:
    _fill(table, 10)
    page = table.query("p", limit=10)
    assert len(page.items) == 10 and page.next_cursor is None


def test_sparse_index_query_with_ties_and_cursor(table: Table) -> None:
    _fill(table)
    expected = sorted((i for i in range(25) if i % 5), key=lambda i: (f"k{i % 3}", i))
    got, cursor = [], None
    while True:
        page = table.query("G", index="gsi1", limit=4, cursor=cursor)
        got += [i["n"] for i in page.items]
        if not (cursor := page.next_cursor):
            break
    assert got == expected
    assert [i["n"] for i in table.query("G", index="gsi1", prefix="k1#").items] == [
        i for i in expected if i % 3 == 1]


def test_where_filters_before_the_page_is_cut(table: Table) -> None:
    _fill(table)
    page = table.query("p", limit=5, where=[Where("odd", "=", True)])
    assert [i["n"] for i in page.items] == [1, 3, 5, 7, 9]
    nxt = table.query("p", limit=5, cursor=page.next_cursor, where=[Where("odd", "=", True)])
    assert [i["n"] for i in nxt.items] == [11, 13, 15, 17, 19]
    assert [i["n"] for i in table.query("p", where=[Where("n", "in", [2, 4, 99])]).items] == [2, 4]
    assert [i["n"] for i in table.query("p", where=[Where("n", ">=", 23)]).items] == [23, 24]
    assert len(table.query("p", where=[Where("gsi1pk", "not_exists")]).items) == 5


SHAPES: list[dict[str, object]] = [
    {}, {"forward": False, "limit": 3}, {"limit": 7}, {"limit": 25}, {"limit": 26},
    {"start": "s#010", "end": "s#012"}, {"prefix": "s#02"}, {"prefix": "s#9"},
    {"index": "gsi1", "pk": "G", "limit": 4}, {"index": "gsi1", "pk": "G", "prefix": "k1#"},
    {"index": "gsi1", "pk": "G", "forward": False, "limit": 5},
    {"limit": 5, "where": [Where("odd", "=", True)]},
    {"where": [Where("n", "in", [2, 4, 99])]}, {"where": [Where("n", "in", [])]},
]


def _json_pages(table: Table, attribute: str, shape: dict[str, object]) -> list[object]:
    """Every page of a query through query_json, each checked against query's own, each
    walked on by its own cursors (opaque: an adapter may word them differently)."""
    kw = dict(shape)
    pk = str(kw.pop("pk", "p"))
    pages: list[object] = []
    cursor = json_cursor = None
    while True:
        plain = table.query(pk, cursor=cursor, **kw)  # type: ignore[arg-type]
        page = table.query_json(pk, attribute=attribute, cursor=json_cursor, **kw)  # type: ignore[arg-type]
        assert orjson.loads(page.items) == [i.get(attribute) for i in plain.items], shape
        assert (page.next_cursor is None) == (plain.next_cursor is None), shape
        pages.append(orjson.loads(page.items))
        cursor, json_cursor = plain.next_cursor, page.next_cursor
        if not json_cursor:
            return pages


@pytest.mark.parametrize("attribute", ["view", "n", "odd", "label", "missing"])
def test_query_json_is_query_page_by_page(table: Table, attribute: str) -> None:
    table.transact([Put(item("p", f"s#{i:03d}", n=i, odd=bool(i % 2), label=f"é]]{i}",
                             view={"n": i, "tags": ["a", None], "ok": i % 2 == 0,
                                   "nested": {"x": 1.5, "name": "Zé"}},
                             gsi1pk="G" if i % 5 else None, gsi1sk=f"k{i % 3}#{i:03d}"))
                    for i in range(25)])
    for shape in SHAPES:
        _json_pages(table, attribute, shape)
    assert _json_pages(table, attribute, {"prefix": "s#9"}) == [[]]
    pages = _json_pages(table, attribute, {"limit": 7})
    assert [len(p) for p in pages] == [7, 7, 7, 4]


def test_query_json_refuses_what_query_refuses(table: Table) -> None:
    with pytest.raises(ValueError):
        table.query_json("p", attribute="view", cursor="not-a-cursor!!")
    with pytest.raises(TableError):
        table.query_json("p", attribute="view') --", limit=1)


def test_query_json_follows_every_kind_of_write(table: Table) -> None:
    """An adapter that keeps an attribute apart keeps it in step with the item: new items
    (one and many), puts over them with keys kept or moved, versioned puts, the attribute
    gone, an item deleted."""
    def views(pk: str, index: str | None = "gsi1") -> list[object]:
        page = table.query_json(pk, index=index, attribute="view")
        assert orjson.loads(page.items) == [i.get("view") for i in table.query(
            pk, index=index).items]
        return orjson.loads(page.items)  # type: ignore[no-any-return]

    def row(sk: str, version: int | None, view: object, g: str = "A") -> dict[str, object]:
        found = item("w", sk, version, gsi1pk=g, gsi1sk=sk)  # type: ignore[arg-type]
        return found if view is None else {**found, "view": view}

    table.transact([Put(row("1", 1, {"n": 1}), must_not_exist=True),
                    Put(row("2", 1, {"n": 2}), must_not_exist=True)])
    table.transact([Put(row("3", 1, [3]), must_not_exist=True)])
    assert views("A") == [{"n": 1}, {"n": 2}, [3]]
    table.transact([Put(row("1", None, {"n": 10}))])  # keys as they were
    table.transact([Put(row("2", 2, "two"), expect_version=1)])
    table.transact([Put(row("3", 2, None), expect_version=1)])  # the attribute gone
    assert views("A") == [{"n": 10}, "two", None]
    table.transact([Put(row("1", None, {"n": 11}, "B"))])  # moved to another partition
    table.transact([Put(row("2", 3, 2.5, "B"), expect_version=2)])
    assert views("A") == [None] and views("B") == [{"n": 11}, 2.5]
    table.transact([Delete("w", "1"), Put(row("3", 3, True), expect_version=2)])
    assert views("A") == [True] and views("B") == [2.5]
    assert views("w", None) == [2.5, True]


def test_a_put_over_an_item_moves_it_between_indexes_as_its_keys_say(table: Table) -> None:
    def in_index(pk: str) -> list[object]:
        return [i["v"] for i in table.query(pk, index="gsi1").items]

    table.transact([Put(item("a", "1", v=1, gsi1pk="A", gsi1sk="x"))])
    table.transact([Put(item("a", "1", v=2, gsi1pk="A", gsi1sk="x"))])  # keys as they were
    assert in_index("A") == [2] and table.get("a", "1")["v"] == 2
    table.transact([Put(item("a", "1", v=3, gsi1pk="B", gsi1sk="x"))])
    assert in_index("A") == [] and in_index("B") == [3]
    table.transact([Put(item("a", "1", v=4))])  # out of the index altogether
    assert in_index("B") == [] and table.get("a", "1") == item("a", "1", v=4)


def test_a_versioned_put_moves_it_between_indexes_and_a_stale_one_changes_nothing(
        table: Table) -> None:
    def in_index(pk: str) -> list[object]:
        return [i["v"] for i in table.query(pk, index="gsi1").items]

    table.transact([Put(item("a", "1", 1, v=1, gsi1pk="A", gsi1sk="x"), must_not_exist=True)])
    table.transact([Put(item("a", "1", 2, v=2, gsi1pk="A", gsi1sk="x"), expect_version=1)])
    assert in_index("A") == [2]
    table.transact([Put(item("a", "1", 3, v=3, gsi1pk="B", gsi1sk="x"), expect_version=2)])
    assert in_index("A") == [] and in_index("B") == [3]
    with pytest.raises(ConditionFailed):  # stale, keys as stored
        table.transact([Put(item("a", "1", 3, v=9, gsi1pk="B", gsi1sk="x"), expect_version=2)])
    with pytest.raises(ConditionFailed):  # stale, keys that would move it
        table.transact([Put(item("a", "1", 3, v=9, gsi1pk="C", gsi1sk="x"), expect_version=2)])
    table.transact([Put(item("a", "1", 4, v=4), expect_version=3)])  # out of the index
    assert in_index("B") == [] and in_index("C") == []
    assert table.get("a", "1") == item("a", "1", 4, v=4)
    table.transact([Put(item("a", "1", 5, v=5, gsi1pk="A", gsi1sk="y"), expect_version=4)])
    assert in_index("A") == [5]


def test_bad_cursor_is_rejected(table: Table) -> None:
    with pytest.raises(ValueError):
        table.query("p", cursor="not-a-cursor!!")


def test_concurrent_conditional_writes_have_one_winner(table: Table) -> None:
    table.transact([Put(item("race", "1", 1))])
    wins, losses = [], []

    def bump(n: int) -> None:
        try:
            table.transact([Put(item("race", "1", 2, by=n), expect_version=1)])
            wins.append(n)
        except ConditionFailed:
            losses.append(n)

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7
    assert table.get("race", "1")["by"] == wins[0]


def test_any_text_round_trips_through_every_read(table: Table) -> None:
    """A NUL, a typed backslash-u and characters past the BMP come back as written, and a
    page that holds them is still read (PostgreSQL's JSON functions refuse an escaped NUL)."""
    texts = ["a\x00b", "\\u0000", "\\\x00", "\\udb40\\udc00", "\U000e0000", "Zé 🙂"]
    table.transact([Put(item("t", f"{n}", text=t, gsi1pk="T", gsi1sk=f"{n}", status="x"))
                    for n, t in enumerate(texts)])
    assert [table.get("t", f"{n}")["text"] for n in range(len(texts))] == texts
    assert [i["text"] for i in table.query("t").items] == texts
    assert orjson.loads(table.query_json("T", index="gsi1", attribute="text").items) == texts
    assert len(table.query("t", where=[Where("status", "=", "x")]).items) == len(texts)


def test_filters_compare_values_of_their_own_type(table: Table) -> None:
    table.transact([Put(item("f", "1", v=5)), Put(item("f", "2", v="5")),
                    Put(item("f", "3", v=True)), Put(item("f", "4", v=None)),
                    Put(item("f", "5", v=7.5)), Put(item("f", "6"))])

    def sks(*where: Where) -> list[str]:
        return [i["sk"] for i in table.query("f", where=list(where)).items]

    assert sks(Where("v", "=", 5)) == ["1"]
    assert sks(Where("v", "=", "5")) == ["2"]
    assert sks(Where("v", "=", True)) == ["3"]
    assert sks(Where("v", "exists")) == ["1", "2", "3", "5"]
    assert sks(Where("v", "not_exists")) == ["4", "6"]
    assert sks(Where("v", "!=", 5)) == ["2", "3", "4", "5", "6"]
    assert sks(Where("v", "in", [7.5, "5"])) == ["2", "5"]


def test_a_page_reads_the_items_along_it(table: Table) -> None:
    """``along``: the items a caller needs beside a page (a roster entry), as ``get_many``
    reads them, whatever the page holds, empty included; the page is the page without."""
    table.transact([Put(item("p", f"s#{i}", view={"n": i}, gsi1pk="G", gsi1sk=f"k{i}"))
                    for i in range(3)] + [Put(item("r", "entry", enabled=True))])
    keys = [("r", "entry"), ("r", "none"), ("p", "s#1")]
    found = table.get_many(keys)
    assert found[0] is not None and found[0]["enabled"] is True and found[1] is None
    page = table.query_json("p", attribute="view", limit=2, along=keys)
    assert orjson.loads(page.items) == [{"n": 0}, {"n": 1}] and page.next_cursor
    assert page.along == found
    for kw in ({"pk": "p", "limit": 2}, {"pk": "G", "index": "gsi1", "forward": False},
               {"pk": "nothing"}):
        pk = str(kw.pop("pk"))
        plain = table.query(pk, **kw)  # type: ignore[arg-type]
        with_items = table.query(pk, along=keys, **kw)  # type: ignore[arg-type]
        assert (with_items.items, with_items.next_cursor) == (plain.items, plain.next_cursor)
        assert (with_items.along, plain.along) == (found, [])
    empty = table.query_json("nothing", attribute="view", along=keys[:1])
    assert (orjson.loads(empty.items), empty.along) == ([], found[:1])
    assert table.query_json("p", attribute="view").along == []
