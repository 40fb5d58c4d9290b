//! Reader for the Azure LLM inference traces of 2023 (`TIMESTAMP,ContextTokens,GeneratedTokens`).

use crate::error::SchedError;

/// One request of a trace.
///
/// ```
/// use runai_sched::sim::LlmRequest;
/// let r = LlmRequest { arrival_s: 1.5, prompt_tokens: 374, output_tokens: 44 };
/// assert_eq!(r.output_tokens, 44);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlmRequest {
    /// Seconds after the first request of the trace.
    pub arrival_s: f64,
    /// Prompt (context) tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
}

/// Reads an Azure LLM trace; arrival times are made relative to the first row and the rows
/// are sorted by arrival.
///
/// ```
/// let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n";
/// let requests = runai_sched::sim::parse_azure_trace(text).unwrap();
/// assert_eq!(requests.len(), 2);
/// assert!((requests[1].arrival_s - 4.314579).abs() < 1e-6);
/// ```
///
/// # Errors
/// [`SchedError::Trace`] naming the line that could not be read.
pub fn parse_azure_trace(text: &str) -> Result<Vec<LlmRequest>, SchedError> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim().starts_with("TIMESTAMP") => {}
        _ => {
            return Err(SchedError::Trace {
                line: 1,
                message: "expected the header TIMESTAMP,ContextTokens,GeneratedTokens".into(),
            });
        }
    }
    let mut requests = Vec::new();
    let mut first: Option<f64> = None;
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: &str| SchedError::Trace {
            line: index + 1,
            message: message.to_owned(),
        };
        let mut cells = line.split(',');
        let (Some(stamp), Some(prompt), Some(output)) = (cells.next(), cells.next(), cells.next()) else {
            return Err(bad(
                "expected three columns: TIMESTAMP,ContextTokens,GeneratedTokens",
            ));
        };
        let seconds = seconds_of_day(stamp.trim())
            .ok_or_else(|| bad("TIMESTAMP is not `YYYY-MM-DD HH:MM:SS.fffffff`"))?;
        let start = *first.get_or_insert(seconds);
        requests.push(LlmRequest {
            arrival_s: seconds - start,
            prompt_tokens: prompt
                .trim()
                .parse()
                .map_err(|_| bad("ContextTokens is not a whole number"))?,
            output_tokens: output
                .trim()
                .parse()
                .map_err(|_| bad("GeneratedTokens is not a whole number"))?,
        });
    }
    requests.sort_by(|a, b| a.arrival_s.total_cmp(&b.arrival_s));
    Ok(requests)
}

/// Seconds since midnight of `YYYY-MM-DD HH:MM:SS.fffffff` (the traces span one day).
fn seconds_of_day(stamp: &str) -> Option<f64> {
    let (_, time) = stamp.split_once(' ')?;
    let mut parts = time.split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    Some(hours * 3600.0 + minutes * 60.0 + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_name_their_line() {
        let err = parse_azure_trace("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6,x,1\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "trace line 2: ContextTokens is not a whole number"
        );
        assert!(parse_azure_trace("time,a,b\n").is_err());
    }
}
