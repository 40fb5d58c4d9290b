//! Readers for the Alibaba GPU v2023 ("openb") trace files: the node list and the pod lists.
//! They take the file's text, so the crate itself never touches the file system.

use crate::error::SchedError;
use crate::request::{GpuDemand, PodRequest};
use crate::state::NodeState;

/// Reads a node list: `sn,cpu_milli,memory_mib,gpu,model`.
///
/// ```
/// let nodes = runai_sched::sim::parse_nodes("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\n").unwrap();
/// assert_eq!(nodes[0].gpu_count(), 2);
/// assert_eq!(nodes[0].gpu_model, "P100");
/// ```
///
/// # Errors
/// [`SchedError::Trace`] naming the line and column that could not be read.
pub fn parse_nodes(text: &str) -> Result<Vec<NodeState>, SchedError> {
    let table = Table::new(text, &["sn", "cpu_milli", "memory_mib", "gpu", "model"])?;
    table
        .rows()
        .map(|row| {
            let row = row?;
            Ok(NodeState::new(
                row.text("sn"),
                row.number("cpu_milli")?,
                row.number("memory_mib")?,
                u32::try_from(row.number("gpu")?).map_err(|_| row.error("gpu", "is too large"))?,
                row.text("model"),
            ))
        })
        .collect()
}

/// Reads a pod list: `name,cpu_milli,memory_mib,num_gpu,gpu_milli` and optionally
/// `gpu_spec` (allowed models joined by `|`); other columns are ignored.
///
/// ```
/// use runai_sched::GpuDemand;
/// let text = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np0,6000,12288,1,460,\np1,8000,1024,2,1000,V100M16|V100M32\n";
/// let pods = runai_sched::sim::parse_pods(text).unwrap();
/// assert_eq!(pods[0].gpu, GpuDemand::Share { milli: 460 });
/// assert_eq!(pods[1].gpu_models, ["V100M16", "V100M32"]);
/// ```
///
/// # Errors
/// [`SchedError::Trace`] naming the line and column that could not be read.
pub fn parse_pods(text: &str) -> Result<Vec<PodRequest>, SchedError> {
    let table = Table::new(text, &["cpu_milli", "memory_mib", "num_gpu", "gpu_milli"])?;
    table
        .rows()
        .map(|row| {
            let row = row?;
            let num_gpu =
                u32::try_from(row.number("num_gpu")?).map_err(|_| row.error("num_gpu", "is too large"))?;
            let gpu_milli = u32::try_from(row.number("gpu_milli")?)
                .map_err(|_| row.error("gpu_milli", "is too large"))?;
            if num_gpu > 1 && gpu_milli != 0 && gpu_milli != 1000 {
                return Err(row.error("gpu_milli", "must be 1000 when num_gpu is more than 1"));
            }
            let models = row.optional_text("gpu_spec").unwrap_or_default();
            Ok(PodRequest::new(
                row.number("cpu_milli")?,
                row.number("memory_mib")?,
                GpuDemand::from_trace(num_gpu, gpu_milli),
            )
            .on_models(models.split('|').filter(|m| !m.is_empty())))
        })
        .collect()
}

/// A CSV table with a header; the trace has no quoting.
struct Table<'a> {
    header: Vec<&'a str>,
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
}

impl<'a> Table<'a> {
    fn new(text: &'a str, required: &[&str]) -> Result<Self, SchedError> {
        let mut lines = text.lines().enumerate();
        let header: Vec<&str> = match lines.next() {
            Some((_, line)) => line.split(',').map(str::trim).collect(),
            None => {
                return Err(SchedError::Trace {
                    line: 1,
                    message: "the file is empty; expected a header".into(),
                });
            }
        };
        if let Some(missing) = required.iter().find(|column| !header.contains(column)) {
            return Err(SchedError::Trace {
                line: 1,
                message: format!(
                    "the header has no `{missing}` column; expected {}",
                    required.join(",")
                ),
            });
        }
        Ok(Self { header, lines })
    }

    fn rows(self) -> impl Iterator<Item = Result<Row<'a>, SchedError>> {
        let header = self.header;
        self.lines
            .filter(|(_, line)| !line.trim().is_empty())
            .map(move |(index, line)| {
                let cells: Vec<&str> = line.split(',').map(str::trim).collect();
                if cells.len() < header.len() {
                    return Err(SchedError::Trace {
                        line: index + 1,
                        message: format!("has {} cells; the header has {}", cells.len(), header.len()),
                    });
                }
                Ok(Row {
                    line: index + 1,
                    header: header.clone(),
                    cells,
                })
            })
    }
}

struct Row<'a> {
    line: usize,
    header: Vec<&'a str>,
    cells: Vec<&'a str>,
}

impl Row<'_> {
    fn optional_text(&self, column: &str) -> Option<&str> {
        self.header
            .iter()
            .position(|c| *c == column)
            .map(|i| self.cells[i])
    }

    fn text(&self, column: &str) -> &str {
        self.optional_text(column).unwrap_or_default()
    }

    fn number(&self, column: &str) -> Result<u64, SchedError> {
        let cell = self.text(column);
        cell.parse()
            .map_err(|_| self.error(column, &format!("`{cell}` is not a whole number")))
    }

    fn error(&self, column: &str, message: &str) -> SchedError {
        SchedError::Trace {
            line: self.line,
            message: format!("column `{column}` {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_line_and_column() {
        let err = parse_nodes("sn,cpu_milli,memory_mib,gpu,model\nn0,lots,1,1,T4\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "trace line 2: column `cpu_milli` `lots` is not a whole number"
        );
        let err = parse_pods("name,cpu\n").unwrap_err();
        assert!(err.to_string().contains("no `cpu_milli` column"), "{err}");
        let err = parse_pods("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,2,500\n").unwrap_err();
        assert!(err.to_string().contains("must be 1000"), "{err}");
        assert!(parse_nodes("").is_err());
    }

    #[test]
    fn five_column_pod_lists_parse() {
        let pods =
            parse_pods("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,4000,1024,8,1000\nq,4000,1024,0,0\n")
                .unwrap();
        assert_eq!(pods[0].gpu, GpuDemand::Devices { count: 8 });
        assert_eq!(pods[1].gpu, GpuDemand::None);
        assert!(pods[0].gpu_models.is_empty());
    }
}
