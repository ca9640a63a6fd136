//! Creating the topics the service writes to, when they are missing.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::KafkaIoError;

/// A topic to create if missing.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    /// The name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// Compacted (`cleanup.policy=compact`): only the newest record per key is kept.
    pub compacted: bool,
}

/// Creates every topic of `topics` that does not exist yet; existing ones are left as
/// they are.
pub fn ensure_topics(config: &ClientConfig, topics: &[TopicSpec]) -> Result<(), KafkaIoError> {
    let bootstrap = config.get("bootstrap.servers").unwrap_or("").to_owned();
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|source| KafkaIoError::Create {
            bootstrap: bootstrap.clone(),
            source,
        })?;
    let existing: Vec<String> = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|error| KafkaIoError::Admin {
            reason: error.to_string(),
        })?
        .topics()
        .iter()
        .filter(|topic| topic.error().is_none())
        .map(|topic| topic.name().to_owned())
        .collect();
    let missing: Vec<&TopicSpec> = topics
        .iter()
        .filter(|topic| !existing.contains(&topic.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let max_bytes = crate::output::MAX_RECORD_BYTES.to_string();
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|topic| {
            let new = NewTopic::new(&topic.name, topic.partitions, TopicReplication::Fixed(-1))
                .set("max.message.bytes", &max_bytes);
            if topic.compacted {
                new.set("cleanup.policy", "compact")
            } else {
                new
            }
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|error| KafkaIoError::Admin {
            reason: error.to_string(),
        })?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = runtime
        .block_on(admin.create_topics(new_topics.iter(), &options))
        .map_err(|error| KafkaIoError::Admin {
            reason: error.to_string(),
        })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaIoError::Admin {
                    reason: format!("creating topic `{name}`: {code}"),
                })
            }
        }
    }
    Ok(())
}
