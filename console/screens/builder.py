"""The registrar's form builder as a plain form: rows of fields, steps and documents,
posted whole. A fixed number of empty rows, and "Adicionar …" posting it back with one
more, so that it works without JavaScript. The rows become the service's JSON body;
the requests service's own schema judges it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from console.forms import Form

SPARE = 2  # empty rows offered under the filled ones


def slug(label: str, taken: set[str]) -> str:
    """A key for a label ("Data de nascimento" -> "data_de_nascimento"), unique."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")[:56] or "campo"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    taken.add(key)
    return key


@dataclass
class Builder:
    TYPES = {"text": "Texto curto", "long_text": "Texto longo", "number": "Número",
             "date": "Data", "email": "E-mail", "cpf": "CPF", "phone": "Telefone",
             "choice": "Escolha entre opções"}
    GROWS = ("campo", "etapa", "documento")

    fields: int = 1 + SPARE
    steps: int = 1 + SPARE
    documents: int = SPARE
    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, dict[int, int]] = field(default_factory=dict)  # api index -> row

    @classmethod
    def empty(cls, unit: str) -> Builder:
        return cls(values={"unidade": unit, "campo-0-tipo": "text"})

    @classmethod
    def of(cls, service: dict[str, Any]) -> Builder:
        v = {"nome": service["name"], "unidade": service["unit"],
             "descricao": service.get("description") or "",
             "prazo": str(service.get("deadline_days") or "")}
        for i, f in enumerate(service["form"]):
            v |= {f"campo-{i}-rotulo": f["label"], f"campo-{i}-tipo": f["type"],
                  f"campo-{i}-chave": f["key"],
                  f"campo-{i}-opcoes": "\n".join(f.get("options") or [])}
            if f.get("required"):
                v[f"campo-{i}-obrigatorio"] = "1"
        for i, s in enumerate(service["steps"]):
            v |= {f"etapa-{i}-rotulo": s["label"], f"etapa-{i}-chave": s["key"]}
        for i, d in enumerate(service["documents"]):
            v |= {f"documento-{i}-rotulo": d["label"], f"documento-{i}-chave": d["key"]}
            if d.get("required"):
                v[f"documento-{i}-obrigatorio"] = "1"
        return cls(len(service["form"]) + SPARE, len(service["steps"]) + SPARE,
                   len(service["documents"]) + SPARE, v)

    @classmethod
    def posted(cls, form: Form) -> Builder:
        def count(name: str, default: int) -> int:
            raw = form.value(name)
            return min(int(raw), 100) if raw.isascii() and raw.isdigit() else default

        return cls(count("n-campos", 3), count("n-etapas", 3), count("n-documentos", 2),
                   dict(form.values))

    def form(self) -> Form:
        return Form(values=dict(self.values), labels=self.labels())

    def grow(self, what: str) -> None:
        if what == "campo":
            self.fields += 1
        elif what == "etapa":
            self.steps += 1
        else:
            self.documents += 1

    def labels(self) -> dict[str, str]:
        out = {"nome": "Nome do serviço", "unidade": "Unidade", "descricao": "Descrição",
               "prazo": "Prazo (dias)"}
        for i in range(self.fields):
            out |= {f"campo-{i}-rotulo": f"Campo {i + 1}: rótulo",
                    f"campo-{i}-opcoes": f"Campo {i + 1}: opções"}
        for i in range(self.steps):
            out[f"etapa-{i}-rotulo"] = f"Etapa {i + 1}"
        for i in range(self.documents):
            out[f"documento-{i}-rotulo"] = f"Documento {i + 1}"
        return out

    def body(self, form: Form) -> dict[str, Any]:
        """The service as the API takes it, from the filled rows; an empty row is none."""
        v = form.value
        self.rows = {"form": {}, "steps": {}, "documents": {}}
        taken: set[str] = {v(f"{kind}-{i}-chave") for kind, n in (
            ("campo", self.fields), ("etapa", self.steps), ("documento", self.documents))
            for i in range(n)} - {""}
        fields: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        for i in range(self.fields):
            label = v(f"campo-{i}-rotulo").strip()
            if not label:
                continue
            kind = v(f"campo-{i}-tipo") or "text"
            item: dict[str, Any] = {"key": v(f"campo-{i}-chave") or slug(label, taken),
                                    "label": label, "type": kind,
                                    "required": v(f"campo-{i}-obrigatorio") == "1"}
            if kind == "choice":
                item["options"] = [o.strip() for o in v(f"campo-{i}-opcoes").splitlines()
                                   if o.strip()]
            self.rows["form"][len(fields)] = i
            fields.append(item)
        for i in range(self.steps):
            label = v(f"etapa-{i}-rotulo").strip()
            if label:
                self.rows["steps"][len(steps)] = i
                steps.append({"key": v(f"etapa-{i}-chave") or slug(label, taken),
                              "label": label})
        for i in range(self.documents):
            label = v(f"documento-{i}-rotulo").strip()
            if label:
                self.rows["documents"][len(documents)] = i
                documents.append({"key": v(f"documento-{i}-chave") or slug(label, taken),
                                  "label": label,
                                  "required": v(f"documento-{i}-obrigatorio") == "1"})
        deadline = v("prazo").strip()
        if deadline and not (deadline.isascii() and deadline.isdigit()):
            form.add("prazo", "Informe um número inteiro de dias.")
        if not fields:
            form.add("campo-0-rotulo", "Inclua ao menos um campo.")
        return {"name": v("nome").strip(), "unit": v("unidade").strip(),
                "description": v("descricao").strip(), "form": fields, "steps": steps,
                "documents": documents,
                "deadline_days": int(deadline) if deadline.isdigit() else None}

    def api_fields(self) -> dict[str, str]:
        """The API's error fields -> the builder's inputs."""
        out = {"name": "nome", "unit": "unidade", "description": "descricao",
               "deadline_days": "prazo", "form": "campo-0-rotulo",
               "steps": "etapa-0-rotulo", "documents": "documento-0-rotulo"}
        for api, row in self.rows.get("form", {}).items():
            out |= {f"form.{api}": f"campo-{row}-opcoes",
                    f"form.{api}.options": f"campo-{row}-opcoes",
                    f"form.{api}.label": f"campo-{row}-rotulo",
                    f"form.{api}.key": f"campo-{row}-rotulo",
                    f"form.{api}.type": f"campo-{row}-rotulo"}
        for kind, prefix in (("steps", "etapa"), ("documents", "documento")):
            for api, row in self.rows.get(kind, {}).items():
                out |= {f"{kind}.{api}.label": f"{prefix}-{row}-rotulo",
                        f"{kind}.{api}.key": f"{prefix}-{row}-rotulo"}
        return out
