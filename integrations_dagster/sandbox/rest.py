"""Endpoint factories shared by the vendor sandboxes, for route shapes every REST API repeats.

A factory here holds only the shape (read a path parameter, look the record up, answer it or refuse);
the vendor module passes its own lookup, its own refusal and its own answer, so every response keeps that
vendor's spelling. Wrap the endpoint in the vendor's ``handler`` (which turns the vendor's refusal into its
answer). Nothing here is vendor behaviour, so nothing here needs evidence: it is cited where each vendor
module uses it.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Endpoint = Callable[[Request], Awaitable[Response]]


def lookup(find: Callable[[Any], Any], param: str, missing: Callable[[], Exception],
           answer: Callable[[Any], Response] = JSONResponse) -> Endpoint:
    """``GET …/{param}``: ``answer`` the record ``find`` returns for the path parameter; when ``find``
    returns None, raise ``missing()`` (the vendor's 404 refusal)."""
    async def endpoint(request: Request) -> Response:
        record = find(request.path_params[param])
        if record is None:
            raise missing()
        return answer(record)
    return endpoint
