"""The table port on DynamoDB: one table per service, four sparse GSIs, transactions with
TransactWriteItems. Table definitions live in infra/template.yaml only; this module never
creates tables (``atende ops create`` and the tests do, from the template)."""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.settings import Settings
from shared.tables import (
    INDEXES,
    Check,
    ConditionFailed,
    Delete,
    Item,
    JsonPage,
    Page,
    Put,
    TableError,
    Where,
    Write,
    attribute_name,
    attribute_page,
    decode_cursor,
    encode_cursor,
    key_columns,
)

_COMPARE = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_INDEX_KEYS = frozenset(f"{i}{k}" for i in INDEXES for k in ("pk", "sk"))
_TOP = "\U0010ffff"  # sorts after every character: the end of a prefix range
_CONFLICT_RETRIES = 4
_BATCH_GET = 100  # keys BatchGetItem takes in one request
# Items a filtered query reads at most per call (or its limit + 1, if more): about one
# DynamoDB page of small items.
READ_BUDGET = 1000


# Partitions that take a write from every command or event of a service, forever: the
# outbox (shared/outbox.py), the consumers' applied markers and delivery counts
# (shared/consumer.py) and the idempotency records (shared/http.py). One DynamoDB partition
# key is served by one partition (about 1,000 writes/s), so each of these is spread over
# physical keys, "<pk>#<n>" by a hash of the sort key. The port still sees one partition:
# a query of it merges the shards in sort-key order. The outbox has fewer shards than the
# others: the scheduler's sweep reads every shard of every outbox each minute, and four
# already carry the commands a second docs/aws.md gives. Changing a count moves that
# partition's items to other keys: a deployment drains them first.
SHARDS = {"OUTBOX": 4, "APPLIED": 16, "IDEM": 16}
HOT = frozenset(SHARDS)
# Records that only guard against repeats expire (DynamoDB deletes an item within a day or
# two of its ``expires_at``, TimeToLiveSpecification in infra/template.yaml). A message
# lives at most 14 days in a queue and 14 more in its dead-letter queue (SQS's cap, the
# template's retention), so a dead letter replayed at the very end still finds the marker
# of a delivery that was applied: 30 days covers the longest redelivery window. An
# idempotency key is retried within minutes; it gets the same.
EXPIRING = frozenset({"APPLIED", "IDEM"})
TTL_ATTRIBUTE = "expires_at"
TTL_SECONDS = 30 * 86_400


_readers: list[ThreadPoolExecutor] = []
_readers_lock = threading.Lock()


def _shard_readers() -> ThreadPoolExecutor:
    """Threads that read a hot partition's shards at once: one after the other, a query
    would wait out a round trip per shard (the scheduler's sweep, four tables of them).
    botocore's clients are thread-safe, their connection pools large enough
    (shared/aws.py)."""
    with _readers_lock:
        if not _readers:
            _readers.append(ThreadPoolExecutor(max(SHARDS.values()),
                                               thread_name_prefix="shard-read"))
        return _readers[0]


def physical_pk(pk: str, sk: str) -> str:
    if pk not in HOT:
        return pk
    return f"{pk}#{zlib.crc32(sk.encode()) % SHARDS[pk]:x}"


def logical_pk(pk: str) -> str:
    base, sep, shard = pk.rpartition("#")
    return base if sep and base in HOT and len(shard) == 1 else pk


def _cursor_at(key: dict[str, Any], scol: str, index: str | None) -> str:
    """The cursor after a LastEvaluatedKey: the next page starts past it."""
    values = [key[scol]["S"], key["pk"]["S"], key["sk"]["S"]] if index else [key["sk"]["S"]]
    return encode_cursor(values)


def table_name(settings: Settings, service: str) -> str:
    return f"{settings.table_prefix}-{settings.environment}-{service}"


def dynamodb_tables(settings: Settings, services: Iterable[str]) -> dict[str, DynamoTable]:
    from shared.aws import client

    dynamodb = client(settings, "dynamodb")
    return {s: DynamoTable(dynamodb, table_name(settings, s)) for s in services}


# --- values ------------------------------------------------------------------------


def to_attr(value: Any) -> dict[str, Any]:
    """Python → DynamoDB JSON. Floats go through Decimal(repr) so 0.1 stays 0.1."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TableError("DynamoDB cannot store NaN or infinity")
        return {"N": str(Decimal(repr(value)))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, dict):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise TableError(f"cannot store a {type(value).__name__}")


def from_attr(attr: dict[str, Any]) -> Any:
    """DynamoDB JSON → Python; numbers come back as int when integral, else float."""
    (kind, value), = attr.items()
    if kind == "S" or kind == "B" or kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind in ("SS", "BS"):
        return list(value)
    if kind == "NS":
        return [from_attr({"N": v}) for v in value]
    raise TableError(f"unknown attribute type {kind}")


def to_item(item: Item) -> dict[str, Any]:
    # An index key that is None means "not in that index": DynamoDB refuses a NULL key.
    raw = {k: to_attr(v) for k, v in item.items() if not (v is None and k in _INDEX_KEYS)}
    pk = item.get("pk")
    if pk in HOT:
        raw["pk"] = {"S": physical_pk(pk, item["sk"])}
        if pk in EXPIRING:
            raw[TTL_ATTRIBUTE] = {"N": str(int(time.time()) + TTL_SECONDS)}
    return raw


def from_item(raw: dict[str, Any]) -> Item:
    """An item as the port sees it: its logical partition key, no expiry attribute."""
    item = {k: from_attr(v) for k, v in raw.items()}
    pk = item.get("pk")
    if isinstance(pk, str) and (logical := logical_pk(pk)) != pk:
        item["pk"] = logical
        if logical in EXPIRING:
            item.pop(TTL_ATTRIBUTE, None)
    return item


class _Expr:
    """Builds an expression's placeholders (#n0, :v0) so no attribute name or value is
    ever spliced into the expression text."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attr: str) -> str:
        if not attr or not attr.replace("_", "").isalnum():
            raise TableError(f"bad attribute name {attr!r}")
        key = f"#n{len(self.names)}"
        self.names[key] = attr
        return key

    def value(self, value: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = to_attr(value)
        return key

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


def _filter(e: _Expr, c: Where) -> str:
    """One ``Where`` as a FilterExpression with ``shared.tables.matches`` semantics: a NULL
    attribute counts as missing."""
    n = e.name(c.attr)
    missing = f"(attribute_not_exists({n}) OR attribute_type({n}, :null))"
    e.values[":null"] = {"S": "NULL"}
    if c.op == "not_exists" or (c.op == "=" and c.value is None):
        return missing
    if c.op == "exists" or (c.op == "!=" and c.value is None):
        return f"NOT {missing}"
    if c.op == "in":
        return f"{n} IN ({', '.join(e.value(v) for v in c.value)})"
    if c.op == "!=":
        return f"({missing} OR {n} <> {e.value(c.value)})"
    return f"{n} {_COMPARE[c.op]} {e.value(c.value)}"


class DynamoTable:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    # --- reads --------------------------------------------------------------------

    def get(self, pk: str, sk: str) -> Item | None:
        resp = self._call("get_item", TableName=self.name, ConsistentRead=True,
                          Key={"pk": {"S": physical_pk(pk, sk)}, "sk": {"S": sk}})
        raw = resp.get("Item")
        return from_item(raw) if raw else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        """BatchGetItem, strongly consistent as ``get``, a request per 100 distinct keys;
        what it leaves unprocessed (throttled) is asked for again."""
        wanted = list(dict.fromkeys(keys))  # it refuses a key asked twice
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(wanted), _BATCH_GET):
            todo: list[dict[str, Any]] = [
                {"pk": {"S": physical_pk(pk, sk)}, "sk": {"S": sk}}
                for pk, sk in wanted[start:start + _BATCH_GET]]
            for attempt in range(_CONFLICT_RETRIES + 8):
                resp = self._call("batch_get_item", RequestItems={
                    self.name: {"Keys": todo, "ConsistentRead": True}})
                for raw in resp.get("Responses", {}).get(self.name, []):
                    item = from_item(raw)
                    found[item["pk"], item["sk"]] = item
                todo = resp.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
                if not todo:
                    break
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            else:
                raise TableError("DynamoDB kept leaving keys of a batch get unprocessed")
        return [found.get(key) for key in keys]

    def scan(self, prefix: str, sk: str | None = None) -> Iterator[Item]:
        test = "begins_with(pk, :p)" + (" AND sk = :s" if sk is not None else "")
        values = {":p": {"S": prefix}, **({":s": {"S": sk}} if sk is not None else {})}
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.name, ConsistentRead=True, FilterExpression=test,
            ExpressionAttributeValues=values)
        for page in pages:
            yield from (from_item(raw) for raw in page["Items"])

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        prefix: str | None = None,
        start: str | None = None,
        end: str | None = None,
        forward: bool = True,
        limit: int = 100,
        cursor: str | None = None,
        where: Sequence[Where] = (),
        along: Sequence[tuple[str, str]] = (),
    ) -> Page:
        query = {"prefix": prefix, "start": start, "end": end, "forward": forward,
                 "limit": limit, "cursor": cursor, "where": where}
        found = self.get_many(along) if along else []
        if index is None and pk in HOT:
            page = self._query_shards(pk, **query)  # type: ignore[arg-type]
        else:
            page = self._query(pk, index=index, **query)  # type: ignore[arg-type]
        page.along = found
        return page

    def _query_shards(self, pk: str, *, forward: bool, limit: int, cursor: str | None,
                      **query: Any) -> Page:
        """A hot partition's page: each shard's page from the same cursor, merged in
        sort-key order. Every item of a shard before its page's last one was read; a shard
        whose read budget ran out may hold unread items past where it stopped, so the merged
        page ends there."""
        def shard(n: int) -> Page:
            return self._query(f"{pk}#{n:x}", index=None, forward=forward, limit=limit,
                               cursor=cursor, budget=max(limit + 1, READ_BUDGET // SHARDS[pk]),
                               **query)

        pages = list(_shard_readers().map(shard, range(SHARDS[pk])))
        items = sorted((i for p in pages for i in p.items), key=lambda i: i["sk"],
                       reverse=not forward)
        stops = [decode_cursor(p.next_cursor)[0] for p in pages
                 if p.next_cursor and len(p.items) < limit]
        if stops:
            stop = min(stops) if forward else max(stops)
            items = [i for i in items if (i["sk"] <= stop if forward else i["sk"] >= stop)]
        more = len(items) > limit or any(p.next_cursor for p in pages)
        items = items[:limit]
        if not more:
            return Page(items)
        if len(items) == limit or not stops:
            return Page(items, encode_cursor([items[-1]["sk"]]) if items else None)
        return Page(items, encode_cursor([stop]))

    def _query(self, pk: str, *, index: str | None, prefix: str | None, start: str | None,
               end: str | None, forward: bool, limit: int, cursor: str | None,
               where: Sequence[Where], budget: int | None = None) -> Page:
        pcol, scol = key_columns(index)
        start_key = self._start_key(pk, pcol, scol, index, cursor)
        if any(c.op == "in" and not c.value for c in where):
            return Page([])  # "in ()" matches nothing; DynamoDB would reject the syntax
        lo, hi = start, end
        if prefix is not None:
            lo = max(lo, prefix) if lo is not None else prefix
            hi = min(hi, prefix + _TOP) if hi is not None else prefix + _TOP
        if lo is not None and hi is not None and lo > hi:
            return Page([])  # BETWEEN with lo > hi is a ValidationException
        e = _Expr()
        key_expr = f"{e.name(pcol)} = {e.value(pk)}"
        if prefix is not None and start is None and end is None:
            key_expr += f" AND begins_with({e.name(scol)}, {e.value(prefix)})"
        elif lo is not None and hi is not None:
            key_expr += f" AND {e.name(scol)} BETWEEN {e.value(lo)} AND {e.value(hi)}"
        elif lo is not None:
            key_expr += f" AND {e.name(scol)} >= {e.value(lo)}"
        elif hi is not None:
            key_expr += f" AND {e.name(scol)} <= {e.value(hi)}"
        kwargs: dict[str, Any] = {"TableName": self.name, "KeyConditionExpression": key_expr,
                                  "ScanIndexForward": forward}
        if where:
            kwargs["FilterExpression"] = " AND ".join(_filter(e, c) for c in where)
        if index:
            kwargs["IndexName"] = index
        else:
            kwargs["ConsistentRead"] = True  # GSIs cannot; the base table can, so it does
        kwargs.update(e.kwargs())
        # One item past the page tells whether there is a next page. DynamoDB applies Limit
        # before the filter, so with a filter read wider pages and keep going, but never
        # past READ_BUDGET items read: a filter that matches little in a large partition
        # would otherwise read all of it in one call. Then the page is short (empty, even)
        # and its cursor is where the reading stopped.
        items: list[Item] = []
        budget = budget or max(limit + 1, READ_BUDGET)
        while len(items) <= limit:
            want = limit + 1 - len(items)
            kwargs["Limit"] = min(1000, max(want * 4, 50), budget) if where else want
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            resp = self._call("query", **kwargs)
            items += [from_item(raw) for raw in resp.get("Items", [])]
            budget -= resp.get("ScannedCount", 0)
            start_key = resp.get("LastEvaluatedKey")
            if not start_key:
                break
            if budget <= 0 and len(items) <= limit:
                return Page(items, _cursor_at(start_key, scol, index))
        more = len(items) > limit
        items = items[:limit]
        next_cursor = None
        if more and items:
            last = items[-1]
            next_cursor = encode_cursor([last[scol], last["pk"], last["sk"]] if index
                                        else [last["sk"]])
        return Page(items, next_cursor)

    def query_json(self, pk: str, *, attribute: str, **query: Any) -> JsonPage:
        attribute_name(attribute)  # before reading, as the SQLite adapter does
        page = self.query(pk, **query)
        return attribute_page(page, attribute, page.along)

    @staticmethod
    def _start_key(pk: str, pcol: str, scol: str, index: str | None,
                   cursor: str | None) -> dict[str, Any] | None:
        if not cursor:
            return None
        key = decode_cursor(cursor)
        if len(key) != (3 if index else 1):
            raise ValueError("invalid cursor")
        if index:
            return {pcol: {"S": pk}, scol: {"S": key[0]}, "pk": {"S": key[1]},
                    "sk": {"S": key[2]}}
        return {"pk": {"S": pk}, "sk": {"S": key[0]}}

    # --- writes -------------------------------------------------------------------

    def transact(self, writes: Sequence[Write], *, durable: bool = True) -> None:
        # ``durable`` changes nothing: DynamoDB answers once a write is replicated.
        ops = _merge(writes)
        if len(ops) == 1:
            self._single(ops[0])
            return
        if len(ops) > 100:
            raise TableError("a transaction holds at most 100 items on DynamoDB")
        items = [self._request(o) for o in ops]
        for attempt in range(_CONFLICT_RETRIES + 1):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except Exception as exc:  # botocore's ClientError, imported lazily
                code, reasons = _error(exc)
                if code != "TransactionCanceledException":
                    raise TableError(f"{code}: {exc}") from exc
                failed = [n for n, r in enumerate(reasons)
                          if r.get("Code") == "ConditionalCheckFailed"]
                if failed:
                    raise ConditionFailed(ops[failed[0]].origin) from None
                if not any(r.get("Code") == "TransactionConflict" for r in reasons):
                    raise TableError(f"transaction cancelled: {reasons}") from exc
                # Another transaction held one of the items: retry after a short jitter; if
                # it changed our items, our conditions now fail, as they should.
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise TableError("transaction kept conflicting with concurrent ones")

    def _single(self, op: _Op) -> None:
        """One write needs no transaction (half the cost): a conditional put or delete."""
        if op.kind == "ConditionCheck":
            if not op.holds(self.get(op.pk, op.sk)):
                raise ConditionFailed(op.origin)
            return
        method = "put_item" if op.kind == "Put" else "delete_item"
        try:
            getattr(self.client, method)(**self._request(op)[op.kind])
        except Exception as exc:
            code, _ = _error(exc)
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed(op.origin) from None
            raise TableError(f"{code}: {exc}") from exc

    def _request(self, op: _Op) -> dict[str, Any]:
        e = _Expr()
        body: dict[str, Any] = {"TableName": self.name}
        if op.kind == "Put":
            body["Item"] = to_item(op.item or {})
        else:
            body["Key"] = {"pk": {"S": physical_pk(op.pk, op.sk)}, "sk": {"S": op.sk}}
        parts = []
        if op.must_not_exist:
            parts.append(f"attribute_not_exists({e.name('pk')})")
        if op.must_exist:
            parts.append(f"attribute_exists({e.name('pk')})")
        if op.expect_version is not None:
            parts.append(f"{e.name('version')} = {e.value(op.expect_version)}")
        if op.kind == "ConditionCheck" and not parts:
            n = e.name("pk")  # a check with no condition: always true
            parts.append(f"(attribute_exists({n}) OR attribute_not_exists({n}))")
        if parts:
            body["ConditionExpression"] = " AND ".join(parts)
            body.update(e.kwargs())
        return {op.kind: body}

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except Exception as exc:
            code, _ = _error(exc)
            if code is None:
                raise
            raise TableError(f"{code}: {exc}") from exc


def _error(exc: Exception) -> tuple[str | None, list[dict[str, Any]]]:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, []
    return response.get("Error", {}).get("Code"), response.get("CancellationReasons", [])


@dataclass
class _Op:
    """One DynamoDB operation: what the port's writes on one item fold into."""

    kind: str  # "Put", "Delete" or "ConditionCheck"
    pk: str
    sk: str
    origin: int  # index of the port write it reports a failed condition as
    item: Item | None = None
    expect_version: int | None = None
    must_exist: bool = False
    must_not_exist: bool = False

    def holds(self, current: Item | None) -> bool:
        exists = current is not None
        return not ((self.must_not_exist and exists) or (self.must_exist and not exists)
                    or (self.expect_version is not None
                        and (current is None or current.get("version") != self.expect_version)))


def _as_op(n: int, w: Write) -> _Op:
    if isinstance(w, Put):
        pk, sk = w.item.get("pk"), w.item.get("sk")
        if not (isinstance(pk, str) and pk and isinstance(sk, str) and sk):
            raise TableError("an item needs non-empty string pk and sk")
        return _Op("Put", pk, sk, n, w.item, w.expect_version, False, w.must_not_exist)
    if isinstance(w, Delete):
        return _Op("Delete", w.pk, w.sk, n, None, w.expect_version)
    if isinstance(w, Check):
        return _Op("ConditionCheck", w.pk, w.sk, n, None, w.expect_version, w.must_exist,
                   w.must_not_exist)
    raise TableError(f"unknown write {w!r}")


def _merge(writes: Sequence[Write]) -> list[_Op]:
    """DynamoDB refuses two operations on one item in a transaction; the port allows them
    and applies them in order. Fold each item's operations into one: the conditions before
    the item's first write go to DynamoDB; later ones are checked here against what the
    earlier writes leave (a ConditionFailed with that write's index if they fail)."""
    folded: dict[tuple[str, str], _Op] = {}
    state: dict[tuple[str, str], Item | None] = {}  # what a write in this batch leaves
    for n, w in enumerate(writes):
        op = _as_op(n, w)
        key = (op.pk, op.sk)
        prior = folded.get(key)
        if prior is None:
            folded[key] = op
            if op.kind != "ConditionCheck":
                state[key] = op.item
            continue
        if key in state:  # an earlier write in this batch decides the condition
            if not op.holds(state[key]):
                raise ConditionFailed(n)
        else:  # only checks so far: both conditions go to DynamoDB together
            if (op.expect_version is not None and prior.expect_version is not None
                    and op.expect_version != prior.expect_version):
                raise ConditionFailed(n)
            prior.expect_version = prior.expect_version if op.expect_version is None \
                else op.expect_version
            prior.must_exist |= op.must_exist
            prior.must_not_exist |= op.must_not_exist
        if op.kind != "ConditionCheck":
            prior.kind, prior.item = op.kind, op.item
            state[key] = op.item
    return list(folded.values())
