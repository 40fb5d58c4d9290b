"""The simulators of runai-sched: placement and autoscaling, deterministic and offline.

- :func:`fgd` replays the FGD paper's protocol (Weng et al., USENIX ATC '23) on an
  Alibaba GPU v2023 style cluster: pods arrive until their GPU demand reaches 130 % of the
  cluster's GPUs, and the report gives the GPU allocation ratio at each arrival point.
- :func:`autoscale` replays an Azure LLM 2023 style request trace through simulated
  replicas under an autoscaling policy and reports SLO attainment, latency,
  replica-seconds and a time series.

Both take CSV text; :func:`fgd_files` and :func:`autoscale_file` read files (the published
traces live in ``../shared/data`` beside a clone), and :func:`synthetic_cluster` and
:func:`synthetic_llm_trace` make small inputs. Reports are plain dicts; every per-step
series is a list.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import _runai

__all__ = [
    "fgd",
    "fgd_files",
    "fgd_policies",
    "autoscale",
    "autoscale_file",
    "AUTOSCALE_POLICIES",
    "synthetic_cluster",
    "synthetic_llm_trace",
]

PathLike = Union[str, "os.PathLike[str]"]

AUTOSCALE_POLICIES: Tuple[str, ...] = ("static", "kpa", "runai")
"""The policies :func:`autoscale` takes: ``static`` (the smallest fixed fleet reaching 99 %
SLO attainment), ``kpa`` (Knative's) and ``runai`` (the LLM-aware one)."""


def fgd(
    nodes_csv: str,
    pods_csv: str,
    *,
    policy: str = "fgd",
    seeds: Optional[Iterable[int]] = None,
    inflation: float = 1.3,
) -> Dict[str, Any]:
    """Runs the FGD protocol with one placement ``policy`` (see :func:`fgd_policies`) for
    each seed (default 42 to 51).

    ``nodes_csv`` has the columns ``sn,cpu_milli,memory_mib,gpu,model``; ``pods_csv``
    ``name,cpu_milli,memory_mib,num_gpu,gpu_milli`` and optionally ``gpu_spec``. The report
    has the means at the paper's points (``unallocated_gpu_pct_at_100``,
    ``alloc_ratio_pct_at_130``), ``arrived_pct`` (0 to 130) with the mean
    ``allocation_pct`` at each (``None`` where no pod arrived near it), and ``per_seed``.
    Raises :class:`runai.ConfigError` for unreadable input or an unknown policy."""
    return _runai.fgd(
        nodes_csv,
        pods_csv,
        policy=policy,
        seeds=None if seeds is None else list(seeds),
        inflation=inflation,
    )


def fgd_files(
    nodes: PathLike,
    pods: PathLike,
    *,
    policy: str = "fgd",
    seeds: Optional[Iterable[int]] = None,
    inflation: float = 1.3,
) -> Dict[str, Any]:
    """:func:`fgd` on a node list file and a pod list file."""
    with open(nodes, encoding="utf-8") as n, open(pods, encoding="utf-8") as p:
        return fgd(n.read(), p.read(), policy=policy, seeds=seeds, inflation=inflation)


def fgd_policies() -> List[str]:
    """The placement policies :func:`fgd` takes."""
    return _runai.fgd_policies()


def autoscale(
    trace_csv: str,
    *,
    policy: str = "runai",
    min_replicas: int = 1,
    rate_scale: float = 1.0,
    warmup_s: float = 0.0,
    series_every_s: float = 10.0,
    cold_start_s: Optional[float] = None,
    ttft_slo_s: Optional[float] = None,
    prefill_tokens_per_s: Optional[float] = None,
    itl_base_s: Optional[float] = None,
    itl_per_sequence_s: Optional[float] = None,
    kv_cache_tokens: Optional[int] = None,
    max_running: Optional[int] = None,
) -> Dict[str, Any]:
    """Replays a request trace (``TIMESTAMP,ContextTokens,GeneratedTokens``) under an
    autoscaling ``policy`` (see :data:`AUTOSCALE_POLICIES`).

    ``rate_scale`` divides arrival times (4 is four times the rate); the model server's
    settings left ``None`` keep runai-sched's defaults. The report has
    ``slo_attainment``, ``p50_ttft_s``, ``p99_ttft_s``, ``p99_e2e_s``,
    ``replica_seconds``, ``cold_starts``, ``scaling_actions`` and ``series``: lists
    ``t_s``, ``arrivals_per_s``, ``replicas`` and ``ttft_p90_s``, one entry every
    ``series_every_s`` seconds. Raises :class:`runai.ConfigError` for an unreadable trace or
    a setting out of range."""
    return _runai.autoscale(
        trace_csv,
        policy=policy,
        min_replicas=min_replicas,
        rate_scale=rate_scale,
        warmup_s=warmup_s,
        series_every_s=series_every_s,
        cold_start_s=cold_start_s,
        ttft_slo_s=ttft_slo_s,
        prefill_tokens_per_s=prefill_tokens_per_s,
        itl_base_s=itl_base_s,
        itl_per_sequence_s=itl_per_sequence_s,
        kv_cache_tokens=kv_cache_tokens,
        max_running=max_running,
    )


def autoscale_file(path: PathLike, *, policy: str = "runai", rate_scale: float = 1.0, **settings: Any) -> Dict[str, Any]:
    """:func:`autoscale` on a trace file; ``settings`` are :func:`autoscale`'s keywords."""
    with open(path, encoding="utf-8") as trace:
        text = trace.read()
    return autoscale(text, policy=policy, rate_scale=rate_scale, **settings)


def synthetic_cluster(nodes: int = 8, gpus_per_node: int = 8, pods: int = 400, seed: int = 0) -> Tuple[str, str]:
    """A small deterministic cluster and pod list for :func:`fgd`: ``(nodes_csv, pods_csv)``."""
    return _runai.synthetic_cluster(nodes, gpus_per_node, pods, seed)


def synthetic_llm_trace(requests: int = 1000, rate_per_s: float = 2.0, seed: int = 0) -> str:
    """A deterministic request trace for :func:`autoscale`: Poisson arrivals at
    ``rate_per_s`` with conversation-like prompt and output lengths."""
    return _runai.synthetic_llm_trace(requests, rate_per_s, seed)
