"""The followups service's own collaborators, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from shared.mail import Mailer, mailer_from
from shared.settings import Settings


@dataclass
class FollowupsDeps:
    mailer: Mailer


def build(settings: Settings) -> FollowupsDeps:
    return FollowupsDeps(mailer_from(settings))
