"""Hostile input on every body and file endpoint: a clear 4xx problem+json, never a 5xx,
and nothing stored. Endpoints, callers and valid bodies come from the authorization
matrix, so a new body route is attacked as soon as it has its row there."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import quote

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from tests.helpers import multipart, pdf_bytes, png_bytes, stored
from tests.security.test_authz_matrix import MATRIX, ROLES, bodies
from tests.security.world import World, build_world

SERVICES = ("requests", "followups", "meetings", "reviews")
# A bare POST (no body at all) is a valid cancellation, without a reason (API.md).
EMPTY_IS_VALID = {("POST", "/requests/{request_id}/meetings/{meeting_id}/cancellation")}
FILE_ROUTES = {  # multipart routes: (route, the form's text fields)
    ("POST", "/requests/{request_id}/documents"): {"key": "rg"},
    ("POST", "/requests/{request_id}/conclusion"): {"summary": "Concluído."},
    ("POST", "/requests/{request_id}/followups"): {"body": "Segue."},
}


@pytest.fixture
def world(harness: Any) -> Iterator[World]:
    w = build_world(harness)
    harness.drain()
    yield w
    harness.drain()
    assert harness.dead_letters == [], "hostile input left a message dead-lettered"


def everything(h: Any) -> list[tuple[int, int]]:
    return [stored(h, svc) for svc in SERVICES]


class Target:
    """One body route, called as the first caller its matrix row lets through."""

    def __init__(self, h: Any, w: World, method: str, template: str) -> None:
        expected, target, body_name = MATRIX[(method, template)]
        # The first caller let through: answered 2xx, or else 409 (a direct-upload slot,
        # which files kept on disk refuse only after its body was read and checked).
        passed = [r for r, status in zip(ROLES, expected, strict=True)
                  if isinstance(status, int) and status < 400]
        role = (passed or [r for r, status in zip(ROLES, expected, strict=True)
                           if status == (409, "conflict")])[0]
        ids = {**w.ids["-"], **w.ids.get(target, {})}
        self.h, self.method, self.role = h, method, role
        self.path = template.format(**ids)
        self.auth = dict(w.headers[role])
        assert body_name is not None
        self.valid = bodies(w)[body_name](role)
        op = _operations(h)[(method, template)]
        self.accepts_json, self.accepts_multipart = op.body is not None, bool(op.multipart)

    def send(self, raw: bytes, ctype: str | None) -> Any:
        headers = dict(self.auth)
        if ctype is not None:
            headers["Content-Type"] = ctype
        return self.h.client.simulate_request(self.method, self.path, body=raw,
                                              headers=headers)

    def send_json(self, doc: Any) -> Any:
        return self.send(json.dumps(doc).encode(), "application/json")


def _operations(h: Any) -> dict[tuple[str, str], Any]:
    return {(op.method, op.path): op for svc in h.platform.services.values()
            for op in svc.operations}


def body_routes(h: Any) -> list[tuple[str, str]]:
    routes = [key for key, (_, _, body) in MATRIX.items() if body is not None]
    ops = _operations(h)
    with_body = {k for k, op in ops.items() if op.body is not None or op.multipart}
    assert with_body <= set(routes), "a body route has no row (and no valid body) to attack"
    return routes


def refused(r: Any, *statuses: int) -> str | None:
    """Why ``r`` is not the refusal expected, or None."""
    if r.status_code not in statuses:
        return f"{r.status_code} (expected {statuses}): {r.text[:200]}"
    if r.headers.get("content-type") != "application/problem+json":
        return f"{r.status_code} without problem+json"
    return None


def deep(depth: int, leaf: str = "1") -> bytes:
    return ("[" * depth + leaf + "]" * depth).encode()


# (name, raw body, content type, status for a JSON route) - a multipart-only route is 415.
RAW = [
    ("malformed", b'{"a": ', "application/json", 400),
    ("trailing garbage", b'{} {"a": 1}', "application/json", 400),
    ("deep array", deep(10_000), "application/json", 400),
    ("deep object", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "application/json", 400),
    ("not utf-8", b'{"a": "\xff\xfe\xfd"}', "application/json", 400),
    ("lone surrogate", b'{"a": "\\ud800"}', "application/json", 422),
    ("array", b"[]", "application/json", 422),
    ("string", b'"x"', "application/json", 422),
    ("number", b"1e999", "application/json", 422),
    ("empty", b"", "application/json", 422),
    ("too large", b'{"a": "' + b"x" * 70_000 + b'"}', "application/json", 413),
    ("text/plain", b"{}", "text/plain", 415),
    ("form", b"a=1&b=2", "application/x-www-form-urlencoded", 415),
    ("xml", b"<a>1</a>", "application/xml", 415),
    ("no content type", b"{}", None, 415),
    ("json-ish", b"{}", "application/jsonx", 415),
]


def test_malformed_bodies_on_every_body_route(harness: Any, world: World) -> None:
    before = everything(harness)
    wrong: list[str] = []
    for method, template in body_routes(harness):
        t = Target(harness, world, method, template)
        for name, raw, ctype, status in RAW:
            if name == "empty" and (method, template) in EMPTY_IS_VALID:
                continue
            expect = status if t.accepts_json else 415
            if ctype is None and not t.accepts_json:
                expect = 415
            why = refused(t.send(raw, ctype), expect)
            if why:
                wrong.append(f"{method} {template} [{name}]: {why}")
        if t.accepts_json:
            # multipart where only JSON goes is 415; where both go, a broken form is 400.
            why = refused(t.send(b"{}", "multipart/form-data; boundary=x"),
                          400 if t.accepts_multipart else 415)
            if why:
                wrong.append(f"{method} {template} [json as multipart]: {why}")
    assert wrong == [], "\n".join(wrong)
    assert everything(harness) == before


def _field_attacks(valid: dict[str, Any]) -> Iterator[tuple[str, Any, tuple[int, ...]]]:
    yield "unknown huge array", {**valid, "zz": [0] * 15_000}, (422,)
    yield "unknown huge string", {**valid, "zz": "x" * 60_000}, (422,)
    for key, value in valid.items():
        if isinstance(value, str):
            yield f"huge {key}", {**valid, key: "x" * 60_000}, (422,)
        # A JSON parser has its own depth limit (400); under it, the model refuses (422).
        yield f"deep {key}", {**valid, key: json.loads(deep(500))}, (422,)
        yield f"NaN {key}", {**valid, key: float("nan")}, (422,)
        yield f"object {key}", {**valid, key: {"$gt": ""}}, (422,)
        # Well-formed JSON that nothing here could store or send back (the stores write
        # UTF-8 and 64-bit integers): refused as input, never a 500 later.
        yield f"lone surrogate {key}", {**valid, key: "ok \ud800"}, (422,)
        yield f"integer beyond 64 bits {key}", {**valid, key: 2**70}, (422,)


def test_hostile_fields_on_every_json_route(harness: Any, world: World) -> None:
    before = everything(harness)
    wrong: list[str] = []
    sent = 0
    for method, template in body_routes(harness):
        t = Target(harness, world, method, template)
        if not t.accepts_json:
            continue
        for name, doc, statuses in _field_attacks(t.valid):
            raw = json.dumps(doc, allow_nan=True).encode()
            why = refused(t.send(raw, "application/json"), *statuses)
            sent += 1
            if why:
                wrong.append(f"{method} {template} [{name}]: {why}")
    print(f"\n{sent} hostile JSON bodies")
    assert wrong == [], "\n".join(wrong)
    assert everything(harness) == before


def test_huge_arrays_in_real_fields(harness: Any, world: World) -> None:
    before = everything(harness)
    field = {"key": "k", "label": "L", "type": "text", "required": False}
    s = world.s
    svc = Target(harness, world, "POST", "/catalog/services")
    for doc in ({**svc.valid, "form": [{**field, "key": f"k{i}"} for i in range(101)]},
                {**svc.valid, "steps": [{"key": f"s{i}", "label": "S"} for i in range(101)]},
                {**svc.valid, "form": [{**field, "type": "choice",
                                        "options": ["o"] * 201}]}):
        assert refused(svc.send_json(doc), 422) is None
    req = Target(harness, world, "POST", "/requests")
    for answers in ({f"k{i}": "v" for i in range(3_000)},
                    {"nome": ["Ana"] * 5_000, "cpf": "529.982.247-25"},
                    {"nome": "Ana", "cpf": "529.982.247-25", "email": ["a@b.c"] * 5_000}):
        r = req.send_json({"service_id": s.service_id, "answers": answers})
        assert refused(r, 422) is None, r.text[:200]
    assert everything(harness) == before


# --- files ----------------------------------------------------------------------------


def _pdf(mutate: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    mutate(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _js(code: str = "app.alert(1)") -> DictionaryObject:
    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                             NameObject("/JS"): TextStringObject(code)})


def _root(key: str, value: Any) -> Callable[[PdfWriter], None]:
    return lambda w: w._root_object.__setitem__(NameObject(key), value)


def _page(key: str, value: Any) -> Callable[[PdfWriter], None]:
    return lambda w: w.pages[0].__setitem__(NameObject(key), value)


def _link(action: DictionaryObject) -> ArrayObject:
    return ArrayObject([DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([NumberObject(0)] * 2 + [NumberObject(72)] * 2),
        NameObject("/A"): action})])


def _form_field_js(w: PdfWriter) -> None:
    field = DictionaryObject({NameObject("/FT"): NameObject("/Tx"),
                              NameObject("/T"): TextStringObject("campo"),
                              NameObject("/AA"): DictionaryObject({NameObject("/K"): _js()})})
    w._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([w._add_object(field)])})


def _names_js(w: PdfWriter) -> None:
    tree = DictionaryObject({NameObject("/Names"): ArrayObject(
        [TextStringObject("boas-vindas"), w._add_object(_js())])})
    w._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): w._add_object(tree)})


def _launch() -> DictionaryObject:
    return DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                             NameObject("/F"): TextStringObject("calc.exe")})


def hostile_files() -> list[tuple[str, str, bytes]]:
    """(what, file name, bytes): none of these may be stored."""
    real = pdf_bytes()
    page_js = _pdf(_page("/AA", DictionaryObject({NameObject("/O"): _js()})))
    return [
        ("exe named pdf", "rg.pdf", b"MZ\x90\x00\x03" + b"\x00" * 60),
        ("html named png", "foto.png", b"<html><script>alert(1)</script></html>"),
        ("svg", "foto.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("empty", "vazio.pdf", b""),
        ("pdf header only", "doc.pdf", b"%PDF-1.7\n%garbage that never parses\n"),
        ("truncated pdf", "doc.pdf", real[: len(real) // 3]),
        ("pdf without pages", "doc.pdf", _pdf(lambda w: w._root_object[NameObject("/Pages")]
                                              .__setitem__(NameObject("/Kids"), ArrayObject()))),
        ("pdf, open action js", "doc.pdf", _pdf(_root("/OpenAction", _js()))),
        ("pdf, names js", "doc.pdf", _pdf(_names_js)),
        ("pdf, page open js", "doc.pdf", page_js),
        ("pdf, page js, hex-escaped names", "doc.pdf",
         page_js.replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/J#53 ")),
        ("pdf, link js", "doc.pdf", _pdf(_page("/Annots", _link(_js())))),
        ("pdf, link launch", "doc.pdf", _pdf(_page("/Annots", _link(_launch())))),
        ("pdf, form field js", "doc.pdf", _pdf(_form_field_js)),
        ("pdf after html", "doc.pdf", b"<html>" + real),
    ]


@pytest.mark.slow
def test_hostile_files_on_every_file_route(harness: Any, world: World) -> None:
    before = everything(harness)
    wrong: list[str] = []
    for (method, template), fields in FILE_ROUTES.items():
        t = Target(harness, world, method, template)
        for what, name, data in hostile_files():
            raw, ctype = multipart(fields, [("file", name, data)])
            why = refused(t.send(raw, ctype), 415)
            if why:
                wrong.append(f"{template} [{what}]: {why}")
        # A PNG is a fine document, but the conclusion file must be a PDF.
        if template.endswith("conclusion"):
            raw, ctype = multipart(fields, [("file", "conclusao.pdf", png_bytes())])
            if why := refused(t.send(raw, ctype), 415):
                wrong.append(f"{template} [png named pdf]: {why}")
        most = harness.platform.settings.max_files_per_post if "followups" in template else 1
        form_attacks = [
            ("too many files", multipart(fields, [("file", "a.pdf", pdf_bytes())] * (most + 1)),
             413),
            ("unknown field", multipart({**fields, "zz": "1"},
                                        [("file", "a.pdf", pdf_bytes())]), 422),
            ("oversize", multipart(fields, [("file", "big.pdf", b"%PDF-1.4\n"
                                             + b"0" * harness.platform.settings
                                             .max_file_bytes)]), 413),
            ("no boundary", (b"--x\r\n", "multipart/form-data"), 400),
            ("bad part", (b"--x\r\nnonsense\r\n--x--\r\n", "multipart/form-data; boundary=x"),
             400),
        ]
        for what, (raw, ctype), status in form_attacks:
            if why := refused(t.send(raw, ctype), status):
                wrong.append(f"{template} [{what}]: {why}")
    assert wrong == [], "\n".join(wrong)
    assert everything(harness) == before


PATH_NAMES = ["../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf",
              "a\r\nSet-Cookie: x=1.pdf", "C:/Users/ana/rg.pdf", "..pdf"]
CLEANED = [('rg".pdf', "rg.pdf"), ("<laudo>;.pdf", "laudo.pdf")]


def test_path_and_control_names_are_refused_and_nothing_stored(harness: Any,
                                                              world: World) -> None:
    """A name that is a path or carries CR/LF is refused (422), on every file route."""
    before = everything(harness)
    rid = world.ids["submitted"]["request_id"]
    srv = world.ids["in_service"]["request_id"]
    for name in PATH_NAMES:
        for path, fields in ((f"/requests/{rid}/documents", {"key": "rg"}),
                             (f"/requests/{srv}/followups", {"body": "Anexo."})):
            raw, ctype = _named(fields, name, pdf_bytes())
            r = harness.client.simulate_post(path, body=raw, headers={
                **world.headers["owner"], "Content-Type": ctype})
            assert r.status_code == 422, (name, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
    assert everything(harness) == before
    data_dir = harness.platform.settings.data_dir
    assert not any(p.name.endswith(("passwd.pdf", "win.ini.pdf")) for p in data_dir.rglob("*"))


def test_file_names_are_display_only(harness: Any, world: World) -> None:
    """Quotes and markup in a plain name are dropped: it never reaches a response header
    or a page raw."""
    rid = world.ids["submitted"]["request_id"]
    srv = world.ids["in_service"]["request_id"]
    for name, shown in CLEANED:
        doc = _post_file(harness, world, "owner", f"/requests/{rid}/documents",
                         {"key": "rg"}, name)
        assert doc["filename"] == shown
        r = harness.client.simulate_get(f"/requests/{rid}/documents/{doc['id']}",
                                        headers=world.headers["owner"])
        _safe_download(r, shown)
        fu = _post_file(harness, world, "owner", f"/requests/{srv}/followups",
                        {"body": "Anexo."}, name)
        att = fu["attachments"][0]
        assert att["filename"] == shown
        r = harness.client.simulate_get(
            f"/requests/{srv}/followups/{fu['id']}/attachments/{att['id']}",
            headers=world.headers["owner"])
        _safe_download(r, shown)


def _named(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    """A form whose file name arrives intact, CR/LF and quotes included: RFC 5987
    ``filename*``, as some clients send it (a raw CR/LF would only end the part header)."""
    raw, ctype = multipart(fields, [("file", "x", data)])
    header = b'filename="x"'
    assert raw.count(header) == 1
    return raw.replace(header, f"filename*=UTF-8''{quote(name, safe='')}".encode()), ctype


def _post_file(h: Any, w: World, who: str, path: str, fields: dict[str, str],
               name: str) -> dict[str, Any]:
    raw, ctype = _named(fields, name, pdf_bytes())
    r = h.client.simulate_post(path, body=raw, headers={**w.headers[who], "Content-Type": ctype})
    assert r.status_code == 201, r.text
    return r.json


def _safe_download(r: Any, shown: str) -> None:
    assert r.status_code == 200 and r.content == pdf_bytes()
    disposition = r.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{shown}"'), disposition
    assert not any(c in disposition for c in "\r\n/\\"), disposition
    assert "set-cookie" not in r.headers


# --- header injection into mail -------------------------------------------------------

EVIL = "\r\nBcc: evil@example.com\r\nX-Injected: 1"


def test_header_injection_never_reaches_mail(harness: Any, world: World) -> None:
    c, s, w = harness.client, world.s, world
    srv = w.ids["in_service"]["request_id"]
    mid = w.ids["in_service"]["meeting_id"]
    # The name claim of a token is the IdP's, but it is still not trusted into a header.
    evil_citizen = harness.auth(harness.token("eva", "citizen", name="Eva" + EVIL,
                                              email="eva@example.com"))
    r = c.simulate_post("/requests", headers=evil_citizen, json={
        "service_id": s.service_id, "answers": {"nome": "Eva" + EVIL, "cpf": "529.982.247-25"}})
    assert refused(r, 422) is None, "a form's text field is one line"
    r = c.simulate_post("/requests", headers=evil_citizen, json={
        "service_id": s.service_id, "answers": {"nome": "Eva", "cpf": "529.982.247-25"}})
    assert r.status_code == 201, r.text
    eva = r.json["id"]
    unit = w.headers["unit"]
    assert c.simulate_post(f"/requests/{eva}/analysis", headers=unit).status_code == 200
    r = c.simulate_post(f"/requests/{eva}/rejection", headers=unit,
                        json={"justification": "Motivo" + EVIL})
    assert r.status_code == 200, r.text
    later = "2099-01-01T10:00:00+00:00"
    r = c.simulate_post(f"/requests/{srv}/meetings", headers=unit, json={
        "starts_at": later, "duration_minutes": 30, "subject": "Assunto" + EVIL})
    assert r.status_code in (201, 422), r.text
    r = c.simulate_patch(f"/requests/{srv}/meetings/{mid}", headers=unit,
                         json={"subject": "Outro" + EVIL})
    assert r.status_code in (200, 422), r.text
    r = c.simulate_post(f"/requests/{srv}/meetings/{mid}/guests", headers=unit,
                        json={"name": "Gil" + EVIL, "email": "gil@example.com"})
    assert r.status_code in (201, 422), r.text
    r = c.simulate_post(f"/requests/{srv}/meetings/{mid}/guests", headers=unit,
                        json={"name": "Gil", "email": "gil@example.com" + EVIL})
    assert refused(r, 422) is None, r.text
    r = c.simulate_post(f"/requests/{srv}/meetings/{mid}/join", headers=w.headers["owner"],
                        json={"display_name": "Ana" + EVIL})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert not any(ch in r.json["url"] for ch in "\r\n ")
    r = c.simulate_post(f"/requests/{srv}/followups", headers=unit,
                        json={"body": "Linha 1\r\nBcc: evil@example.com"})
    assert r.status_code == 201, r.text
    harness.drain()
    assert harness.dead_letters == [], "a hostile name made a notification fail"
    mails = sorted((harness.platform.settings.data_dir / "mail").glob("*.eml"))
    assert len(mails) > 5
    for path in mails:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        names = {k.lower() for k in msg}
        assert "bcc" not in names and "x-injected" not in names, path.name
        for key, value in msg.items():
            assert "evil@example.com" not in str(value), (path.name, key, value)
            assert "\r" not in str(value) and "\n" not in str(value), (path.name, key)
