//! Per-second metric buckets over a sliding window, as Knative's autoscaler keeps them.

/// A ring of one-second buckets holding the average of what was recorded in each second.
///
/// The window average is the sum of the buckets in the window divided by the number of
/// seconds since the first record (at most the window): seconds with no record count as 0,
/// and a window with no record at all averages 0.
///
/// ```
/// use runai_sched::autoscale::MetricWindow;
/// let mut w = MetricWindow::new(60);
/// w.record(100, 10.0);
/// w.record(101, 20.0);
/// assert_eq!(w.average(101, 60), 15.0);
/// assert_eq!(w.average(101, 1), 20.0);
/// assert_eq!(w.average(300, 60), 0.0); // a full window with no data
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MetricWindow {
    sums: Vec<f64>,
    counts: Vec<u32>,
    /// The second each bucket holds, so stale buckets are recognised without clearing.
    seconds: Vec<u64>,
    first: Option<u64>,
    last: Option<u64>,
}

impl MetricWindow {
    /// A window that can answer averages over up to `capacity_s` seconds.
    #[must_use]
    pub fn new(capacity_s: u32) -> Self {
        let capacity = capacity_s.max(1) as usize;
        Self {
            sums: vec![0.0; capacity],
            counts: vec![0; capacity],
            seconds: vec![u64::MAX; capacity],
            first: None,
            last: None,
        }
    }

    /// Records `value` at second `now_s`. Several records in one second are averaged.
    pub fn record(&mut self, now_s: u64, value: f64) {
        let slot = (now_s % self.sums.len() as u64) as usize;
        if self.seconds[slot] != now_s {
            self.seconds[slot] = now_s;
            self.sums[slot] = 0.0;
            self.counts[slot] = 0;
        }
        self.sums[slot] += value;
        self.counts[slot] += 1;
        self.first.get_or_insert(now_s);
        self.last = Some(self.last.map_or(now_s, |l| l.max(now_s)));
    }

    /// The average over the `window_s` seconds ending at `now_s` (inclusive).
    #[must_use]
    pub fn average(&self, now_s: u64, window_s: u32) -> f64 {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return 0.0;
        };
        let window = u64::from(window_s.max(1)).min(self.sums.len() as u64);
        let start = (now_s + 1).saturating_sub(window);
        if last < start {
            return 0.0;
        }
        let mut sum = 0.0;
        for second in start.max(first)..=now_s {
            let slot = (second % self.sums.len() as u64) as usize;
            if self.seconds[slot] == second && self.counts[slot] > 0 {
                sum += self.sums[slot] / f64::from(self.counts[slot]);
            }
        }
        let seconds = (now_s + 1).saturating_sub(start.max(first)).max(1);
        sum / seconds as f64
    }

    /// The largest value recorded in the `window_s` seconds ending at `now_s`.
    #[must_use]
    pub fn max(&self, now_s: u64, window_s: u32) -> f64 {
        let window = u64::from(window_s.max(1)).min(self.sums.len() as u64);
        let start = (now_s + 1).saturating_sub(window);
        (start..=now_s)
            .filter_map(|second| {
                let slot = (second % self.sums.len() as u64) as usize;
                (self.seconds[slot] == second && self.counts[slot] > 0)
                    .then(|| self.sums[slot] / f64::from(self.counts[slot]))
            })
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_inside_the_window_count_as_zero() {
        let mut w = MetricWindow::new(10);
        w.record(0, 10.0);
        w.record(9, 10.0);
        assert_eq!(w.average(9, 10), 2.0);
    }

    #[test]
    fn records_in_one_second_are_averaged_and_old_slots_are_reused() {
        let mut w = MetricWindow::new(3);
        w.record(1, 4.0);
        w.record(1, 8.0);
        assert_eq!(w.average(1, 3), 6.0);
        w.record(4, 3.0); // reuses slot 1
        assert_eq!(w.average(4, 3), 1.0);
        assert_eq!(w.max(4, 3), 3.0);
    }

    #[test]
    fn the_average_only_counts_seconds_since_the_first_record() {
        let mut w = MetricWindow::new(60);
        w.record(1000, 30.0);
        w.record(1001, 30.0);
        assert_eq!(w.average(1001, 60), 30.0);
    }
}
