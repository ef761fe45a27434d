"""Request and response bodies: the same models validate input and document the API."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.mail import ADDRESS
from shared.model import Model, empty_list
from shared.parties import PartyOut

FieldType = Literal["text", "long_text", "number", "date", "email", "cpf", "phone", "choice"]
Status = Literal["submitted", "in_analysis", "rejected", "in_service", "concluded"]
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")

Name = Field(min_length=1, max_length=200)


class _In(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def _key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
    return value


def _unique(items: list[Any], what: str) -> list[Any]:
    keys = [i.key for i in items]
    if len(keys) != len(set(keys)):
        raise ValueError(f"{what} keys must be unique")
    return items


# --- catalog -------------------------------------------------------------------------


class FormField(_In):
    key: str
    label: str = Name
    type: FieldType
    required: bool = False
    options: list[str] | None = Field(default=None, max_length=200)

    _check_key = field_validator("key")(_key)

    @model_validator(mode="after")
    def _options_fit_type(self) -> FormField:
        if self.type == "choice":
            if not self.options or len(set(self.options)) != len(self.options):
                raise ValueError("a choice needs distinct options")
        elif self.options is not None:
            raise ValueError("options are only for choice fields")
        return self


class Step(_In):
    key: str
    label: str = Name

    _check_key = field_validator("key")(_key)


class DocumentSpec(_In):
    key: str
    label: str = Name
    required: bool = False

    _check_key = field_validator("key")(_key)


class ServiceIn(_In):
    name: str = Name
    description: str = Field(default="", max_length=5000)
    unit: str = Field(min_length=1, max_length=100)
    form: list[FormField] = Field(max_length=100)
    steps: list[Step] = Field(max_length=100)
    documents: list[DocumentSpec] = Field(default_factory=empty_list, max_length=50)
    deadline_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("form")
    @classmethod
    def _form_keys(cls, v: list[FormField]) -> list[FormField]:
        return _unique(v, "form")

    @field_validator("steps")
    @classmethod
    def _step_keys(cls, v: list[Step]) -> list[Step]:
        return _unique(v, "step")

    @field_validator("documents")
    @classmethod
    def _doc_keys(cls, v: list[DocumentSpec]) -> list[DocumentSpec]:
        return _unique(v, "document")


class ServicePatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    unit: str | None = Field(default=None, min_length=1, max_length=100)
    form: list[FormField] | None = Field(default=None, max_length=100)
    steps: list[Step] | None = Field(default=None, max_length=100)
    documents: list[DocumentSpec] | None = Field(default=None, max_length=50)
    deadline_days: int | None = Field(default=None, ge=1, le=3650)
    active: bool | None = None

    _form_keys = field_validator("form")(lambda v: v if v is None else _unique(v, "form"))
    _step_keys = field_validator("steps")(lambda v: v if v is None else _unique(v, "step"))
    _doc_keys = field_validator("documents")(
        lambda v: v if v is None else _unique(v, "document"))


class ServiceOut(Model):
    id: str
    org: str
    unit: str
    name: str
    description: str
    form: list[FormField]
    steps: list[Step]
    documents: list[DocumentSpec]
    deadline_days: int | None
    active: bool
    created_at: str


class ServicePage(Model):
    items: list[ServiceOut]
    next_cursor: str | None


# --- roster --------------------------------------------------------------------------


class AttendantIn(_In):
    name: str = Name
    email: str | None = Field(default=None, max_length=254, pattern=ADDRESS)
    unit: str = Field(min_length=1, max_length=100)
    enabled: bool


class AttendantOut(Model):
    sub: str
    name: str
    email: str | None
    org: str
    unit: str
    enabled: bool


class AttendantPage(Model):
    items: list[AttendantOut]
    next_cursor: str | None


# --- requests ------------------------------------------------------------------------


class RequestIn(_In):
    service_id: str = Field(min_length=1, max_length=64)
    answers: dict[str, Any]


class StepIn(_In):
    ok: bool
    note: str | None = Field(default=None, max_length=2000)


class RejectionIn(_In):
    justification: str = Field(max_length=5000)

    @field_validator("justification")
    @classmethod
    def _long_enough(cls, v: str) -> str:
        if len(v.strip()) < 10:
            raise ValueError("must have at least 10 characters")
        return v.strip()


class ApprovalIn(_In):
    assignee: str = Field(min_length=1, max_length=200)


class ReassignmentIn(_In):
    assignee: str = Field(min_length=1, max_length=200)
    reason: str = Field(max_length=2000, description=(
        "Why the request changes hands; part of the request's timeline, which its citizen "
        "reads too"))

    @field_validator("reason")
    @classmethod
    def _given(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a reason is required")
        return v.strip()


class ConclusionIn(_In):
    summary: str = Field(min_length=1, max_length=10_000)


# A party: {sub, name} to the institution's staff, {name, role} to a citizen.
Person = PartyOut


class UploadIn(_In):
    """A file to be posted straight to S3: what it says it is, checked again after."""

    key: str | None = None
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=1, le=2**40)  # the cap is checked after; this bounds the number

    @field_validator("key")
    @classmethod
    def _valid_key(cls, v: str | None) -> str | None:
        return None if v is None else _key(v)


class UploadOut(Model):
    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: str


class DocumentOut(Model):
    id: str
    key: str | None
    filename: str
    content_type: str
    size: int
    sha256: str


class StepOut(Model):
    key: str
    label: str
    ok: bool | None
    note: str | None
    checked_by: Person | None
    checked_at: str | None


class Rejection(Model):
    justification: str
    by: Person
    at: str


class Conclusion(Model):
    summary: str
    attachment: DocumentOut | None
    by: Person
    at: str


class RequestOut(Model):
    id: str
    service_id: str
    service_name: str
    org: str
    unit: str
    citizen: Person
    answers: dict[str, Any]
    documents: list[DocumentOut]
    status: Status
    steps: list[StepOut]
    analyst: Person | None
    assignee: Person | None
    rejection: Rejection | None
    conclusion: Conclusion | None
    citizen_verdict: Literal["approved", "rejected"] | None
    due_at: str | None
    last_activity_at: str
    created_at: str
    updated_at: str
    version: int


class PanelItem(Model):
    id: str
    service_id: str
    service_name: str
    citizen_name: str
    status: Status
    assignee: Person | None
    citizen_verdict: Literal["approved", "rejected"] | None
    due_at: str | None
    created_at: str
    updated_at: str


class PanelPage(Model):
    items: list[PanelItem]
    next_cursor: str | None


class TimelineEntry(Model):
    at: str
    type: str
    actor: Person | None
    data: dict[str, Any]


class TimelinePage(Model):
    items: list[TimelineEntry]
    next_cursor: str | None
