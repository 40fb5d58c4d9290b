"""The asyncio client: awaitables, one token for many concurrent calls, streamed chat as an
async iterator, errors raised from awaits, and cancellation."""

from __future__ import annotations

import asyncio

import pytest

import runai
from conftest import CLIENT_ID, CLIENT_SECRET, INFERENCE, Mock


def client(mock: Mock) -> runai.AsyncClient:
    return runai.AsyncClient(mock.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def test_fifty_concurrent_calls_share_one_token_request(mock: Mock) -> None:
    # A slow token endpoint keeps every call waiting on the same fetch.
    mock.state.token_delay_s = 0.2

    async def main() -> list[str]:
        c = client(mock)
        workloads = await asyncio.gather(*(c.get_workload(f"w{i}") for i in range(50)))
        return [w["name"] for w in workloads]

    names = asyncio.run(main())
    assert names == [f"w{i}" for i in range(50)]
    assert mock.state.token_requests == 1


def test_create_and_errors(mock: Mock) -> None:
    async def main() -> None:
        c = client(mock)
        created = await c.create_inference(INFERENCE)
        assert (await c.get_inference(created["workloadId"]))["name"] == "llama"
        with pytest.raises(runai.ApiError) as raised:
            await c.create_inference(INFERENCE)
        assert raised.value.status == 409
        with pytest.raises(runai.ValidationError) as invalid:
            await c.create_inference(dict(INFERENCE, spec={"imag": "x"}))
        assert invalid.value.errors[0] == ("spec.imag", "unknown field; did you mean `image`?")
        assert await c.delete_inference(created["workloadId"]) is None
        page = await c.list_workloads(limit=2)
        assert page["next"] == 2
        assert len(await c.all_workloads(limit=2)) == 5
        running = await c.wait_for("slow", timeout=30, interval=0.01)
        assert running["phase"] == "Running"

    asyncio.run(main())


def test_chat_streamed_as_async_iterator(mock: Mock) -> None:
    async def main() -> tuple[str, object]:
        c = client(mock)
        stream = await c.chat_stream(mock.url, "Say hello", model="llama")
        text = ""
        async for chunk in stream:
            if chunk["choices"]:
                text += chunk["choices"][0]["delta"].get("content", "")
        return text, stream.usage

    text, usage = asyncio.run(main())
    assert text == "Hello, world"
    assert usage == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}


def test_chat_whole(mock: Mock) -> None:
    async def main() -> str:
        answer = await client(mock).chat(mock.url, "hi", model="llama")
        content: str = answer["choices"][0]["message"]["content"]
        return content

    assert asyncio.run(main()) == "Hello, world"


def test_cancelled_waits_end_cleanly(mock: Mock) -> None:
    async def main() -> None:
        c = client(mock)
        task = asyncio.ensure_future(c.wait_for("never", "Stopped", timeout=60, interval=0.05))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The client still works after a cancelled call.
        assert (await c.get_workload("w1"))["name"] == "w1"

    asyncio.run(main())
