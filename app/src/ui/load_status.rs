//! Where loading a model stands, and how the page shows it: the status line, the progress bar
//! and the `data-phase` attribute the end-to-end tests read.

use crate::protocol::{BackendInfo, ModelInfo, Phase};

use super::format::{mb, one_line};
use super::i18n::ModelText;

#[derive(Debug, Clone, PartialEq)]
pub enum LoadStatus {
    /// Nothing asked for yet.
    Idle,
    /// A picked file being copied into the browser cache before it is loaded.
    Storing {
        name: String,
    },
    /// Asked for; no progress report yet. `cached`: a picked file, read back from the cache.
    Starting {
        cached: bool,
    },
    Loading {
        phase: Phase,
        done: u64,
        total: Option<u64>,
    },
    Ready {
        model: ModelInfo,
        backend: BackendInfo,
        load_ms: f64,
    },
    /// The worker could not load the model, or crashed (the reason is in `LoadState::error`); no
    /// model is loaded.
    Failed,
}

impl LoadStatus {
    pub fn is_loading(&self) -> bool {
        matches!(self, Self::Storing { .. } | Self::Starting { .. } | Self::Loading { .. })
    }
}

/// The `data-phase` attribute of the load status (see the UI contract).
pub fn phase_attr(status: &LoadStatus) -> &'static str {
    match status {
        LoadStatus::Idle => "idle",
        // The UI copying a picked file into the browser cache.
        LoadStatus::Storing { .. } => "cache",
        // Before the worker's first progress report: where the bytes will most likely come from.
        LoadStatus::Starting { cached: true } => "cache",
        LoadStatus::Starting { cached: false } => "download",
        LoadStatus::Loading { phase: Phase::Download, .. } => "download",
        LoadStatus::Loading { phase: Phase::Cache, .. } => "cache",
        LoadStatus::Loading { phase: Phase::Parse, .. } => "parse",
        LoadStatus::Loading { phase: Phase::Upload, .. } => "upload",
        LoadStatus::Ready { .. } => "ready",
        LoadStatus::Failed => "error",
    }
}

pub fn status_text(t: &ModelText, status: &LoadStatus) -> String {
    match status {
        LoadStatus::Idle => t.idle.into(),
        LoadStatus::Storing { name } => (t.storing)(&one_line(name)),
        LoadStatus::Starting { .. } => t.starting.into(),
        LoadStatus::Loading { phase, done, total } => match phase {
            Phase::Download => (t.downloading)(&bytes_of(*done, *total)),
            Phase::Cache => (t.reading_cache)(&bytes_of(*done, *total)),
            Phase::Parse => t.parsing.into(),
            Phase::Upload => (t.uploading)(*done, *total),
        },
        LoadStatus::Ready { load_ms, .. } => (t.ready)(load_ms / 1000.0),
        LoadStatus::Failed => t.failed.into(),
    }
}

/// `(value, max)` for the progress bar; `None` when the total is unknown (an indeterminate bar).
pub fn progress_of(status: &LoadStatus) -> Option<(u64, u64)> {
    match status {
        LoadStatus::Loading { done, total: Some(total), .. } if *total > 0 => Some(((*done).min(*total), *total)),
        _ => None,
    }
}

/// "12.3 / 98.4 MB", or "12.3 MB" without a total.
fn bytes_of(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("{} / {} MB", mb(done), mb(total)),
        None => format!("{} MB", mb(done)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::EN;

    #[test]
    fn download_progress_in_megabytes() {
        let status = LoadStatus::Loading { phase: Phase::Download, done: 12_345_678, total: Some(98_362_432) };
        assert_eq!(status_text(&EN.model, &status), "Downloading 12.3 / 98.4 MB");
        assert_eq!(phase_attr(&status), "download");
        assert_eq!(progress_of(&status), Some((12_345_678, 98_362_432)));
    }

    #[test]
    fn unknown_total_gives_an_indeterminate_bar() {
        let status = LoadStatus::Loading { phase: Phase::Cache, done: 5_000_000, total: None };
        assert_eq!(status_text(&EN.model, &status), "Reading from the browser cache 5.0 MB");
        assert_eq!(progress_of(&status), None);
    }

    #[test]
    fn upload_counts_blocks() {
        let status = LoadStatus::Loading { phase: Phase::Upload, done: 3, total: Some(30) };
        assert_eq!(status_text(&EN.model, &status), "Preparing weights 3 / 30 blocks");
        assert_eq!(phase_attr(&status), "upload");
    }
}
