"""The form helper: a service's problem placed by the field, in Portuguese, with what the
person typed kept (and escaped)."""

from __future__ import annotations

import jinja2

from console.forms import Form, in_portuguese
from console.templating import TEMPLATES
from shared.errors import Conflict, ValidationFailed

LABELS = {"justification": "Justificativa", "summary": "Resumo"}


def render(form: Form) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    page = env.from_string(
        '{% from "_macros.html" import field %}{% include "_error_summary.html" %}'
        '{{ field(form, "justification", "Justificativa", required=True, hint="Dica") }}')
    return page.render(form=form)


def test_a_problem_goes_by_its_field_in_portuguese_and_the_text_stays() -> None:
    form = Form(values={"justification": 'curta <b>"x"</b>'}, labels=LABELS)
    form.take(ValidationFailed("invalid", [
        {"field": "body.justification", "message": "String should have at least 10 characters"},
        {"field": "summary", "message": "Field required"}]))
    assert form.errors == {"justification": "Texto curto demais.",
                           "summary": "Campo obrigatório."}
    html = render(form)
    assert 'value="curta &lt;b&gt;&#34;x&#34;&lt;/b&gt;"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="dica-justification erro-justification"' in html
    assert ('<span class="feedback danger" role="alert" id="erro-justification">'
            "Texto curto demais.</span>") in html
    assert '<a href="#campo-justification">Justificativa: Texto curto demais.</a>' in html


def test_a_problem_of_no_field_goes_to_the_summary() -> None:
    form = Form(labels=LABELS)
    form.take(Conflict("not allowed in the current state"))
    assert form.errors == {"": "A situação atual não permite esta operação. Atualize a "
                               "página e tente de novo."}
    html = render(form)
    assert "A situação atual não permite" in html and 'aria-invalid' not in html


def test_unknown_messages_get_a_generic_sentence() -> None:
    assert in_portuguese("something odd happened") == "Valor inválido."
    assert in_portuguese("Field required") == "Campo obrigatório."
