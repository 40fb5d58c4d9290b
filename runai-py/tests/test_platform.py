"""End to end against the embedded platform (`cargo build --example platform`): create an
inference on the model simulator, wait until it runs, and stream a chat completion through
the gateway, with the blocking and the asyncio client."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

import runai
from conftest import REPO

CLUSTER_ID = "00000000-0000-4000-8000-000000000001"
SPEC = {
    "image": "runai/model-sim",
    "servingPort": {"container": 8000, "authorizationType": "authenticatedUsers"},
    "autoscaling": {"minReplicas": 1, "maxReplicas": 1},
}
START_TIMEOUT_S = 120.0


def platform_binary() -> Optional[Path]:
    """The built example: $RUNAI_PLATFORM_BIN, else under $CARGO_TARGET_DIR or target/."""
    if os.environ.get("RUNAI_PLATFORM_BIN"):
        return Path(os.environ["RUNAI_PLATFORM_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    binary = target / "debug" / "examples" / "platform"
    return binary if binary.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Platform:
    def __init__(self, api: str, gateway: str, client_id: str, client_secret: str) -> None:
        self.api = api
        self.gateway = gateway
        self.client_id = client_id
        self.client_secret = client_secret


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    binary = platform_binary()
    if binary is None:
        pytest.skip("the platform example is not built; run `cargo build --example platform` (or set RUNAI_PLATFORM_BIN)")
    api, gateway = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(
            [str(binary), "--data-dir", data, "--api", api, "--gateway", gateway, "--no-sample"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        seen: List[str] = []
        credentials: dict[str, str] = {}
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                try:
                    line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    pytest.fail("the platform did not print `ready` in time:\n" + "\n".join(seen))
                if line is None:
                    pytest.fail("the platform exited before `ready`:\n" + "\n".join(seen))
                seen.append(line)
                for key in ("client id", "client secret"):
                    if line.strip().startswith(key):
                        credentials[key] = line.strip()[len(key):].strip()
                if line.strip() == "ready":
                    break
            yield Platform(f"http://{api}", f"http://{gateway}", credentials["client id"], credentials["client secret"])
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def submit(client: runai.Client, name: str) -> Tuple[str, str]:
    created = client.create_inference(name=name, project_id="1", cluster_id=CLUSTER_ID, spec=SPEC)
    return created["workloadId"], created["name"]


def test_create_wait_and_stream_a_chat(platform: Platform) -> None:
    client = runai.Client(platform.api, client_id=platform.client_id, client_secret=platform.client_secret)
    workload_id, name = submit(client, "py-e2e")
    running = client.wait_for(workload_id, "Running", timeout=180, interval=0.5)
    assert running["phase"] == "Running"
    assert any(w["name"] == name for w in client.all_workloads())
    stream = client.chat_stream(f"{platform.gateway}/1/{name}/v1", "Say hello", model="sim", max_tokens=16)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in stream if c["choices"])
    assert text
    assert stream.complete
    assert stream.time_to_first_token is not None
    # The gateway checks the token before any byte reaches the model server.
    with pytest.raises(runai.AuthError):
        client.chat(f"{platform.gateway}/1/{name}/v1", "hi", model="sim", anonymous=True)
    client.delete_inference(workload_id)


def test_async_stream_through_the_gateway(platform: Platform) -> None:
    client = runai.Client(platform.api, client_id=platform.client_id, client_secret=platform.client_secret)
    workload_id, name = submit(client, "py-e2e-async")
    client.wait_for(workload_id, "Running", timeout=180, interval=0.5)

    async def main() -> str:
        aclient = runai.AsyncClient(platform.api, client_id=platform.client_id, client_secret=platform.client_secret)
        stream = await aclient.chat_stream(f"{platform.gateway}/1/{name}/v1", "Say hello", model="sim", max_tokens=16)
        text = ""
        async for chunk in stream:
            if chunk["choices"]:
                text += chunk["choices"][0]["delta"].get("content") or ""
        return text

    assert asyncio.run(main())
    client.delete_inference(workload_id)
