"""The ``atende ops`` command line: its parser and a table from subcommand to job."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from infra.ops.create import create
from infra.ops.dead_letters import dead_letters, replay
from infra.ops.lag import lag
from infra.ops.queues import migrate, queue_states
from infra.ops.reproject import SOURCE, reproject, reproject_roster
from infra.ops.stores import projecting
from shared.settings import Settings


def add_parser(sub: Any) -> None:
    ops = sub.add_parser("ops", help="operations: create, dead letters, outbox lag, "
                                     "queues, reproject")
    cmds = ops.add_subparsers(dest="ops_command", required=True)
    for name, text in (("create", "create the tables, queues and bucket (AWS), or the "
                                  "PostgreSQL schema (ATENDE_TABLE_BACKEND=postgres)"),
                       ("dead-letters", "list dead letters"),
                       ("replay", "replay dead letters (all, or --id ...)"),
                       ("lag", "outbox lag per table"),
                       ("queues", "RabbitMQ: each event queue's type (quorum or classic); "
                                  "--migrate moves classic queues to quorum queues, with "
                                  "the workers and HTTP servers stopped"),
                       ("reproject", "rebuild the request projections of followups, meetings "
                                     "and reviews, and the panel rows of requests, from the "
                                     "requests store")):
        p = cmds.add_parser(name, help=text)
        p.add_argument("--data-dir")
        p.add_argument("--environment", help="overrides ATENDE_ENVIRONMENT")
        if name == "replay":
            p.add_argument("--id", action="append", dest="ids")
        if name == "queues":
            p.add_argument("--migrate", action="store_true")
        if name == "reproject":
            p.add_argument("service", choices=[*projecting(), SOURCE, "all", "roster"],
                           help="roster: copy the roster into followups, meetings and "
                                "reviews (a store from before they kept one)")
            p.add_argument("--request", action="append", dest="requests",
                           help="only this request (repeatable); default: every request")
            p.add_argument("--dry-run", action="store_true",
                           help="count what would be written, write nothing")


def check_data_dir(args: Any) -> None:
    """An ops command reads a platform's data: a --data-dir that does not exist is a
    mistyped path, refused rather than created empty (and then reported as "nothing")."""
    from pathlib import Path

    from infra.process import OperatorError

    given = getattr(args, "data_dir", None)
    if given and not Path(given).is_dir():
        raise OperatorError(f"data directory {given} does not exist: give the folder the "
                            f"platform runs on (`atende dev` uses ./var by default)")


def _create(args: Any, settings: Settings) -> None:
    made = create(settings)
    for line in made:
        print(f"created {line}")
    if not made:
        print("nothing to create: everything is in place")


def _dead_letters(args: Any, settings: Settings) -> None:
    for d in dead_letters(settings):
        print(json.dumps(asdict(d)))


def _replay(args: Any, settings: Settings) -> None:
    print(f"replayed {replay(settings, args.ids)}")


def _lag(args: Any, settings: Settings) -> None:
    print(json.dumps(lag(settings), indent=2))


def _queues(args: Any, settings: Settings) -> None:
    for state in (migrate if args.migrate else queue_states)(settings):
        print(json.dumps(asdict(state)))


def _reproject(args: Any, settings: Settings) -> None:
    if args.service == "roster":
        for copy in reproject_roster(settings, dry_run=args.dry_run):
            print(json.dumps(asdict(copy)))
        return
    services = (*projecting(), SOURCE) if args.service == "all" else (args.service,)
    for done in reproject(settings, services, args.requests, dry_run=args.dry_run):
        print(json.dumps(asdict(done)))


JOBS: dict[str, Callable[[Any, Settings], None]] = {
    "create": _create,
    "dead-letters": _dead_letters,
    "replay": _replay,
    "lag": _lag,
    "queues": _queues,
    "reproject": _reproject,
}


def run(args: Any, settings: Settings) -> int:
    if args.environment:
        settings = settings.model_copy(update={"environment": args.environment})
    JOBS[args.ops_command](args, settings)
    return 0
