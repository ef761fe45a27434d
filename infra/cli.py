"""The ``atende`` command."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from shared.identity import no_identity_provider
from shared.settings import Settings


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from infra.process import OperatorError
    from shared.settings import problem_line

    if getattr(args, "data_dir", None):
        os.environ["ATENDE_DATA_DIR"] = str(args.data_dir)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise OperatorError(problem_line(exc)) from None
    except SettingsError as exc:  # a list setting that is not JSON, for one
        raise OperatorError(str(exc).splitlines()[0]) from None


def _console_settings(args: argparse.Namespace) -> Settings:
    """The development login exists under `atende dev` only, and only while no identity
    provider is configured; any other command turns it off whatever the environment."""
    if args.command != "dev":
        return _settings(args, console_dev_login=False)
    settings = _settings(args, console_dev_login=False)
    return settings if settings.oidc_configured else _settings(args, console_dev_login=True)


def cmd_assets(args: argparse.Namespace) -> int:
    from console.assets import AssetsMissing, install

    try:
        install(force=args.force)
    except AssetsMissing as exc:
        print(f"atende assets: {exc}", file=sys.stderr)
        return 1
    print("console assets installed", flush=True)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from shared.identity import dev_secret, mint

    settings = _settings(args)
    roles = args.role or []
    token = mint(dev_secret(settings), sub=args.sub, roles=roles, name=args.name,
                 email=args.email, org=args.org, unit=args.unit, ttl=args.ttl,
                 issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    print(token)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# How long a stop waits for the requests and messages in flight.
STOP_SECONDS = 10.0


def _run(args: argparse.Namespace, role: str, *, http: bool, workers: bool,
         scheduler: bool) -> int:
    from infra import process
    from infra.bootstrap import build
    from infra.gateway import Gateway, gateway_for, platform_routes
    from shared import logs
    from shared.outbox import SweepThread
    from shared.tables import StoreUnavailable

    settings = _console_settings(args)
    if role == "worker":  # before any thread starts: each inherits it
        os.nice(settings.worker_nice)
    logs.configure(os.environ.get("ATENDE_LOG_LEVEL", "INFO"), batched=True)
    refusal = None if role == "dev" else no_identity_provider(settings, f"atende {role}")
    if refusal:
        raise process.OperatorError(refusal)
    if role in ("worker", "scheduler"):
        process.require_real_broker(role, settings)
    lock = process.DataDirLock(settings.data_dir, role, exclusive=role == "dev")
    for handler in logging.getLogger().handlers:
        handler.addFilter(process.RepeatFilter(settings.log_repeat_seconds))
    demo = None
    if http:
        from console.assets import AssetsMissing, install

        try:
            install()
        except AssetsMissing as exc:
            raise process.OperatorError(str(exc)) from None
        if getattr(args, "demo", False) and settings.console_dev_login:
            from infra.demo import PEOPLE

            demo = PEOPLE
    try:
        platform = build(settings, with_http=http, demo=demo)
    except StoreUnavailable as exc:  # the operator's to fix: one line, no traceback
        raise process.OperatorError(str(exc)) from None
    # Listening before anything is printed or loaded: a port in use is the only line.
    server = None
    if http:
        server = process.bind(gateway_for(platform), args.host, args.port, settings)
    elif settings.metrics_port:
        server = process.bind(Gateway({}, platform_routes(), list, settings.max_body_bytes,
                                      platform), "0.0.0.0", settings.metrics_port,
                              settings, what="ATENDE_METRICS_PORT")
    for line in process.startup_lines(role, settings, platform.broker):
        print(line, flush=True)
    stop = threading.Event()
    _stop_on_signals(stop)
    started = platform.start_workers() if workers else []
    if not platform.relay.durable:
        platform.relay.recover()
    platform.relay.start_dispatcher()
    checkpoints = platform.start_checkpoints()
    # What start-up made (modules, classes, schemas) lives as long as the process: frozen
    # out of the collector's reach, a full collection walks only what came since. Each
    # walked everything before, a pause in which the process stood still: most of the
    # command-to-effect p99.
    gc.collect()
    gc.freeze()
    jobs = platform.periodic_jobs() if scheduler else []
    sweep = SweepThread(platform.relay, settings.outbox_sweep_seconds, jobs)
    sweep.start()
    if getattr(args, "demo", False):
        from infra.demo import load_demo

        load_demo(platform)
    elif role == "dev":
        from infra.demo import how_to_get_a_token

        print(how_to_get_a_token(settings), flush=True)
    if server is not None:
        process.serve_in_thread(server, "http")
        where = f"http://{getattr(args, 'host', '0.0.0.0')}:{server.effective_port}"
        if http:
            print(f"Console on {where}/console/", flush=True)
        print(f"Atende listening on {where}" if http
              else f"Atende {role} running; metrics on {where}/metrics", flush=True)
    else:
        print(f"Atende {role} running", flush=True)
    try:
        stop.wait()
        print(f"Atende {role} stopping: finishing what is in flight", flush=True)
    finally:
        clean = True
        if server is not None:
            clean = process.drain_server(server, STOP_SECONDS)
        sweep.stop()
        for worker in started:
            worker.stop(timeout=int(STOP_SECONDS * 1000))
        platform.relay.stop_dispatcher()  # sends what the last commits left
        if platform.relay.durable:
            platform.relay.sweep(min_age=0)
        if checkpoints is not None:
            checkpoints.set()
        platform.close_broker()
        platform.close()
        lock.release()
        print(f"Atende {role} stopped" + ("" if clean else " (some requests were cut short)"),
              flush=True)
        for handler in logging.getLogger().handlers:
            handler.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="atende", description="Atende platform")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the whole platform in one process")
    serve = sub.add_parser("serve", help="run the HTTP side only (workers run apart)")
    for p in (dev, serve):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--data-dir", type=Path)
    dev.add_argument("--demo", action="store_true", help="load a demo institution")

    worker = sub.add_parser("worker", help="run Dramatiq workers on ATENDE_BROKER_URL")
    worker.add_argument("--data-dir", type=Path)
    sched = sub.add_parser("scheduler", help="run the periodic scheduler tick")
    sched.add_argument("--data-dir", type=Path)

    tok = sub.add_parser("token", help="print a token for the embedded platform")
    tok.add_argument("--sub", required=True)
    tok.add_argument("--role", action="append", choices=["citizen", "attendant", "registrar"])
    tok.add_argument("--name")
    tok.add_argument("--email")
    tok.add_argument("--org")
    tok.add_argument("--unit")
    tok.add_argument("--ttl", type=int, default=3600)
    tok.add_argument("--data-dir", type=Path)

    assets = sub.add_parser("assets", help="install the console's npm packages (npm ci)")
    assets.add_argument("--force", action="store_true", help="reinstall even if present")

    from infra import bench, ops

    ops.add_parser(sub)
    bench.add_arguments(sub.add_parser("bench", help="measure this machine (infra/bench)"))

    args = parser.parse_args(argv)
    from infra.process import OperatorError, operator_line

    try:
        return _dispatch(parser, args)
    except OperatorError as exc:
        print(f"atende: {exc}", file=sys.stderr, flush=True)
        return 2
    except Exception as exc:
        line = operator_line(exc)
        if line is None:
            raise
        print(f"atende: {line}", file=sys.stderr, flush=True)
        return 2


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from infra import bench, ops

    if args.command == "ops":
        ops.check_data_dir(args)
        from shared.tables import StoreUnavailable

        try:
            return ops.run(args, _settings(args))
        except StoreUnavailable as exc:
            from infra.process import OperatorError

            raise OperatorError(str(exc)) from None
    if args.command == "bench":
        return bench.main(args)
    if args.command == "token":
        return cmd_token(args)
    if args.command == "assets":
        return cmd_assets(args)
    if args.command == "dev":
        return _run(args, "dev", http=True, workers=True, scheduler=True)
    if args.command == "serve":
        return _run(args, "serve", http=True, workers=False, scheduler=False)
    if args.command == "worker":
        return _run(args, "worker", http=False, workers=True, scheduler=False)
    if args.command == "scheduler":
        return _run(args, "scheduler", http=False, workers=False, scheduler=True)
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
