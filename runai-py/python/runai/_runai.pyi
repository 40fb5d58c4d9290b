"""Type stubs of the compiled module ``runai._runai``; import :mod:`runai` instead."""

from typing import Any, AsyncIterator, Awaitable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, final

__all__ = [
    "__version__",
    "AsyncChatStream",
    "AsyncClient",
    "ChatStream",
    "Client",
    "autoscale",
    "fgd",
    "fgd_policies",
    "model_kinds",
    "synthetic_cluster",
    "synthetic_llm_trace",
    "validate",
    "with_defaults",
]

__version__: str

_Json = Dict[str, Any]

@final
class ChatStream(Iterator[_Json]):
    """A streamed chat completion from :meth:`Client.chat_stream`: iterate over it for the
    chunks (dicts shaped like OpenAI's ``chat.completion.chunk``)."""

    def __iter__(self) -> "ChatStream": ...
    def __next__(self) -> _Json: ...
    @property
    def time_to_first_token(self) -> Optional[float]:
        """Seconds from sending the request to the first chunk with text; ``None`` before it."""
    @property
    def usage(self) -> Optional[_Json]:
        """The token counts the server reported at the end; ``None`` before the end."""
    @property
    def complete(self) -> bool:
        """Whether the server ended the stream with ``[DONE]``."""

@final
class AsyncChatStream(AsyncIterator[_Json]):
    """A streamed chat completion from :meth:`AsyncClient.chat_stream`: ``async for`` over
    it for the chunks."""

    def __aiter__(self) -> "AsyncChatStream": ...
    def __anext__(self) -> Awaitable[_Json]: ...
    @property
    def time_to_first_token(self) -> Optional[float]:
        """Seconds from sending the request to the first chunk with text; ``None`` before it."""
    @property
    def usage(self) -> Optional[_Json]:
        """The token counts the server reported at the end; ``None`` before the end."""
    @property
    def complete(self) -> bool:
        """Whether the server ended the stream with ``[DONE]``."""

@final
class Client:
    """A blocking client for a Run:ai-compatible control plane, the Hugging Face Hub and
    OpenAI-compatible serving URLs. Thread-safe; calls release the GIL while they wait."""

    def __new__(
        cls,
        base_url: str,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        token: Optional[str] = None,
        oauth2: bool = False,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        retries: Optional[int] = None,
        user_agent: Optional[str] = None,
    ) -> "Client": ...
    @property
    def base_url(self) -> str:
        """The control plane's base URL."""
    def token(self) -> Optional[str]:
        """A token for the control plane now; ``None`` without credentials."""
    def create_inference(self, request: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> _Json:
        """Validates and submits an inference workload; returns the server's answer."""
    def get_inference(self, id: str) -> _Json:
        """One inference workload, with its spec."""
    def update_inference(self, id: str, update: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> _Json:
        """Validates and applies a rolling update (``{"spec": {...}}``)."""
    def delete_inference(self, id: str) -> None:
        """Deletes an inference workload."""
    def revisions(self, id: str) -> _Json:
        """The revisions of an inference workload (``{"revisions": [...]}``)."""
    def metrics(self, id: str, types: Sequence[str], start: str, end: str, samples: Optional[int] = None) -> _Json:
        """Metrics of an inference workload: ``measurements`` and ``partial``."""
    def get_workload(self, id: str) -> _Json:
        """The status view of a workload: phase, conditions, URLs."""
    def list_workloads(
        self,
        *,
        filter: Optional[Sequence[str]] = None,
        sort_by: Optional[str] = None,
        sort_order: Optional[str] = None,
        search: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        deleted: Optional[bool] = None,
    ) -> _Json:
        """One page of workloads: ``{"items": [...], "next": offset or None}``."""
    def all_workloads(
        self,
        *,
        filter: Optional[Sequence[str]] = None,
        sort_by: Optional[str] = None,
        sort_order: Optional[str] = None,
        search: Optional[str] = None,
        limit: Optional[int] = None,
        deleted: Optional[bool] = None,
    ) -> List[_Json]:
        """Every workload the query matches, page after page."""
    def wait_for(self, id: str, phase: str = "Running", *, timeout: float = 600.0, interval: float = 2.0) -> _Json:
        """Follows a workload until it is in ``phase``; returns its status view."""
    def search_models(
        self,
        search: Optional[str] = None,
        *,
        author: Optional[str] = None,
        pipeline_tag: Optional[str] = None,
        library: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
        sort: Optional[str] = None,
        limit: Optional[int] = None,
        hub_url: Optional[str] = None,
        hub_token: Optional[str] = None,
    ) -> List[_Json]:
        """Models on the Hugging Face Hub, one page."""
    def chat(
        self,
        url: str,
        messages: Union[str, Sequence[Mapping[str, Any]]],
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        token: Optional[str] = None,
        anonymous: bool = False,
        **extra: Any,
    ) -> _Json:
        """A chat completion from the OpenAI-compatible API at ``url``."""
    def chat_stream(
        self,
        url: str,
        messages: Union[str, Sequence[Mapping[str, Any]]],
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        token: Optional[str] = None,
        anonymous: bool = False,
        **extra: Any,
    ) -> ChatStream:
        """A streamed chat completion: an iterator of chunk dicts."""

@final
class AsyncClient:
    """An asyncio client with the methods of :class:`Client`, each returning an awaitable."""

    def __new__(
        cls,
        base_url: str,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        token: Optional[str] = None,
        oauth2: bool = False,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        retries: Optional[int] = None,
        user_agent: Optional[str] = None,
    ) -> "AsyncClient": ...
    @property
    def base_url(self) -> str:
        """The control plane's base URL."""
    def token(self) -> Awaitable[Optional[str]]:
        """A token for the control plane now; ``None`` without credentials."""
    def create_inference(self, request: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Awaitable[_Json]:
        """Validates and submits an inference workload."""
    def get_inference(self, id: str) -> Awaitable[_Json]:
        """One inference workload, with its spec."""
    def update_inference(
        self, id: str, update: Optional[Mapping[str, Any]] = None, /, **fields: Any
    ) -> Awaitable[_Json]:
        """Validates and applies a rolling update."""
    def delete_inference(self, id: str) -> Awaitable[None]:
        """Deletes an inference workload."""
    def revisions(self, id: str) -> Awaitable[_Json]:
        """The revisions of an inference workload."""
    def metrics(
        self, id: str, types: Sequence[str], start: str, end: str, samples: Optional[int] = None
    ) -> Awaitable[_Json]:
        """Metrics of an inference workload."""
    def get_workload(self, id: str) -> Awaitable[_Json]:
        """The status view of a workload."""
    def list_workloads(
        self,
        *,
        filter: Optional[Sequence[str]] = None,
        sort_by: Optional[str] = None,
        sort_order: Optional[str] = None,
        search: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        deleted: Optional[bool] = None,
    ) -> Awaitable[_Json]:
        """One page of workloads."""
    def all_workloads(
        self,
        *,
        filter: Optional[Sequence[str]] = None,
        sort_by: Optional[str] = None,
        sort_order: Optional[str] = None,
        search: Optional[str] = None,
        limit: Optional[int] = None,
        deleted: Optional[bool] = None,
    ) -> Awaitable[List[_Json]]:
        """Every workload the query matches."""
    def wait_for(
        self, id: str, phase: str = "Running", *, timeout: float = 600.0, interval: float = 2.0
    ) -> Awaitable[_Json]:
        """Follows a workload until it is in ``phase``."""
    def search_models(
        self,
        search: Optional[str] = None,
        *,
        author: Optional[str] = None,
        pipeline_tag: Optional[str] = None,
        library: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
        sort: Optional[str] = None,
        limit: Optional[int] = None,
        hub_url: Optional[str] = None,
        hub_token: Optional[str] = None,
    ) -> Awaitable[List[_Json]]:
        """Models on the Hugging Face Hub, one page."""
    def chat(
        self,
        url: str,
        messages: Union[str, Sequence[Mapping[str, Any]]],
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        token: Optional[str] = None,
        anonymous: bool = False,
        **extra: Any,
    ) -> Awaitable[_Json]:
        """A chat completion."""
    def chat_stream(
        self,
        url: str,
        messages: Union[str, Sequence[Mapping[str, Any]]],
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        token: Optional[str] = None,
        anonymous: bool = False,
        **extra: Any,
    ) -> Awaitable[AsyncChatStream]:
        """A streamed chat completion: awaits the response head, then ``async for``."""

def validate(kind: str, document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> _Json:
    """Checks a document as the model ``kind``; raises ``ValidationError``."""

def with_defaults(kind: str, document: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> _Json:
    """Like ``validate``, with the platform's defaults filled in."""

def model_kinds() -> List[str]:
    """The model kinds ``validate`` takes."""

def fgd(
    nodes_csv: str,
    pods_csv: str,
    *,
    policy: str = "fgd",
    seeds: Optional[List[int]] = None,
    inflation: float = 1.3,
) -> _Json:
    """The FGD placement benchmark."""

def fgd_policies() -> List[str]:
    """The placement policies ``fgd`` takes."""

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
) -> _Json:
    """The autoscaling trace replay."""

def synthetic_cluster(nodes: int = 8, gpus_per_node: int = 8, pods: int = 400, seed: int = 0) -> Tuple[str, str]:
    """A small synthetic cluster: ``(nodes_csv, pods_csv)``."""

def synthetic_llm_trace(requests: int = 1000, rate_per_s: float = 2.0, seed: int = 0) -> str:
    """A synthetic request trace (CSV text)."""
