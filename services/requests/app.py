"""The requests service: catalog, roster, requests and their timeline."""

from __future__ import annotations

import falcon

from services.requests import consumers
from services.requests import resources as r
from services.requests import schemas as s
from shared.http import Operation, ServiceContext, create_app
from shared.service import ServiceDef

_PAGE = ("limit", "cursor")
_RID = "/requests/{request_id}"

OPERATIONS = [
    Operation("POST", "/catalog/services", "Register a service (registrar)", body=s.ServiceIn,
              response=s.ServiceOut, status=201),
    Operation("GET", "/catalog/services", "Active services", auth="public",
              response=s.ServicePage, query=_PAGE),
    Operation("GET", "/catalog/services/{service_id}", "One active service", auth="public",
              response=s.ServiceOut),
    Operation("PATCH", "/catalog/services/{service_id}", "Change or retire a service",
              body=s.ServicePatch, response=s.ServiceOut),
    Operation("PUT", "/attendants/{sub}", "Enrol or update an attendant (registrar)",
              body=s.AttendantIn, response=s.AttendantOut),
    Operation("GET", "/attendants", "The institution's attendants (staff)",
              response=s.AttendantPage, query=("unit", *_PAGE)),
    Operation("POST", "/requests", "Submit a request (citizen)", body=s.RequestIn,
              response=s.RequestOut, status=201),
    Operation("GET", "/requests", "The panel", response=s.PanelPage,
              query=("status", "assignee", "service_id", "overdue", *_PAGE)),
    Operation("GET", _RID, "One request (with ETag)", response=s.RequestOut),
    Operation("POST", f"{_RID}/documents", "Attach a document (owning citizen)",
              multipart=("file", "key"), response=s.DocumentOut, status=201),
    Operation("GET", f"{_RID}/documents/{{doc_id}}", "A document's bytes", binary=True),
    Operation("POST", f"{_RID}/analysis", "Start the analysis", response=s.RequestOut),
    Operation("PUT", f"{_RID}/steps/{{key}}", "Check a step", body=s.StepIn,
              response=s.RequestOut),
    Operation("POST", f"{_RID}/rejection", "Reject", body=s.RejectionIn,
              response=s.RequestOut),
    Operation("POST", f"{_RID}/approval", "Approve and assign", body=s.ApprovalIn,
              response=s.RequestOut),
    Operation("POST", f"{_RID}/reassignment",
              "Hand the request to another attendant (registrar or the assignee)",
              body=s.ReassignmentIn, response=s.RequestOut),
    Operation("POST", f"{_RID}/conclusion", "Conclude (optional PDF)", body=s.ConclusionIn,
              multipart=("summary", "file"), response=s.RequestOut),
    Operation("GET", f"{_RID}/timeline", "Everything that happened, oldest first",
              response=s.TimelinePage, query=_PAGE),
]


def build_app(ctx: ServiceContext) -> falcon.App:
    routes: dict[str, object] = {
        "/catalog/services": r.Services(ctx),
        "/catalog/services/{service_id}": r.Service(ctx),
        "/attendants": r.Attendants(ctx),
        "/attendants/{sub}": r.Attendant(ctx),
        "/requests": r.Requests(ctx),
        _RID: r.RequestItem(ctx),
        f"{_RID}/documents": r.Documents(ctx),
        f"{_RID}/documents/{{doc_id}}": r.Document(ctx),
        f"{_RID}/analysis": r.Analysis(ctx),
        f"{_RID}/steps/{{key}}": r.StepCheck(ctx),
        f"{_RID}/rejection": r.Rejection(ctx),
        f"{_RID}/approval": r.Approval(ctx),
        f"{_RID}/reassignment": r.Reassignment(ctx),
        f"{_RID}/conclusion": r.Conclusion(ctx),
        f"{_RID}/timeline": r.Timeline(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende requests")


SERVICE = ServiceDef(name="requests", operations=OPERATIONS, create_app=build_app,
                     on_event=consumers.build)
