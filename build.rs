//! Build script: records the git revision the binary is built from (`engine --version`) in
//! `ENGINE_GIT_REVISION`: the variable's own value when the build is given one (a container build
//! without `.git`), else `git rev-parse`, else `unknown` (no git, a source tarball).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=ENGINE_GIT_REVISION");
    let given = std::env::var("ENGINE_GIT_REVISION").ok().filter(|r| !r.trim().is_empty());
    let revision = given.or_else(|| git(&["rev-parse", "--short=12", "HEAD"])).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ENGINE_GIT_REVISION={revision}");
    // Build again when the checked-out commit moves: HEAD, the branch it names, packed refs.
    println!("cargo:rerun-if-changed=build.rs");
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
