//! The fuzz corpus (`fuzz/corpus/<target>/`) replayed through the very functions the fuzz
//! targets call (`gridbeat::fuzz`), so a crash once found and fixed stays fixed without a
//! fuzzer. `cargo run --example fuzz_seeds` writes the seed inputs from real data.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use gridbeat::fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of a directory, sorted by name.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_its_file_and_a_corpus() {
    let names: BTreeSet<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    let on_disk: BTreeSet<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    assert_eq!(
        on_disk,
        names.iter().map(|n| n.to_string()).collect(),
        "fuzz/fuzz_targets/*.rs and gridbeat::fuzz::TARGETS differ"
    );
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in &names {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(
            corpus.len() >= 3,
            "fuzz/corpus/{name} holds {} inputs",
            corpus.len()
        );
    }
}

#[test]
fn the_fuzz_corpus_replays_without_a_panic() {
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = TARGETS
            .iter()
            .map(|&(name, body)| {
                s.spawn(move || {
                    let mut failed = Vec::new();
                    let mut replayed = 0;
                    for path in files(&fuzz_dir().join("corpus").join(name)) {
                        let data = std::fs::read(&path).unwrap();
                        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                            failed.push(path.display().to_string());
                        }
                        replayed += 1;
                    }
                    assert!(replayed > 0, "no corpus for {name}");
                    failed
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "these corpus inputs panic (see each panic above):\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Seeds
