"""The requests service's contract: catalog, roster, requests and their timeline."""

from __future__ import annotations

from services.requests import schemas as s
from shared.contract import Contract, Operation

REQUEST_EVENTS = ("RequestSubmitted", "AnalysisStarted", "StepChecked", "RequestRejected",
                  "RequestApproved", "RequestReassigned", "RequestConcluded")

_PAGE = ("limit", "cursor")
RID = "/requests/{request_id}"

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
    Operation("GET", RID, "One request (with ETag)", response=s.RequestOut),
    Operation("POST", f"{RID}/documents", "Attach a document (owning citizen)",
              multipart=("file", "key"), response=s.DocumentOut, status=201),
    Operation("GET", f"{RID}/documents/{{doc_id}}", "A document's bytes", binary=True),
    Operation("POST", f"{RID}/analysis", "Start the analysis", response=s.RequestOut),
    Operation("PUT", f"{RID}/steps/{{key}}", "Check a step", body=s.StepIn,
              response=s.RequestOut),
    Operation("POST", f"{RID}/rejection", "Reject", body=s.RejectionIn,
              response=s.RequestOut),
    Operation("POST", f"{RID}/approval", "Approve and assign", body=s.ApprovalIn,
              response=s.RequestOut),
    Operation("POST", f"{RID}/reassignment",
              "Hand the request to another attendant (registrar or the assignee)",
              body=s.ReassignmentIn, response=s.RequestOut),
    Operation("POST", f"{RID}/conclusion", "Conclude (optional PDF)", body=s.ConclusionIn,
              multipart=("summary", "file"), response=s.RequestOut),
    Operation("GET", f"{RID}/timeline", "Everything that happened, oldest first",
              response=s.TimelinePage, query=_PAGE),
]

CONTRACT = Contract(
    name="requests",
    operations=tuple(OPERATIONS),
    publishes=(*REQUEST_EVENTS, "RosterChanged"),
    consumes=("FollowupPosted", "MeetingScheduled", "MeetingRescheduled", "MeetingCanceled",
              "GuestInvited", "MeetingJoined", "ReviewSubmitted", "ReviewModerated"),
)
