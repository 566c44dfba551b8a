"""WooCommerce's error shape: ``{"code", "message", "data": {"status"}}``, raised as :class:`WooError`."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class WooError(Exception):
    """A refusal the way WordPress/WooCommerce spells it; ``params`` fills ``data.params``."""

    def __init__(self, status: int, code: str, message: str, params: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.params = status, code, message, params

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.params:
            data["params"] = self.params
        return {"code": self.code, "message": self.message, "data": data}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def invalid_param(name: str, reason: str) -> WooError:
    """WordPress's argument validation failure (``rest_invalid_param``)."""
    return WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", {name: reason})


def invalid_id(resource: str = "product") -> WooError:
    return WooError(404, f"woocommerce_rest_{resource}_invalid_id", "Invalid ID.")
