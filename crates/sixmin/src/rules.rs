//! `sixmin rules show|check`.

use std::path::Path;

use crate::exit::CommandResult;
use sixmin_pipeline::state::load_pack;

/// Prints the effective pack: a summary, then its source.
pub fn show(file: Option<&Path>) -> CommandResult {
    let loaded = load_pack(file)?;
    let pack = &loaded.pack;
    println!(
        "# rule pack {} ({}), sha256 {}",
        pack.label(),
        loaded.origin,
        pack.sha256
    );
    println!(
        "# time zone {}; default limit {} ms ({})",
        pack.timezone.name(),
        pack.default_limit_ms,
        pack.default_rule
    );
    for topic in &pack.topics {
        let aliases = if topic.aliases.is_empty() {
            String::new()
        } else {
            format!(", aliases {}", topic.aliases.join(", "))
        };
        println!(
            "# topic {}: {} ms ({}){aliases}",
            topic.id, topic.limit_ms, topic.rule
        );
    }
    for (label, duty) in [
        ("announcement within", &pack.announcement),
        ("callback within", &pack.callback),
        ("sms within", &pack.sms),
    ] {
        match duty {
            Some(duty) => println!("# {label} {} ms ({})", duty.within_ms, duty.rule),
            None => println!("# {label}: disabled"),
        }
    }
    println!();
    print!("{}", loaded.source);
    Ok(())
}

/// Validates a pack; the error (every problem, with file and line) exits 2.
pub fn check(file: Option<&Path>) -> CommandResult {
    let loaded = load_pack(file)?;
    let pack = &loaded.pack;
    println!(
        "ok: {} is rule pack {} with {} topics (sha256 {})",
        loaded.origin,
        pack.label(),
        pack.topics.len(),
        pack.sha256
    );
    Ok(())
}
