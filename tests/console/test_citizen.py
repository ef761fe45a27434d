"""The citizen's screens in process: a service's page, its form (a wrong CPF refused by
the field, the text kept), documents, the request's page in each state, another
citizen's request hidden, follow-ups, meetings, the conclusion's file, the review, and
the notifications."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from tests.console.conftest import Browser
from tests.console.people import BAD_CPF, GOOD_CPF, PDF, Api, post_files, settle


def h1(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found
    return found.group(1)


def apply(browser: Browser, service_id: str, cpf: str) -> tuple[int, str, str]:
    path = f"/console/servicos/{service_id}/solicitar"
    token = browser.csrf(path)
    r = browser.post(path, {"csrf": token, "resposta-nome": "Carla <Souza>",
                            "resposta-cpf": cpf, "resposta-finalidade": "estudo"})
    return r.status_code, r.text, r.headers.get("Location", "")


def test_the_service_page_shows_its_reviews_and_solicitar_for_anyone(
        platform: Platform, browser: Browser) -> None:
    api = Api(platform)
    sid = api.service_id()
    home = browser.get("/console/").text
    assert f'href="/console/servicos/{sid}">Certidão de regularidade</a>' in home
    page = browser.get(f"/console/servicos/{sid}")
    assert page.status_code == 200 and h1(page.text) == "Certidão de regularidade"
    assert "Este serviço ainda não foi avaliado." in page.text
    assert f'href="/console/servicos/{sid}/solicitar">Solicitar</a>' in page.text
    # The form itself needs a citizen: the anonymous go to Entrar.
    r = browser.get(f"/console/servicos/{sid}/solicitar")
    assert r.status_code == 303 and r.headers["Location"] == "/console/entrar"
    assert browser.get("/console/servicos/nao-existe").status_code == 404


def test_the_form_follows_the_service_and_a_wrong_cpf_is_refused_by_its_field(
        platform: Platform, browser: Browser) -> None:
    sid = Api(platform).service_id()
    browser.login_demo("citizen")
    form = browser.get(f"/console/servicos/{sid}/solicitar").text
    assert h1(form) == "Solicitar"
    # Labelled as the service defines it, to the letter; "obrigatório" in text beside it.
    assert re.search(r'for="campo-resposta-nome">Nome completo</label> '
                     r'<span class="atende-required">\(obrigatório\)</span>', form)
    assert re.search(r'id="campo-resposta-cpf"[^>]*inputmode="numeric"[^>]*data-cpf', form)
    assert "<legend>Finalidade" in form and 'type="radio"' in form  # a choice: radios
    assert "cpf." in form and ">Enviar solicitação</button>" in form
    status, text, _ = apply(browser, sid, BAD_CPF)
    assert status == 422
    assert re.search(r'id="erro-resposta-cpf">CPF inválido.</span>', text)
    assert f'value="{BAD_CPF}"' in text and 'value="Carla &lt;Souza&gt;"' in text
    assert 'value="estudo" checked' in text  # the choice kept too
    assert '<a href="#campo-resposta-cpf">CPF: CPF inválido.</a>' in text
    status, _, where = apply(browser, sid, GOOD_CPF)
    assert status == 303 and where.startswith("/console/minhas-solicitacoes/")
    page = browser.get(where)
    assert "Solicitação enviada." in page.text and "Enviada</strong>" in page.text
    assert "Documento de identidade" in page.text and "Enviar documento" in page.text


def test_a_document_is_sent_as_a_file_and_downloaded_back(
        platform: Platform, browser: Browser) -> None:
    api = Api(platform)
    rid = api.submit(api.service_id())
    browser.login_demo("citizen")
    here = f"/console/minhas-solicitacoes/{rid}"
    token = browser.csrf(here)
    r = post_files(browser, f"{here}/documentos/rg", {"csrf": token},
                   [("arquivo", "rg.txt", b"not a document")])
    assert r.status_code == 422 and 'id="erro-documento-rg"' in r.text
    r = post_files(browser, f"{here}/documentos/rg", {"csrf": token},
                   [("arquivo", "rg.pdf", PDF)])
    assert r.status_code == 303
    page = browser.get(r.headers["Location"].split("#")[0]).text
    link = re.search(rf'href="({here}/arquivos/[^"]+)">rg.pdf</a>', page)
    assert link and "Documento enviado." in page
    got = browser.get(link.group(1))
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["Content-Disposition"].startswith("attachment")
    # Without the CSRF field, a file post is refused like any other.
    assert post_files(browser, f"{here}/documentos/rg", {},
                      [("arquivo", "rg.pdf", PDF)]).status_code == 403


def test_another_citizens_request_is_not_found(platform: Platform, browser: Browser) -> None:
    api = Api(platform)
    rid = api.submit(api.service_id())
    browser.login_demo("citizen2")
    assert browser.get(f"/console/minhas-solicitacoes/{rid}").status_code == 404
    assert "Nenhuma solicitação" in browser.get("/console/minhas-solicitacoes").text
    token = browser.csrf("/console/minhas-solicitacoes")
    r = browser.post(f"/console/minhas-solicitacoes/{rid}/avaliacao",
                     {"csrf": token, "veredito": "approved"})
    assert r.status_code in (404, 422)
    assert "aprovou" not in r.text


def test_a_rejected_request_shows_its_justification(platform: Platform,
                                                   browser: Browser) -> None:
    api = Api(platform)
    rid = api.submit(api.service_id())
    api.call("POST", f"/requests/{rid}/analysis", "attendant")
    api.call("POST", f"/requests/{rid}/rejection", "attendant",
             json={"justification": "Documento ilegível, envie de novo."})
    browser.login_demo("citizen")
    listed = browser.get("/console/minhas-solicitacoes").text
    assert "<td>Reprovada</td>" in listed
    page = browser.get(f"/console/minhas-solicitacoes/{rid}").text
    assert "Justificativa da reprovação: Documento ilegível, envie de novo." in page
    assert "Solicitação reprovada" in page  # the timeline, in words
    assert "Enviar documento" not in page and "Avaliar atendimento" not in page


def test_follow_up_answered_with_a_file_meeting_conclusion_and_review(
        platform: Platform, browser: Browser) -> None:
    api = Api(platform)
    rid = api.submit(api.service_id())
    api.into_service(rid)
    here = f"/console/minhas-solicitacoes/{rid}"
    settle(platform, lambda: _followups_know(api, rid))
    api.followup(rid, "Envie o comprovante, por favor.")
    browser.login_demo("citizen")
    page = browser.get(here).text
    assert "Histórico de Acompanhamentos" in page and "Envie o comprovante" in page
    assert "<h3 id=\"responder-titulo\">Responder</h3>" in page
    token = browser.csrf(here)
    r = post_files(browser, f"{here}/acompanhamentos", {"csrf": token, "mensagem": ""}, [])
    assert r.status_code == 422 and 'id="erro-mensagem">Campo obrigatório.' in r.text
    r = post_files(browser, f"{here}/acompanhamentos",
                   {"csrf": token, "mensagem": "Segue o comprovante."},
                   [("anexos", "comprovante.pdf", PDF)])
    assert r.status_code == 303
    page = browser.get(here).text
    assert "Segue o comprovante." in page and ">comprovante.pdf</a>" in page

    settle(platform, lambda: _meetings_know(api, rid))
    early = api.meeting(rid, in_minutes=60)
    soon = api.meeting(rid, in_minutes=10)
    r = browser.post(f"{here}/reunioes/{early}/acessar", {"csrf": token, "nome": "Carla"})
    assert r.status_code == 409 and "A sala abre 15 minutos antes" in r.text
    r = browser.post(f"{here}/reunioes/{soon}/acessar", {"csrf": token, "nome": "Carla"})
    assert r.status_code == 200 and 'src="https://meet.jit.si/' in r.text

    api.conclude(rid)
    page = browser.get(here).text
    assert "Certidão emitida." in page and "Avaliar atendimento" in page
    pdf = re.search(rf'href="({here}/arquivos/[^"]+)">Baixar PDF da conclusão', page)
    assert pdf and browser.get(pdf.group(1)).content == PDF
    assert "Bearer" not in page and "token" not in page.lower().replace("csrf-token", "")
    settle(platform, lambda: _reviews_know(api, rid))
    r = browser.post(f"{here}/avaliacao", {"csrf": token, "veredito": "", "nota": "5",
                                           "comentario": "Muito bom"})
    assert r.status_code == 422 and 'id="erro-veredito"' in r.text
    assert ">Muito bom</textarea>" in r.text
    r = browser.post(f"{here}/avaliacao", {"csrf": token, "veredito": "approved",
                                           "nota": "5", "comentario": "Muito bom"})
    assert r.status_code == 303
    settle(platform, lambda: "Você aprovou" in browser.get(here).text)
    # Moderated, the comment shows on the service's page with the ratings.
    settle(platform, lambda: _moderated(api))
    service = browser.get(f"/console/servicos/{api.service_id()}").text
    assert "1 avaliação." in service and "Nota média: 5.0 de 5." in service
    assert "Aprovação: 100%." in service and "<p>Muito bom</p>" in service


def _moderated(api: Api) -> bool:
    queue = api.call("GET", "/reviews", "attendant")["items"]
    waiting = [r for r in queue if r.get("moderation") not in (None, "approved")]
    if not queue or any(r.get("moderation") == "screening" for r in queue):
        return False
    for review in waiting:
        r = api.client.simulate_post(
            f"/reviews/{review['id']}/moderation", json={"decision": "approve"},
            headers={"Authorization": f"Bearer {_tok(api, 'attendant')}"})
        if r.status_code >= 300:
            return False
    return True


def _followups_know(api: Api, rid: str) -> bool:
    r = api.client.simulate_get(f"/requests/{rid}/followups", headers={
        "Authorization": f"Bearer {_tok(api, 'attendant')}"})
    return r.status_code == 200


def _meetings_know(api: Api, rid: str) -> bool:
    r = api.client.simulate_get(f"/requests/{rid}/meetings", headers={
        "Authorization": f"Bearer {_tok(api, 'attendant')}"})
    return r.status_code == 200


def _reviews_know(api: Api, rid: str) -> bool:
    from services.reviews import repository

    view = repository.get_view(api.platform.contexts["reviews"].table, rid)
    return view is not None and view.snapshot.status == "concluded"


def _tok(api: Api, who: str) -> str:
    from tests.console.people import token

    return token(api.platform, who)


def test_notifications_unread_first_and_marked_read(platform: Platform,
                                                    browser: Browser) -> None:
    api = Api(platform)
    rid = api.submit(api.service_id())
    api.call("POST", f"/requests/{rid}/analysis", "attendant")
    browser.login_demo("citizen")
    settle(platform, lambda: "Marcar como lida" in browser.get("/console/notificacoes").text)
    page = browser.get("/console/notificacoes").text
    assert h1(page) == "Notificações"
    note = re.search(r'action="(/console/notificacoes/[^"]+/lida)"', page)
    assert note and f'href="/console/solicitacao/{rid}"' in page
    r = browser.get(f"/console/solicitacao/{rid}")
    assert r.headers["Location"] == f"/console/minhas-solicitacoes/{rid}"
    r = browser.post(note.group(1), {"csrf": browser.csrf("/console/notificacoes")})
    assert r.status_code == 303
    page = browser.get(r.headers["Location"]).text
    assert "Notificação marcada como lida." in page and note.group(1) not in page
    # Staff have theirs too, on the same screen.
    other = Browser(browser.client.app)
    other.login_demo("attendant")
    staff = other.get("/console/notificacoes")
    assert staff.status_code == 200 and h1(staff.text) == "Notificações"
    assert PEOPLE["attendant"]["name"] in staff.text


def test_the_mails_link_to_the_console(make_console: Any) -> None:
    """With ATENDE_CONSOLE_URL, a notification's mail links to the request's page (for
    whoever reads it) and an invitation to the guest's door, the code in the query."""
    platform = make_console(console_url="https://atende.example.gov.br")
    api = Api(platform)
    rid = api.submit(api.service_id())
    api.into_service(rid)
    settle(platform, lambda: _meetings_know(api, rid))
    code = api.invite(rid, api.meeting(rid, in_minutes=30))
    mails = platform.settings.data_dir / "mail"

    def texts() -> list[str]:
        found = [message_from_bytes(p.read_bytes(), policy=policy.default)
                 for p in mails.glob("*.eml")] if mails.exists() else []
        return [m.get_body(("plain",)).get_content() for m in found]

    settle(platform, lambda: any("convite?codigo=" in t for t in texts()), timeout=10)
    link = f"https://atende.example.gov.br/console/solicitacao/{rid}"
    settle(platform, lambda: any(link in t for t in texts()), timeout=10)
    assert any(f"https://atende.example.gov.br/console/convite?codigo={code}" in t
               for t in texts())
    browser = Browser(gateway_for(platform))
    browser.login_demo("attendant")
    r = browser.get(f"/console/solicitacao/{rid}")
    assert r.headers["Location"] == f"/console/solicitacoes/{rid}"


def test_each_field_type_gets_its_control(platform: Platform, browser: Browser) -> None:
    api = Api(platform)
    kinds = ["text", "long_text", "number", "date", "email", "cpf", "phone"]
    form = [{"key": k, "label": f"Campo {k}", "type": k} for k in kinds]
    form.append({"key": "cor", "label": "Cor", "type": "choice",
                 "options": ["azul", "verde", "roxo", "preto", "branco"]})
    sid = api.call("POST", "/catalog/services", "registrar", json={
        "name": "Todos os tipos", "unit": "atendimento", "form": form, "steps": []})["id"]
    browser.login_demo("citizen")
    page = browser.get(f"/console/servicos/{sid}/solicitar").text

    def control(key: str) -> str:
        found = re.search(rf'<(input|textarea|select) id="campo-resposta-{key}"[^>]*>', page)
        assert found, key
        return found.group(0)

    assert control("long_text").startswith("<textarea")
    assert 'inputmode="decimal"' in control("number")
    assert 'type="date"' in control("date")
    assert 'type="email"' in control("email") and 'inputmode="email"' in control("email")
    assert 'type="tel"' in control("phone") and 'autocomplete="tel"' in control("phone")
    assert control("cor").startswith("<select")  # five options: a select
    assert "(obrigatório)" not in page  # none of them required
    token = browser.csrf(f"/console/servicos/{sid}/solicitar")
    r = browser.post(f"/console/servicos/{sid}/solicitar", {
        "csrf": token, "resposta-number": "dez", "resposta-email": "x@",
        "resposta-phone": "12", "resposta-date": "2027-02-30", "resposta-cor": "rosa"})
    assert r.status_code == 422
    for key, words in (("number", "Informe um número."), ("email", "E-mail inválido."),
                       ("phone", "Telefone inválido"), ("date", "Informe uma data válida."),
                       ("cor", "Escolha uma das opções.")):
        assert re.search(rf'id="erro-resposta-{key}">{re.escape(words)}', r.text), key
