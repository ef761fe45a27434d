"""The reviews service's own metrics, in the process's registry beside the kernel's."""

from __future__ import annotations

from collections.abc import Sequence

from shared.metrics import counter

# A reason is one of the screening's flags (screening.FLAG_ORDER), never the text.
SCREENING = counter("atende_screening", "Review comments screened, by outcome and reason",
                    ["outcome", "reason"])


def count_screening(flags: Sequence[str]) -> None:
    """A screened comment: flagged (once per reason) or passed on to moderation."""
    for reason in flags:
        SCREENING.labels("flagged", reason).inc()
    if not flags:
        SCREENING.labels("pending", "none").inc()
