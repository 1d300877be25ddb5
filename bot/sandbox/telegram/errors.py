"""Bot API error values with Telegram's own wording."""

from __future__ import annotations

from typing import Any

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    """A Bot API failure: becomes ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """``400 Bad Request: <detail>``."""
    return ApiError(400, f"Bad Request: {detail}")


def cant_parse(detail: str) -> ApiError:
    """``400 Bad Request: can't parse entities: <detail>``."""
    return bad_request(f"can't parse entities: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def default_description(status: int) -> str:
    """Telegram's usual description for an injected fault of the given status."""
    return {
        400: "Bad Request: injected fault",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: CONFLICT_OTHER_POLL,
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(status, f"Error {status}")
