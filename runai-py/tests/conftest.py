"""A Run:ai-compatible mock control plane and OpenAI-compatible endpoint on Python's
http.server, in a thread: it counts token requests, checks bearer tokens and answers with the
wire documents of runai-core's test fixtures."""

from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qs, urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "runai-core" / "tests" / "fixtures" / "responses"
DATA = REPO.parent / "shared" / "data"

CLIENT_ID = "sa-id"
CLIENT_SECRET = "sa-secret"
TOKEN = "mock-token-1"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class State:
    """What the mock has seen and what it holds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token_requests = 0
        self.token_delay_s = 0.0
        self.requests: List[Tuple[str, str, Any]] = []
        self.inferences: Dict[str, Any] = {}
        self.polls: Dict[str, int] = {}
        self.workload = fixture("workloads-list.json")["workloads"][0]


class Handler(BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(raw)
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _send(self, status: int, body: Any = None, content_type: str = "application/json") -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self._send(401, {"code": 401, "message": "token missing or invalid"})
        return False

    def _token(self, body: Any, v2: bool) -> None:
        with self.state.lock:
            self.state.token_requests += 1
        time.sleep(self.state.token_delay_s)
        client_id = body.get("client_id" if v2 else "clientId")
        secret = body.get("client_secret" if v2 else "clientSecret")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            self._send(401, {"code": 401, "message": "invalid client credentials"})
        elif v2:
            self._send(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})
        else:
            self._send(200, {"accessToken": TOKEN, "expiresIn": 3600})

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query)
        body = self._body() if method in ("POST", "PATCH") else None
        with self.state.lock:
            self.state.requests.append((method, path, body))
        if path in ("/api/v1/token", "/api/v2/token") and method == "POST":
            return self._token(body or {}, v2=path.endswith("v2/token"))
        if path == "/api/models" and method == "GET":
            search = query.get("search", [""])[0]
            return self._send(200, [{"id": f"meta-llama/{search}-8b", "downloads": 10, "likes": 1, "tags": []}])
        if not self._authorised():
            return None
        if path == "/v1/chat/completions" and method == "POST":
            return self._chat(body or {})
        if path == "/api/v1/workloads/inferences" and method == "POST":
            return self._create(body or {})
        parts = path.strip("/").split("/")
        if path.startswith("/api/v1/workloads/inferences/"):
            workload_id = parts[4]
            if workload_id not in self.state.inferences:
                return self._send(404, {"code": 404, "message": f"Workload {workload_id} not found"})
            if len(parts) == 6 and parts[5] == "revisions":
                return self._send(200, fixture("revisions-list.json"))
            if len(parts) == 6 and parts[5] == "metrics":
                return self._send(200, fixture("metrics.json"))
            if method == "GET":
                return self._send(200, self.state.inferences[workload_id])
            if method == "PATCH":
                self.state.inferences[workload_id]["spec"].update((body or {}).get("spec", {}))
                return self._send(202, self.state.inferences[workload_id])
            if method == "DELETE":
                del self.state.inferences[workload_id]
                return self._send(202, None)
        if path == "/api/v1/workloads" and method == "GET":
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["50"])[0])
            everything = [self._status(f"w{i}", "Running") for i in range(5)]
            page = everything[offset : offset + limit]
            following = offset + limit if offset + limit < len(everything) else None
            return self._send(200, {"workloads": page, "next": following})
        if path.startswith("/api/v1/workloads/") and len(parts) == 4:
            workload_id = parts[3]
            with self.state.lock:
                polls = self.state.polls[workload_id] = self.state.polls.get(workload_id, 0) + 1
            if workload_id == "fails":
                return self._send(200, self._status(workload_id, "Failed", "image pull failed"))
            return self._send(200, self._status(workload_id, "Running" if polls >= 3 else "Creating"))
        return self._send(404, {"code": 404, "message": f"no route {method} {path}"})

    def _status(self, workload_id: str, phase: str, message: Optional[str] = None) -> Any:
        workload = copy.deepcopy(self.state.workload)
        workload.update(id=workload_id, name=workload_id, phase=phase, phaseMessage=message)
        return workload

    def _create(self, body: Any) -> None:
        name = body.get("name", "")
        if any(i["name"] == name for i in self.state.inferences.values()):
            return self._send(409, {"code": 409, "message": "Resource with this name already exists"})
        inference = fixture("inference.json")
        workload_id = f"00000000-0000-4000-8000-{len(self.state.inferences) + 1:012d}"
        inference.update(name=name, requestedName=name, workloadId=workload_id, spec=body.get("spec"))
        self.state.inferences[workload_id] = inference
        return self._send(202, inference)

    def _chat(self, body: Any) -> None:
        words = ["Hello", ",", " world"]
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(words)}
            return self._send(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
            })
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(data: str) -> None:
            payload = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()

        for word in words:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            event(json.dumps(chunk))
        usage = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                 "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}}
        event(json.dumps(usage))
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return None

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")


class Mock:
    """A running mock: its URL and its state."""

    def __init__(self, url: str, state: State) -> None:
        self.url = url
        self.state = state


@pytest.fixture
def mock() -> Iterator[Mock]:
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Mock(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()


INFERENCE = {
    "name": "llama",
    "projectId": "1",
    "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
    "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000}},
}
