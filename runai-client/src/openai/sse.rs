//! A decoder for Server-Sent Events (the `text/event-stream` format of the WHATWG HTML
//! standard) that accepts the body in whatever pieces the network delivers.
//!
//! Lines are split on raw bytes: `\r` and `\n` never occur inside a multi-byte UTF-8
//! character, so a line is only decoded once it is complete and a character cut in two by
//! the network is joined again first. A `\r` at the end of one piece remembers to swallow a
//! `\n` at the start of the next, so a CRLF cut in two is still one line end.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field; `None` for the default type, `message`.
    pub(crate) event: Option<String>,
    /// The `data:` lines of the event, joined by `\n`.
    pub(crate) data: String,
}

/// The decoder's state between pieces of the body.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// The bytes of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The data of the event being read, each line followed by `\n`.
    data: String,
    /// The `event:` field of the event being read.
    event: Option<String>,
    /// The last piece ended with `\r`: a `\n` starting the next one ends no further line.
    after_cr: bool,
    /// A line has been read, so a byte order mark can no longer appear.
    past_first_line: bool,
}

impl SseDecoder {
    /// Reads the next piece of the body, adding each event it completes to `out`.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], out: &mut impl Extend<SseEvent>) {
        if self.after_cr
            && let Some((&first, rest)) = bytes.split_first()
        {
            self.after_cr = false;
            if first == b'\n' {
                bytes = rest;
            }
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, rest) = bytes.split_at(end);
            let Some((&terminator, mut rest)) = rest.split_first() else {
                break;
            };
            if terminator == b'\r' {
                match rest.split_first() {
                    Some((b'\n', after)) => rest = after,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if self.line.is_empty() {
                self.end_line(line, out);
            } else {
                // The start of the line came in an earlier piece; the buffer is put back
                // afterwards so that its allocation is reused.
                let mut buffered = std::mem::take(&mut self.line);
                buffered.extend_from_slice(line);
                self.end_line(&buffered, out);
                buffered.clear();
                self.line = buffered;
            }
            bytes = rest;
        }
        self.line.extend_from_slice(bytes);
    }

    /// Interprets one complete line.
    fn end_line(&mut self, line: &[u8], out: &mut impl Extend<SseEvent>) {
        // The standard decodes invalid UTF-8 with replacement characters rather than failing.
        let decoded = String::from_utf8_lossy(line);
        let mut text: &str = &decoded;
        if !self.past_first_line {
            self.past_first_line = true;
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.is_empty() {
            self.dispatch(out);
            return;
        }
        if text.starts_with(':') {
            // A comment: servers send them as keep-alives.
            return;
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => self.event = Some(value.to_owned()),
            // `id` and `retry` serve reconnection, which a completion cannot use: a generation
            // cannot be resumed. Unknown fields are ignored, as the standard says.
            _ => {}
        }
    }

    /// Ends the event at a blank line; an event without data is dropped, as the standard says.
    fn dispatch(&mut self, out: &mut impl Extend<SseEvent>) {
        let event = self.event.take().filter(|e| !e.is_empty());
        if self.data.is_empty() {
            return;
        }
        // The `\n` that followed the last data line.
        self.data.pop();
        out.extend(Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_pieces<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::default();
        let mut events = Vec::new();
        for piece in pieces {
            decoder.feed(piece, &mut events);
        }
        events
    }

    fn decode(body: &str) -> Vec<SseEvent> {
        decode_pieces([body.as_bytes()])
    }

    fn data(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.to_owned(),
        }
    }

    /// A body with every feature: both `data:` spellings, multi-line data, comments, named
    /// events, all three line ends, multi-byte characters and a byte order mark.
    const BODY: &str = "\u{feff}: keep-alive\r\n\
        data: {\"text\":\"h\u{e9}llo \u{4e16}\u{754c} \u{1f980}\"}\r\n\r\n\
        data:no space\n\n\
        data: first\rdata: second\r\rid: 7\nretry: 100\nevent: error\ndata: {}\n\n\
        :comment\r\n\
        data\n\n\
        data: [DONE]\r\n\r\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            data("{\"text\":\"h\u{e9}llo \u{4e16}\u{754c} \u{1f980}\"}"),
            data("no space"),
            data("first\nsecond"),
            SseEvent {
                event: Some("error".to_owned()),
                data: "{}".to_owned(),
            },
            data(""),
            data("[DONE]"),
        ]
    }

    #[test]
    fn a_whole_body_gives_every_event_in_order() {
        assert_eq!(decode(BODY), expected());
    }

    #[test]
    fn one_byte_at_a_time_gives_the_same_events() {
        assert_eq!(decode_pieces(BODY.as_bytes().chunks(1)), expected());
    }

    #[test]
    fn random_splits_give_the_same_events() {
        // A fixed xorshift sequence: reproducible without a random number crate.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bytes = BODY.as_bytes();
        for _ in 0..500 {
            let mut pieces = Vec::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                // Mostly short pieces, so that splits land inside characters and CRLFs often;
                // empty pieces included, as a body stream may deliver them.
                let len = usize::try_from(next() % 6).unwrap_or(1).min(rest.len());
                let (piece, tail) = rest.split_at(len);
                pieces.push(piece);
                rest = tail;
            }
            assert_eq!(
                decode_pieces(pieces.iter().copied()),
                expected(),
                "pieces: {pieces:?}"
            );
        }
    }

    #[test]
    fn every_single_split_point_gives_the_same_events() {
        let bytes = BODY.as_bytes();
        for at in 0..=bytes.len() {
            let (head, tail) = bytes.split_at(at);
            assert_eq!(decode_pieces([head, tail]), expected(), "split at {at}");
        }
    }

    #[test]
    fn a_crlf_cut_in_two_is_one_line_end() {
        let events = decode_pieces([b"data: a\r".as_slice(), b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(events, vec![data("a\nb")]);
    }

    #[test]
    fn a_character_cut_in_two_is_joined() {
        let body = "data: \u{1f980}\n\n".as_bytes();
        // The crab is four bytes, from index 6.
        let events = decode_pieces([&body[..7], &body[7..9], &body[9..]]);
        assert_eq!(events, vec![data("\u{1f980}")]);
    }

    #[test]
    fn an_event_without_its_blank_line_is_not_dispatched() {
        assert_eq!(
            decode("data: complete\n\ndata: cut off\n"),
            vec![data("complete")]
        );
    }

    #[test]
    fn events_without_data_are_dropped() {
        assert_eq!(decode("event: ping\n\nid: 3\n\n: only a comment\n\n"), vec![]);
        // The event type does not leak into the next event.
        assert_eq!(decode("event: ping\n\ndata: x\n\n"), vec![data("x")]);
    }

    #[test]
    fn only_one_space_after_the_colon_is_removed() {
        assert_eq!(decode("data:  two spaces\n\n"), vec![data(" two spaces")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            decode_pieces([b"data: \xff\n\n".as_slice()]),
            vec![data("\u{fffd}")]
        );
    }

    #[test]
    fn a_byte_order_mark_is_only_stripped_at_the_start() {
        let events = decode("\u{feff}data: a\n\n\u{feff}data: b\n\n");
        // The second one starts an unknown field name, so that line is ignored.
        assert_eq!(events, vec![data("a")]);
    }

    /// A real chat stream, the seed of the fuzz cases below.
    const STREAM: &[u8] = b": keep-alive\r\n\r\nevent: message\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n";

    proptest::proptest! {
        /// Any bytes, cut anywhere: events come out, never a panic; and cutting a stream
        /// differently never changes what it decodes to.
        #[test]
        fn any_bytes_in_any_pieces_decode_the_same(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            at in proptest::prelude::any::<usize>(),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..8),
        ) {
            let mut body = STREAM.to_vec();
            let at = at % (body.len() + 1);
            body.splice(at..at, noise);
            let whole = decode_pieces([body.as_slice()]);
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
            points.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for point in points {
                pieces.push(&body[start..point]);
                start = point;
            }
            pieces.push(&body[start..]);
            proptest::prop_assert_eq!(decode_pieces(pieces), whole);
        }
    }
}
