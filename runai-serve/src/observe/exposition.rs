//! A reader of the Prometheus text exposition format (and OpenMetrics text, its successor),
//! enough for model servers' metrics pages: samples with labels; comments, timestamps and
//! exemplars skipped.

/// One sample line: `name{label="value",...} value [timestamp] [# exemplar]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample<'a> {
    pub(crate) name: &'a str,
    pub(crate) labels: Vec<(&'a str, String)>,
    pub(crate) value: f64,
}

impl Sample<'_> {
    pub(crate) fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The samples of a page; lines that do not parse are skipped, so one odd line from a
/// server does not hide the rest.
pub(crate) fn samples(page: &str) -> impl Iterator<Item = Sample<'_>> {
    page.lines().filter_map(parse_line)
}

fn parse_line(line: &str) -> Option<Sample<'_>> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(body) = rest.strip_prefix('{') {
        rest = parse_labels(body, &mut labels)?;
    }
    let value = rest.split_whitespace().next()?;
    Some(Sample {
        name,
        labels,
        value: parse_value(value)?,
    })
}

/// Reads `label="value",...}` into `labels`; returns what follows the `}`.
fn parse_labels<'a>(mut body: &'a str, labels: &mut Vec<(&'a str, String)>) -> Option<&'a str> {
    loop {
        body = body.trim_start_matches([' ', ',']);
        if let Some(rest) = body.strip_prefix('}') {
            return Some(rest);
        }
        let (key, after_key) = body.split_once('=')?;
        let mut chars = after_key.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (index, '"') => break index,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key.trim(), value));
        body = &after_key[1 + end + 1..];
    }
}

pub(crate) fn parse_value(text: &str) -> Option<f64> {
    // Go's strconv spellings, which Rust's parser does not all take.
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_labels_escapes_timestamps_and_exemplars_parse() {
        let page = "# HELP x A help.\n\
                    # TYPE x gauge\n\
                    x 1\n\
                    x{a=\"b\",c=\"q\\\"uote\\\\d\"} 2.5 1700000000000\n\
                    h_bucket{le=\"+Inf\"} 7 # {trace_id=\"abc\"} 0.3 1.7e9\n\
                    bad line here\n\
                    y{unterminated=\"x} 3\n\
                    z{} NaN\n\
                    # EOF\n";
        let parsed: Vec<_> = samples(page).collect();
        assert_eq!(parsed.len(), 4, "{parsed:?}");
        assert_eq!(parsed[0].value, 1.0);
        assert_eq!(parsed[1].label("c"), Some("q\"uote\\d"));
        assert_eq!(parsed[1].value, 2.5);
        assert_eq!(parsed[2].label("le"), Some("+Inf"));
        assert_eq!(parsed[2].value, 7.0);
        assert!(parsed[3].value.is_nan());
    }
}
