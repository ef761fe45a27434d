"""The requests service: catalog, roster, requests and their timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.requests import consumers, store
from services.requests.contract import CONTRACT, OPERATIONS, RID
from shared.context import ServiceContext
from shared.service import ServiceDef

if TYPE_CHECKING:
    import falcon


def build_app(ctx: ServiceContext) -> falcon.App:
    # The HTTP side is imported where it is built: a worker never loads it.
    from services.requests import resources as r
    from services.requests import uploads
    from shared.http import create_app

    routes: dict[str, object] = {
        "/catalog/services": r.Services(ctx),
        "/catalog/services/{service_id}": r.Service(ctx),
        "/attendants": r.Attendants(ctx),
        "/attendants/{sub}": r.Attendant(ctx),
        "/requests": r.Requests(ctx),
        RID: r.RequestItem(ctx),
        f"{RID}/documents": r.Documents(ctx),
        f"{RID}/documents/{{doc_id}}": r.Document(ctx),
        f"{RID}/documents/uploads": uploads.Uploads(ctx),
        f"{RID}/documents/uploads/{{upload_id}}": uploads.UploadCompletion(ctx),
        f"{RID}/analysis": r.Analysis(ctx),
        f"{RID}/steps/{{key}}": r.StepCheck(ctx),
        f"{RID}/rejection": r.Rejection(ctx),
        f"{RID}/approval": r.Approval(ctx),
        f"{RID}/conclusion": r.Conclusion(ctx),
        f"{RID}/timeline": r.Timeline(ctx),
        f"{RID}/reassignment": r.Reassignment(ctx),
    }
    return create_app(ctx, routes, OPERATIONS, title="Atende requests")


SERVICE = ServiceDef(CONTRACT, build_app, apply=consumers.effect, reads=store.event_reads)
