"""wrk (https://github.com/wg/wrk) as the load generator, driven by a Lua script made from
the same request lists as the Python one, and reporting the same figures.

Why wrk when it is installed: our Python generator spends about as much CPU per request as
the server under test, and on two cores the two take turns on them. It capped the bare app
at about 8,000 requests/s (the server's own CPU at 92%), and its threads, busy on the
other core, slowed the server's every request: on the same code a panel page cost the
server 230 us of CPU under it and 210 us under wrk.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

Spec = dict[str, Any]
MARK = "WRK-FIGURES "
_ERRORS = ("connect", "read", "write", "status", "timeout")


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua(text: str) -> str:
    """A Lua long string: taken byte for byte, whatever it holds."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def script(requests: list[list[Any]]) -> str:
    """Each request of the list in turn, as the Python generator sends them; one line of
    figures at the end, read back by ``run``."""
    formatted = []
    for method, path, headers, body in requests:
        fields = ", ".join(f"[ {_lua(k)} ] = {_lua(v)}" for k, v in (headers or {}).items())
        formatted.append(f"wrk.format({_lua(method)}, {_lua(path)}, {{{fields}}}, "
                         f"{_lua(body) if body else 'nil'})")
    errors = ", ".join(f'"{e}":%d' for e in _ERRORS)
    return f"""local reqs = {{
  {(',' + chr(10) + '  ').join(formatted)}
}}
local n = 0
request = function()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{MARK}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,{errors}}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    {", ".join(f"e.{e}" for e in _ERRORS)}))
end
"""


def figures(output: str) -> dict[str, Any]:
    """The figures of a run from wrk's output, in the Python generator's terms: requests
    answered 4xx or 5xx are errors, not counted in the rate."""
    line = next((ln for ln in output.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures: {output[-2000:]}")
    raw = json.loads(line[len(MARK):])
    errors = {kind: raw[kind] for kind in _ERRORS if raw[kind]}
    ok = raw["requests"] - raw["status"]
    seconds = raw["duration_us"] / 1e6
    return {"count": ok, "errors": sum(errors.values()), "error_kinds": sorted(errors),
            "rps": ok / seconds if seconds else 0.0,
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "generator": "wrk"}


def _wrk(spec: Spec, lua: Path, seconds: float) -> str:
    url = f"http://{spec['host']}:{spec['port']}"
    # One wrk thread drives every connection: it is event-driven, and a second one would
    # only take CPU from the server. wrk counts whole seconds.
    done = subprocess.run(["wrk", "-t1", f"-c{int(spec.get('threads', 8))}",
                           f"-d{max(1, math.ceil(seconds))}s", "--timeout", "30s",
                           "-s", str(lua), url], check=True, capture_output=True, text=True,
                          timeout=seconds + 120)
    return done.stdout


def run(spec: Spec) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="atende-wrk-") as tmp:
        lua = Path(tmp) / "requests.lua"
        lua.write_text(script(spec["requests"]))
        # wrk counts whole seconds: a warm-up of less than half of one (the quick form's)
        # is left out rather than stretched.
        if float(spec.get("warmup", 0)) >= 0.5:
            _wrk(spec, lua, float(spec["warmup"]))
        return figures(_wrk(spec, lua, float(spec["seconds"])))
