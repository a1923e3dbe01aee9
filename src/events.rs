//! Change events for subscriptions. The domain layer publishes an event
//! after each committed write, whichever face made it; subscribers filter
//! what they may see. With `REDIS_URL`, events also travel through Redis
//! pub/sub, so a subscriber on one instance hears writes made on another.

use std::sync::Arc;
use std::time::Duration;

use entity::{item, todo};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Change {
    /// An item, as it is after the change (before it, for a deletion).
    Item { kind: ChangeKind, item: item::Model },
    /// A todo; only its owner may receive it.
    Todo { kind: ChangeKind, todo: todo::Model },
}

/// How many events a slow subscriber may fall behind before it misses some.
const CAPACITY: usize = 1024;
const CHANNEL: &str = "storegate:events";

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: Uuid,
    change: Change,
}

pub struct EventBus {
    local: broadcast::Sender<Change>,
    redis: Option<redis::Client>,
    /// Marks this instance's messages, so it does not hear itself twice.
    origin: Uuid,
}

impl EventBus {
    pub fn new(redis: Option<redis::Client>) -> Arc<Self> {
        let (local, _) = broadcast::channel(CAPACITY);
        let bus = Arc::new(Self { local, redis, origin: Uuid::new_v4() });
        if bus.redis.is_some() {
            tokio::spawn(relay_from_redis(Arc::downgrade(&bus)));
        }
        bus
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.local.subscribe()
    }

    /// Subscriptions live on this instance: a test waits for its own
    /// before it writes what they must hear.
    pub fn subscriber_count(&self) -> usize {
        self.local.receiver_count()
    }

    /// Delivers `change` to this instance's subscribers now, and to other
    /// instances' through Redis in the background (a lost event must not
    /// fail the write that caused it).
    pub fn publish(&self, change: Change) {
        if let Some(client) = self.redis.clone() {
            let envelope = Envelope { origin: self.origin, change: change.clone() };
            tokio::spawn(async move {
                let Ok(payload) = serde_json::to_string(&envelope) else { return };
                let result = async {
                    let mut connection = client.get_multiplexed_async_connection().await?;
                    redis::cmd("PUBLISH").arg(CHANNEL).arg(payload).query_async::<i64>(&mut connection).await
                }
                .await;
                if result.is_err() {
                    tracing::warn!("could not publish a change event to redis");
                }
            });
        }
        // No subscribers is not an error.
        let _ = self.local.send(change);
    }
}

/// Forwards other instances' events to local subscribers, reconnecting
/// after Redis failures, until the bus is dropped.
async fn relay_from_redis(bus: std::sync::Weak<EventBus>) {
    loop {
        let Some((client, origin)) = bus.upgrade().and_then(|b| b.redis.clone().map(|c| (c, b.origin)))
        else {
            return;
        };
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(CHANNEL).await.is_ok() {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Some(bus) = bus.upgrade() else { return };
                        let Ok(payload) = message.get_payload::<String>() else { continue };
                        if let Ok(envelope) = serde_json::from_str::<Envelope>(&payload)
                            && envelope.origin != origin
                        {
                            let _ = bus.local.send(envelope.change);
                        }
                    }
                }
                tracing::warn!("redis event subscription ended; reconnecting");
            }
            Err(_) => tracing::warn!("redis unavailable for events; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
