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
    buckets: Vec<Bucket>,
    first: Option<u64>,
    last: Option<u64>,
}

/// One second of records.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    /// The second held, so stale buckets are recognised without clearing.
    second: u64,
    sum: f64,
    count: u32,
    /// `sum / count`, kept so window reads do no division.
    mean: f64,
}

const EMPTY: Bucket = Bucket {
    second: u64::MAX,
    sum: 0.0,
    count: 0,
    mean: 0.0,
};

impl MetricWindow {
    /// A window that can answer averages over up to `capacity_s` seconds.
    #[must_use]
    pub fn new(capacity_s: u32) -> Self {
        Self {
            buckets: vec![EMPTY; capacity_s.max(1) as usize],
            first: None,
            last: None,
        }
    }

    /// Records `value` at second `now_s`. Several records in one second are averaged.
    pub fn record(&mut self, now_s: u64, value: f64) {
        let slot = (now_s % self.buckets.len() as u64) as usize;
        let bucket = &mut self.buckets[slot];
        if bucket.second != now_s {
            *bucket = Bucket {
                second: now_s,
                ..EMPTY
            };
        }
        bucket.sum += value;
        bucket.count += 1;
        bucket.mean = bucket.sum / f64::from(bucket.count);
        self.first.get_or_insert(now_s);
        self.last = Some(self.last.map_or(now_s, |l| l.max(now_s)));
    }

    /// The means of the seconds `from..=to` that have records, walking the ring once
    /// without a division per second.
    fn means(&self, from: u64, to: u64) -> impl Iterator<Item = f64> + '_ {
        let len = self.buckets.len();
        let mut slot = (from % len as u64) as usize;
        (from..=to).filter_map(move |second| {
            let bucket = &self.buckets[slot];
            slot += 1;
            if slot == len {
                slot = 0;
            }
            (bucket.second == second).then_some(bucket.mean)
        })
    }

    /// The average over the `window_s` seconds ending at `now_s` (inclusive).
    #[must_use]
    pub fn average(&self, now_s: u64, window_s: u32) -> f64 {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return 0.0;
        };
        let window = u64::from(window_s.max(1)).min(self.buckets.len() as u64);
        let start = (now_s + 1).saturating_sub(window).max(first);
        if last < start || now_s < start {
            return 0.0;
        }
        let sum: f64 = self.means(start, now_s).sum();
        sum / (now_s + 1 - start) as f64
    }

    /// The largest value recorded in the `window_s` seconds ending at `now_s`.
    #[must_use]
    pub fn max(&self, now_s: u64, window_s: u32) -> f64 {
        let window = u64::from(window_s.max(1)).min(self.buckets.len() as u64);
        let start = (now_s + 1).saturating_sub(window);
        self.means(start, now_s).fold(0.0, f64::max)
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
