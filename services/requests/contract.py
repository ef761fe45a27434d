"""The requests service's contract: catalog, roster, requests and their timeline."""

from __future__ import annotations

from typing import get_args

from services.requests import schemas as s
from shared.contract import PAGE, Contract, Operation, Query
from shared.messages import REQUEST_EVENTS

RID = "/requests/{request_id}"

# What a command on a request can be refused for, beyond its shape.
_STAFF = ("forbidden", "attendant_not_enabled", "conflict_of_interest", "invalid_transition",
          "precondition_failed")

OPERATIONS = [
    Operation("POST", "/catalog/services", "Register a service (registrar)", body=s.ServiceIn,
              response=s.ServiceOut, status=201, errors=("forbidden",),
              description="A service of the registrar's org: its form (field types text, "
              "long_text, number, date, email, cpf, phone, choice with options), the steps an "
              "analyst checks, the documents a citizen may attach, and optionally how many "
              "calendar days the unit has to conclude a request.",
              example={"name": "Certidão", "unit": "atend", "deadline_days": 10,
                       "form": [{"key": "cpf", "label": "CPF", "type": "cpf",
                                 "required": True}],
                       "steps": [{"key": "id", "label": "Identidade conferida"}],
                       "documents": [{"key": "rg", "label": "RG", "required": False}]}),
    Operation("GET", "/catalog/services", "Active services", auth="public",
              response=s.ServicePage, query=PAGE,
              description="Public, no token: the services a citizen may ask for."),
    Operation("GET", "/catalog/services/{service_id}", "One active service", auth="public",
              response=s.ServiceOut, description="Public, no token; a retired one is 404."),
    Operation("PATCH", "/catalog/services/{service_id}", "Change or retire a service",
              body=s.ServicePatch, response=s.ServiceOut, errors=("forbidden",),
              description="A registrar of the service's org; `active: false` retires it. "
              "Requests already made keep the form they were made with.",
              example={"active": False}),
    Operation("PUT", "/attendants/{sub}", "Enrol or update an attendant (registrar)",
              body=s.AttendantIn, response=s.AttendantOut, errors=("forbidden",),
              description="The roster: an attendant acts only while an enabled entry of "
              "their org and unit exists.",
              example={"name": "Ana", "email": "ana@pref.gov.br", "unit": "atend",
                       "enabled": True}),
    Operation("GET", "/attendants", "The institution's attendants (staff)",
              response=s.AttendantPage, errors=("forbidden",),
              query=(Query("unit", "a unit of the caller's org"), *PAGE),
              description="Staff of the same org; `unit` narrows it to one unit."),
    Operation("POST", "/requests", "Submit a request (citizen)", body=s.RequestIn,
              response=s.RequestOut, status=201, errors=("forbidden",),
              description="The answers are checked against the service's form (required "
              "fields, types, CPF check digits, e-mail, dates, choices, no unknown keys): "
              "422 with `errors` per field.",
              example={"service_id": "01hx...", "answers": {"nome": "Carla",
                                                            "cpf": "529.982.247-25"}}),
    Operation("GET", "/requests", "The panel", response=s.PanelPage,
              query=(Query("status", "repeatable", {"type": "array", "items": {
                  "type": "string", "enum": list(get_args(s.Status))}}),
                  Query("assignee", "`me` or an attendant's sub"),
                  Query("service_id", "a catalog service's id"),
                  Query("overdue", "only requests past their due_at", {"type": "boolean"}),
                  *PAGE),
              errors=("attendant_not_enabled",),
              description="A citizen sees their own requests, an attendant their unit's, a "
              "registrar their org's; newest first."),
    Operation("GET", RID, "One request (with ETag)", response=s.RequestOut,
              errors=("attendant_not_enabled",),
              description="The ETag is the request's version: send it as If-Match with a "
              "command on the request (412 if it is stale) or with a follow-up, meeting or "
              "review right after it (the service waits for its view to catch up)."),
    Operation("POST", f"{RID}/documents", "Attach a document (owning citizen)",
              multipart=("file", "key"), response=s.DocumentOut, status=201,
              required_parts=("file",), errors=("forbidden", "invalid_transition",
                                               "precondition_failed"),
              description="While `submitted`. PDF, PNG or JPEG, told by content; over the "
              "size cap (default 10 MiB) 413; another type 415. `key` names one of the "
              "service's documents."),
    Operation("GET", f"{RID}/documents/{{doc_id}}", "A document's bytes", binary=True,
              errors=("attendant_not_enabled",),
              description="With the stored content type and Content-Disposition: "
              "attachment. Where files are kept on S3, one over `ATENDE_BLOB_REDIRECT_BYTES` "
              "(default 4 MiB on AWS) is answered 307 to a presigned S3 URL that serves it "
              "the same way for `ATENDE_BLOB_URL_SECONDS` (default 300)."),
    Operation("POST", f"{RID}/documents/uploads", "Open a direct upload to S3 (owning "
              "citizen)", body=s.UploadIn, response=s.UploadOut, status=201,
              errors=("forbidden", "invalid_transition", "conflict"),
              description="While `submitted`, for files too large to pass through the API "
              "on AWS: answers a presigned S3 POST (`url`, form `fields`, then the file as "
              "the last part `file`) valid until `expires_at`, which S3 honours only for "
              "the key it names, 1 byte to the size cap and the declared `content_type`. "
              "Declared over the cap 413; another type than PDF, PNG or JPEG 415. Then "
              "complete it. Where files are not kept on S3, 409 `conflict`: send the file "
              "to `POST .../documents` as multipart.",
              example={"key": "rg", "filename": "RG.pdf", "content_type": "application/pdf",
                       "size": 7340032}),
    Operation("POST", f"{RID}/documents/uploads/{{upload_id}}", "Complete a direct upload: "
              "judge the file and attach it", response=s.DocumentOut, status=201,
              errors=("forbidden", "invalid_transition", "conflict", "precondition_failed",
                      "payload_too_large", "unsupported_media_type"),
              description="The file posted to the slot is judged by its content as a "
              "multipart upload is (413, 415, 422, and then deleted from S3) and attached "
              "as a document: the same answer as `POST .../documents`. Again after it "
              "succeeded, the same answer and nothing done. 409 `conflict` while nothing "
              "has been posted to the slot."),
    Operation("POST", f"{RID}/analysis", "Start the analysis", response=s.RequestOut,
              errors=_STAFF, description="An enabled attendant of the request's unit; "
              "`submitted` to `in_analysis`, the caller becomes its analyst."),
    Operation("PUT", f"{RID}/steps/{{key}}", "Check a step", body=s.StepIn,
              response=s.RequestOut, errors=_STAFF, example={"ok": False,
                                                            "note": "Foto ilegível"},
              description="The analyst while `in_analysis`, the assignee while "
              "`in_service`; a note is required when `ok` is false."),
    Operation("POST", f"{RID}/rejection", "Reject", body=s.RejectionIn,
              response=s.RequestOut, errors=_STAFF,
              example={"justification": "Documentação incompleta para o pedido."},
              description="The analyst, `in_analysis`; a justification of at least 10 "
              "characters. The citizen is told, with the justification."),
    Operation("POST", f"{RID}/approval", "Approve and assign", body=s.ApprovalIn,
              response=s.RequestOut, errors=_STAFF, example={"assignee": "att-2"},
              description="The analyst, `in_analysis`, to an enabled attendant of the "
              "request's unit (else 422); `in_service`."),
    Operation("POST", f"{RID}/reassignment",
              "Hand the request to another attendant (registrar or the assignee)",
              body=s.ReassignmentIn, response=s.RequestOut, errors=_STAFF,
              example={"assignee": "att-2", "reason": "Férias da atendente."},
              description="The institution's registrar or the current assignee, "
              "`in_service`, to an enabled attendant of the request's unit (else 422); a "
              "timeline entry, and both attendants and the citizen are told."),
    Operation("POST", f"{RID}/conclusion", "Conclude (optional PDF)", body=s.ConclusionIn,
              multipart=("summary", "file"), response=s.RequestOut, errors=_STAFF,
              required_parts=("summary",), example={"summary": "Certidão emitida."},
              description="The assignee, `in_service`: JSON `{summary}` or multipart "
              "`summary` and an optional `file`, which must be a PDF (else 415)."),
    Operation("GET", f"{RID}/timeline", "Everything that happened, oldest first",
              response=s.TimelinePage, query=PAGE, errors=("attendant_not_enabled",),
              description="Including the other services' events about the request."),
]

CONTRACT = Contract(
    name="requests",
    operations=tuple(OPERATIONS),
    publishes=(*REQUEST_EVENTS, "RosterChanged"),
    consumes=("FollowupPosted", "MeetingScheduled", "MeetingRescheduled", "MeetingCanceled",
              "GuestInvited", "MeetingJoined", "ReviewSubmitted", "ReviewModerated"),
    json_pages=("view",),  # the panel's rows (handlers.panel)
)
