"""The statements of the PostgreSQL table adapter's queries: a page is one range scan of the
table's primary key or of an index, cut by LIMIT, whatever the table's size.

Key columns are ``text COLLATE "C"``: byte order of UTF-8, which is code point order, the
order SQLite and DynamoDB give and the one cursors and prefix ranges assume. Bodies are
``json`` (the text as written), not ``jsonb``: jsonb refuses the NUL character, which a
citizen's text may carry, and would hand back its objects with their keys reordered.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from shared.tables import (
    TableError,
    Where,
    attribute_name,
    key_columns,
    key_range_args,
    key_range_sql,
)

_COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}

# A query's shape (its values are parameters): index, prefix?, start?, end?, cursor?,
# forward, and each filter's (attribute, operator, value kinds).
Shape = tuple[str | None, bool, bool, bool, bool, bool, tuple[tuple[str, str, tuple[str, ...]],
                                                              ...]]


def range_args(pk: str, index: str | None = None, prefix: str | None = None,
               start: str | None = None, end: str | None = None, forward: bool = True,
               cursor: str | None = None, where: Sequence[Where] = ()
               ) -> tuple[list[Any], Shape]:
    """A range query's parameters (but its limit) and its shape, which names its SQL."""
    args, key = key_range_args(pk, index, prefix, start, end, cursor)
    shape: list[tuple[str, str, tuple[str, ...]]] = []
    for cond in where:
        kinds, params = _where_params(cond)
        shape.append((attribute_name(cond.attr), cond.op, kinds))
        args += params
    if index is not None:
        key_columns(index)  # refuses an unknown index before any SQL is built
    return args, (index, prefix is not None, start is not None, end is not None, bool(key),
                  forward, tuple(shape))


@functools.lru_cache(maxsize=512)
def page_sql(table: str, select: str, index: str | None, prefix: bool, start: bool,
             end: bool, cursor: bool, forward: bool,
             where: tuple[tuple[str, str, tuple[str, ...]], ...]) -> str:
    """``select`` then the order columns of up to LIMIT rows (the last parameter), in order."""
    pcol, scol = key_columns(index)
    order_cols = [scol, "pk", "sk"] if index else ["sk"]
    keys, order = key_range_sql(scol, order_cols, prefix, start, end, cursor, forward, "%s")
    sql = [f'SELECT {select}, {", ".join(order_cols)} FROM "{table}" WHERE {pcol} = %s',
           *keys, *("AND " + _where_sql(attr, op, kinds) for attr, op, kinds in where),
           order, "LIMIT %s"]
    return " ".join(sql)


# --- filters ---------------------------------------------------------------------------
#
# The reference semantics are ``shared.tables.matches``: a missing attribute and a JSON
# null are both "absent"; a value equals only a value of its own JSON type.


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict | list):
        return "json"
    raise TableError(f"cannot filter on a {type(value).__name__}")


def _param(value: Any) -> Any:
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _where_params(cond: Where) -> tuple[tuple[str, ...], list[Any]]:
    if cond.op in ("exists", "not_exists"):
        return (), []
    values = list(cond.value) if cond.op == "in" else [cond.value]
    if cond.op in _COMPARE and _kind(cond.value) not in ("string", "number"):
        raise TableError(f"cannot order by a {_kind(cond.value)}")
    kinds = tuple(_kind(v) for v in values)
    return kinds, [_param(v) for v, k in zip(values, kinds, strict=True) if k != "null"]


def _typeof(attr: str) -> str:
    return f"coalesce(json_typeof(body -> '{attr}'), 'null')"


def _eq(attr: str, kind: str) -> str:
    text = f"(body ->> '{attr}')"
    if kind == "null":
        return f"{_typeof(attr)} = 'null'"
    if kind == "string":
        return f"({_typeof(attr)} = 'string' AND {text} = %s)"
    if kind == "number":
        # CASE, not AND: SQL does not promise to test the type before the cast.
        return f"(CASE WHEN {_typeof(attr)} = 'number' THEN {text}::numeric = %s ELSE false END)"
    if kind == "boolean":
        return f"({_typeof(attr)} = 'boolean' AND {text} = %s)"
    return f"({_typeof(attr)} IN ('object', 'array') AND (body -> '{attr}')::jsonb = %s::jsonb)"


def _where_sql(attr: str, op: str, kinds: tuple[str, ...]) -> str:
    if op == "exists":
        return f"{_typeof(attr)} <> 'null'"
    if op == "not_exists":
        return f"{_typeof(attr)} = 'null'"
    if op == "=":
        return _eq(attr, kinds[0])
    if op == "!=":
        return f"NOT {_eq(attr, kinds[0])}"
    if op == "in":
        return "(" + " OR ".join(_eq(attr, k) for k in kinds) + ")" if kinds else "false"
    if op not in _COMPARE:
        raise TableError(f"unknown operator {op}")
    if kinds[0] == "string":
        return (f"({_typeof(attr)} = 'string' AND "
                f"(body ->> '{attr}') COLLATE \"C\" {_COMPARE[op]} %s)")
    return (f"(CASE WHEN {_typeof(attr)} = 'number' "
            f"THEN (body ->> '{attr}')::numeric {_COMPARE[op]} %s ELSE false END)")
