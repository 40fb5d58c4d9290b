"""The exceptions of runai.

Every error the package raises is a :class:`RunaiError`. Errors the server answered are
:class:`ApiError` (with ``status``, ``code``, ``message`` and ``details``); a document that
breaks the models' rules is a :class:`ValidationError` (with ``errors``, a list of
``(path, message)`` pairs); an argument that cannot be used is a :class:`ConfigError`.
"""

from __future__ import annotations

import builtins
from typing import List, Optional, Tuple

__all__ = [
    "RunaiError",
    "ApiError",
    "AuthError",
    "TransportError",
    "TimeoutError",
    "DecodeError",
    "WorkloadFailedError",
    "ConfigError",
    "ValidationError",
]


class RunaiError(Exception):
    """The base of every error runai raises."""


class ApiError(RunaiError):
    """The server refused the request or failed it.

    ``status`` is the HTTP status; ``code``, ``message`` and ``details`` come from the
    Run:ai error document (``{code, message, details}``) or the OpenAI one.
    """

    status: int
    code: Optional[int]
    message: str
    details: Optional[str]

    def __init__(
        self,
        text: str,
        *,
        status: int,
        code: Optional[int] = None,
        message: str = "",
        details: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.message = message or text
        self.details = details


class AuthError(RunaiError):
    """No valid token could be had: the credentials were refused, or the server kept
    answering 401 to a fresh token."""


class TransportError(RunaiError):
    """The request did not reach the server, or the answer did not come back.

    ``action`` says what was being done."""

    action: str

    def __init__(self, text: str, *, action: str = "") -> None:
        super().__init__(text)
        self.action = action


class TimeoutError(RunaiError, builtins.TimeoutError):
    """A call, or a wait for a workload's phase, took longer than allowed.

    Also a builtin :class:`TimeoutError`. ``after`` is the limit in seconds."""

    action: str
    after: float

    def __init__(self, text: str, *, action: str = "", after: float = 0.0) -> None:
        super().__init__(text)
        self.action = action
        self.after = after

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DecodeError(RunaiError):
    """The server's answer was not what the API documents. ``what`` names what was read."""

    what: str

    def __init__(self, text: str, *, what: str = "") -> None:
        super().__init__(text)
        self.what = what


class WorkloadFailedError(RunaiError):
    """A workload being waited for went to a phase it will not leave by itself
    (``Failed``, ``Deleting``). ``reason`` is the workload's own message."""

    workload: str
    phase: str
    reason: str

    def __init__(self, text: str, *, workload: str = "", phase: str = "", reason: str = "") -> None:
        super().__init__(text)
        self.workload = workload
        self.phase = phase
        self.reason = reason


class ConfigError(RunaiError, ValueError):
    """An argument or setting cannot be used. ``field`` names it. Also a :class:`ValueError`."""

    field: str

    def __init__(self, text: str, *, field: str = "") -> None:
        super().__init__(text)
        self.field = field


class ValidationError(RunaiError, ValueError):
    """A document breaks the models' rules: an unknown field, a value of the wrong type, or a
    rule such as ``maxReplicas >= minReplicas``. Also a :class:`ValueError`.

    ``errors`` lists every violation as a ``(path, message)`` pair, the path in the API's
    JSON spelling (``spec.autoscaling.maxReplicas``)."""

    errors: List[Tuple[str, str]]

    def __init__(self, text: str, *, errors: Optional[List[Tuple[str, str]]] = None) -> None:
        super().__init__(text)
        self.errors = [(str(path), str(message)) for path, message in (errors or [])]
