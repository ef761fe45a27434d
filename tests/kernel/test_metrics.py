"""A metric declared through the kernel's helper lands in the registry ``GET /metrics``
serves, and cannot be declared with a label that would hold personal data."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, generate_latest

from shared import metrics
from shared.metrics import counter, labelled, observe_http


def test_a_declared_counter_is_served_with_the_kernels() -> None:
    c = counter("atende_test_kernel_declared", "a service's own", ["outcome"])
    try:
        c.labels("ok").inc()
        text = generate_latest(REGISTRY).decode()
        assert 'atende_test_kernel_declared_total{outcome="ok"} 1.0' in text
        assert "atende_commands_total" in text or "# TYPE atende_commands" in text
    finally:
        REGISTRY.unregister(c.collector)


@pytest.mark.parametrize("labels", [["outcome", "sub"], ["email"], ["request_id"], ["path"]])
def test_a_label_that_would_carry_personal_data_is_refused(labels: list[str]) -> None:
    with pytest.raises(ValueError, match="personal data"):
        counter("atende_test_personal", "no", labels)


def test_a_metric_outside_the_platforms_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match="atende_"):
        counter("screening", "no", ["outcome"])


@pytest.mark.usefixtures("metrics_on")
def test_with_metrics_off_every_operation_counts_nothing() -> None:
    c = counter("atende_test_kernel_off", "a service's own", ["outcome"])
    try:
        c.labels("ok").inc()
        metrics.configure(False)
        c.labels("ok").inc()
        labelled(c, "ok").inc(2)
        c.labels("ok").labels("x").observe(1.0)  # any operation is callable, and idle
        observe_http("test_off", "GET", "/off", "200 OK", 0.01)
        metrics.configure(True)
        labelled(c, "ok").inc()
        text = generate_latest(REGISTRY).decode()
        assert 'atende_test_kernel_off_total{outcome="ok"} 2.0' in text
        assert 'service="test_off"' not in text
    finally:
        REGISTRY.unregister(c.collector)
