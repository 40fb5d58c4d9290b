"""The blocking client against the mock: tokens, inference workloads, lists, waits, errors,
validation before any call, the Hub, and chat completions whole and streamed."""

from __future__ import annotations

import builtins
import threading

import pytest

import runai
from conftest import CLIENT_ID, CLIENT_SECRET, INFERENCE, TOKEN, Mock


def client(mock: Mock, **settings: object) -> runai.Client:
    return runai.Client(mock.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **settings)  # type: ignore[arg-type]


def test_client_credentials_are_exchanged_once(mock: Mock) -> None:
    c = client(mock)
    assert c.token() == TOKEN
    assert c.token() == TOKEN
    assert mock.state.token_requests == 1
    assert mock.state.requests[0][2] == {"grantType": "client_credentials", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}


def test_oauth2_form_grant(mock: Mock) -> None:
    c = client(mock, oauth2=True)
    assert c.token() == TOKEN
    assert mock.state.requests[0][1] == "/api/v2/token"


def test_bearer_token_is_sent_as_it_is(mock: Mock) -> None:
    c = runai.Client(mock.url, token=TOKEN)
    assert c.get_workload("w1")["name"] == "w1"
    assert mock.state.token_requests == 0


def test_refused_credentials_raise_auth_error(mock: Mock) -> None:
    c = runai.Client(mock.url, client_id=CLIENT_ID, client_secret="wrong")
    with pytest.raises(runai.AuthError, match="check the client id and secret"):
        c.get_workload("w1")


def test_create_get_update_delete(mock: Mock) -> None:
    c = client(mock)
    created = c.create_inference(INFERENCE)
    workload_id = created["workloadId"]
    assert created["name"] == "llama"
    fetched = c.get_inference(workload_id)
    assert fetched["spec"]["image"] == "vllm/vllm-openai:v0.11.0"
    updated = c.update_inference(workload_id, spec={"image": "vllm/vllm-openai:v0.11.1"})
    assert updated["spec"]["image"] == "vllm/vllm-openai:v0.11.1"
    assert c.revisions(workload_id)["revisions"]
    metrics = c.metrics(workload_id, ["THROUGHPUT", "LATENCY"], "2025-11-25T10:00:00Z", "2025-11-25T11:00:00Z", samples=3)
    assert metrics["partial"] is False
    assert metrics["measurements"][0]["type"] == "THROUGHPUT"
    assert c.delete_inference(workload_id) is None
    with pytest.raises(runai.ApiError) as raised:
        c.get_inference(workload_id)
    assert raised.value.status == 404
    assert raised.value.code == 404
    assert raised.value.message == f"Workload {workload_id} not found"


def test_keyword_arguments_are_taken_in_camel_case(mock: Mock) -> None:
    c = client(mock)
    created = c.create_inference(
        name="kw", project_id="1", cluster_id=INFERENCE["clusterId"], spec=INFERENCE["spec"]
    )
    assert created["name"] == "kw"
    assert mock.state.requests[-1][2]["projectId"] == "1"


def test_conflict_is_an_api_error(mock: Mock) -> None:
    c = client(mock)
    c.create_inference(INFERENCE)
    with pytest.raises(runai.ApiError) as raised:
        c.create_inference(INFERENCE)
    assert raised.value.status == 409
    assert isinstance(raised.value, runai.RunaiError)


def test_a_bad_spec_is_refused_before_any_call(mock: Mock) -> None:
    c = client(mock)
    bad = dict(INFERENCE, spec={"image": "x", "servingPort": {"container": 8000}, "autoscaling": {"minReplicas": 3, "maxReplicas": 2}})
    with pytest.raises(runai.ValidationError) as raised:
        c.create_inference(bad)
    assert raised.value.errors[0][0] == "spec.autoscaling.maxReplicas"
    assert "minReplicas" in raised.value.errors[0][1]
    assert isinstance(raised.value, ValueError)
    assert mock.state.requests == []


def test_lists_page_by_page_and_whole(mock: Mock) -> None:
    c = client(mock)
    page = c.list_workloads(limit=2, filter=["type==inference"], sort_by="name", sort_order="desc")
    assert [w["name"] for w in page["items"]] == ["w0", "w1"]
    assert page["next"] == 2
    assert [w["name"] for w in c.all_workloads(limit=2)] == [f"w{i}" for i in range(5)]
    with pytest.raises(runai.ConfigError) as raised:
        c.list_workloads(filter=["no-operator"])
    assert raised.value.field == "filter"


def test_wait_for_a_phase(mock: Mock) -> None:
    c = client(mock)
    running = c.wait_for("slow", "Running", timeout=30, interval=0.01)
    assert running["phase"] == "Running"
    assert mock.state.polls["slow"] == 3


def test_wait_for_a_failing_workload(mock: Mock) -> None:
    c = client(mock)
    with pytest.raises(runai.WorkloadFailedError) as raised:
        c.wait_for("fails", timeout=30, interval=0.01)
    assert raised.value.phase == "Failed"
    assert raised.value.reason == "image pull failed"


def test_wait_for_times_out(mock: Mock) -> None:
    c = client(mock)
    with pytest.raises(runai.TimeoutError) as raised:
        c.wait_for("slow", "Stopped", timeout=0.05, interval=0.01)
    assert isinstance(raised.value, builtins.TimeoutError)
    assert raised.value.after == pytest.approx(0.05)


def test_unreachable_server_is_a_transport_error() -> None:
    c = runai.Client("http://127.0.0.1:9", token="t", retries=0, connect_timeout=2)
    with pytest.raises(runai.TransportError):
        c.get_workload("w1")


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(runai.ConfigError, match="base_url"):
        runai.Client("not a url")
    with pytest.raises(runai.ConfigError):
        runai.Client("http://localhost", token="t", client_id="a", client_secret="b")
    with pytest.raises(runai.ConfigError):
        runai.Client("http://localhost", client_id="a")
    with pytest.raises(runai.ConfigError):
        runai.Client("http://localhost", timeout=-1)


def test_hub_search(mock: Mock) -> None:
    c = client(mock)
    models = c.search_models("llama", sort="downloads", limit=5, hub_url=mock.url)
    assert models[0]["id"] == "meta-llama/llama-8b"
    assert mock.state.token_requests == 0
    with pytest.raises(runai.ConfigError):
        c.search_models("llama", sort="sideways", hub_url=mock.url)


def test_chat_whole(mock: Mock) -> None:
    c = client(mock)
    answer = c.chat(mock.url, "Say hello", model="llama", max_tokens=8, temperature=0.0, seed=7)
    assert answer["choices"][0]["message"]["content"] == "Hello, world"
    body = mock.state.requests[-1][2]
    assert body["seed"] == 7 and body["stream"] is False
    assert body["messages"] == [{"role": "user", "content": "Say hello"}]


def test_chat_streamed(mock: Mock) -> None:
    c = client(mock)
    stream = c.chat_stream(mock.url, [{"role": "user", "content": "Say hello"}], model="llama")
    assert stream.usage is None
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in stream if chunk["choices"])
    assert text == "Hello, world"
    assert stream.complete
    assert stream.usage == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    assert stream.time_to_first_token is not None
    assert list(stream) == []
    assert mock.state.requests[-1][2]["stream_options"] == {"include_usage": True}


def test_chat_with_another_token_or_none(mock: Mock) -> None:
    c = client(mock)
    with pytest.raises(runai.AuthError):
        c.chat(mock.url, "hi", model="llama", token="not-the-token")
    with pytest.raises(runai.AuthError, match="401"):
        c.chat(mock.url, "hi", model="llama", anonymous=True)
    with pytest.raises(runai.ConfigError):
        c.chat(mock.url, "hi", model="llama", anonymous=True, token="t")
    with pytest.raises(runai.ConfigError):
        c.chat(mock.url, [{"content": 1}], model="llama")


def test_calls_from_threads_share_the_client(mock: Mock) -> None:
    c = client(mock)
    names: list[str] = []

    def call(i: int) -> None:
        names.append(c.get_workload(f"t{i}")["name"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(names) == sorted(f"t{i}" for i in range(8))
    assert mock.state.token_requests == 1


def test_repr(mock: Mock) -> None:
    assert repr(client(mock)) == f"Client('{mock.url}/')"
