"""The roster rules every service applies (shared.roster), on a table of its own."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import AttendantNotEnabled, ConflictOfInterest
from shared.identity import Principal
from shared.messages import Party, RosterChanged
from shared.roster import apply_roster, forbid_own, get_entry, require_enabled


class Rows:
    """A table's get and a unit of work's put, over a dict; puts checked as the port does."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def put(self, item: dict[str, Any], *, expect_version: int | None = None,
            new: bool = False) -> None:
        current = self.items.get((item["pk"], item["sk"]))
        assert (current is None) if new else (current["version"] == expect_version)
        self.items[(item["pk"], item["sk"])] = item


def _entry(rows: Rows, *, enabled: bool = True, unit: str = "saude", version: int = 1,
           sub: str = "ana") -> bool:
    return apply_roster(rows, RosterChanged(attendant=Party(sub=sub, name="Ana"), org="pref",
                                            unit=unit, enabled=enabled, version=version))


def _who(*roles: str, org: str | None = "pref", unit: str | None = "saude") -> Principal:
    return Principal(sub="ana", name="Ana", roles=roles, org=org, unit=unit)


def test_an_enabled_attendant_of_the_token_unit_acts_as_such() -> None:
    rows = Rows()
    _entry(rows)
    who = _who("attendant")
    assert require_enabled(who, rows) is who


@pytest.mark.parametrize("entry", [None, {"enabled": False}, {"unit": "obras"}])
def test_an_attendant_not_enabled_for_the_token_unit_is_refused(entry: Any) -> None:
    rows = Rows()
    if entry is not None:
        _entry(rows, **entry)
    with pytest.raises(AttendantNotEnabled) as err:
        require_enabled(_who("attendant"), rows)
    assert (err.value.status, err.value.code) == (403, "attendant_not_enabled")


def test_a_token_without_org_or_unit_is_never_enabled() -> None:
    rows = Rows()
    _entry(rows)
    for who in (_who("attendant", org=None), _who("attendant", unit=None)):
        with pytest.raises(AttendantNotEnabled):
            require_enabled(who, rows)


@pytest.mark.parametrize("other", ["registrar", "citizen"])
def test_without_the_roster_other_roles_remain(other: str) -> None:
    got = require_enabled(_who("attendant", other), Rows())
    assert got.roles == (other,) and got.sub == "ana"


def test_callers_without_the_attendant_role_are_not_looked_up() -> None:
    class Nothing:
        def get(self, pk: str, sk: str) -> None:
            raise AssertionError("looked up")

    for who in (_who("registrar"), _who("citizen", org=None, unit=None)):
        assert require_enabled(who, Nothing()) is who


def test_staff_on_their_own_request_is_a_conflict_of_interest() -> None:
    for roles in (("attendant",), ("registrar",), ("citizen", "attendant")):
        with pytest.raises(ConflictOfInterest) as err:
            forbid_own(_who(*roles), "ana")
        assert (err.value.status, err.value.code) == (403, "conflict_of_interest")
    forbid_own(_who("citizen"), "ana")  # a citizen on their own request: their business
    forbid_own(_who("attendant"), "beto")


def test_the_newest_copy_wins_whatever_the_order() -> None:
    rows = Rows()
    assert _entry(rows, enabled=True, version=2)
    assert not _entry(rows, enabled=False, version=1)  # older, late
    assert not _entry(rows, enabled=True, version=2)  # a repeat
    assert get_entry(rows, "pref", "ana")["enabled"] is True
    assert _entry(rows, enabled=False, version=3)
    assert get_entry(rows, "pref", "ana")["enabled"] is False
