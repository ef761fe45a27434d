"""A service's view of a request (shared.projection): its snapshot validated once per
stored JSON, and shared only between reads of equal JSON."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.messages import Party, RequestSnapshot
from shared.projection import RequestView, view_of


def _item(assignee: str | None, version: int = 4) -> dict[str, object]:
    snapshot = RequestSnapshot(
        version=version, status="in_service", service_id="s1", service_name="Certidão",
        org="pref", unit="saude", citizen=Party(sub="c1", name="Carla"),
        assignee=Party(sub=assignee, name="Bruno") if assignee else None)
    return {"pk": "REQ#r1", "sk": "VIEW", "version": version,
            "request": snapshot.model_dump(mode="json")}


def test_equal_stored_views_share_one_frozen_snapshot_and_a_changed_one_is_read_anew(
        ) -> None:
    first = view_of(_item("bruno"), "r1", RequestView)
    again = view_of(_item("bruno"), "r1", RequestView)
    assert again.snapshot is first.snapshot and again is not first
    with pytest.raises(ValidationError):
        first.snapshot.status = "concluded"  # type: ignore[misc]
    # The same version with other content (a test's hand-made event, a repaired row):
    # what the table holds decides, not the version.
    other = view_of(_item("caio"), "r1", RequestView)
    assert other.assignee is not None and other.assignee.sub == "caio"
    assert first.assignee is not None and first.assignee.sub == "bruno"
    assert view_of(_item(None), "r2", RequestView).id == "r2"
