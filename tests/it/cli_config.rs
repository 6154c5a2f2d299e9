//! `gridbeat config`: the effective config, `--config` files and `--set` overrides, end to end
//! through the built binary.

use crate::util::run;

#[test]
fn print_shows_defaults_and_overrides() {
    let out = run(["config", "--print", "--set", "max_gap_s=600"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("max_gap_s = 600.0"), "{text}");
    assert!(text.contains("coverage_radius_m = 30.0"), "{text}");
    assert!(text.contains("timezone = \"Asia/Shanghai\""), "{text}");
}

#[test]
fn a_config_file_is_read_and_set_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gridbeat.toml");
    std::fs::write(&path, "stay_radius_m = 80\nmax_gap_s = 120\n").unwrap();
    let out = run([
        "config",
        "--print",
        "--config",
        path.to_str().unwrap(),
        "--set",
        "max_gap_s=240",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("stay_radius_m = 80.0"), "{text}");
    assert!(text.contains("max_gap_s = 240.0"), "{text}");
}

#[test]
fn an_unknown_key_fails_and_names_the_key() {
    let out = run(["config", "--print", "--set", "max_gapp_s=600"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("max_gapp_s") && err.contains("unknown key"),
        "{err}"
    );
}

#[test]
fn a_bad_value_fails_and_names_the_key() {
    let out = run(["config", "--print", "--set", "stay_min_s=long"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("stay_min_s"), "{err}");
}
