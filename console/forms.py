"""Forms: what a person typed, and the errors tied to each field, in Portuguese.

A screen builds a ``Form`` from the posted fields, calls a service handler, and on a
``DomainError`` gives the error to the form, which places each of the problem's errors by
the field it concerns (``fields`` maps the API's field names to the form's). The templates'
``field`` macro shows the value back and the error under the label; ``_error_summary.html``
lists them all at the top, linked to their fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import falcon

from shared.errors import BadRequest, DomainError
from shared.files import FilePart
from shared.http import multipart_body, read_body
from shared.settings import Settings

# The services speak English in their problem documents; a person reads Portuguese. A
# message is matched by the first entry found anywhere in it (pydantic prefixes a
# validator's text with "Value error, "), so the narrower entries come first; what is
# not known here gets a generic sentence.
_MESSAGES = (
    ("field required", "Campo obrigatório."),
    ("string should have at least", "Texto curto demais."),
    ("string should have at most", "Texto longo demais."),
    ("value should have at least", "Poucos itens."),
    ("value should have at most", "Itens demais."),
    ("should be greater than or equal to 15", "A duração mínima é de 15 minutos."),
    ("should be less than or equal to 240", "A duração máxima é de 240 minutos."),
    ("input should be a valid integer", "Informe um número inteiro."),
    ("input should be a valid date", "Informe uma data válida."),
    ("value is not a valid email", "E-mail inválido."),
    ("invalid or expired token", "Token inválido ou expirado."),
    ("missing bearer token", "Informe o token."),
    ("not a valid cpf", "CPF inválido."),
    ("invalid cpf", "CPF inválido."),
    ("not a valid e-mail", "E-mail inválido."),
    # A service's form (services/requests/forms.py) and the services' refusals.
    ("must be a valid cpf", "CPF inválido."),
    ("must be a number", "Informe um número."),
    ("must be an e-mail address", "E-mail inválido."),
    ("must be a phone number", "Telefone inválido: informe com DDD."),
    ("must be a date", "Informe uma data válida."),
    ("must be one of the options", "Escolha uma das opções."),
    ("must be one line", "Use uma linha só."),
    ("must be in the future", "A data e a hora devem estar no futuro."),
    ("at least 10 characters", "Escreva ao menos 10 caracteres."),
    ("a choice needs distinct options", "Informe opções distintas, uma por linha."),
    ("options are only for choice fields", "Opções só valem para “Escolha entre opções”."),
    ("file must be one of: pdf", "Envie um arquivo PDF."),
    ("file must be one of", "Tipo de arquivo não aceito: envie PDF, PNG ou JPEG."),
    ("file is not a valid", "O arquivo está danificado ou não é do tipo que diz ser."),
    ("file larger than", "Arquivo grande demais."),
    ("room opens 15 minutes", "A sala abre 15 minutos antes do início e fecha no fim da "
                              "reunião; tente de novo nesse intervalo."),
    ("meeting was cancelled", "A reunião foi cancelada."),
    ("meeting has ended", "A reunião já terminou."),
    ("has started cannot be rescheduled", "Uma reunião já iniciada não pode ser remarcada."),
    ("already invited", "Esta pessoa já foi convidada."),
    ("does not match", "E-mail inválido."),
    ("enabled attendant", "Escolha um atendente liberado desta unidade."),
    ("assigned a request they made", "Quem fez a solicitação não pode atendê-la."),
    ("only the citizen", "Só quem fez a solicitação pode fazer isso."),
    ("already reviewed", "Este atendimento já foi avaliado."),
    ("required", "Campo obrigatório."),
    ("at most", "Texto longo demais."),
    ("unknown", "Valor não reconhecido."),
)
GENERIC = "Valor inválido."
TITLES = {
    400: "Pedido inválido",
    401: "Sessão encerrada",
    403: "Acesso não permitido",
    404: "Página não encontrada",
    405: "Operação não permitida",
    409: "Operação não permitida agora",
    412: "Os dados mudaram",
    413: "Envio grande demais",
    415: "Tipo de envio não aceito",
    422: "Dados inválidos",
    500: "Erro interno",
    503: "Serviço indisponível",
}
DETAILS = {
    400: "O pedido não pôde ser entendido. Volte e tente de novo.",
    401: "Sua sessão terminou. Entre de novo para continuar.",
    403: "Você não tem permissão para fazer isso.",
    404: "O endereço não existe ou você não tem acesso a ele.",
    405: "Esta operação não existe neste endereço.",
    409: "A situação atual não permite esta operação. Atualize a página e tente de novo.",
    412: "Outra pessoa alterou estes dados enquanto você os lia. Atualize a página.",
    413: "O envio passou do tamanho máximo aceito.",
    415: "O tipo de arquivo ou de envio não é aceito.",
    422: "Alguns dados não foram aceitos. Corrija e envie de novo.",
    500: "Algo deu errado do nosso lado. O erro foi registrado; tente de novo mais tarde.",
    503: "O serviço está indisponível no momento.",
}


def in_portuguese(message: str) -> str:
    low = message.lower()
    for part, text in _MESSAGES:
        if part in low:
            return text
    return GENERIC


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # field -> label, for the summary

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def require(self, *names: str) -> None:
        for name in names:
            if not self.value(name).strip():
                self.add(name, "Campo obrigatório.")

    @property
    def ok(self) -> bool:
        return not self.errors

    def take(self, exc: DomainError, fields: dict[str, str] | None = None,
             default: str | None = None) -> None:
        """Place a service's problem on the form: each error by its field (through
        ``fields``), what belongs to no field of the form on ``default`` or the summary."""
        fields = fields or {}
        placed = False
        for err in exc.errors or []:
            api_field = re.sub(r"^body\.", "", err.get("field", ""))
            name = fields.get(api_field) or (api_field if api_field in self.labels else None)
            if name is not None:
                message = err.get("message", "")
                # A pattern's refusal says nothing a person reads; on the e-mail it is one.
                self.add(name, "E-mail inválido." if name == "email" and "pattern" in message
                         else in_portuguese(message))
                placed = True
        if not placed:
            known = in_portuguese(exc.detail)
            self.add(default or "", known if known != GENERIC else
                     DETAILS.get(exc.status, GENERIC))

    @classmethod
    def posted(cls, req: falcon.Request, labels: dict[str, str] | None = None) -> Form:
        """The urlencoded fields of a post (read once, by the CSRF check or here)."""
        return cls(values=dict(posted_fields(req)), labels=labels or {})


MAX_FILES = 5  # per post: the follow-up's Anexos, a document


class Uploads:
    """Middleware: tells ``posted_fields`` the platform's size caps, so that a multipart
    post (a file with its CSRF field) is read within them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.upload_settings = self.settings


def posted_files(req: falcon.Request) -> list[FilePart]:
    """The files of a multipart post (read once, with its fields); empty file inputs
    (no name, no bytes) are left out."""
    posted_fields(req)
    files: list[FilePart] = getattr(req.context, "files", [])
    return [f for f in files if f.filename or f.data]


def posted_fields(req: falcon.Request, limit: int = 64 * 1024) -> dict[str, str]:
    cached: dict[str, str] | None = getattr(req.context, "form", None)
    if cached is not None:
        return cached
    media = (req.content_type or "").split(";")[0].strip().lower()
    fields: dict[str, str] = {}
    settings = getattr(req.context, "upload_settings", None)
    if media == "multipart/form-data" and settings is not None:
        body = multipart_body(req, settings, max_files=MAX_FILES)
        fields, req.context.files = dict(body.fields), body.files
    elif media == "application/x-www-form-urlencoded":
        raw = read_body(req, limit)  # too large: 413, the error page
        try:
            parsed = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest("malformed form") from exc
        fields = {k: v[0] for k, v in parsed.items()}
    req.context.form = fields
    return fields
