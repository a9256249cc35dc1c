//! The words and numbers the UI shows, as plain functions of the protocol's values and the
//! current language's text.

use crate::protocol::{BackendInfo, ModelInfo, Phase, StopReason};

use super::i18n::{ChatText, ModelText};
use super::loader::LoadStatus;

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

pub fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// "SmolLM2 · 98.4 MB · 30 layers · context 2048 tokens · from cache".
pub fn model_text(t: &ModelText, model: &ModelInfo) -> String {
    let mut text = (t.info)(&model.name, &mb(model.bytes), model.n_layer, model.n_ctx);
    if model.from_cache {
        text.push_str(" · ");
        text.push_str(t.from_cache);
    }
    text
}

/// "WebGPU · <adapter>" or "CPU (burn-flex) · WebGPU unavailable: <reason>".
pub fn backend_text(t: &ModelText, backend: &BackendInfo) -> String {
    match (&backend.adapter, &backend.fallback_reason) {
        (_, Some(reason)) => format!("{} · {}", backend.name, (t.webgpu_unavailable)(&one_line(reason))),
        (Some(adapter), None) if !adapter.trim().is_empty() => format!("{} · {}", backend.name, adapter.trim()),
        _ => backend.name.clone(),
    }
}

/// What ended a reply, when the user should know; `None` for a natural end.
pub fn stop_note(t: &ChatText, stop: StopReason) -> Option<&'static str> {
    match stop {
        StopReason::EndOfGeneration => None,
        StopReason::MaxTokens => Some(t.stop_max_tokens),
        StopReason::ContextFull => Some(t.stop_context_full),
        StopReason::Stopped => Some(t.stop_stopped),
    }
}

/// A message squeezed onto one line, at most 300 characters.
pub fn one_line(message: &str) -> String {
    const MAX: usize = 300;
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A steering coefficient as shown: two decimals, no "-0.00".
pub fn coef_text(value: f32) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == 0.0 { "0.00".into() } else { format!("{rounded:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::GenStats;
    use crate::ui::i18n::{EN, ZH};

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

    #[test]
    fn backend_names_adapter_or_fallback() {
        let gpu = BackendInfo { name: "WebGPU".into(), adapter: Some("Apple M2".into()), fallback_reason: None };
        assert_eq!(backend_text(&EN.model, &gpu), "WebGPU · Apple M2");
        let cpu = BackendInfo {
            name: "CPU (burn-flex)".into(),
            adapter: None,
            fallback_reason: Some("no adapter\nfound".into()),
        };
        assert_eq!(backend_text(&EN.model, &cpu), "CPU (burn-flex) · WebGPU unavailable: no adapter found");
    }

    #[test]
    fn stats_lead_with_decode_rate() {
        let stats = GenStats {
            prompt_tokens: 40,
            prefilled_tokens: 20,
            generated_tokens: 11,
            prefill_ms: 100.0,
            decode_ms: 1000.0,
        };
        assert_eq!((EN.chat.stats)(&stats), "10.0 tok/s · 11 tokens · prefill 200 tok/s (20 of 40 prompt tokens run)");
        assert!((ZH.chat.stats)(&stats).contains("20 / 40"));
    }

    #[test]
    fn one_line_joins_and_truncates() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        let long = "x".repeat(400);
        assert_eq!(one_line(&long).chars().count(), 301);
    }

    #[test]
    fn coefficients_never_show_negative_zero() {
        assert_eq!(coef_text(-0.001), "0.00");
        assert_eq!(coef_text(-0.35), "-0.35");
        assert_eq!(coef_text(0.5), "0.50");
    }
}
