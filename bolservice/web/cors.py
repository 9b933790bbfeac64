"""CORS as the old clients need it, whose refusals are JSON like every other error."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from .errors import error_response

# Request headers the existing clients send on cross-origin calls.
CORS_HEADERS = ["Content-Type", "Cache-Control", "Pragma", "Expires", "X-Requested-With", "Authorization"]


class JsonCors(CORSMiddleware):
    """Starlette's CORS middleware; a refused preflight answers the JSON error body (its
    text says which of origin, method or headers was refused), the CORS headers kept."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        kept = {name: value for name, value in response.headers.items()
                if name.lower() not in ("content-type", "content-length")}
        reason = bytes(response.body).decode("utf-8", "replace")
        return error_response("bad_request", f"{reason}; see BOLSERVICE_CORS_ORIGINS", kept)
