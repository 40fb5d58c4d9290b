"""A small program that uses the public API as documented; CI checks it with `mypy --strict`
against the stubs, so a stub that drifts from the documented use fails the build."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import runai


def blocking(client: runai.Client) -> Optional[str]:
    created: Dict[str, Any] = client.create_inference(
        name="llama", project_id="1", cluster_id="00000000-0000-4000-8000-000000000001",
        spec={"image": "runai/model-sim", "servingPort": {"container": 8000}},
    )
    workload = client.wait_for(created["workloadId"], "Running", timeout=300)
    page = client.list_workloads(filter=["type==inference"], limit=10)
    everything: List[Dict[str, Any]] = client.all_workloads()
    stream: runai.ChatStream = client.chat_stream(workload["urls"][0], "Say hello", model="sim")
    for chunk in stream:
        print(chunk["choices"])
    ttft: Optional[float] = stream.time_to_first_token
    print(page["next"], len(everything), ttft, stream.usage)
    client.delete_inference(created["workloadId"])
    return client.token()


async def concurrent(client: runai.AsyncClient) -> int:
    workloads = await asyncio.gather(*(client.get_workload(f"w{i}") for i in range(3)))
    stream = await client.chat_stream("http://localhost:8080/1/llama/v1", "hi", model="sim")
    async for chunk in stream:
        print(chunk)
    return len(workloads)


def models_and_simulators() -> float:
    try:
        runai.models.inference_spec(image="x", servingPort={"container": 8000})
    except runai.ValidationError as error:
        for path, message in error.errors:
            print(f"{path}: {message}")
    except runai.ApiError as error:
        print(error.status, error.code, error.message)
    nodes, pods = runai.sim.synthetic_cluster(nodes=4, pods=100)
    report = runai.sim.fgd(nodes, pods, seeds=range(3))
    trace = runai.sim.synthetic_llm_trace(requests=100)
    replay = runai.sim.autoscale(trace, policy="kpa")
    replicas: List[int] = replay["series"]["replicas"]
    print(report["allocation_pct"], replicas, runai.sim.fgd_policies())
    slo: float = replay["slo_attainment"]
    return slo


def main() -> None:
    client = runai.Client("http://localhost:8081", client_id="id", client_secret="secret")
    blocking(client)
    asyncio.run(concurrent(runai.AsyncClient("http://localhost:8081", token="t")))
    models_and_simulators()
    assert isinstance(runai.TimeoutError("x"), TimeoutError)


if __name__ == "__main__":
    main()
