"""The attendant's screens without a browser: each state's actions, who may see what, and
bad input shown by its field in Portuguese with what was typed kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import pytest

from infra.bootstrap import Platform
from infra.demo import PEOPLE
from infra.gateway import gateway_for
from shared.clock import FrozenClock
from tests.console.attendant_flow import (
    PDF,
    PNG,
    api,
    error_by,
    multipart,
    review,
    submit,
    token,
    value_of,
)
from tests.console.conftest import Browser

START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # a Monday, 10:00 in Brasília


def as_(platform: Platform, who: str) -> Browser:
    b = Browser(gateway_for(platform))
    r = b.login_demo(who)
    assert r.status_code == 303, r.text
    return b


def post(b: Browser, path: str, form: dict[str, str]) -> Any:
    return b.post(path, {"csrf": b.csrf("/console/notificacoes"), **form})


def post_files(b: Browser, path: str, fields: dict[str, str],
               files: list[tuple[str, str, bytes]]) -> Any:
    body, ctype = multipart({"csrf": b.csrf("/console/notificacoes"), **fields}, files)
    return b._keep(b.client.simulate_post(path, body=body, protocol=b.scheme, headers=b._headers(
        {"Content-Type": ctype, "Origin": b.origin})))


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


@pytest.fixture
def clocked(make_console: Callable[..., Platform]) -> tuple[Platform, FrozenClock]:
    clock = FrozenClock(START)
    return make_console(clock=clock), clock


def analysed(platform: Platform, ana: Browser) -> str:
    rid = submit(platform)
    base = f"/console/solicitacoes/{rid}"
    assert post(ana, base + "/analise", {}).status_code == 303
    for key in ("identidade", "cadastro"):
        assert post(ana, f"{base}/etapas/{key}", {"verificacao": "sim"}).status_code == 303
    return rid


def in_service(platform: Platform) -> tuple[str, Browser]:
    ana = as_(platform, "attendant")
    rid = analysed(platform, ana)
    r = post(ana, f"/console/solicitacoes/{rid}/aprovar", {"atendente": "att-2"})
    assert r.status_code == 303, r.text
    return rid, as_(platform, "attendant2")


def test_panel_filters_and_overdue_in_words(clocked: tuple[Platform, FrozenClock]) -> None:
    platform, clock = clocked
    submit(platform)
    ana = as_(platform, "attendant")
    page = ana.get("/console/solicitacoes").text
    for name in ("Situação", "Atribuídas a mim", "Atrasadas", "Ações", "Detalhes"):
        assert name in page
    assert "(Atrasada)" not in page
    assert "Detalhes" not in ana.get("/console/solicitacoes?minhas=sim").text
    assert "Detalhes" not in ana.get("/console/solicitacoes?situacao=concluded").text
    assert "Detalhes" not in ana.get("/console/solicitacoes?atrasadas=sim").text
    clock.advance(days=11)
    ana = as_(platform, "attendant")  # the session has expired meanwhile
    assert "(Atrasada)" in ana.get("/console/solicitacoes?atrasadas=sim").text


def test_analysis_step_by_step_then_approval_to_a_colleague(platform: Platform) -> None:
    rid = submit(platform)
    base = f"/console/solicitacoes/{rid}"
    ana = as_(platform, "attendant")
    page = ana.get(base).text
    assert "Iniciar Análise" in page and "Nome completo" in page and "529.982.247-25" in page
    assert "Sim, Aprovar!" not in page
    r = post(ana, base + "/analise", {})
    assert r.status_code == 303 and "aviso=analise" in r.headers["Location"]
    page = ana.get(base + "?aviso=analise").text
    assert 'role="status"' in page and "Análise iniciada." in page
    assert "Identidade conferida" in page and "Sim, Aprovar!" in page
    assert "Bruno Atendente" in page  # the select Atendente: enabled colleagues

    r = post(ana, base + "/etapas/identidade", {"verificacao": "nao"})
    assert r.status_code == 422
    assert error_by(r.text, "observacao-identidade") == "Informe a observação para responder Não."
    r = post(ana, base + "/etapas/identidade",
             {"verificacao": "nao", "observacao-identidade": "Documento ilegível"})
    assert r.status_code == 303
    assert "Documento ilegível" in ana.get(base).text
    post(ana, base + "/etapas/identidade", {"verificacao": "sim"})

    r = post(ana, base + "/aprovar", {"atendente": ""})
    assert r.status_code == 422 and error_by(r.text, "atendente") == "Campo obrigatório."
    r = post(ana, base + "/aprovar", {"atendente": "att-2"})
    assert r.status_code == 303
    page = ana.get(base).text
    assert "Em atendimento" in page and "Criar Acompanhamento" not in page  # not hers
    bruno = as_(platform, "attendant2")
    assert "Criar Acompanhamento" in bruno.get(base).text


def test_a_short_justification_keeps_the_text(platform: Platform) -> None:
    ana = as_(platform, "attendant")
    rid = analysed(platform, ana)
    base = f"/console/solicitacoes/{rid}"
    assert "Justificativa" in ana.get(base + "/reprovar").text
    r = post(ana, base + "/reprovar", {"justificativa": "curta"})
    assert r.status_code == 422
    assert error_by(r.text, "justificativa") == "Escreva ao menos 10 caracteres."
    assert value_of(r.text, "justificativa") == "curta"
    r = post(ana, base + "/reprovar", {"justificativa": "Documentação incompleta."})
    assert r.status_code == 303
    page = ana.get(base).text
    assert "Reprovada" in page and "Documentação incompleta." in page


def test_who_may_see_a_request(platform: Platform) -> None:
    rid = submit(platform)
    path = f"/console/solicitacoes/{rid}"
    assert as_(platform, "citizen").get(path).status_code == 404
    reg = {"Authorization": f"Bearer {token(platform, 'registrar')}"}
    r = api(platform).simulate_put("/attendants/att-9", headers=reg, json={
        "name": "Olga Outra", "unit": "outra", "enabled": True})
    assert r.status_code == 200
    other = Browser(gateway_for(platform))
    t = token(platform, "attendant", sub="att-9", name="Olga Outra", unit="outra")
    assert other.post("/console/entrar", {"csrf": other.csrf("/console/entrar"),
                                          "token": t}).status_code == 303
    assert other.get(path).status_code == 404
    assert other.get(path + "/documentos/x").status_code == 404
    r = api(platform).simulate_put("/attendants/att-2", headers=reg, json={
        "name": PEOPLE["attendant2"]["name"], "unit": "atendimento", "enabled": False})
    assert r.status_code == 200
    bruno = as_(platform, "attendant2")
    r = bruno.get(path)
    assert r.status_code == 403 and "Perfil não liberado" in r.text
    assert "Perfil não liberado" in bruno.get("/console/avaliacoes").text
    assert Browser(gateway_for(platform)).get(path).status_code == 303  # to Entrar


def test_answers_are_shown_by_the_form_the_request_was_made_with(platform: Platform) -> None:
    """A registrar's later change to the service's form (a field relabelled, another
    removed) changes nothing in how a request already made shows its answers."""
    rid = submit(platform)
    client = api(platform)
    service = client.simulate_get("/catalog/services").json["items"][0]
    changed = [{**f, "label": "Nome social"} if f["key"] == "nome" else f
               for f in service["form"] if f["key"] != "finalidade"]
    r = client.simulate_patch(f"/catalog/services/{service['id']}", json={"form": changed},
                              headers={"Authorization": f"Bearer {token(platform, 'registrar')}"})
    assert r.status_code == 200, r.text
    made_with = {f["key"]: f["label"] for f in service["form"]}
    page = as_(platform, "attendant").get(f"/console/solicitacoes/{rid}").text
    mine = as_(platform, "citizen").get(f"/console/minhas-solicitacoes/{rid}").text
    for answers in (page[page.index("Respostas do cidadão"):page.index("Documentos")],
                    mine[mine.index("Suas respostas"):]):
        assert made_with["nome"] in answers and "Nome social" not in answers
        assert made_with["finalidade"] in answers and "estudo" in answers


def test_a_page_seen_before_is_refused_at_once_and_shows_what_changed(
        platform: Platform) -> None:
    """The detail page is kept by what it shows (console/web.py's Pages): its reads, and
    so every check on the person, still run on each request."""
    rid = submit(platform)
    path = f"/console/solicitacoes/{rid}"
    ana, other = as_(platform, "attendant"), as_(platform, "attendant")
    first = ana.get(path)
    assert first.status_code == 200 and "Iniciar Análise" in first.text
    mine, theirs = ana.csrf(path), other.csrf(path)  # the same page, each its own token
    assert mine != theirs and theirs not in ana.get(path).text
    api(platform).simulate_post(f"/requests/{rid}/analysis", headers={
        "Authorization": f"Bearer {token(platform, 'attendant')}"})
    assert "Iniciar Análise" not in ana.get(path).text  # another page: what it shows moved
    reg = {"Authorization": f"Bearer {token(platform, 'registrar')}"}
    r = api(platform).simulate_put("/attendants/att-1", headers=reg, json={
        "name": PEOPLE["attendant"]["name"], "unit": "atendimento", "enabled": False})
    assert r.status_code == 200
    r = ana.get(path)
    assert r.status_code == 403 and "Perfil não liberado" in r.text


def test_a_detail_page_seen_again_is_the_kept_page(platform: Platform,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The request and its timeline reach the page as the services' JSON (plain data), and
    its follow-ups and meetings as lists: the page seen again unchanged is sent from
    ``Pages``, not rendered, with this session's own token."""
    rid, bia = in_service(platform)
    path = f"/console/solicitacoes/{rid}"
    assert post_files(bia, path + "/acompanhamentos", {"mensagem": "Segue."},
                      []).status_code == 303
    # Once its timeline has the follow-up (delivered by the worker), the page stays as is.
    eventually(lambda: "Acompanhamento enviado" in bia.get(path).text)
    first = bia.get(path)
    assert first.status_code == 200 and "Segue." in first.text
    rendered: list[str] = []
    render = jinja2.Template.render

    def counted(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        rendered.append(str(self.name))
        return render(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", counted)
    again = bia.get(path)
    assert again.status_code == 200 and again.text == first.text
    assert rendered == []


def test_a_detail_page_reads_from_one_snapshot(platform: Platform) -> None:
    """Its request, timeline, follow-ups and meetings as of one moment (on SQLite, one
    read transaction: also its reads' cheapest way); the session is read before it."""
    rid = submit(platform)
    path = f"/console/solicitacoes/{rid}"
    ana = as_(platform, "attendant")
    statements = _statements_of_a_repeat_view(platform, ana, path)
    begin, end = statements.index("BEGIN"), statements.index("COMMIT")
    inside = [s for s in statements[begin:end] if s.startswith("SELECT")]
    before = [s for s in statements[:begin] + statements[end:] if s.startswith("SELECT")]
    # The roster entry with the request and its timeline (one range read), and the
    # other services' parts with their roster copies.
    assert len(inside) >= 1 and len(before) == 1 and '"console"' in before[0]


def _statements_of_a_repeat_view(platform: Platform, client: Any, path: str) -> list[str]:
    """The SQL statements of a second view of ``path`` (the first warms what is kept)."""
    assert client.get(path).status_code == 200
    statements: list[str] = []
    conn = platform.contexts["requests"].table.db.connection()  # type: ignore[attr-defined]
    conn.set_trace_callback(statements.append)
    try:
        assert client.get(path).status_code == 200
    finally:
        conn.set_trace_callback(None)
    return statements


def test_a_request_in_service_is_shown_from_three_reads(platform: Platform) -> None:
    """The request with its timeline, the follow-ups with their view and the meetings
    with theirs: one range read each, each with its service's roster copy (the requests
    one also the console's check). Under the server every statement costs the GIL's
    hand-overs between threads (docs/performance.md)."""
    rid, bruno = in_service(platform)
    path = f"/console/solicitacoes/{rid}"
    statements = _statements_of_a_repeat_view(platform, bruno, path)
    begin, end = statements.index("BEGIN"), statements.index("COMMIT")
    assert len([s for s in statements[begin:end] if s.startswith("SELECT")]) == 3


def test_followups_meetings_and_conclusion(clocked: tuple[Platform, FrozenClock]) -> None:
    platform, clock = clocked
    rid, bruno = in_service(platform)
    base = f"/console/solicitacoes/{rid}"
    r = post_files(bruno, base + "/acompanhamentos", {"mensagem": "Segue o parecer."},
                   [("anexos", "parecer.pdf", PDF)])
    assert r.status_code == 303, r.text
    page = bruno.get(base).text
    assert "Histórico de Acompanhamentos" in page and "parecer.pdf" in page
    link = page.split("parecer.pdf")[0].rsplit('href="', 1)[1].split('"')[0]
    got = bruno.get(link)
    assert got.status_code == 200 and got.content == PDF
    poll = bruno.get(base + "/historico?n=1", headers={"HX-Request": "true"})
    assert poll.status_code == 204  # nothing new
    citizen = {"Authorization": f"Bearer {token(platform, 'citizen')}"}
    r = api(platform).simulate_post(f"/requests/{rid}/followups", headers=citizen,
                                    json={"body": "Obrigada!"})
    assert r.status_code == 201
    poll = bruno.get(base + "/historico?n=1", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and "Obrigada!" in poll.text
    assert poll.text.index("Segue o parecer.") < poll.text.index("Obrigada!")

    r = post_files(bruno, base + "/acompanhamentos", {"mensagem": ""}, [])
    assert r.status_code == 422 and error_by(r.text, "mensagem") == "Campo obrigatório."

    past = {"data": "2026-03-01", "hora": "09:00", "assunto": "Conversa", "duracao": "30"}
    r = post(bruno, base + "/reunioes", past)
    assert r.status_code == 422
    assert error_by(r.text, "data") == "A data e a hora devem estar no futuro."
    assert value_of(r.text, "assunto") == "Conversa" and value_of(r.text, "data") == "2026-03-01"
    r = post(bruno, base + "/reunioes", {**past, "data": "2026-03-03"})
    assert r.status_code == 303
    page = bruno.get(base).text
    assert "Conversa" in page and "03/03/2026 09:00" in page
    join = page.split(">Acessar<")[0].rsplit('href="', 1)[1].split('"')[0]
    assert "Seu nome" in bruno.get(join).text
    r = post(bruno, join, {"nome": "Bruno"})
    assert r.status_code == 409 and "A sala abre 15 minutos antes" in r.text
    assert value_of(r.text, "nome") == "Bruno"
    invite = join.replace("/acessar", "/convidar")
    r = post(bruno, invite, {"nome": "Perito", "email": "nao-e-email"})
    assert r.status_code == 422 and value_of(r.text, "nome") == "Perito"
    assert error_by(r.text, "email") == "E-mail inválido."
    assert post(bruno, invite, {"nome": "Perito", "email": "perito@example.com"}
                ).status_code == 303
    clock.advance(hours=22, minutes=55)  # 5 minutes before the start: the room is open
    bruno = as_(platform, "attendant2")  # the session has expired meanwhile
    r = post(bruno, join, {"nome": "Bruno"})
    assert r.status_code == 200, r.text[r.text.find("<main"):][:1500]
    assert 'target="_blank"' in r.text and f'href="{platform.settings.jitsi_base_url}/' in r.text

    conclude = base + "/concluir"
    assert "Concluir Solicitação" in bruno.get(conclude).text
    r = post_files(bruno, conclude, {"resumo": "Certidão emitida."},
                   [("arquivo", "certidao.png", PNG)])
    assert r.status_code == 415
    assert error_by(r.text, "arquivo") == "Envie um arquivo PDF."
    assert value_of(r.text, "resumo") == "Certidão emitida."
    r = post_files(bruno, conclude, {"resumo": "Certidão emitida."},
                   [("arquivo", "certidao.pdf", PDF)])
    assert r.status_code == 303, r.text
    page = bruno.get(base).text
    assert "Avaliação do cidadão" in page and "Aguardando" in page and "certidao.pdf" in page

    review(platform, rid, "approved", "Atendimento ótimo, me ligue em 11 98765-4321")
    eventually(lambda: "Aprovado" in bruno.get(base).text.split("Avaliação do cidadão")[1])
    eventually(lambda: "Aprovar comentário" in bruno.get("/console/avaliacoes").text)
    queue = bruno.get("/console/avaliacoes").text
    assert "contém um telefone" in queue
    review_id = queue.split('name="avaliacao" value="')[1].split('"')[0]
    r = post(bruno, "/console/avaliacoes", {"avaliacao": review_id, "decisao": "aprovar"})
    assert r.status_code == 303
    assert "Aprovar comentário" not in bruno.get("/console/avaliacoes").text


def test_notifications_are_marked_read(platform: Platform) -> None:
    rid, bruno = in_service(platform)
    eventually(lambda: "Marcar como lida" in bruno.get("/console/notificacoes").text)
    page = bruno.get("/console/notificacoes").text
    note = page.split('/notificacoes/')[1].split('/lida')[0]
    r = post(bruno, f"/console/notificacoes/{note}/lida", {})
    assert r.status_code == 303
    assert f"/notificacoes/{note}/lida" not in bruno.get("/console/notificacoes").text
    assert post(as_(platform, "attendant"), f"/console/notificacoes/{note}/lida",
                {}).status_code == 404
    assert rid


def test_the_meeting_form_is_only_the_assignees(platform: Platform) -> None:
    rid, _ = in_service(platform)
    ana = as_(platform, "attendant")
    page = ana.get(f"/console/solicitacoes/{rid}").text
    assert "Agendar" not in page and "Histórico de Acompanhamentos" in page
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    r = post(ana, f"/console/solicitacoes/{rid}/reunioes",
             {"data": future, "hora": "10:00", "assunto": "X", "duracao": "30"})
    assert r.status_code == 403 and "permissão" in r.text


def test_documents_download_through_the_console(platform: Platform) -> None:
    rid = submit(platform)
    body, ctype = multipart({"key": "rg"}, [("file", "rg.pdf", PDF)])
    r = api(platform).simulate_post(f"/requests/{rid}/documents", body=body, headers={
        "Authorization": f"Bearer {token(platform, 'citizen')}", "Content-Type": ctype})
    assert r.status_code == 201, r.text
    ana = as_(platform, "attendant")
    page = ana.get(f"/console/solicitacoes/{rid}").text
    link = page.split(">rg.pdf<")[0].rsplit('href="', 1)[1].split('"')[0]
    got = ana.get(link)
    assert got.status_code == 200 and got.content == PDF
    assert "attachment" in got.headers["Content-Disposition"]
    assert as_(platform, "citizen2").get(link).status_code == 404


def test_meetings_are_rescheduled_and_cancelled(clocked: tuple[Platform, FrozenClock]) -> None:
    platform, _ = clocked
    rid, bruno = in_service(platform)
    base = f"/console/solicitacoes/{rid}"
    r = post(bruno, base + "/reunioes", {"data": "2026-03-04", "hora": "15:00",
                                          "assunto": "Entrevista", "duracao": "10"})
    assert r.status_code == 422
    assert error_by(r.text, "duracao") == "A duração mínima é de 15 minutos."
    r = post(bruno, base + "/reunioes", {"data": "2026-03-04", "hora": "15:00",
                                          "assunto": "Entrevista", "duracao": "45"})
    assert r.status_code == 303
    page = bruno.get(base).text
    again = page.split(">Remarcar<")[0].rsplit('href="', 1)[1].split('"')[0]
    r = post(bruno, again, {"data": "2026-03-01", "hora": "10:00"})
    assert r.status_code == 422 and value_of(r.text, "data") == "2026-03-01"
    assert error_by(r.text, "data") == "A data e a hora devem estar no futuro."
    assert post(bruno, again, {"data": "2026-03-05", "hora": "10:30"}).status_code == 303
    page = bruno.get(base + "?aviso=remarcada").text
    assert "Reunião remarcada." in page and "05/03/2026 10:30" in page
    assert post(bruno, again.replace("/remarcar", "/cancelar"), {}).status_code == 303
    page = bruno.get(base).text
    assert "Cancelada" in page and ">Acessar<" not in page


def test_only_the_analyst_sees_the_decision(platform: Platform) -> None:
    ana = as_(platform, "attendant")
    rid = analysed(platform, ana)
    page = as_(platform, "attendant2").get(f"/console/solicitacoes/{rid}").text
    assert "Em análise" in page and "Sim, Aprovar!" not in page and ">Não<" not in page
    r = post(as_(platform, "attendant2"), f"/console/solicitacoes/{rid}/reprovar",
             {"justificativa": "Sem documentos suficientes."})
    assert r.status_code == 403 and "permissão" in r.text
