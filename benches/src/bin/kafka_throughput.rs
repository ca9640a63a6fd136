//! End-to-end throughput of `sixmin run` against a plain consumer, on one broker, in one
//! run: events per second consumed *and judged* (decoded, applied to the per-partition
//! engines, verdicts and breaches produced, checkpoints written) next to events per second
//! merely read by a bare rdkafka consumer of the same topic.
//!
//! ```sh
//! cargo build --release -p sixmin -p sixmin-benches
//! target/release/kafka_throughput                      # starts tansu on a free port
//! target/release/kafka_throughput --bootstrap HOST:PORT   # any other broker
//! ```
//!
//! Steps: create a topic (`--partitions`, default 6); produce a simulated month with
//! `sixmin simulate --kafka`; then, `--rounds` times (default 3), alternately: read the
//! whole topic with a plain consumer (assigned every partition from the beginning, until
//! every partition reports its end), and run `sixmin run --exit-when-caught-up` in a new
//! consumer group with a new checkpoint directory. Each side's rate is measured from its
//! first message to its last (start-up and group joining left out); the medians and their
//! ratio are printed.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};

struct Options {
    bootstrap: Option<String>,
    sixmin: PathBuf,
    partitions: i32,
    calls_per_day: u32,
    days: u32,
    rounds: usize,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        bootstrap: None,
        sixmin: PathBuf::from("target/release/sixmin"),
        partitions: 6,
        calls_per_day: 4000,
        days: 31,
        rounds: 3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{text}: not a number"))
        };
        match flag.as_str() {
            "--bootstrap" => options.bootstrap = Some(value()?),
            "--sixmin" => options.sixmin = PathBuf::from(value()?),
            "--partitions" => options.partitions = number(value()?)? as i32,
            "--calls-per-day" => options.calls_per_day = number(value()?)? as u32,
            "--days" => options.days = number(value()?)? as u32,
            "--rounds" => options.rounds = number(value()?)?.max(1) as usize,
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    Ok(options)
}

/// A broker process started for the measurement.
struct Tansu(Child);

impl Drop for Tansu {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn start_tansu() -> Result<(Tansu, String), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| error.to_string())?
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("tansu")
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("starting tansu: {error}"))?;
    let bootstrap = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&bootstrap).is_err() {
        if Instant::now() > deadline {
            return Err("tansu did not listen".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((Tansu(child), bootstrap))
}

fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|error| error.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match runtime.block_on(admin.create_topics([&new], &options)) {
            Ok(results) if results.iter().all(Result::is_ok) => return Ok(()),
            other if Instant::now() > deadline => return Err(format!("{other:?}")),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Reads every partition from the beginning to its end; returns (messages, seconds from
/// the first message to the last).
fn plain_consumer(bootstrap: &str, topic: &str, partitions: i32) -> Result<(u64, f64), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("plain-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(|error| error.to_string())?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .map_err(|error| error.to_string())?;
    }
    consumer
        .assign(&assignment)
        .map_err(|error| error.to_string())?;
    let mut at_end = std::collections::BTreeSet::new();
    let (mut messages, mut bytes) = (0u64, 0usize);
    let (mut first, mut last) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(600);
    while (at_end.len() as i32) < partitions && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                bytes += message.payload().map_or(0, <[u8]>::len);
                messages += 1;
                let now = Instant::now();
                first.get_or_insert(now);
                last = Some(now);
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => return Err(error.to_string()),
            None => {}
        }
    }
    std::hint::black_box(bytes);
    let seconds = match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
        _ => 0.0,
    };
    Ok((messages, seconds))
}

/// Runs `sixmin run --exit-when-caught-up` in a new group; returns (events, seconds).
fn sixmin_run(
    options: &Options,
    bootstrap: &str,
    topic: &str,
    round: usize,
) -> Result<(u64, f64), String> {
    let dir =
        std::env::temp_dir().join(format!("sixmin-throughput-{}-{round}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    let config = dir.join("sixmin.toml");
    let text = format!(
        "[kafka]\nbootstrap = \"{bootstrap}\"\ngroup_id = \"throughput-{}-{round}\"\nevents_topic = \"{topic}\"\n\
         verdicts_topic = \"{topic}.verdicts\"\nbreaches_topic = \"{topic}.breaches\"\n\
         dead_letter_topic = \"{topic}.dead-letters\"\n[checkpoint]\ndirectory = \"{}\"\n\
         [server]\nlisten = \"127.0.0.1:0\"\n",
        std::process::id(),
        dir.join("checkpoints").display()
    );
    std::fs::write(&config, text).map_err(|error| error.to_string())?;
    let output = Command::new(&options.sixmin)
        .args(["run", "--config"])
        .arg(&config)
        .arg("--exit-when-caught-up")
        .stderr(Stdio::null())
        .output()
        .map_err(|error| format!("running {}: {error}", options.sixmin.display()))?;
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // "sixmin run: stopped; N events consumed in S s (R events/s)"
    let line = stdout
        .lines()
        .find(|line| line.contains("events consumed in"))
        .ok_or(format!("no summary line in: {stdout}"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let position = words
        .iter()
        .position(|word| *word == "events")
        .ok_or("unexpected summary")?;
    let events = words[position - 1].parse().map_err(|_| "events count")?;
    let seconds = words[position + 3].parse().map_err(|_| "seconds")?;
    Ok((events, seconds))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn measure(options: Options) -> Result<(), String> {
    let (_tansu, bootstrap) = match &options.bootstrap {
        Some(bootstrap) => (None, bootstrap.clone()),
        None => {
            let (tansu, bootstrap) = start_tansu()?;
            (Some(tansu), bootstrap)
        }
    };
    let topic = format!("throughput-{}", std::process::id());
    create_topic(&bootstrap, &topic, options.partitions)?;
    let produced = Command::new(&options.sixmin)
        .args(["simulate", "--kafka", &bootstrap, "--topic", &topic])
        .args(["--date", "2026-10-01", "--days", &options.days.to_string()])
        .args(["--calls-per-day", &options.calls_per_day.to_string()])
        .output()
        .map_err(|error| format!("running {}: {error}", options.sixmin.display()))?;
    if !produced.status.success() {
        return Err(String::from_utf8_lossy(&produced.stderr).into_owned());
    }
    print!("{}", String::from_utf8_lossy(&produced.stderr));
    println!(
        "topic {topic}: {} partitions on {bootstrap}; {} rounds",
        options.partitions, options.rounds
    );
    let (mut plain_rates, mut sixmin_rates) = (Vec::new(), Vec::new());
    for round in 0..options.rounds {
        let (messages, seconds) = plain_consumer(&bootstrap, &topic, options.partitions)?;
        let plain = messages as f64 / seconds;
        let (events, seconds_run) = sixmin_run(&options, &bootstrap, &topic, round)?;
        let judged = events as f64 / seconds_run;
        println!(
            "round {}: plain consumer {messages} messages in {seconds:.3} s = {plain:.0}/s; \
             sixmin run {events} events in {seconds_run:.3} s = {judged:.0}/s; ratio {:.1} %",
            round + 1,
            100.0 * judged / plain
        );
        if events != messages {
            return Err(format!(
                "sixmin consumed {events} events, the topic holds {messages}"
            ));
        }
        plain_rates.push(plain);
        sixmin_rates.push(judged);
    }
    let (plain, judged) = (median(plain_rates), median(sixmin_rates));
    println!(
        "median: plain consumer {plain:.0} events/s, sixmin run {judged:.0} events/s, ratio {:.1} %",
        100.0 * judged / plain
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_options().and_then(measure) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kafka_throughput: {error}");
            ExitCode::FAILURE
        }
    }
}
