//! Every [`Failure`] the worker can report, worded once per language. A detail from the engine
//! or the browser (English) follows the worded part, on one line.

use crate::protocol::{Failure, NoWebGpu};

pub struct FailureText {
    pub failure: fn(&Failure) -> String,
    pub no_webgpu: fn(&NoWebGpu) -> String,
}

/// A detail on one line (the words here sit below `ui::format`, which uses them).
fn line(detail: &str) -> String {
    detail.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub const EN: FailureText = FailureText { failure: en, no_webgpu: en_webgpu };
pub const ZH: FailureText = FailureText { failure: zh, no_webgpu: zh_webgpu };

fn en(f: &Failure) -> String {
    match f {
        Failure::NoModel => "no model is loaded yet.".into(),
        Failure::ModelFile { detail } => format!("not a usable GGUF file: {}", line(detail)),
        Failure::NotStored { name } => {
            format!("{} is no longer stored in this browser; pick the file again.", line(name))
        }
        Failure::Download { url, detail } => format!("could not download {}: {}", line(url), line(detail)),
        Failure::NoWebGpu(why) => format!("WebGPU is not available: {}", en_webgpu(why)),
        Failure::ContextFull { needed, limit } => format!(
            "the conversation needs {needed} positions but the model's context holds {limit}; clear the chat or shorten it."
        ),
        Failure::NonFinite => {
            "The model's output stopped being numbers (steering far too strong); lower the slider or remove the vector."
                .into()
        }
        Failure::CoefOutOfRange { id, min, max, value } => {
            format!("the {} slider must be between {min} and {max}, not {value}.", line(id))
        }
        Failure::UnknownVector { id } => format!("no vector named “{}” is loaded for this model.", line(id)),
        Failure::Settings { detail } => format!("the sampling settings cannot be used: {}", line(detail)),
        Failure::BadVectorName { id } => {
            format!("“{}” cannot name a vector: use letters, digits, - and _ (at most 64).", line(id))
        }
        Failure::VectorNameTaken { id } => format!("a vector named “{}” is already loaded or on its way.", line(id)),
        Failure::NotControlVector { file, detail } => {
            format!("{} is not a usable control vector: {}", line(file), line(detail))
        }
        Failure::OtherWidth { vector, model } => {
            format!("this vector is for a model with {vector}-wide activations; the loaded model has {model}.")
        }
        Failure::BlocksPastModel { last, n_layer } => format!(
            "this vector steers blocks up to {last}; the loaded model has {n_layer} blocks (0–{}).",
            n_layer.saturating_sub(1)
        ),
        Failure::BadBlocks { start, end, last } => {
            format!("blocks {start}–{end} cannot be steered: pick a range within 1–{last}.")
        }
        Failure::Pairs { source, detail } => format!("the pairs in {} cannot be used: {}", line(source), line(detail)),
        Failure::Cancelled => "it was cancelled, or another model was loaded.".into(),
        Failure::VectorsForOtherModel => "The built-in steering vectors were made for another model.".into(),
        Failure::NoManifest => "The page gave no steering manifest.".into(),
        Failure::Engine { detail } => line(detail),
    }
}

fn zh(f: &Failure) -> String {
    match f {
        Failure::NoModel => "尚未加载模型。".into(),
        Failure::ModelFile { detail } => format!("不是可用的 GGUF 文件：{}", line(detail)),
        Failure::NotStored { name } => format!("浏览器中已不再保存 {}，请重新选择该文件。", line(name)),
        Failure::Download { url, detail } => format!("无法下载 {}：{}", line(url), line(detail)),
        Failure::NoWebGpu(why) => format!("WebGPU 不可用：{}", zh_webgpu(why)),
        Failure::ContextFull { needed, limit } => {
            format!("对话需要 {needed} 个位置，但模型的上下文只有 {limit} 个；请清空或缩短对话。")
        }
        Failure::NonFinite => "模型的输出不再是有效数字（引导过强）；请调低滑块或移除该向量。".into(),
        Failure::CoefOutOfRange { id, min, max, value } => {
            format!("滑块 {} 的取值必须在 {min} 到 {max} 之间，而不是 {value}。", line(id))
        }
        Failure::UnknownVector { id } => format!("此模型没有加载名为“{}”的向量。", line(id)),
        Failure::Settings { detail } => format!("采样设置无法使用：{}", line(detail)),
        Failure::BadVectorName { id } => {
            format!("“{}”不能作为向量名称：请使用字母、数字、- 和 _（最多 64 个）。", line(id))
        }
        Failure::VectorNameTaken { id } => format!("名为“{}”的向量已加载或正在生成。", line(id)),
        Failure::NotControlVector { file, detail } => format!("{} 不是可用的控制向量：{}", line(file), line(detail)),
        Failure::OtherWidth { vector, model } => {
            format!("此向量适用于激活宽度为 {vector} 的模型；当前模型的宽度为 {model}。")
        }
        Failure::BlocksPastModel { last, n_layer } => {
            format!("此向量引导到第 {last} 块；当前模型只有 {n_layer} 块（0–{}）。", n_layer.saturating_sub(1))
        }
        Failure::BadBlocks { start, end, last } => format!("无法引导第 {start}–{end} 块：请选择 1–{last} 之内的范围。"),
        Failure::Pairs { source, detail } => format!("{} 中的句对无法使用：{}", line(source), line(detail)),
        Failure::Cancelled => "已取消（或加载了另一个模型）。".into(),
        Failure::VectorsForOtherModel => "内置的引导向量是为另一个模型制作的。".into(),
        Failure::NoManifest => "页面没有提供引导向量清单。".into(),
        Failure::Engine { detail } => line(detail),
    }
}

fn en_webgpu(why: &NoWebGpu) -> String {
    match why {
        NoWebGpu::NotExposed => "this browser does not offer WebGPU".into(),
        NoWebGpu::NoAdapter => "the browser has no WebGPU adapter".into(),
        NoWebGpu::Failed { detail } => line(detail),
        NoWebGpu::CpuOnlyEngine => "the page loaded the CPU-only engine".into(),
    }
}

fn zh_webgpu(why: &NoWebGpu) -> String {
    match why {
        NoWebGpu::NotExposed => "此浏览器不提供 WebGPU".into(),
        NoWebGpu::NoAdapter => "浏览器没有可用的 WebGPU 适配器".into(),
        NoWebGpu::Failed { detail } => line(detail),
        NoWebGpu::CpuOnlyEngine => "页面加载的是仅用 CPU 的引擎".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_is_one_line_in_both_languages() {
        let all = [
            Failure::NoModel,
            Failure::ModelFile { detail: "the file is\ntruncated".into() },
            Failure::NotStored { name: "m.gguf".into() },
            Failure::Download { url: "u".into(), detail: "HTTP 404".into() },
            Failure::NoWebGpu(NoWebGpu::NoAdapter),
            Failure::ContextFull { needed: 9000, limit: 8192 },
            Failure::NonFinite,
            Failure::CoefOutOfRange { id: "safety".into(), min: 0.0, max: 1.0, value: -1.0 },
            Failure::UnknownVector { id: "x".into() },
            Failure::Settings { detail: "top_p".into() },
            Failure::BadVectorName { id: "a b".into() },
            Failure::VectorNameTaken { id: "a".into() },
            Failure::NotControlVector { file: "f".into(), detail: "bad magic".into() },
            Failure::OtherWidth { vector: 4096, model: 576 },
            Failure::BlocksPastModel { last: 45, n_layer: 30 },
            Failure::BadBlocks { start: 0, end: 40, last: 29 },
            Failure::Pairs { source: "p".into(), detail: "line 2".into() },
            Failure::Cancelled,
            Failure::VectorsForOtherModel,
            Failure::NoManifest,
            Failure::Engine { detail: "readback".into() },
        ];
        let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        for f in &all {
            let (en, zh) = ((EN.failure)(f), (ZH.failure)(f));
            assert!(!en.is_empty() && !en.contains('\n') && !zh.contains('\n'), "{f:?}");
            if !matches!(f, Failure::Engine { .. }) {
                assert!(cjk(&zh) && !cjk(&en), "{f:?}: {en} / {zh}");
            }
        }
        assert_eq!((EN.failure)(&Failure::ModelFile { detail: "a\n b".into() }), "not a usable GGUF file: a b");
    }
}
