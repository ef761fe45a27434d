"""``If-Match`` as the handlers receive it: parsed once at the edge, the same for the 412
check and for waiting on a lagging view."""

from __future__ import annotations

import pytest

from shared.errors import PreconditionFailed
from shared.preconditions import ANY, Expected


@pytest.mark.parametrize("header", [None, "*", '"3"', 'W/"3"', '"2", "3"', '"9", *'])
def test_a_header_naming_the_current_version_or_any_lets_the_command_run(
        header: str | None) -> None:
    Expected.parse(header).check(3)


@pytest.mark.parametrize("header", ['"2"', 'W/"4"', '"abc"', "", '"03"'])
def test_a_header_naming_another_version_is_refused(header: str) -> None:
    with pytest.raises(PreconditionFailed):
        Expected.parse(header).check(3)


def test_no_header_is_any_version() -> None:
    assert Expected.parse(None) == ANY and ANY.newest is None
