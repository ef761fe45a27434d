"""What the console keeps between pages renders exactly what a fresh render would: the
panel's rows and whole pages, kept by what they show, and the blank forms, kept with
placeholders for their address and CSRF token. User text stays escaped in all."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from console.forms import Form
from console.screens.panel import Rows
from console.templating import TEMPLATES, local, shortdate
from console.web import Forms, Kept, Pages


def env() -> jinja2.Environment:
    # The console's own options (console/web.py), so the fresh render is production's.
    e = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                           undefined=jinja2.StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True)
    e.globals["prefix"] = "/console"
    e.filters.update(shortdate=shortdate, brasilia=local)
    return e


def row(**changes: Any) -> dict[str, Any]:
    return {"id": "r1", "citizen_name": "Ana <b>&</b>", "service_name": "Certidão",
            "status": "in_service", "due_at": "2026-12-14T02:00:00.000000+00:00",
            "assignee": {"sub": "a", "name": "Bia"}, **changes}


def test_a_kept_row_is_the_rows_current_content_escaped() -> None:
    rows = Rows(env().get_template("_panel_row.html").module.row)  # type: ignore[attr-defined]
    now = "2026-12-10T00:00:00.000000+00:00"
    first = rows.html([row()], now)
    assert "Ana &lt;b&gt;&amp;&lt;/b&gt;" in first and "<b>" not in first
    assert "14/12/2026" in first and "Atrasada" not in first and "Bia" in first
    assert rows.html([row()], now) == first and len(rows.kept) == 1  # kept
    later = rows.html([row()], "2026-12-15T00:00:00.000000+00:00")
    assert "(Atrasada)" in later  # the same row past its due date
    moved = rows.html([row(status="concluded", assignee=None)], now)
    assert "Concluída" in moved and "Bia" not in moved and "—" in moved


def test_rows_kept_are_bounded() -> None:
    rows = Rows(env().get_template("_panel_row.html").module.row, size=3)  # type: ignore[attr-defined]
    for n in range(10):
        rows.html([row(id=f"r{n}")], "2026-12-10T00:00:00.000000+00:00")
    assert len(rows.kept) == 3


def test_a_blank_form_is_the_fresh_render_with_its_address_and_token() -> None:
    e = env()
    forms = Forms(e)
    macro = e.get_template("_followups.html").module.schedule_form  # type: ignore[attr-defined]
    action, csrf = '/console/solicitacoes/"x"&<y>/reunioes', 'tok"<&'
    for _ in range(2):  # rendered, then kept
        assert forms("_followups.html", "schedule_form", Form(), action, csrf) == \
            macro(Form(), action, csrf)
    assert "\x00" not in forms("_followups.html", "schedule_form", Form(), "/a", "b")


def test_a_form_with_values_or_errors_is_rendered_afresh() -> None:
    e = env()
    forms = Forms(e)
    forms("_followups.html", "schedule_form", Form(), "/a", "t")
    typed = Form(values={"assunto": "<script>"}, errors={"data": "Campo obrigatório."})
    html = forms("_followups.html", "schedule_form", typed, "/a", "t")
    assert 'value="&lt;script&gt;"' in html and 'id="erro-data">Campo obrigatório.' in html


def test_a_kept_part_is_the_fresh_render_of_its_data() -> None:
    e = env()
    e.filters["when"] = str
    kept = Kept(e)
    history = e.get_template("_followups.html").module.history  # type: ignore[attr-defined]
    followups = [{"id": "f1", "author": {"name": "Bia <i>", "role": "attendant"},
                  "created_at": "2026-12-05T10:00:00+00:00", "body": "<script>x</script>",
                  "attachments": []}]
    first = kept("_followups.html", "history", followups, "/console/x")
    assert first == history(followups, "/console/x")
    assert "&lt;script&gt;" in first and "<script>" not in first
    assert kept("_followups.html", "history", followups, "/console/x") is first
    followups[0]["body"] = "outra"  # the same list, changed: found by its new content
    assert "outra" in kept("_followups.html", "history", followups, "/console/x")
    assert len(kept.kept) == 2


def test_a_kept_page_is_the_fresh_render_with_its_own_token() -> None:
    e = env()
    e.loader = jinja2.DictLoader({"p.html": (
        '{% if csrf %}<meta content="{{ csrf }}">{% endif %}'
        "<h1>{{ who.name }}</h1>{% for x in items %}<i>{{ x }}</i>{% endfor %}{{ note }}")})
    pages = Pages(e)
    fresh = e.get_template("p.html")

    class Who(dict[str, str]):
        pass

    values: dict[str, Any] = {"who": {"name": "Ana <b>"}, "items": ["<x>", 2],
                              "note": "a&b"}
    for token in ('tok"<&', "outro"):  # rendered, then kept: each with its token
        assert pages("p.html", token, values) == fresh.render(csrf=token, **values)
    assert len(pages.kept) == 1 and "\x00" not in pages("p.html", "t", values)
    changed = {**values, "items": ["<x>", 3]}  # what it shows moved: another page
    assert pages("p.html", "t", changed) == fresh.render(csrf="t", **changed)
    marked = {**values, "note": Markup("a&b")}  # not escaped: not the str's page
    assert pages("p.html", "t", marked) == fresh.render(csrf="t", **marked)
    assert "a&b" in pages("p.html", "t", marked) and len(pages.kept) == 3
    # No session (no token), or a value that is not data: rendered afresh, not kept.
    assert pages("p.html", "", values) == fresh.render(csrf="", **values)
    odd = {**values, "who": Who(name="Bia")}
    assert "Bia" in pages("p.html", "t", odd) and len(pages.kept) == 3


def test_pages_kept_are_bounded() -> None:
    e = env()
    e.loader = jinja2.DictLoader({"p.html": "{{ n }}{{ csrf }}"})
    pages = Pages(e, size=3)
    for n in range(10):
        assert pages("p.html", "t", {"n": n}) == f"{n}t"
    assert len(pages.kept) == 3
