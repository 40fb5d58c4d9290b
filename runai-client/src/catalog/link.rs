//! `Link` headers (RFC 8288): finding the target of the link with a given relation type, as
//! the Hugging Face Hub announces its next page.
//!
//! A header may hold several links and may be sent several times; parameters may be quoted
//! (with commas, semicolons and escapes inside) or bare tokens, with spaces anywhere between;
//! `rel` may list several relation types, compared without regard to case.

use std::str::Chars;

use reqwest::header::{HeaderMap, LINK};
use url::Url;

/// The target of the first link in `headers` whose relation types include `rel`, resolved
/// against `context` (the URL that was fetched), when it is an http or https URL.
pub(super) fn target(headers: &HeaderMap, rel: &str, context: &Url) -> Option<Url> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(parse)
        .find(|link| link.has_rel(rel))
        .and_then(|link| context.join(link.target.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
}

/// One link of a header: its target as written and its first `rel` parameter.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    target: String,
    rel: Option<String>,
}

impl Link {
    fn has_rel(&self, rel: &str) -> bool {
        self.rel
            .as_deref()
            .is_some_and(|rels| rels.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
    }
}

/// Every well-formed link of one header value; a malformed element is skipped up to the next
/// comma, so one odd link does not hide the others.
fn parse(value: &str) -> Vec<Link> {
    let mut cursor = Cursor::new(value);
    let mut links = Vec::new();
    loop {
        cursor.skip_while(|c| c == ',' || c.is_whitespace());
        match cursor.peek() {
            None => break,
            Some('<') => {
                cursor.bump();
            }
            Some(_) => {
                cursor.skip_element();
                continue;
            }
        }
        let target = cursor.take_while(|c| c != '>');
        if cursor.bump() != Some('>') {
            break;
        }
        let mut rel = None;
        loop {
            cursor.skip_while(char::is_whitespace);
            if cursor.peek() != Some(';') {
                break;
            }
            cursor.bump();
            cursor.skip_while(char::is_whitespace);
            let name = cursor.take_while(|c| !matches!(c, '=' | ';' | ',') && !c.is_whitespace());
            cursor.skip_while(char::is_whitespace);
            let value = if cursor.peek() == Some('=') {
                cursor.bump();
                cursor.skip_while(char::is_whitespace);
                cursor.value()
            } else {
                String::new()
            };
            // RFC 8288 §3.3: occurrences of `rel` after the first are ignored.
            if rel.is_none() && name.eq_ignore_ascii_case("rel") {
                rel = Some(value);
            }
        }
        cursor.skip_element();
        links.push(Link { target, rel });
    }
    links
}

/// A position in a header value.
struct Cursor<'a> {
    chars: std::iter::Peekable<Chars<'a>>,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        self.chars.next()
    }

    fn skip_while(&mut self, keep: impl Fn(char) -> bool) {
        while self.chars.next_if(|&c| keep(c)).is_some() {}
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.chars.next_if(|&c| keep(c)) {
            out.push(c);
        }
        out
    }

    /// A parameter value: a quoted string or a bare token.
    fn value(&mut self) -> String {
        if self.peek() == Some('"') {
            self.quoted()
        } else {
            self.take_while(|c| !matches!(c, ';' | ',') && !c.is_whitespace())
        }
    }

    /// A quoted string, unescaped; an unterminated one runs to the end of the value.
    fn quoted(&mut self) -> String {
        self.bump();
        let mut out = String::new();
        while let Some(c) = self.bump() {
            match c {
                '"' => break,
                '\\' => out.extend(self.bump()),
                c => out.push(c),
            }
        }
        out
    }

    /// Skips to the comma that ends the current link, stepping over quoted strings.
    fn skip_element(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ',' => break,
                '"' => {
                    self.quoted();
                }
                _ => {
                    self.bump();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn link(target: &str, rel: Option<&str>) -> Link {
        Link {
            target: target.to_owned(),
            rel: rel.map(str::to_owned),
        }
    }

    #[test]
    fn parses_several_links_with_quoted_and_bare_parameters() {
        let value = r#"<https://hub/api/models?cursor=a,b>; rel="next"; title="x, \"y\"; z" , <https://hub/prev> ;rel=prev,<https://hub/x>"#;
        assert_eq!(
            parse(value),
            vec![
                link("https://hub/api/models?cursor=a,b", Some("next")),
                link("https://hub/prev", Some("prev")),
                link("https://hub/x", None),
            ]
        );
    }

    #[test]
    fn only_the_first_rel_counts_and_rel_lists_match_any_member() {
        let links = parse(r#"<a>; rel="prev"; rel="next", <b>; REL="Last NEXT""#);
        assert!(!links[0].has_rel("next"));
        assert!(links[1].has_rel("next"));
        assert!(links[1].has_rel("last"));
    }

    #[test]
    fn skips_malformed_elements_and_stops_at_an_unclosed_target() {
        assert_eq!(
            parse(r#"garbage; rel="next, still", <ok>; rel=next, <unclosed"#),
            vec![link("ok", Some("next"))]
        );
        assert!(parse("").is_empty());
        assert!(parse(" , ,").is_empty());
    }

    #[test]
    fn finds_the_target_across_header_lines_and_resolves_it() {
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            HeaderValue::from_static(r#"<https://hub/first>; rel="prev""#),
        );
        headers.append(
            LINK,
            HeaderValue::from_static(r#"</api/models?cursor=2>; rel="next""#),
        );
        let context = Url::parse("https://hub.example/api/models?search=x").ok();
        let found = context.and_then(|context| target(&headers, "next", &context));
        assert_eq!(
            found.as_ref().map(Url::as_str),
            Some("https://hub.example/api/models?cursor=2")
        );
    }

    #[test]
    fn refuses_targets_that_are_not_http() {
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            HeaderValue::from_static(r#"<file:///etc/passwd>; rel="next""#),
        );
        let context = Url::parse("https://hub.example/api/models").ok();
        assert_eq!(
            context.and_then(|context| target(&headers, "next", &context)),
            None
        );
    }
}
