"""Workload documents checked by the Rust models of runai-core.

A document is a dict in the Run:ai API's spelling (camelCase), keyword arguments (snake_case
names are taken in camelCase: ``project_id`` is ``projectId``), or both. It is parsed
strictly, so an unknown field is an error with a did-you-mean suggestion, and every rule is
checked at once. A document that fails raises :class:`runai.ValidationError`, whose
``errors`` lists each violation as ``(path, message)``; one that passes comes back as a
plain dict, as the model writes it.

>>> import runai
>>> runai.models.validate("autoscaling", {"minReplicas": 2, "maxReplicas": 2})
{'minReplicas': 2, 'maxReplicas': 2}
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from . import _runai

__all__ = [
    "validate",
    "with_defaults",
    "model_kinds",
    "inference",
    "inference_spec",
    "inference_update",
]


def validate(kind: str, document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Dict[str, Any]:
    """Checks ``document`` (and ``fields``) as the model ``kind`` (see :func:`model_kinds`)
    and returns it as the model writes it.

    Raises :class:`runai.ValidationError` listing every violation, and
    :class:`runai.ConfigError` for an unknown kind."""
    return _runai.validate(kind, document, **fields)


def with_defaults(kind: str, document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Dict[str, Any]:
    """Like :func:`validate`, with the platform's defaults filled in where the document
    leaves a field unset; for ``inference_spec``, ``distributed_inference_spec`` and
    ``nim_service_spec``."""
    return _runai.with_defaults(kind, document, **fields)


def model_kinds() -> List[str]:
    """The model names :func:`validate` takes (``inference``, ``inference_spec``, ...)."""
    return _runai.model_kinds()


def inference(document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Dict[str, Any]:
    """An inference creation request (``name``, ``projectId``, ``clusterId``, ``spec``),
    validated."""
    return _runai.validate("inference", document, **fields)


def inference_spec(document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Dict[str, Any]:
    """An inference spec (``image``, ``servingPort``, ``autoscaling``, ``compute``, ...),
    validated."""
    return _runai.validate("inference_spec", document, **fields)


def inference_update(document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Dict[str, Any]:
    """An inference update request (``{"spec": {...}}``), validated."""
    return _runai.validate("inference_update", document, **fields)
