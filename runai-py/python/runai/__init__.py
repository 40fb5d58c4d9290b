"""runai: a Run:ai-compatible client, the workload models and the simulators, from Python.

- :class:`Client` (blocking) and :class:`AsyncClient` (asyncio): tokens, inference
  workloads, workload lists and waits, revisions, metrics, the Hugging Face Hub, and chat
  completions from serving URLs, streamed or whole.
- :mod:`runai.models`: workload documents validated by the Rust models, every violation
  reported with its path (:class:`ValidationError`).
- :mod:`runai.sim`: the FGD placement benchmark and the autoscaling trace replay.
- :mod:`runai.errors`: the exceptions, all :class:`RunaiError`.

See docs/python.md in the repository for a guide.
"""

from ._runai import AsyncChatStream, AsyncClient, ChatStream, Client, __version__
from . import models, sim
from .errors import (
    ApiError,
    AuthError,
    ConfigError,
    DecodeError,
    RunaiError,
    TimeoutError,
    TransportError,
    ValidationError,
    WorkloadFailedError,
)
from .models import model_kinds, validate

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "ChatStream",
    "AsyncChatStream",
    "models",
    "sim",
    "validate",
    "model_kinds",
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
