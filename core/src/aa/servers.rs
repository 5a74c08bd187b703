//! The servers of a client (one, or the members of a cluster) in order of preference, which of
//! them failed recently (and are skipped until their back-off ends), and which answered last.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::ClientConfig;
use super::hints::origin;
use super::http::api_base;
use crate::Result;

/// One server of the client.
pub(crate) struct Server {
    /// As configured, without surrounding spaces (shown to callers, in logs and errors).
    pub base_url: String,
    /// `…/api/v1`, what request paths are appended to.
    pub api_base: String,
    /// When it failed last; skipped until the back-off after it has passed.
    failed_at: Mutex<Option<Instant>>,
}

impl Server {
    /// `scheme://host[:port]`, without the API path.
    pub(crate) fn origin(&self) -> &str {
        origin(&self.base_url)
    }
}

/// A server's place in [`Servers::list`].
pub(crate) type ServerIndex = usize;

pub(crate) struct Servers {
    list: Vec<Server>,
    backoff: Duration,
    /// [`NONE_YET`] before the first answer.
    last_answered: AtomicUsize,
}

const NONE_YET: usize = usize::MAX;

impl Servers {
    pub(crate) fn new(config: &ClientConfig) -> Result<Servers> {
        let list = config
            .server_urls()
            .map(|url| {
                Ok(Server {
                    base_url: url.trim_matches(' ').to_owned(),
                    api_base: api_base(url)?,
                    failed_at: Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Servers { list, backoff: config.server_backoff, last_answered: AtomicUsize::new(NONE_YET) })
    }

    pub(crate) fn get(&self, index: ServerIndex) -> &Server {
        &self.list[index]
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Server> {
        self.list.iter()
    }

    /// The order a call tries the servers in: `first` (the server a logon has been talking to)
    /// when given, then the others by preference; servers in their back-off come after all the
    /// others (tried only when every other one failed too).
    pub(crate) fn attempt_order(&self, first: Option<ServerIndex>) -> Vec<ServerIndex> {
        self.attempt_order_at(first, Instant::now())
    }

    fn attempt_order_at(&self, first: Option<ServerIndex>, now: Instant) -> Vec<ServerIndex> {
        let mut order: Vec<ServerIndex> =
            first.into_iter().chain((0..self.list.len()).filter(|&i| Some(i) != first)).collect();
        // Stable: the preference order is kept within each group.
        order.sort_by_key(|&index| self.in_backoff(index, now));
        order
    }

    fn in_backoff(&self, index: ServerIndex, now: Instant) -> bool {
        let failed_at = *self.list[index].failed_at.lock().unwrap_or_else(|p| p.into_inner());
        failed_at.is_some_and(|at| now.saturating_duration_since(at) < self.backoff)
    }

    /// `index` failed to serve a call: skip it for the back-off period.
    pub(crate) fn failed(&self, index: ServerIndex) {
        *self.list[index].failed_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// `index` answered a call. A server that had failed is logged at info level when it answers
    /// again (failures are logged where they happen: see the client); a log line per change of
    /// server would flood the log while logons started before and after a failover run side by
    /// side on different servers.
    pub(crate) fn answered(&self, index: ServerIndex) {
        let had_failed =
            self.list[index].failed_at.lock().unwrap_or_else(|p| p.into_inner()).take().is_some();
        if had_failed {
            log::info!("AA server {} answers again", self.list[index].base_url);
        }
        self.last_answered.store(index, Ordering::Relaxed);
    }

    /// The server that answered the last call; the preferred one before the first call.
    pub(crate) fn last_answered(&self) -> &Server {
        self.list.get(self.last_answered.load(Ordering::Relaxed)).unwrap_or(&self.list[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn servers(backoff: Duration) -> Servers {
        let mut config = ClientConfig::new("https://a.example", "id", Secret::from("s"));
        config.add_failover_url("https://b.example").unwrap();
        config.add_failover_url("https://c.example/tenant").unwrap();
        config.server_backoff = backoff;
        Servers::new(&config).unwrap()
    }

    #[test]
    fn preference_order_with_a_sticky_first_and_failed_servers_last() {
        let servers = servers(Duration::from_secs(3600));
        assert_eq!(servers.attempt_order(None), [0, 1, 2]);
        assert_eq!(servers.attempt_order(Some(2)), [2, 0, 1]);
        servers.failed(0);
        assert_eq!(servers.attempt_order(None), [1, 2, 0]);
        servers.failed(2);
        assert_eq!(servers.attempt_order(Some(2)), [1, 2, 0]);
        servers.answered(0);
        assert_eq!(servers.attempt_order(None), [0, 1, 2]);
        assert_eq!(servers.get(2).api_base, "https://c.example/tenant/api/v1");
        assert_eq!(servers.get(2).origin(), "https://c.example");
    }

    #[test]
    fn a_failed_server_is_tried_first_again_once_its_backoff_has_passed() {
        let servers = servers(Duration::from_secs(30));
        servers.failed(0);
        let now = Instant::now();
        assert_eq!(servers.attempt_order_at(None, now), [1, 2, 0]);
        assert_eq!(servers.attempt_order_at(None, now + Duration::from_secs(29)), [1, 2, 0]);
        assert_eq!(servers.attempt_order_at(None, now + Duration::from_secs(31)), [0, 1, 2]);
    }

    #[test]
    fn a_zero_backoff_never_skips_and_the_last_answered_is_tracked() {
        let servers = servers(Duration::ZERO);
        servers.failed(0);
        assert_eq!(servers.attempt_order(None), [0, 1, 2]);
        assert_eq!(servers.last_answered().base_url, "https://a.example");
        servers.answered(1);
        assert_eq!(servers.last_answered().base_url, "https://b.example");
    }
}
