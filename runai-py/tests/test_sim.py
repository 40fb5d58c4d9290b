"""The simulators on synthetic input, and on the published traces when ../shared/data is
beside the clone."""

from __future__ import annotations

import pytest

import runai
from conftest import DATA


def test_fgd_on_a_synthetic_cluster() -> None:
    nodes, pods = runai.sim.synthetic_cluster(nodes=4, gpus_per_node=8, pods=200, seed=3)
    report = runai.sim.fgd(nodes, pods, seeds=[42, 43])
    assert report["policy"] == "fgd"
    assert report["gpus"] == 32
    assert report["arrived_pct"] == list(range(131))
    assert len(report["allocation_pct"]) == 131
    assert [run["seed"] for run in report["per_seed"]] == [42, 43]
    assert all(len(run["allocation_pct"]) == 131 for run in report["per_seed"])
    assert runai.sim.fgd(nodes, pods, seeds=[42, 43]) == report


def test_fgd_policies_and_bad_input() -> None:
    nodes, pods = runai.sim.synthetic_cluster(nodes=2, pods=40)
    assert "fgd" in runai.sim.fgd_policies()
    with pytest.raises(runai.ConfigError, match="unknown policy"):
        runai.sim.fgd(nodes, pods, policy="nope")
    with pytest.raises(runai.ConfigError, match="node list"):
        runai.sim.fgd("sn,gpu\n", pods)
    with pytest.raises(runai.ConfigError):
        runai.sim.fgd(nodes, pods, seeds=[])


@pytest.mark.parametrize("policy", runai.sim.AUTOSCALE_POLICIES)
def test_autoscale_on_a_synthetic_trace(policy: str) -> None:
    trace = runai.sim.synthetic_llm_trace(requests=300, rate_per_s=3.0, seed=5)
    report = runai.sim.autoscale(trace, policy=policy, cold_start_s=30)
    assert report["requests"] == 300
    assert 0.0 <= report["slo_attainment"] <= 1.0
    series = report["series"]
    assert len(series["t_s"]) > 0
    assert {len(v) for v in series.values()} == {len(series["t_s"])}
    if policy == "static":
        assert report["static_replicas"] >= 1


def test_autoscale_bad_settings() -> None:
    trace = runai.sim.synthetic_llm_trace(requests=10)
    with pytest.raises(runai.ConfigError) as raised:
        runai.sim.autoscale(trace, rate_scale=0)
    assert raised.value.field == "rate_scale"
    with pytest.raises(runai.ConfigError, match="trace"):
        runai.sim.autoscale("time,a,b\n")


def test_fgd_on_the_published_trace() -> None:
    folder = DATA / "alibaba-gpu-v2023"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (the published traces live in ../shared/data)")
    report = runai.sim.fgd_files(
        folder / "openb_node_list_gpu_node.csv", folder / "openb_pod_list_default.csv", seeds=[42]
    )
    assert report["nodes"] > 1000
    assert report["alloc_ratio_pct_at_130"] is not None


def test_autoscale_on_the_published_trace() -> None:
    path = DATA / "azure-llm-2023" / "AzureLLMInferenceTrace_code.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent (the published traces live in ../shared/data)")
    report = runai.sim.autoscale_file(path, policy="runai")
    assert report["requests"] > 1000
    assert len(report["series"]["replicas"]) > 10
