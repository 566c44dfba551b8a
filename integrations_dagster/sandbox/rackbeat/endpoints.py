"""Endpoint factories for Rackbeat's keyed collections, used by :mod:`.api_items` and :mod:`.api_sales`:

* :func:`listing` — ``GET /<plural>`` (a page of the collection) and ``POST /<plural>`` (create → 201);
* :func:`record` — ``GET|PUT|DELETE /<plural>/{key}`` (read, update, delete → guesses.DELETE_STATUS);
* :func:`action` — ``POST /<plural>/{key}/<verb>`` (one change to one record, e.g. booking).

Every write is one account unit (a transaction, then its webhooks) that honours ``suppress_webhooks``
(:func:`.wire.suppressed`); answers use the wire's list and single-record shapes (:func:`.wire.page_response`,
:func:`.wire.one`). Which collection takes which methods, and the evidence for it, is in the modules that
build the routes.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.account import Account
from integrations_dagster.sandbox.rackbeat.wire import handler, json_body, not_found, one, page_response, suppressed
from integrations_dagster.sandbox.rest import Endpoint

Render = Callable[[dict], dict]


def deleted() -> Response:
    return Response(status_code=guesses.DELETE_STATUS)


def existing(find: Callable[[Any], dict | None], what: str) -> Callable[[Any], dict]:
    """``find`` that refuses a key it does not know with the API's 404 ("<what> <key> not found")."""
    def fetch(key: Any) -> dict:
        doc = find(key)
        if doc is None:
            raise not_found(what, key)
        return doc
    return fetch


def listing(acc: Account, singular: str, plural: str, render: Render, rows: Callable[[Request], list[dict]],
            create: Callable[[dict], dict] | None = None) -> Endpoint:
    """``GET``: a page of ``rows(request)`` under ``plural``; ``POST``: ``create(body)`` → 201 with the new
    record under ``singular`` (405 where the collection takes no writes, ``create`` None)."""
    @handler
    async def endpoint(request: Request) -> Response:
        if request.method == "POST":
            if create is None:
                return JSONResponse({"message": "The POST method is not supported for this route."}, 405)
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = create(body)
            return one(request, singular, render(doc), 201)
        return page_response(request, plural, rows(request), render)
    return endpoint


def record(acc: Account, singular: str, param: str, fetch: Callable[[Any], dict], render: Render, *,
           update: Callable[[dict, dict], dict] | None = None,
           delete: Callable[[dict], None] | None = None) -> Endpoint:
    """The record ``fetch(<path parameter param>)`` (``fetch`` refuses an unknown key) under ``singular``:
    ``GET`` it, ``PUT`` → ``update(doc, body)``, ``DELETE`` → ``delete(doc)``. The route lists the methods."""
    @handler
    async def endpoint(request: Request) -> Response:
        doc = fetch(request.path_params[param])
        if request.method == "DELETE":
            with acc.unit(suppressed(request, {})):
                delete(doc)
            return deleted()
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = update(doc, body)
        return one(request, singular, render(doc))
    return endpoint


def action(acc: Account, singular: str, param: str, fetch: Callable[[Any], dict], render: Render,
           act: Callable[[dict], dict]) -> Endpoint:
    """``POST`` on one record: ``act(doc)`` in one unit; the body is read for ``suppress_webhooks`` only."""
    @handler
    async def endpoint(request: Request) -> Response:
        doc = fetch(request.path_params[param])
        body = await json_body(request)
        with acc.unit(suppressed(request, body)):
            doc = act(doc)
        return one(request, singular, render(doc))
    return endpoint
