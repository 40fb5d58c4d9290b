//! Streamed answers: chunks read from the server-sent events of a 2xx response, with the
//! time to the first token and the usage the server reports.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::FusedStream;
use futures_util::{Stream, StreamExt};
use reqwest::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::api_error;
use super::chat::ChatChunk;
use super::sse::{SseDecoder, SseEvent};
use super::types::{Completion, Usage};
use crate::error::{Error, Result};

/// What a stream needs to know about its chunks.
trait StreamChunk: DeserializeOwned {
    /// Whether the chunk carries generated text (not only a role, a finish reason or usage).
    fn has_text(&self) -> bool;
    /// The usage it reports.
    fn usage(&self) -> Option<&Usage>;
}

impl StreamChunk for ChatChunk {
    fn has_text(&self) -> bool {
        self.choices
            .iter()
            .any(|c| c.delta.content.as_deref().is_some_and(|t| !t.is_empty()))
    }

    fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }
}

impl StreamChunk for Completion {
    fn has_text(&self) -> bool {
        self.choices.iter().any(|c| !c.text.is_empty())
    }

    fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// The chunks of one streamed answer, whatever their type.
struct Events<T> {
    body: Body,
    decoder: SseDecoder,
    /// Events decoded from the body but not handed out yet.
    pending: VecDeque<SseEvent>,
    /// The status of the response, given to errors the stream reports.
    status: u16,
    /// The call, for error messages (`POST https://.../v1/chat/completions`).
    what: String,
    started: Instant,
    /// When the piece of the body holding the pending events arrived. Events are only
    /// decoded once the previous ones are handed out, so they all come from the latest piece,
    /// and timing them by its arrival keeps a slow consumer out of the measurement.
    arrived: Instant,
    first_text: Option<Duration>,
    usage: Option<Usage>,
    /// `[DONE]` arrived.
    done: bool,
    /// Nothing more will be handed out.
    ended: bool,
    chunk: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Events<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("what", &self.what)
            .field("status", &self.status)
            .field("started", &self.started)
            .field("time_to_first_token", &self.first_text)
            .field("usage", &self.usage)
            .field("done", &self.done)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<T: StreamChunk> Events<T> {
    /// Starts reading `response`, the 2xx answer to the call `what` sent at `started`.
    async fn open(response: reqwest::Response, started: Instant, what: String) -> Result<Self> {
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if is_json {
            // A server that does not stream, or one that reports an error with a 2xx status,
            // answers with one JSON document; read as events it would look like an empty
            // stream.
            let body = response.bytes().await.map_err(|source| Error::Transport {
                action: format!("reading the answer to {what}"),
                source,
            })?;
            return Err(api_error::body_error(status, &body).unwrap_or_else(|| {
                Error::decode(
                    format!("the answer to {what}"),
                    "expected an event stream (text/event-stream) but the server answered with \
                     JSON; does it support `stream`?",
                    &body,
                )
            }));
        }
        Ok(Self::new(
            Box::pin(response.bytes_stream()),
            status,
            started,
            what,
        ))
    }

    fn new(body: Body, status: u16, started: Instant, what: String) -> Self {
        Self {
            body,
            decoder: SseDecoder::default(),
            pending: VecDeque::new(),
            status,
            what,
            started,
            arrived: started,
            first_text: None,
            usage: None,
            done: false,
            ended: false,
            chunk: PhantomData,
        }
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        loop {
            while let Some(event) = self.pending.pop_front() {
                if let Some(item) = self.read(&event) {
                    return Poll::Ready(Some(item));
                }
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match ready!(self.body.poll_next_unpin(cx)) {
                Some(Ok(bytes)) => {
                    self.arrived = Instant::now();
                    self.decoder.feed(&bytes, &mut self.pending);
                }
                Some(Err(source)) => {
                    self.end();
                    return Poll::Ready(Some(Err(self.broken(source))));
                }
                // A body that ends without `[DONE]` was cut short; an event whose blank line
                // did not arrive is dropped, as the standard says.
                None => self.ended = true,
            }
        }
    }

    /// The item an event gives, if any.
    fn read(&mut self, event: &SseEvent) -> Option<Result<T>> {
        let named_error = match event.event.as_deref() {
            None | Some("message") => false,
            Some("error") => true,
            // Chat and completion chunks come as unnamed events; named ones are something
            // else (keep-alives, progress reports).
            Some(_) => return None,
        };
        let payload = event.data.trim();
        if !named_error {
            if payload == "[DONE]" {
                self.done = true;
                self.end();
                return None;
            }
            if payload.is_empty() {
                return None;
            }
        }
        // Only a document that mentions `"error"` can be an error document, so chunks are
        // parsed only once.
        if (named_error || payload.contains("\"error\""))
            && let Some(error) = api_error::stream_error(self.status, payload, named_error)
        {
            self.end();
            return Some(Err(error));
        }
        Some(match serde_json::from_str::<T>(payload) {
            Ok(chunk) => {
                if self.first_text.is_none() && chunk.has_text() {
                    self.first_text = Some(self.arrived.saturating_duration_since(self.started));
                }
                if let Some(usage) = chunk.usage() {
                    // Servers that report usage on every chunk report it cumulatively, so
                    // the last one is the total.
                    self.usage = Some(usage.clone());
                }
                Ok(chunk)
            }
            // One malformed event does not end the stream: the events around it are framed
            // independently of it.
            Err(e) => Err(Error::decode(
                format!("an event of the stream answering {}", self.what),
                e,
                payload.as_bytes(),
            )),
        })
    }

    fn end(&mut self) {
        self.ended = true;
        self.pending.clear();
    }

    /// The error for a body that could not be read to its end.
    fn broken(&self, source: reqwest::Error) -> Error {
        let action = format!("reading the stream answering {}", self.what);
        if source.is_timeout() {
            // The client's timeout covers the whole exchange, so a long generation can run
            // into it.
            Error::Timeout {
                action,
                after: self.started.elapsed(),
            }
        } else {
            Error::Transport { action, source }
        }
    }

    fn is_terminated(&self) -> bool {
        self.ended && self.pending.is_empty()
    }
}

/// A streamed chat completion: a [`Stream`] of [`ChatChunk`]s, from
/// [`OpenAi::chat_stream`](super::OpenAi::chat_stream).
///
/// It ends after `[DONE]`, after an error the server sends in the stream (an
/// [`Error::Api`] with the response's status, normally 200, and `details` saying it came in
/// the stream), after a broken connection ([`Error::Transport`], or [`Error::Timeout`] when
/// the client's timeout passes first), or when the body ends. An event that is not valid
/// JSON gives an [`Error::Decode`] showing its text, and the stream goes on.
///
/// ```no_run
/// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
/// use futures_util::StreamExt;
/// use runai_client::openai::{ChatCompletionRequest, ChatMessage};
/// let request = ChatCompletionRequest::new("llama-3-8b", vec![ChatMessage::user("Tell me a story")])
///     .include_usage(true);
/// let mut stream = client.openai("https://llama.team-a.acme.run.ai")?.chat_stream(&request).await?;
/// while let Some(chunk) = stream.next().await {
///     print!("{}", chunk?.text().unwrap_or_default());
/// }
/// println!("\nfirst token after {:?}; {:?}", stream.time_to_first_token(), stream.usage());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct ChatStream {
    events: Events<ChatChunk>,
}

impl ChatStream {
    pub(super) async fn open(response: reqwest::Response, started: Instant, what: String) -> Result<Self> {
        Ok(Self {
            events: Events::open(response, started, what).await?,
        })
    }

    /// How long after the request started (retries included) the first chunk with text
    /// arrived; `None` until then. Chunks with only a role do not count.
    ///
    /// ```no_run
    /// # async fn run(mut stream: runai_client::openai::ChatStream) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// while stream.time_to_first_token().is_none() && stream.try_next().await?.is_some() {}
    /// println!("TTFT {:?}", stream.time_to_first_token());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn time_to_first_token(&self) -> Option<Duration> {
        self.events.first_text
    }

    /// The usage the server reported, normally on the last chunk before `[DONE]` when the
    /// request set `stream_options.include_usage`. A stream that was cut short may not have
    /// it.
    ///
    /// ```no_run
    /// # async fn run(mut stream: runai_client::openai::ChatStream) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// while stream.try_next().await?.is_some() {}
    /// if let Some(usage) = stream.usage() {
    ///     println!("{} tokens generated", usage.completion_tokens);
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn usage(&self) -> Option<&Usage> {
        self.events.usage.as_ref()
    }

    /// Whether the server ended the stream with `[DONE]`. A stream that ended without it was
    /// cut short.
    ///
    /// ```no_run
    /// # async fn run(mut stream: runai_client::openai::ChatStream) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// while stream.try_next().await?.is_some() {}
    /// if !stream.is_complete() {
    ///     eprintln!("the answer was cut short");
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.events.done
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().events.poll_chunk(cx)
    }
}

impl FusedStream for ChatStream {
    fn is_terminated(&self) -> bool {
        self.events.is_terminated()
    }
}

/// A streamed text completion: a [`Stream`] of [`Completion`] chunks, from
/// [`OpenAi::complete_stream`](super::OpenAi::complete_stream). It ends as a [`ChatStream`]
/// does.
///
/// ```no_run
/// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
/// use futures_util::TryStreamExt;
/// use runai_client::openai::CompletionRequest;
/// let request = CompletionRequest::new("llama-3-8b", "Once upon a time").max_tokens(64);
/// let mut stream = client.openai("https://llama.team-a.acme.run.ai")?.complete_stream(&request).await?;
/// while let Some(chunk) = stream.try_next().await? {
///     print!("{}", chunk.text().unwrap_or_default());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct CompletionStream {
    events: Events<Completion>,
}

impl CompletionStream {
    pub(super) async fn open(response: reqwest::Response, started: Instant, what: String) -> Result<Self> {
        Ok(Self {
            events: Events::open(response, started, what).await?,
        })
    }

    /// How long after the request started (retries included) the first chunk with text
    /// arrived; `None` until then.
    ///
    /// ```no_run
    /// # async fn run(mut stream: runai_client::openai::CompletionStream) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// while stream.time_to_first_token().is_none() && stream.try_next().await?.is_some() {}
    /// println!("TTFT {:?}", stream.time_to_first_token());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn time_to_first_token(&self) -> Option<Duration> {
        self.events.first_text
    }

    /// The usage the server reported (see [`ChatStream::usage`]).
    ///
    /// ```no_run
    /// # async fn run(mut stream: runai_client::openai::CompletionStream) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// while stream.try_next().await?.is_some() {}
    /// println!("{:?}", stream.usage());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn usage(&self) -> Option<&Usage> {
        self.events.usage.as_ref()
    }

    /// Whether the server ended the stream with `[DONE]`.
    ///
    /// ```no_run
    /// # async fn run(mut stream: runai_client::openai::CompletionStream) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// while stream.try_next().await?.is_some() {}
    /// assert!(stream.is_complete(), "the answer was cut short");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.events.done
    }
}

impl Stream for CompletionStream {
    type Item = Result<Completion>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().events.poll_chunk(cx)
    }
}

impl FusedStream for CompletionStream {
    fn is_terminated(&self) -> bool {
        self.events.is_terminated()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt;

    use super::*;

    const BODY: &str = concat!(
        ": ping\r\n\r\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n",
        "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"gr\u{fc}\u{df} \"}}]}\r\n\r\n",
        "data: {\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"content\":\"\u{1f980}\"}}]}\r\n\r\n",
        "event: ping\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"not a chunk\"}}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2,\"total_tokens\":4}}\n\n",
        "data: [DONE]\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"after the end\"}}]}\n\n",
    );

    fn events(pieces: Vec<Vec<u8>>) -> Events<ChatChunk> {
        let body = futures_util::stream::iter(pieces.into_iter().map(|piece| Ok(Bytes::from(piece))));
        Events::new(
            Box::pin(body),
            200,
            Instant::now(),
            "POST /v1/chat/completions".to_owned(),
        )
    }

    async fn texts(mut events: Events<ChatChunk>) -> (Vec<String>, Events<ChatChunk>) {
        let stream = futures_util::stream::poll_fn(|cx| events.poll_chunk(cx));
        let chunks: Vec<ChatChunk> = stream.try_collect().await.unwrap();
        let texts = chunks
            .iter()
            .map(|c| c.text().unwrap_or("-").to_owned())
            .collect();
        (texts, events)
    }

    #[tokio::test]
    async fn chunks_are_the_same_however_the_body_is_cut() {
        let bytes = BODY.as_bytes();
        let (whole, events_whole) = texts(events(vec![bytes.to_vec()])).await;
        assert_eq!(whole, ["", "gr\u{fc}\u{df} ", "\u{1f980}", "-"]);
        assert_eq!(events_whole.usage.map(|u| u.total_tokens), Some(4));
        assert!(events_whole.done && events_whole.first_text.is_some());
        let (bytewise, _) = texts(events(bytes.iter().map(|&b| vec![b]).collect())).await;
        assert_eq!(bytewise, whole);
        for at in 0..=bytes.len() {
            let (head, tail) = bytes.split_at(at);
            let (split, _) = texts(events(vec![head.to_vec(), tail.to_vec()])).await;
            assert_eq!(split, whole, "split at {at}");
        }
    }
}
