//! "Import vector…" and "Build a vector": the form, progress, outcomes, and the checks of what the
//! user typed. The worker's error details follow a translated lead-in as they came.

pub struct VectorsText {
    pub import: &'static str,
    pub import_hint: &'static str,
    pub importing: &'static str,
    pub too_big: fn(&str, f64) -> String,
    pub cannot_read: fn(&str, &str) -> String,
    pub added: fn(&str) -> String,
    pub build_failed: fn(&str) -> String,
    pub import_failed: fn(&str) -> String,
    pub download_failed: fn(&str, &str) -> String,
    pub save_failed: fn(&str, &str) -> String,
    pub crashed_during_build: &'static str,
    pub summary: &'static str,
    pub intro: &'static str,
    pub name: &'static str,
    pub name_placeholder: &'static str,
    pub default_name: &'static str,
    pub low: &'static str,
    pub low_placeholder: &'static str,
    pub high: &'static str,
    pub high_placeholder: &'static str,
    pub pairs: &'static str,
    pub typed_option: &'static str,
    /// The built-in pair sets, in the order of `user_vectors::DATASETS`.
    pub datasets: [&'static str; 3],
    pub typed_label: &'static str,
    pub pairs_placeholder: &'static str,
    pub positive_hint: &'static str,
    pub method: &'static str,
    pub mean: &'static str,
    pub pca: &'static str,
    pub first_block: &'static str,
    pub last_block: &'static str,
    /// Which blocks can be steered, and the sentiment vector's when it is loaded.
    pub blocks_hint: fn(u32, Option<(u32, u32)>) -> String,
    pub load_first: &'static str,
    pub build: &'static str,
    pub cancel: &'static str,
    /// "Building “name”: pairs 3/4" (the e2e tests read "pairs n/m").
    pub building: fn(&str, Option<(u32, u32)>) -> String,
    pub unknown_dataset: fn(&str) -> String,
    pub pair_parts: fn(usize, usize) -> String,
    pub pair_empty: fn(usize, PairPart) -> String,
    pub pair_same: fn(usize) -> String,
    pub pair_none: &'static str,
    pub layer_not_number: fn(Block, &str) -> String,
    pub layer_zero: &'static str,
    pub layer_order: fn(u32, u32) -> String,
    pub layer_beyond: fn(u32) -> String,
}

/// Which part of a typed pair is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairPart {
    Prompt,
    Positive,
    Negative,
}

/// Which end of a block range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    First,
    Last,
}

pub const EN: VectorsText = VectorsText {
    import: "Import vector…",
    import_hint: "A llama.cpp control vector (cvector-generator, repeng) for this model.",
    importing: "Importing…",
    too_big: |name, mb| format!("{name} is {mb:.0} MB: control vectors are a few MB at most (is it a model?)."),
    cannot_read: |name, e| format!("Could not read {name}: {e}"),
    added: |label| format!("Added the slider “{label}”."),
    build_failed: |e| format!("The vector could not be built: {e}"),
    import_failed: |e| format!("The vector could not be imported: {e}"),
    download_failed: |id, e| format!("{id}.gguf could not be downloaded: {e}"),
    save_failed: |id, e| format!("{id}.gguf could not be saved: {e}"),
    crashed_during_build: "The engine crashed during the build.",
    summary: "Build a vector",
    intro: "Pairs of replies to the same prompt that differ in one concept go through the model; the difference of \
            their activations becomes a new slider. Typed pairs take seconds, a built-in set several minutes on the \
            CPU.",
    name: "Name",
    name_placeholder: "My vector",
    default_name: "My vector",
    low: "Low end (−1)",
    low_placeholder: "e.g. gloomy",
    high: "High end (+1)",
    high_placeholder: "e.g. cheerful",
    pairs: "Pairs",
    typed_option: "Pairs I type",
    datasets: ["Sentiment pairs (built in, 266)", "Formality pairs (built in, 260)", "Civility pairs (built in, 230)"],
    typed_label: "Typed pairs, one per line: prompt | positive reply | negative reply",
    pairs_placeholder: "How was your day? | It was wonderful, thank you! | It was awful, as usual.\n\
                        What do you think of rain? | I love the fresh smell it leaves. | I hate how gloomy it makes \
                        everything.",
    positive_hint: "The positive reply is the +1 end of the slider.",
    method: "Method",
    mean: "Mean difference",
    pca: "PCA",
    first_block: "First block",
    last_block: "Last block",
    blocks_hint: |last, sentiment| match sentiment {
        Some((a, b)) => format!("Blocks 1–{last} can be steered; the built-in sentiment vector uses {a}–{b}."),
        None => format!("Blocks 1–{last} can be steered."),
    },
    load_first: "Load a model first.",
    build: "Build",
    cancel: "Cancel",
    building: |label, progress| match progress {
        Some((done, total)) => format!("Building “{label}”: pairs {done}/{total}"),
        None => format!("Building “{label}”: reading the pairs…"),
    },
    unknown_dataset: |d| format!("unknown dataset {d}"),
    pair_parts: |line, found| {
        format!("line {line}: expected 3 parts separated by | (prompt | positive | negative), found {found}")
    },
    pair_empty: |line, part| {
        let which = match part {
            PairPart::Prompt => "the prompt",
            PairPart::Positive => "the positive reply",
            PairPart::Negative => "the negative reply",
        };
        format!("line {line}: {which} is empty")
    },
    pair_same: |line| format!("line {line}: the two replies are the same, so they show no difference"),
    pair_none: "type at least one pair: prompt | positive reply | negative reply",
    layer_not_number: |block, got| {
        let which = match block {
            Block::First => "first",
            Block::Last => "last",
        };
        format!("the {which} block must be a whole number, got {got:?}")
    },
    layer_zero: "block 0 is never steered: start at 1 or later",
    layer_order: |start, end| format!("the first block ({start}) comes after the last ({end})"),
    layer_beyond: |last| format!("the model's blocks are 0–{last}: end at {last} or earlier"),
};

pub const ZH: VectorsText = VectorsText {
    import: "导入向量……",
    import_hint: "适用于本模型的 llama.cpp 控制向量（cvector-generator、repeng 生成）。",
    importing: "正在导入……",
    too_big: |name, mb| format!("{name} 有 {mb:.0} MB：控制向量最多只有几 MB（这是不是一个模型文件？）。"),
    cannot_read: |name, e| format!("无法读取 {name}：{e}"),
    added: |label| format!("已添加滑块“{label}”。"),
    build_failed: |e| format!("无法构建向量：{e}"),
    import_failed: |e| format!("无法导入向量：{e}"),
    download_failed: |id, e| format!("无法下载 {id}.gguf：{e}"),
    save_failed: |id, e| format!("无法保存 {id}.gguf：{e}"),
    crashed_during_build: "构建过程中推理引擎崩溃了。",
    summary: "构建引导向量",
    intro: "对同一个提示词、只在某个概念上不同的两条回复会一起送入模型；它们激活值之差就成为一个新的滑块。\
            自己输入的样本对只需几秒，内置数据集在 CPU 上需要几分钟。",
    name: "名称",
    name_placeholder: "我的向量",
    default_name: "我的向量",
    low: "负端（−1）",
    low_placeholder: "例如：忧郁",
    high: "正端（+1）",
    high_placeholder: "例如：开朗",
    pairs: "样本对",
    typed_option: "自己输入的样本对",
    datasets: ["情感样本对（内置，266 对）", "正式程度样本对（内置，260 对）", "文明用语样本对（内置，230 对）"],
    typed_label: "输入样本对，每行一对：提示词 | 正向回复 | 负向回复",
    pairs_placeholder: "How was your day? | It was wonderful, thank you! | It was awful, as usual.\n\
                        What do you think of rain? | I love the fresh smell it leaves. | I hate how gloomy it makes \
                        everything.",
    positive_hint: "正向回复对应滑块的 +1 端。（模型以英文训练，样本用英文效果更好。）",
    method: "方法",
    mean: "均值差",
    pca: "主成分分析（PCA）",
    first_block: "起始块",
    last_block: "结束块",
    blocks_hint: |last, sentiment| match sentiment {
        Some((a, b)) => format!("可以引导第 1–{last} 块；内置情感向量使用第 {a}–{b} 块。"),
        None => format!("可以引导第 1–{last} 块。"),
    },
    load_first: "请先加载模型。",
    build: "构建",
    cancel: "取消",
    building: |label, progress| match progress {
        Some((done, total)) => format!("正在构建“{label}”：样本对 {done}/{total}"),
        None => format!("正在构建“{label}”：正在读取样本对……"),
    },
    unknown_dataset: |d| format!("未知的数据集 {d}"),
    pair_parts: |line, found| {
        format!("第 {line} 行：应有 3 个用 | 分隔的部分（提示词 | 正向 | 负向），实际有 {found} 个")
    },
    pair_empty: |line, part| {
        let which = match part {
            PairPart::Prompt => "提示词",
            PairPart::Positive => "正向回复",
            PairPart::Negative => "负向回复",
        };
        format!("第 {line} 行：{which}为空")
    },
    pair_same: |line| format!("第 {line} 行：两条回复相同，体现不出差异"),
    pair_none: "请至少输入一对：提示词 | 正向回复 | 负向回复",
    layer_not_number: |block, got| {
        let which = match block {
            Block::First => "起始",
            Block::Last => "结束",
        };
        format!("{which}块必须是整数，而不是 {got:?}")
    },
    layer_zero: "第 0 块从不引导：请从第 1 块或之后开始",
    layer_order: |start, end| format!("起始块（{start}）在结束块（{end}）之后"),
    layer_beyond: |last| format!("模型的块编号是 0–{last}：结束块不能超过 {last}"),
};
