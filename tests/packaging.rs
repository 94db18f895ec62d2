//! What a packager and a shell get from the `engine` binary: `--version` with the OCSF version
//! and the git revision, completion scripts that the shells load, man pages, help texts whose
//! examples paste into bash as written, the LICENSE, and the deployment files in `docs/deploy/`.

mod common;

use common::pipeline::{root, temp_dir};
use std::process::{Command, Output};

fn engine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_engine")).current_dir(root()).args(args).output().expect("engine runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_version_names_the_ocsf_version_and_the_git_revision() {
    let expected = std::env::var("ENGINE_GIT_REVISION").ok().filter(|r| !r.is_empty()).unwrap_or_else(|| {
        Command::new("git")
            .current_dir(root())
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map_or_else(|| "unknown".to_string(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    let out = engine(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        format!("engine {} (OCSF {}, git {expected})\n", env!("CARGO_PKG_VERSION"), ocsf_engine::ocsf::OCSF_VERSION)
    );
}

/// The subcommands `engine --help` lists, without `help`.
fn subcommands() -> Vec<String> {
    let help = stdout(&engine(&["--help"]));
    let list = help.split("Commands:").nth(1).unwrap().split("Options:").next().unwrap();
    let names: Vec<String> =
        list.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| *n != "help").map(str::to_string).collect();
    assert!(names.len() >= 10 && names.contains(&"run".to_string()), "{names:?}");
    names
}

#[test]
fn bash_completion_loads_and_completes_subcommands_and_flags() {
    let out = engine(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = stdout(&out);
    for name in subcommands() {
        assert!(script.contains(&name), "the bash script lacks `{name}`");
    }
    let zsh = stdout(&engine(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef engine"), "{}", &zsh[..80.min(zsh.len())]);
    let fish = stdout(&engine(&["completions", "fish"]));
    assert!(fish.contains("complete -c engine") && fish.contains("simulate-faults"));
    assert_eq!(engine(&["completions", "powershell"]).status.code(), Some(2), "only bash, zsh and fish");
    if !has("bash") {
        return;
    }
    let dir = temp_dir("engine-packaging", "bash");
    let file = dir.join("engine.bash");
    std::fs::write(&file, &script).unwrap();
    // Load it as bash-completion would, and ask for `engine ru<TAB>` and `engine run --simulate-f<TAB>`.
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             _engine engine \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash").args(["-c", &program]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        stdout(&out)
    };
    assert_eq!(complete("engine ru", 1).trim(), "run");
    assert!(complete("engine run --simulate-f", 2).lines().any(|l| l == "--simulate-faults"));
}

#[test]
fn the_man_pages_cover_every_command() {
    let out = engine(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(page.contains(".TH engine 1"), "{}", &page[..200.min(page.len())]);
    assert!(page.contains(&format!("OCSF {}", ocsf_engine::ocsf::OCSF_VERSION)));
    let dir = temp_dir("engine-packaging", "man");
    let out = engine(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for name in subcommands() {
        let file = dir.join(format!("engine-{name}.1"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains(".SH NAME"), "{}", file.display());
    }
    let run = std::fs::read_to_string(dir.join("engine-run.1")).unwrap();
    assert!(run.contains("simulate\\-faults"), "the run page lists its flags");
}

/// The `${{…}}` snippets between backquotes in `text`.
fn references(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).filter(|s| s.contains("${{")).map(str::to_string).collect()
}

/// `snippet` pasted after `printf '%s\n'` in bash prints each `${{…}}` as written.
fn pastes_into_bash(snippet: &str) -> Result<(), String> {
    let out = Command::new("bash").args(["-c", &format!("printf '%s\\n' {snippet}")]).output().unwrap();
    let printed = stdout(&out);
    let expected = snippet.matches("${{").count();
    if out.status.success() && printed.matches("${{").count() == expected {
        Ok(())
    } else {
        Err(format!("`{snippet}` gives {printed:?} {}", String::from_utf8_lossy(&out.stderr)))
    }
}

#[test]
fn examples_in_help_texts_and_hints_paste_into_bash_as_written() {
    if !has("bash") {
        return;
    }
    assert!(pastes_into_bash("--set client_id=${{env:X}}").is_err(), "an unquoted reference is caught");
    let mut snippets = Vec::new();
    for name in subcommands() {
        snippets.extend(references(&stdout(&engine(&[&name, "--help"]))));
    }
    // The hint for a missing secret parameter.
    let out = engine(&["run", "sources/entrust.yaml", "--once"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let hint: Vec<&str> = stderr.lines().filter(|l| l.contains("client_secret") && l.contains("help:")).collect();
    assert_eq!(hint.len(), 1, "{stderr}");
    let quoted: Vec<String> = hint[0].split('\'').skip(1).step_by(2).map(|s| format!("'{s}'")).collect();
    assert_eq!(quoted.len(), 3, "{}", hint[0]);
    snippets.extend(quoted);
    assert!(snippets.len() >= 4, "{snippets:?}");
    let failures: Vec<String> = snippets.iter().filter_map(|s| pastes_into_bash(s).err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_license_file_is_the_one_cargo_toml_names() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"Apache-2.0\""));
    let license = std::fs::read_to_string(root().join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0, January 2004"));
    assert!(license.contains("END OF TERMS AND CONDITIONS"));
}

/// The `key=value` lines of a unit file, joined across `\` continuations.
fn unit_keys(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut keys = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[') {
            section = s.trim_end_matches(']').to_string();
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            pending.push_str(part);
            continue;
        }
        pending.push_str(line);
        let (k, v) = pending.split_once('=').expect("key=value");
        keys.push((section.clone(), k.to_string(), v.to_string()));
        pending.clear();
    }
    keys
}

#[test]
fn the_systemd_unit_is_valid_and_runs_flags_the_engine_takes() {
    let path = root().join("docs/deploy/ocsf-engine.service");
    let text = std::fs::read_to_string(&path).unwrap();
    let keys = unit_keys(&text);
    let get =
        |section: &str, key: &str| keys.iter().find(|(s, k, _)| s == section && k == key).map(|(_, _, v)| v.clone());
    let exec = get("Service", "ExecStart").expect("ExecStart");
    assert!(exec.starts_with("/usr/local/bin/engine "), "{exec}");
    assert_eq!(get("Install", "WantedBy").as_deref(), Some("multi-user.target"));
    assert_eq!(get("Service", "KillSignal").as_deref(), Some("SIGTERM"));
    assert_eq!(
        get("Service", "RestartPreventExitStatus").as_deref(),
        Some("2"),
        "a configuration error is not retried"
    );
    assert!(get("Service", "ExecReload").is_some_and(|r| r.contains("-HUP")));
    // Every flag the unit passes is one `engine run` takes.
    let help = stdout(&engine(&["run", "--help"])) + &stdout(&engine(&["--help"]));
    for flag in exec.split_whitespace().filter(|w| w.starts_with("--")) {
        assert!(help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")), "unknown flag {flag}");
    }
    // `$$` is a literal `$` for systemd: the engine gets `${{…}}`.
    assert!(exec.contains("'client_secret=$${{file:%d/entrust_client_secret}}'"));
    if !has("systemd-analyze") {
        return;
    }
    // Verified as installed, with the binary under test where the unit expects it.
    let dir = temp_dir("engine-packaging", "systemd");
    let unit = dir.join("ocsf-engine.service");
    std::fs::write(&unit, text.replace("/usr/local/bin/engine", env!("CARGO_BIN_EXE_engine"))).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&unit).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout(&out);
    let about_unit: Vec<&str> = said.lines().filter(|l| l.contains("ocsf-engine.service")).collect();
    assert!(out.status.success() && about_unit.is_empty(), "{said}");
}

#[test]
fn the_dockerfile_builds_from_files_that_exist_with_the_pinned_toolchain() {
    let text = std::fs::read_to_string(root().join("docs/deploy/Dockerfile")).unwrap();
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let rust = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    assert!(text.contains(&format!("FROM rust:{rust}-")), "the builder image is the crate's rust-version");
    for line in text.lines().filter(|l| l.starts_with("COPY --from=build /src/")) {
        let from = line.split_whitespace().nth(2).unwrap().trim_start_matches("/src/");
        if !from.starts_with("target/") {
            assert!(root().join(from).exists(), "{from}");
        }
    }
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/engine\"]"));
    assert!(text.contains("STOPSIGNAL SIGTERM"));
}
