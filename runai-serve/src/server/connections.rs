//! Every open connection's phase, the per-connection watchdog that closes it when a phase
//! lasts too long, and the table that bounds how many are open.
//!
//! A connection is *idle* (waiting for the first byte of a request: just accepted, or kept
//! alive after a response), *reading a head* (bytes arrived, no complete request yet) or
//! *busy* (requests in flight). Idle lasts at most the idle timeout and a head at most the
//! header-read timeout, whatever the client dribbles; busy is bounded by the request's own
//! timeouts and the body-read timeout. At the connection limit, the longest-open idle
//! connection makes room for a new one (an idle connection costs its client nothing to
//! reopen); only when none is idle is the new connection refused.
//!
//! The request path only stores atomics: the watchdog is not woken per request. It wakes at
//! its phase's deadline or, while the connection is idle or busy, at the latest one
//! header-read timeout later, which is when a head that started meanwhile could first be
//! due; only an eviction wakes it early.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use super::ServerLimits;

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// Idle past the idle timeout.
    Idle,
    /// A request head took longer than the header-read timeout.
    SlowHead,
    /// Another connection needed its place.
    Evicted,
}

/// One connection's phase, shared by its I/O, its requests and its watchdog.
#[derive(Debug)]
pub(crate) struct Tracked {
    id: u64,
    epoch: Instant,
    phase: AtomicU8,
    /// When the current phase began, in milliseconds since `epoch`.
    since_ms: AtomicU64,
    in_flight: AtomicUsize,
    evicted: AtomicBool,
    /// Woken on eviction only.
    wake: Notify,
}

impl Tracked {
    fn new(id: u64, epoch: Instant) -> Self {
        let tracked = Self {
            id,
            epoch,
            phase: AtomicU8::new(IDLE),
            since_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        };
        tracked.since_ms.store(tracked.now_ms(), Ordering::Release);
        tracked
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes arrived: an idle connection starts reading a head.
    fn bytes_read(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE
            && self
                .phase
                .compare_exchange(IDLE, HEAD, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
    }

    /// A request head is complete; the connection is busy until its response ends.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.phase.store(BUSY, Ordering::Release);
        InFlight(Arc::clone(self))
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.since_ms.store(self.now_ms(), Ordering::Release);
            self.phase.store(IDLE, Ordering::Release);
            // A request that started meanwhile (HTTP/2) keeps the connection busy.
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.phase.store(BUSY, Ordering::Release);
            }
        }
    }

    fn is_idle(&self) -> bool {
        self.phase.load(Ordering::Acquire) == IDLE
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// When the current phase must end, and why, in milliseconds since the epoch.
    fn deadline(&self, limits: &ServerLimits) -> Option<(u64, Closed)> {
        let since = self.since_ms.load(Ordering::Acquire);
        match self.phase.load(Ordering::Acquire) {
            IDLE => Some((after(since, limits.idle_timeout), Closed::Idle)),
            HEAD => Some((after(since, limits.header_read_timeout), Closed::SlowHead)),
            _ => None,
        }
    }

    /// Completes when the connection must close: a phase outlasted its limit, or it was
    /// evicted.
    pub(crate) async fn watchdog(&self, limits: ServerLimits) -> Closed {
        loop {
            if self.evicted.load(Ordering::Acquire) {
                return Closed::Evicted;
            }
            let now = self.now_ms();
            let due = self.deadline(&limits);
            if let Some((at, why)) = due
                && now >= at
            {
                return why;
            }
            // A head may start at any moment of an idle or busy phase, unseen: looking again
            // one header-read timeout later finds it no later than it is due.
            let look_again = after(now, limits.header_read_timeout);
            let wake_at = match due {
                Some((at, Closed::SlowHead)) => at,
                Some((at, _)) => at.min(look_again),
                None => look_again,
            };
            let when = tokio::time::Instant::from_std(self.epoch + Duration::from_millis(wake_at));
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep_until(when) => {}
            }
        }
    }
}

/// `since` plus `duration`, in milliseconds.
fn after(since: u64, duration: Duration) -> u64 {
    since.saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// A request in flight on a connection; its end (or drop) makes the connection idle again.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Tracked>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The open connections of one listener, at most `max`.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    epoch: Instant,
    next_id: AtomicU64,
    /// By id, so the first idle one found is the longest open.
    open: Mutex<BTreeMap<u64, Arc<Tracked>>>,
}

impl Connections {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
        })
    }

    /// A place for a new connection, evicting the longest-open idle one when full; `None`
    /// when every open connection is busy or reading a head.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= self.max {
            let victim = open.values().find(|t| t.is_idle()).map(|t| t.id)?;
            if let Some(victim) = open.remove(&victim) {
                victim.evict();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked::new(id, self.epoch));
        open.insert(id, Arc::clone(&tracked));
        Some(Slot {
            connections: Arc::clone(self),
            tracked,
        })
    }

    /// How many connections are open.
    pub(crate) fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// An admitted connection's place in the table, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    connections: Arc<Connections>,
    pub(crate) tracked: Arc<Tracked>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.tracked.id);
    }
}

/// A connection's transport, telling its [`Tracked`] when bytes arrive.
#[derive(Debug)]
pub(crate) struct Watched<T> {
    pub(crate) io: T,
    pub(crate) tracked: Arc<Tracked>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracked.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_evicts_the_longest_open_idle_connection_and_refuses_when_none_is_idle() {
        let table = Connections::new(2);
        let first = table.admit().unwrap();
        let second = table.admit().unwrap();
        let _busy = second.tracked.request_started();
        let third = table.admit().expect("the idle first connection makes room");
        assert!(first.tracked.evicted.load(Ordering::Acquire));
        assert_eq!(table.len(), 2);
        third.tracked.bytes_read();
        assert!(
            table.admit().is_none(),
            "one busy, one reading a head: nothing to evict"
        );
        drop(third);
        assert!(table.admit().is_some());
    }

    #[test]
    fn phases_follow_reads_and_requests() {
        let table = Connections::new(4);
        let slot = table.admit().unwrap();
        let tracked = &slot.tracked;
        let limits = ServerLimits::default();
        assert_eq!(tracked.deadline(&limits).unwrap().1, Closed::Idle);
        tracked.bytes_read();
        assert_eq!(tracked.deadline(&limits).unwrap().1, Closed::SlowHead);
        let request = tracked.request_started();
        assert!(tracked.deadline(&limits).is_none());
        drop(request);
        assert_eq!(tracked.deadline(&limits).unwrap().1, Closed::Idle);
    }
}
