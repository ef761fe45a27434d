"""Prometheus metrics (``prometheus_client``), for ``GET /metrics`` and the worker's port.

Labels hold route templates, methods, status codes, event and message types, queue and
outcome names: never a path, an id or anything a person typed. Counters that are on every
request's path keep their labelled children in a dict, so a request pays a dict lookup, an
increment and an observation.

``configure(False)`` (``ATENDE_METRICS=false``, which the Lambda functions set) turns every
metric operation into a no-op that never imports prometheus_client: nothing scrapes a
function's registry, and its cold start should not pay for one."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Label names that would carry who someone is or what they typed: refused outright, so a
# metric cannot be declared to hold personal data.
PERSONAL_LABELS = frozenset({"id", "sub", "user", "name", "email", "cpf", "path", "url",
                             "comment", "body", "text", "ip", "token"})


class Metric:
    """A metric of the process's registry, its ``prometheus_client`` object made when any
    metric is first used or served. A Lambda function's first answer, which nothing
    scrapes, needs neither the import of prometheus_client nor the registry; once one
    metric is made, all are, so a page always shows every declared metric."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make, self._made = make, None
        # Its labelled children, kept: every command, event and message counts itself, and
        # prometheus_client's ``labels`` checks its arguments and takes a lock each call.
        self._children: dict[tuple[str, ...], Any] = {}
        with _lock:
            if _registry:
                self._made = make()
            else:
                _declared.append(self)

    @property
    def collector(self) -> Any:
        """The prometheus_client metric (in ``prometheus_client.REGISTRY``)."""
        if self._made is None:
            registry()
        return self._made

    def labels(self, *values: str) -> Any:
        if not _on:
            return OFF
        child = self._children.get(values)
        if child is None:
            child = self._children.setdefault(values, self.collector.labels(*values))
        return child


class _Off:
    """A labelled metric while metrics are off: counts and observes nothing."""

    def labels(self, *values: str) -> _Off:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


OFF = _Off()
# Whether metric operations count: set by the bootstrap from the settings (ATENDE_METRICS),
# on until then, so a module that counts before any platform is built still counts.
_on = True


def configure(on: bool) -> None:
    """Metrics counted (and prometheus_client used) or not, for the whole process."""
    global _on
    _on = on


_lock = threading.Lock()
_declared: list[Metric] = []
_registry: list[CollectorRegistry] = []


def registry() -> CollectorRegistry:
    """prometheus_client's REGISTRY, every declared metric in it (made now if need be)."""
    with _lock:
        if not _registry:
            from prometheus_client import REGISTRY, disable_created_metrics

            # A "_created" series beside every counter doubles the page for a figure
            # nobody graphs.
            disable_created_metrics()
            REGISTRY.register(_http_collector())
            REGISTRY.register(_message_collector())
            for metric in _declared:
                metric._made = metric._make()
            _declared.clear()
            _registry.append(REGISTRY)
        return _registry[0]


def counter(name: str, documentation: str, labels: list[str]) -> Metric:
    """A counter in the process's registry (``GET /metrics`` and the worker's port): the
    kernel's, or one a service declares in its own folder. Its name starts ``atende_``;
    its labels name kinds and outcomes, never a person or an id."""
    if not name.startswith("atende_"):
        raise ValueError(f"metric {name!r}: the platform's metrics are named atende_*")
    personal = sorted(set(labels) & PERSONAL_LABELS
                      | {label for label in labels if label.endswith("_id")})
    if personal:
        raise ValueError(f"metric {name!r}: labels {personal} would carry personal data")

    def make() -> Any:
        from prometheus_client import Counter

        return Counter(name, documentation, labels)

    return Metric(make)


def labelled(metric: Metric, *labels: str) -> Any:
    """``metric.labels(*labels)``: a child kept by the metric."""
    return metric.labels(*labels)


COMMANDS = counter("atende_commands", "Commands run, by route and outcome",
                   ["service", "command", "outcome"])
EVENTS = counter("atende_events_published", "Events committed to the outbox", ["type"])
EFFECTS = counter("atende_consumer_effects", "Events a consumer applied, or skipped as repeats",
                  ["consumer", "type", "outcome"])


HTTP_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0)
# (service, method, route, status) -> [count, sum of seconds, per-bucket counts...]. Kept
# as plain lists rather than prometheus_client's children: a labelled counter and histogram
# take their locks on every request, a tenth of a cheap route; these lists, a tenth of that.
# An increment is not atomic across threads, so two server threads finishing at the same
# instant may, rarely, count one request instead of two.
_http: dict[tuple[str, str, str, str], list[float]] = {}


def observe_http(service: str, method: str, route: str, status: str, seconds: float) -> None:
    if not _on:
        return
    _observe(_http, (service, method, route, status), HTTP_BUCKETS, seconds)


def _observe(rows: dict[Any, list[float]], key: Any, bounds: tuple[float, ...],
             seconds: float) -> None:
    """One more observation in a histogram row: count, sum, then a count per bucket and
    one beyond the last."""
    row = rows.get(key)
    if row is None:
        row = rows.setdefault(key, [0.0] * (3 + len(bounds)))
    row[0] += 1
    row[1] += seconds
    row[2 + bisect_left(bounds, seconds)] += 1


def _http_collector() -> Any:
    from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
    from prometheus_client.registry import Collector

    class HttpCollector(Collector):
        """Requests by route template and status, and their latency histogram."""

        def collect(self) -> Iterator[Any]:
            total = CounterMetricFamily("atende_http_requests", "HTTP requests answered",
                                        labels=["service", "method", "route", "status"])
            latency = HistogramMetricFamily("atende_http_request_seconds",
                                            "Time to answer an HTTP request",
                                            labels=["service", "method", "route", "status"])
            for (service, method, route, status), row in sorted(_http.items()):
                labels = [service, method, route, status.split(" ", 1)[0]]
                total.add_metric(labels, row[0])
                latency.add_metric(labels, _buckets(HTTP_BUCKETS, row), row[1])
            yield total
            yield latency

    return HttpCollector()


MESSAGE_BUCKETS = (.001, .005, .01, .05, .1, .5, 1, 5, 30)
# Plain, as the HTTP side's (``_http``, and as racy: two threads may rarely count one
# message for two): prometheus_client's counter and histogram took their locks on every
# message, more than the rest of the platform's middleware together.
# (queue, type, outcome) -> messages; queue -> [count, sum of seconds, per-bucket counts...].
_messages: dict[tuple[str, str, str], int] = {}
_message_seconds: dict[str, list[float]] = {}


def count_message(queue: str, kind: str, outcome: str, seconds: float | None) -> None:
    if not _on:
        return
    key = (queue, kind, outcome)
    _messages[key] = _messages.get(key, 0) + 1
    if seconds is not None:
        _observe(_message_seconds, queue, MESSAGE_BUCKETS, seconds)


def _message_collector() -> Any:
    from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
    from prometheus_client.registry import Collector

    class MessageCollector(Collector):
        """Messages a worker ran by queue, type and outcome, and their time by queue."""

        def collect(self) -> Iterator[Any]:
            total = CounterMetricFamily("atende_messages", "Messages a worker ran, by outcome",
                                        labels=["queue", "type", "outcome"])
            for labels, n in sorted(_messages.items()):
                total.add_metric(list(labels), n)
            seconds = HistogramMetricFamily("atende_message_seconds",
                                            "Time a worker took over a message",
                                            labels=["queue"])
            for queue, row in sorted(_message_seconds.items()):
                seconds.add_metric([queue], _buckets(MESSAGE_BUCKETS, row), row[1])
            yield total
            yield seconds

    return MessageCollector()


def _buckets(bounds: tuple[float, ...], row: list[float]) -> list[tuple[str, float]]:
    """A histogram row's cumulative buckets, as HistogramMetricFamily takes them."""
    cumulative, buckets = 0.0, []
    for bound, n in zip(bounds, row[2:-1], strict=True):
        cumulative += n
        buckets.append((repr(bound), cumulative))
    buckets.append(("+Inf", row[0]))
    return buckets


def dead_letters(broker: Any) -> dict[str, int]:
    """Dead-lettered messages per queue, as the broker counts them."""
    from dramatiq.common import xq_name

    queues = [q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ"))]
    if hasattr(broker, "dead_letters"):  # the in-process broker
        counts = dict.fromkeys(queues, 0)
        for message in broker.dead_letters:
            counts[message.queue_name] = counts.get(message.queue_name, 0) + 1
        return counts
    if hasattr(broker, "client") and hasattr(broker, "namespace"):  # Redis
        return {q: int(broker.client.zcard(f"{broker.namespace}:{xq_name(q)}")) for q in queues}
    if hasattr(broker, "get_queue_message_counts"):  # RabbitMQ
        return {q: broker.get_queue_message_counts(q)[2] for q in queues}
    return {}


class _PlatformCollector:
    """What is read at scrape time: the outbox's pending and dead entries per table, and
    dead letters per queue. A plain object with ``collect``, which is all a registry asks
    of a collector: prometheus_client stays unimported until the first scrape."""

    def __init__(self, relay: Any, broker: Any) -> None:
        self.relay, self.broker = relay, broker

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        pending = GaugeMetricFamily("atende_outbox_pending",
                                    "Outbox entries not yet sent (or applied)",
                                    labels=["table"])
        dead = GaugeMetricFamily("atende_outbox_dead", "Outbox entries given up on",
                                 labels=["table"])
        for table, lag in self.relay.lag().items():
            pending.add_metric([table], lag["pending"])
            dead.add_metric([table], lag["dead"])
        yield pending
        yield dead
        letters = GaugeMetricFamily("atende_dead_letters", "Dead-lettered messages",
                                    labels=["queue"])
        try:
            counts = dead_letters(self.broker)
        except Exception:  # a broker down: /health/ready says so; the rest still scrapes
            counts = {}
        for queue, n in sorted(counts.items()):
            letters.add_metric([queue], n)
        yield letters


def exposition(platform: Any) -> bytes:
    """The process's metrics and the platform's, in the Prometheus text format."""
    from prometheus_client import CollectorRegistry, generate_latest

    own = CollectorRegistry(auto_describe=False)
    own.register(_PlatformCollector(platform.relay, platform.broker))
    return generate_latest(registry()) + generate_latest(own)
