"""**Avaliações**: the moderation queue of the institution's reviews. Pending and flagged
first, each with the screening's reasons in words; **Aprovar comentário** / **Reprovar
comentário** decide it (the reviews service's own handler)."""

from __future__ import annotations

import falcon

from console.forms import Form
from console.screens.staff import attendance, install_filters, staff
from console.web import PREFIX, Console
from shared.errors import DomainError, NotFound
from shared.identity import Principal

FLAGS = {"cpf": "contém um CPF", "cnpj": "contém um CNPJ", "phone": "contém um telefone",
         "email": "contém um e-mail", "card": "contém um número de cartão",
         "offensive": "contém linguagem ofensiva"}
STATES = {"pending": "Aguardando moderação", "flagged": "Sinalizada na triagem",
          "screening": "Em triagem", "approved": "Publicada", "rejected": "Recusada"}
NOTICES = {"approve": "Comentário aprovado e publicado.", "reject": "Comentário reprovado."}
DECISIONS = {"aprovar": "approve", "reprovar": "reject"}


class Queue:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        p = staff(self.console, req)
        self.page(req, resp, p, Form(), NOTICES.get(req.get_param("aviso") or ""))

    def page(self, req: falcon.Request, resp: falcon.Response, p: Principal, form: Form,
             notice: str | None = None, status: int = 200) -> None:
        svc = attendance(self.console)
        waiting = [r for state in ("flagged", "pending") for r in svc.review_queue(p, state)]
        waiting.sort(key=lambda r: r["created_at"])
        screening = svc.review_queue(p, "screening")
        self.console.render(req, resp, "attendant_reviews.html", title="Avaliações",
                            status=status, waiting=waiting, screening=screening, form=form,
                            notice=notice, flags=FLAGS, states=STATES)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        p = staff(self.console, req)
        form = Form.posted(req)
        decision = DECISIONS.get(form.value("decisao"), "")
        try:
            attendance(self.console).moderate(p, form.value("avaliacao"), decision)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            form.take(exc)
            return self.page(req, resp, p, form, status=exc.status)
        raise falcon.HTTPSeeOther(f"{PREFIX}/avaliacoes?aviso={decision}")


def register(console: Console) -> None:
    install_filters(console)
    console.screen("/avaliacoes", Queue(console), menu="Avaliações",
                   roles=("attendant", "registrar"))
