//! Data-driven: each history under histories/ listed in histories/EXPECTED.tsv
//! gets the verdict written there, and the matching exit code.

mod common;
use common::*;

#[test]
fn example_histories_get_expected_verdicts() {
    let tsv = std::fs::read_to_string(root().join("histories/EXPECTED.tsv")).unwrap();
    let mut n = 0;
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, check, want) = (cols[0], cols[1], cols[2]);
        let path = root().join("histories").join(file).display().to_string();
        let out = run(&["check", "--json", "--checks", check, &path]);
        let doc = json(&out);
        let report = &doc["files"][0];
        let result = report["results"].as_array().unwrap().iter().find(|r| r["check"] == check);
        let result = result.unwrap_or_else(|| panic!("{file}: no {check} result: {report}"));
        assert_eq!(result["verdict"], want, "{file} {check}: {result}");
        let code = match want {
            "valid" => 0,
            "invalid" => 1,
            _ => 3,
        };
        assert_eq!(out.status.code(), Some(code), "{file}");
        n += 1;
    }
    assert!(n >= 5, "expected at least 5 example histories, found {n}");
}
