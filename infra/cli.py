"""The ``atende`` command."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from shared.settings import Settings


def waitress_options(settings: Settings) -> dict[str, Any]:
    """The production WSGI server's settings, shared with the benchmark's bare baseline."""
    return {"threads": settings.http_threads, "ident": "atende",
            "clear_untrusted_proxy_headers": True}


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "data_dir", None):
        os.environ["ATENDE_DATA_DIR"] = str(args.data_dir)
    return Settings()


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


def _serve(platform: Any, host: str, port: int, stop: threading.Event) -> None:
    from waitress import create_server

    from infra.gateway import gateway_for

    server = create_server(gateway_for(platform), host=host, port=port,
                           **waitress_options(platform.settings))
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    print(f"Atende listening on http://{host}:{server.effective_port}", flush=True)
    stop.wait()
    server.close()


def _run(args: argparse.Namespace, *, http: bool, workers: bool, scheduler: bool) -> int:
    import dramatiq

    from infra.bootstrap import build
    from shared import logs
    from shared.outbox import SweepThread
    from shared.tables import StoreUnavailable

    logs.configure(os.environ.get("ATENDE_LOG_LEVEL", "INFO"), batched=True)
    settings = _settings(args)
    try:
        platform = build(settings, with_http=http)
    except StoreUnavailable as exc:  # the operator's to fix: one line, no traceback
        print(f"atende: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    _stop_on_signals(stop)
    worker = None
    if workers:
        worker = dramatiq.Worker(platform.broker, worker_threads=settings.worker_threads,
                                 worker_timeout=100)
        worker.start()
    if not platform.relay.durable:
        platform.relay.recover()
    platform.relay.start_dispatcher()
    checkpoints = platform.start_checkpoints()
    # What start-up made (modules, classes, schemas) lives as long as the process: frozen
    # out of the collector's reach, a full collection walks only what came since. Each
    # walked everything before, 30 to 50 ms in which the process stood still: most of the
    # command-to-effect p99.
    gc.collect()
    gc.freeze()
    jobs = platform.periodic_jobs() if scheduler else []
    sweep = SweepThread(platform.relay, settings.outbox_sweep_seconds, jobs)
    sweep.start()
    if getattr(args, "demo", False):
        from infra.demo import load_demo

        load_demo(platform)
    try:
        if http:
            _serve(platform, args.host, args.port, stop)
        else:
            print(f"Atende {'worker' if workers else 'scheduler'} running", flush=True)
            stop.wait()
    finally:
        sweep.stop()
        if checkpoints is not None:
            checkpoints.set()
        if worker is not None:
            worker.stop()
        platform.relay.stop_dispatcher()
        platform.broker.close()
        platform.close()
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

    from infra import bench, ops

    ops.add_parser(sub)
    bench.add_arguments(sub.add_parser("bench", help="measure this machine (infra/bench)"))

    args = parser.parse_args(argv)
    if args.command == "ops":
        from shared.tables import StoreUnavailable

        try:
            return ops.run(args, _settings(args))
        except StoreUnavailable as exc:
            print(f"atende: {exc}", file=sys.stderr)
            return 1
    if args.command == "bench":
        return bench.main(args)
    if args.command == "token":
        return cmd_token(args)
    if args.command == "dev":
        return _run(args, http=True, workers=True, scheduler=True)
    if args.command == "serve":
        return _run(args, http=True, workers=False, scheduler=False)
    if args.command == "worker":
        return _run(args, http=False, workers=True, scheduler=False)
    if args.command == "scheduler":
        return _run(args, http=False, workers=False, scheduler=True)
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
