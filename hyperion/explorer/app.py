"""The explorer's aiohttp application: routes, rendering, errors.

``explorer_app(source)`` returns an ``aiohttp.web.Application`` that the
node mounts under ``/explorer`` on its RPC port (``RpcServer.mount``), so
the pages, the JSON-RPC endpoint and the WebSocket the home page listens
on share one origin. Pages are rendered on the server (Jinja2, escaped);
the only script is ``static/live.js``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Awaitable, Callable

import jinja2
from aiohttp import web

from hyperion.explorer import chain_pages, lazai_pages, rollup_pages
from hyperion.explorer.rollup_pages import ROLLUP
from hyperion.explorer.source import RpcFailure, Source, SourceUnavailable
from hyperion.explorer.views import NotFound, Page, Section, slug

log = logging.getLogger("hyperion.explorer")

PREFIX = "/explorer"
_HERE = Path(__file__).parent

SOURCE = web.AppKey("source", Source)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.ChainableUndefined)
    env.filters["slug"] = slug
    return env


def render(request: web.Request, page: Page, status: int = 200) -> web.Response:
    html = request.app[TEMPLATES].get_template("page.html").render(
        page=page, prefix=PREFIX, query=request.query.get("q"))
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store"})


Handler = Callable[[web.Request, Source], Awaitable[Page | web.StreamResponse]]


def _page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request, request.app[SOURCE])
        except NotFound as exc:
            return render(request, Page("Not found", [Section("Nothing here", "text", rows=str(exc))]), 404)
        except (RpcFailure, ValueError, KeyError) as exc:
            message = exc.message if isinstance(exc, RpcFailure) else str(exc)
            return render(request, Page("Cannot show this", [Section("Error", "text", rows=message)]), 400)
        except SourceUnavailable as exc:  # e.g. the rollup pages' L1 endpoint is down
            return render(request, Page("Node unavailable", [Section("Error", "text", rows=str(exc))]), 503)
        except web.HTTPException:
            raise
        except Exception as exc:  # a page bug must not take the node down: log it, answer 500
            log.exception("explorer page %s failed", request.path)
            return render(request, Page("Explorer error", [Section("Error", "text", rows=repr(exc))]), 500)
        if isinstance(result, web.StreamResponse):
            return result
        return render(request, result)

    return serve


async def _fragment_latest(request: web.Request) -> web.Response:
    page = await chain_pages.home(request, request.app[SOURCE])
    return render(request, page)


def explorer_app(source: Source, rollup: object = None) -> web.Application:
    """The explorer, reading the chain through ``source``; ``rollup`` adds the L1 side of a rollup node."""
    app = web.Application()
    app[SOURCE] = source
    app[TEMPLATES] = _environment()
    app[ROLLUP] = rollup
    routes = [
        ("/", chain_pages.home), ("/block/{id}", chain_pages.block), ("/tx/{hash}", chain_pages.transaction),
        ("/address/{address}", chain_pages.address), ("/search", chain_pages.search),
        ("/dat", lazai_pages.dat_classes), ("/dat/{class_id}", lazai_pages.dat_class),
        ("/idao", lazai_pages.idaos), ("/idao/{idao_id}", lazai_pages.idao),
        ("/mining", lazai_pages.holders_mining),
        ("/models", lazai_pages.models), ("/model/{model_hash}", lazai_pages.model),
        ("/jobs", lazai_pages.jobs), ("/job/{job_id}", lazai_pages.job),
        ("/rollup", rollup_pages.rollup),
    ]
    for path, handler in routes:
        app.router.add_get(path, _page(handler))
    app.router.add_get("/fragment/latest", _fragment_latest)
    app.router.add_static("/static", _HERE / "static")
    return app


def mount(server: object, rollup: object = None) -> None:
    """Serve the explorer from a running node's ``RpcServer`` at ``/explorer`` (call before ``start``)."""
    from hyperion.explorer.abis import system_abis
    from hyperion.explorer.source import DispatcherSource

    source = DispatcherSource(server.dispatcher, system_abis())
    server.mount(PREFIX, explorer_app(source, rollup))
