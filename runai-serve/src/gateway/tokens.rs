//! Token-level measurement of OpenAI-compatible responses as they pass through: time to
//! first token, inter-token latency and token counts, read from server-sent events (or from
//! a whole JSON body) without holding them back.
//!
//! Output tokens come from `usage` when the server sends it, else from the content-bearing
//! chunks counted (one chunk is usually one token; servers that bundle tokens are
//! undercounted, which is why `usage` wins).

use std::time::{Duration, Instant};

use std::borrow::Cow;

use serde::Deserialize;

/// Largest whole JSON body read for `usage`; larger ones are passed on unmeasured.
const MAX_JSON_BODY: usize = 1 << 20;

/// What one response measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TokenStats {
    pub(crate) ttft: Option<Duration>,
    /// Gaps between successive content chunks.
    pub(crate) itls: Vec<Duration>,
    pub(crate) prompt_tokens: Option<u64>,
    pub(crate) completion_tokens: Option<u64>,
}

/// Reads a response body frame by frame.
#[derive(Debug)]
pub(crate) struct TokenMeter {
    started: Instant,
    streaming: bool,
    /// The unfinished line (SSE) or the body so far (JSON).
    pending: Vec<u8>,
    last_token: Option<Instant>,
    chunks: u64,
    /// A JSON body too large to read for `usage`.
    too_large: bool,
    stats: TokenStats,
}

impl TokenMeter {
    /// A meter for a response that is an event stream (`streaming`) or a JSON body, to a
    /// request sent at `started`.
    pub(crate) fn new(started: Instant, streaming: bool) -> Self {
        Self {
            started,
            streaming,
            pending: Vec::new(),
            last_token: None,
            chunks: 0,
            too_large: false,
            stats: TokenStats::default(),
        }
    }

    /// Reads `bytes` that arrived at `now`.
    pub(crate) fn feed(&mut self, bytes: &[u8], now: Instant) {
        if !self.streaming {
            if self.too_large || self.pending.len() + bytes.len() > MAX_JSON_BODY {
                self.too_large = true;
                self.pending = Vec::new();
            } else {
                self.pending.extend_from_slice(bytes);
            }
            return;
        }
        // Events may split anywhere across frames: keep the unfinished line for later.
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(end);
            rest = &tail[1..];
            if self.pending.is_empty() {
                self.line(line, now);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.line(&whole, now);
            }
        }
        self.pending.extend_from_slice(rest);
    }

    fn line(&mut self, line: &[u8], now: Instant) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(payload) = line.strip_prefix(b"data:") else {
            return; // comments, keep-alives, `event:` and `id:` lines
        };
        let payload = payload.trim_ascii();
        if payload == b"[DONE]" {
            return;
        }
        // Typed and borrowed: only what is measured is read, the rest is skipped unbuilt.
        let Ok(chunk) = serde_json::from_slice::<Chunk<'_>>(payload) else {
            return;
        };
        if chunk.choices.0 {
            self.chunks += 1;
            match self.last_token {
                None => self.stats.ttft = Some(now - self.started),
                Some(last) => self.stats.itls.push(now - last),
            }
            self.last_token = Some(now);
        }
        self.read_usage(chunk.usage);
    }

    fn read_usage(&mut self, usage: Option<Usage>) {
        if let Some(usage) = usage {
            self.stats.prompt_tokens = usage.prompt_tokens;
            self.stats.completion_tokens = usage.completion_tokens;
        }
    }

    /// The measurements, once the body has ended.
    pub(crate) fn finish(mut self, now: Instant) -> TokenStats {
        if !self.streaming && !self.pending.is_empty() {
            let usage = usage_at_the_end(&self.pending).or_else(|| {
                serde_json::from_slice::<Whole>(&self.pending)
                    .ok()
                    .map(|w| w.usage)
            });
            if let Some(usage) = usage {
                self.read_usage(usage);
                if self.stats.completion_tokens.is_some() {
                    // A whole response's first token is its last byte.
                    self.stats.ttft = Some(now - self.started);
                }
            }
        } else if self.stats.completion_tokens.is_none() && self.chunks > 0 {
            self.stats.completion_tokens = Some(self.chunks);
        }
        self.stats
    }
}

/// The `usage` object of a whole JSON response, found without parsing the rest: servers put
/// it last, so the last `"usage"` key is read on its own. `None` when that does not work
/// out (the caller then parses the whole body).
fn usage_at_the_end(body: &[u8]) -> Option<Option<Usage>> {
    const KEY: &[u8] = b"\"usage\"";
    let at = memchr::memmem::rfind(body, KEY)?;
    // Inside a string the quotes would be escaped (`\"usage\"`) and not match; a string
    // value "usage" has no colon after it and is declined below.
    let rest = body[at + KEY.len()..].trim_ascii_start().strip_prefix(b":")?;
    let mut value = serde_json::Deserializer::from_slice(rest);
    Option::<Usage>::deserialize(&mut value).ok()
}

/// What is read of a streamed chunk.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: AnyContent<'a>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// What is read of a whole JSON response.
#[derive(Deserialize)]
struct Whole {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

/// Whether any choice carries generated text (chat `delta.content`, completion `text`),
/// read without collecting the choices.
#[derive(Default)]
struct AnyContent<'a>(bool, std::marker::PhantomData<&'a ()>);

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for AnyContent<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choices<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Choices<'a> {
            type Value = AnyContent<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of choices")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut any = false;
                while let Some(choice) = seq.next_element::<Choice<'de>>()? {
                    let text = choice.delta.and_then(|d| d.content).or(choice.text);
                    any |= text.is_some_and(|t| !t.is_empty());
                }
                Ok(AnyContent(any, std::marker::PhantomData))
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(AnyContent::default())
            }
        }
        deserializer.deserialize_any(Choices(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn events_split_across_frames_and_crlf_are_read() {
        let t0 = Instant::now();
        let mut meter = TokenMeter::new(t0, true);
        meter.feed(b": keep-alive\r\n\r\ndata: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\r\n\r\nda", at(t0, 100));
        meter.feed(
            b"ta: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\n",
            at(t0, 130),
        );
        meter.feed(
            b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
            at(t0, 140),
        );
        let stats = meter.finish(at(t0, 150));
        assert_eq!(stats.ttft, Some(Duration::from_millis(100)));
        assert_eq!(stats.itls, vec![Duration::from_millis(30)]);
        assert_eq!(stats.completion_tokens, Some(2)); // counted: no usage was sent
        assert_eq!(stats.prompt_tokens, None);
    }

    #[test]
    fn usage_wins_over_counted_chunks() {
        let t0 = Instant::now();
        let mut meter = TokenMeter::new(t0, true);
        meter.feed(
            b"data: {\"choices\":[{\"text\":\"abc\"}],\"usage\":null}\n\n",
            at(t0, 10),
        );
        meter.feed(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n", at(t0, 20));
        let stats = meter.finish(at(t0, 20));
        assert_eq!((stats.prompt_tokens, stats.completion_tokens), (Some(7), Some(3)));
    }

    #[test]
    fn usage_is_found_at_the_end_or_by_a_full_parse() {
        let last = br#"{"choices":[{"message":{"content":"say \"usage\": 1"}}],"usage":{"prompt_tokens":4,"completion_tokens":2}}"#;
        let usage = usage_at_the_end(last).unwrap().unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (Some(4), Some(2)));
        // The last "usage" is a string value, not the key: the fast path declines.
        let inside = br#"{"usage":{"prompt_tokens":1,"completion_tokens":1},"choices":[{"text":"usage"}]}"#;
        assert!(usage_at_the_end(inside).is_none());
        let t0 = Instant::now();
        let mut meter = TokenMeter::new(t0, false);
        meter.feed(inside, t0);
        assert_eq!(meter.finish(t0).completion_tokens, Some(1));
        assert_eq!(
            usage_at_the_end(br#"{"usage":null}"#).map(|u| u.is_none()),
            Some(true)
        );
    }

    #[test]
    fn whole_json_bodies_give_usage_at_their_end() {
        let t0 = Instant::now();
        let mut meter = TokenMeter::new(t0, false);
        meter.feed(b"{\"choices\":[{\"message\":{\"content\":\"x\"}}],", at(t0, 5));
        meter.feed(
            b"\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}",
            at(t0, 6),
        );
        let stats = meter.finish(at(t0, 9));
        assert_eq!((stats.prompt_tokens, stats.completion_tokens), (Some(2), Some(1)));
        assert_eq!(stats.ttft, Some(Duration::from_millis(9)));
    }

    proptest::proptest! {
        /// Whatever a replica streams, in whatever pieces, metering never panics.
        #[test]
        fn any_stream_is_metered_without_panicking(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
                    proptest::prelude::Just(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_vec()),
                    proptest::prelude::Just(b"data: {\"usage\":{\"completion_tokens\":18446744073709551615}}\n\n".to_vec()),
                    proptest::prelude::Just(b"data: [DONE]\r\n\r\n".to_vec()),
                ],
                0..16,
            ),
            streaming in proptest::prelude::any::<bool>(),
        ) {
            let t0 = Instant::now();
            let mut meter = TokenMeter::new(t0, streaming);
            for (i, piece) in pieces.iter().enumerate() {
                meter.feed(piece, at(t0, i as u64));
            }
            let _ = meter.finish(at(t0, 100));
        }
    }
}
