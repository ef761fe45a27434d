"""``atende ops``: one module per job, each reading and writing through the table port and
finding the services through their declarations (``infra.services``).

- ``create``: an environment's tables, queues and bucket (or the PostgreSQL schema);
- ``dead_letters``: list and replay dead letters on whichever broker is configured;
- ``lag``: the outbox's lag per table;
- ``queues``: the RabbitMQ queues' types (events' and jobs' own), and their move to quorum
  queues;
- ``reproject``: re-run the request projections and the roster's copies from the
  requests store.

``command`` holds the CLI and its dispatch table.
"""

from __future__ import annotations

from infra.ops.command import add_parser, check_data_dir, run
from infra.ops.create import create
from infra.ops.dead_letters import DeadLetter, dead_letters, replay
from infra.ops.lag import lag
from infra.ops.reproject import Reprojection, RosterCopy, reproject, reproject_roster

__all__ = ["DeadLetter", "Reprojection", "RosterCopy", "add_parser", "check_data_dir",
           "create", "dead_letters", "lag", "replay", "reproject", "reproject_roster", "run"]
