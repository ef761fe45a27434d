"""The baseline: a bare Falcon app answering a small JSON document, under the same WSGI
server and settings as ``atende dev`` (``python -m infra.bench.bare PORT``)."""

from __future__ import annotations

import sys

import falcon


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok", "items": [{"id": n, "name": f"item {n}"}
                                                for n in range(3)]}


def app() -> falcon.App:
    bare = falcon.App()
    bare.add_route("/", Hello())
    bare.add_route("/health", Hello())
    return bare


if __name__ == "__main__":
    from waitress import serve

    from infra.server import waitress_options
    from shared.settings import Settings

    serve(app(), host="127.0.0.1", port=int(sys.argv[1]), **waitress_options(Settings()))
