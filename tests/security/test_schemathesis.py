"""Schemathesis against a real `atende dev --demo`: the merged /openapi.json, its standard
checks, as a citizen, an attendant and a registrar.

The data it meets (a request in each state, with documents, follow-ups, meetings and a
review) is made first, through the gateway of an in-process platform on the same data dir,
so every path parameter names something real and the fuzzer reaches the handlers instead of
404s. Bodies, queries and headers are generated, valid (positive) and invalid (negative).

CI runs a few examples per operation, mode and role. The long run:

    ATENDE_SCHEMATHESIS_EXAMPLES=200 .venv/bin/pytest tests/security/test_schemathesis.py -s
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.live import env_for, serving
from tests.security.test_authz_matrix import MATRIX
from tests.security.world import build_world

EXAMPLES = int(os.environ.get("ATENDE_SCHEMATHESIS_EXAMPLES", "6"))
ROLES = {"citizen": "owner", "attendant": "unit", "registrar": "registrar"}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance, negative_data_rejection]
# Invalid data may also be refused for its size (413): the API documents it (API.md).
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]


@pytest.mark.slow
@pytest.mark.timeout(max(300, 25 * EXAMPLES))  # the long run takes its time
def test_schemathesis_standard_checks(make_harness: Any) -> None:
    h = make_harness()
    world = build_world(h)
    h.drain()
    data_dir = h.platform.settings.data_dir
    config = schemathesis.Config.from_dict({
        "cache": {"enabled": False},  # nothing written into the working tree
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
    })
    env = env_for(data_dir, "memory://")
    with serving(["dev", "--demo", "--data-dir", str(data_dir)], env) as (_, client):
        schema = schemathesis.openapi.from_url(f"{client.base}/openapi.json", config=config)
        operations = [result.ok() for result in schema.get_all_operations()]
        failures: dict[str, str] = {}
        cases = 0
        for role, who in ROLES.items():
            headers = world.headers[who]
            for op in operations:
                ids = {**world.ids["-"], **world.ids.get(MATRIX[(op.method.upper(),
                                                                op.path)][1], {})}
                path_parameters = {p.name: ids[p.name] for p in op.path_parameters}
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    cases += _fuzz(op, mode, path_parameters, headers, client.base,
                                   failures, role)
    print(f"\nschemathesis: {len(operations)} operations, {len(ROLES)} roles, {cases} cases, "
          f"{len(failures)} failures")
    assert len(operations) == len(MATRIX) - 2  # every route but /health and /openapi.json
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


def _fuzz(op: Any, mode: GenerationMode, path_parameters: dict[str, str],
          headers: dict[str, str], base_url: str, failures: dict[str, str], role: str) -> int:
    """Run up to EXAMPLES generated cases of ``op``; record each distinct failure and go
    on (no shrinking: the totals matter more than a minimal example)."""
    try:
        strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    except Exception as exc:  # an operation it cannot generate for in this mode
        if mode is GenerationMode.NEGATIVE:
            return 0
        raise AssertionError(f"{op.label}: cannot generate cases: {exc}") from exc
    count = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy, _=st.just(None))
    def run(case: Any, _: None) -> None:
        nonlocal count
        count += 1
        try:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            key = f"{op.label} [{mode.value}, {role}]: {first}"
            failures.setdefault(key, f"{exc}\n{case.as_curl_command(headers)}"[:3000])

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: every parameter is a real id we fixed.
        if mode is not GenerationMode.NEGATIVE:
            raise
    return count
