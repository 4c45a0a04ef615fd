//! The catch-up-then-live feed of `$all` for backends that assign positions
//! themselves (SQLite, PostgreSQL): it always reads from the log, and a watch of the
//! head only says "look again", which is what rules out a gap or a duplicate at the
//! switch from catch-up to live.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::watch;

use crate::envelope::RecordedEvent;
use crate::error::StoreError;
use crate::store::{EventFeed, EventStore};

/// Events of one page read at a time.
const FEED_PAGE: usize = 1_024;

/// Follows `store`'s `$all` from `from_position`, waking when `head` reaches the next
/// position. With `fallback_poll`, it also looks again after that long without a
/// wake-up: a backend whose wake-ups can be lost (another node's notification)
/// cannot stall a subscriber.
pub(crate) fn follow<S: EventStore + Clone>(
    store: S,
    from_position: u64,
    head: watch::Receiver<Option<u64>>,
    fallback_poll: Option<Duration>,
) -> EventFeed {
    struct Feed<S> {
        store: S,
        next: u64,
        buffer: VecDeque<RecordedEvent>,
        head: watch::Receiver<Option<u64>>,
        fallback_poll: Option<Duration>,
        done: bool,
    }
    let feed = Feed {
        store,
        next: from_position,
        buffer: VecDeque::new(),
        head,
        fallback_poll,
        done: false,
    };
    Box::pin(futures::stream::unfold(feed, |mut f| async move {
        loop {
            if f.done {
                return None;
            }
            if let Some(e) = f.buffer.pop_front() {
                f.next = e.position + 1;
                return Some((Ok(e), f));
            }
            match f.store.read_all(f.next, FEED_PAGE).await {
                Err(e) => {
                    f.done = true;
                    return Some((Err(e), f));
                }
                Ok(page) if page.is_empty() => {
                    let next = f.next;
                    let reached = f.head.wait_for(|h| h.is_some_and(|h| h >= next));
                    let closed = match f.fallback_poll {
                        Some(poll) => tokio::time::timeout(poll, reached)
                            .await
                            .is_ok_and(|w| w.is_err()),
                        None => reached.await.is_err(),
                    };
                    if closed {
                        f.done = true;
                        return Some((Err(StoreError::Closed), f));
                    }
                }
                Ok(page) => f.buffer.extend(page),
            }
        }
    }))
}
