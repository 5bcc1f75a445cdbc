"""The few error types newsloom raises. Messages start with their component."""

from __future__ import annotations

__all__ = ["NewsloomError", "FetchError", "ParseError", "StoreError", "SettingsError", "NotFound"]


class NewsloomError(Exception):
    """Base error: a stable machine code plus a human message ("fetch: ...")."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class SettingsError(NewsloomError):
    code = "settings"


class FetchError(NewsloomError):
    """Any failure to obtain bytes over HTTP: network, status, size, policy."""

    code = "fetch"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after


class ParseError(NewsloomError):
    """Bytes were obtained but are not a usable feed / document."""

    code = "parse"


class StoreError(NewsloomError):
    code = "store"


class NotFound(NewsloomError):
    code = "not_found"
