// Semgrep test for rmd-rs-git-apply-unchecked (seed 002, Apply Pipeline Hardening).
use std::path::Path;
use std::process::{Command, Output};

pub fn apply_patch(repo: &Path, patch: &Path) -> std::io::Result<bool> {
    // ruleid: rmd-rs-git-apply-unchecked
    let out = Command::new("git").current_dir(repo).arg("apply").arg(patch).output()?;
    Ok(out.status.success())
}

pub fn apply_with_args(repo: &Path, patch: &Path) -> std::io::Result<Output> {
    // ruleid: rmd-rs-git-apply-unchecked
    Command::new("git").args(["-C", repo.to_str().unwrap(), "apply", "--whitespace=nowarn"]).arg(patch).output()
}

pub fn apply_three_way(patch: &Path) -> std::io::Result<Output> {
    // ruleid: rmd-rs-git-apply-unchecked
    Command::new("git").args(&["apply", "--3way"]).arg(patch).output()
}

// Remediated: a dry run first, with a structured failure reason.
pub fn apply_checked(repo: &Path, patch: &Path) -> Result<(), String> {
    // ok: rmd-rs-git-apply-unchecked
    let check = Command::new("git").current_dir(repo).args(["apply", "--check"]).arg(patch).output().map_err(|e| e.to_string())?;
    if !check.status.success() {
        return Err(format!("patch does not apply: {}", String::from_utf8_lossy(&check.stderr)));
    }
    // ok: rmd-rs-git-apply-unchecked
    let out = Command::new("git").current_dir(repo).arg("apply").arg(patch).output().map_err(|e| e.to_string())?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

pub fn status(repo: &Path) -> std::io::Result<Output> {
    // ok: rmd-rs-git-apply-unchecked
    Command::new("git").current_dir(repo).args(["status", "--porcelain"]).output()
}
