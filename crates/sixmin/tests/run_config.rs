//! `sixmin run --config`: a bad configuration fails at start with its file, line and a
//! fix; `--print-config` shows the effective settings with secrets masked. No broker is
//! needed: nothing here gets as far as connecting.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn a_bad_configuration_fails_at_start_naming_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sixmin.toml");
    std::fs::write(
        &config,
        "[kafka]\nbootstrap = \"localhost:9092\"\ngroupid = \"x\"\n\n[engine]\nclock = \"sundial\"\n",
    )
    .unwrap();
    let output = sixmin(&["run", "--config", path_str(&config)]);
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = path_str(&config);
    assert!(
        stderr.contains(&format!("{name}:3:1: unknown field `groupid`")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:6:9: `engine.clock` = \"sundial\"")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("help:").count(), 2, "{stderr}");
}

#[test]
fn environment_overrides_apply_and_secrets_never_show() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sixmin.toml");
    std::fs::write(
        &config,
        "[kafka]\nbootstrap = \"localhost:9092\"\n[kafka.client]\n\"sasl.username\" = \"sixmin\"\n",
    )
    .unwrap();
    let output = sixmin_command(&["run", "--config", path_str(&config), "--print-config"])
        .env("SIXMIN_KAFKA_GROUP_ID", "acme-compliance")
        .env("SIXMIN_KAFKA_CLIENT_SASL_PASSWORD", "correct-horse-battery")
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("kafka.group_id           acme-compliance"),
        "{stdout}"
    );
    // Settings are shown as the config file spells them, so they can be copied back.
    assert!(
        stdout.contains("kafka.start_at           earliest"),
        "{stdout}"
    );
    assert!(
        stdout.contains("engine.clock             wall-when-idle"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kafka.client.sasl.username = sixmin"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kafka.client.sasl.password = ********"),
        "{stdout}"
    );
    assert!(!stdout.contains("correct-horse") && !stderr.contains("correct-horse"));
}

#[test]
fn a_misspelt_environment_variable_is_an_error_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sixmin.toml");
    std::fs::write(&config, "[kafka]\nbootstrap = \"localhost:9092\"\n").unwrap();
    let output = sixmin_command(&["run", "--config", path_str(&config), "--print-config"])
        .env("SIXMIN_KAFKA_GROUPID", "x")
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("environment variable SIXMIN_KAFKA_GROUPID"),
        "{stderr}"
    );
}
