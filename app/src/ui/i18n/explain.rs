//! The Learn view: how activation steering works, how it compares with other ways to control
//! generation, and its limits. Numbers are those measured in docs/steering.md.

pub struct ExplainText {
    pub title: &'static str,
    pub intro: &'static str,
    pub what_heading: &'static str,
    pub steps: [&'static str; 4],
    pub formula_note: &'static str,
    pub diagram: DiagramText,
    pub vectors_heading: &'static str,
    /// "Sentiment: blocks 14–24, strength 4, mean difference of 266 pairs".
    pub vector_line: fn(&str, (u32, u32), f32, u32) -> String,
    pub compare_heading: &'static str,
    pub compare_intro: &'static str,
    pub table_caption: &'static str,
    pub columns: [&'static str; 6],
    pub rows: [MethodRow; 8],
    pub limits_heading: &'static str,
    pub limits: [&'static str; 6],
    pub toxic_heading: &'static str,
    pub toxic: &'static str,
    pub conditional_heading: &'static str,
    pub conditional: [&'static str; 3],
    pub source: &'static str,
}

/// The words inside the diagram; kept short so they fit their boxes in both languages.
pub struct DiagramText {
    pub title: &'static str,
    pub desc: &'static str,
    pub build: &'static str,
    pub generate: &'static str,
    pub pairs: &'static str,
    pub positive: &'static str,
    pub negative: &'static str,
    pub forward: &'static str,
    pub record: &'static str,
    pub mean: &'static str,
    pub per_block: &'static str,
    pub vector: &'static str,
    pub tokens: &'static str,
    pub next_token: &'static str,
    pub stream: &'static str,
    pub steered: &'static str,
    pub inject: &'static str,
    pub every_position: &'static str,
}

/// One way of controlling generation, as a row of the comparison table.
pub struct MethodRow {
    pub name: &'static str,
    pub cite: &'static str,
    pub changes: &'static str,
    pub when: &'static str,
    pub training: &'static str,
    pub cost: &'static str,
    pub tradeoffs: &'static str,
}

pub const EN: ExplainText = ExplainText {
    title: "How steering works",
    intro: "Tiller's sliders do not change the prompt or the model's weights. They add a direction to the model's \
            hidden state while it reads and writes, which is called activation steering.",
    what_heading: "What activation steering is",
    steps: [
        "Collect contrastive examples: about 250 pairs of replies to the same prompt that differ in one concept, \
         e.g. a cheerful and a gloomy reply.",
        "Run every pair through the model and record the residual stream (the hidden state that each block reads and \
         adds to) after every block, averaged over the reply's tokens.",
        "For each block N, the mean of the positive minus the negative activations is a direction v_N: one vector \
         per block, all together a steering vector.",
        "While generating, the slider's coefficient c times the concept's calibrated strength s scales v_N, and \
         c·s·v_N is added to the output of every block N from L to M, at every position. This is how llama.cpp \
         applies control vectors, so the files work there too.",
    ],
    formula_note: "h_N ← h_N + c · s · v_N for every block N with L ≤ N ≤ M",
    diagram: DiagramText {
        title: "Building and applying a steering vector",
        desc: "Top: contrastive pairs go through the model; the mean difference of their activations after each \
               block gives one direction per block. Bottom: during generation, the slider value times the strength \
               times that direction is added to the residual stream after blocks L to M, at every position.",
        build: "1 · Build (once)",
        generate: "2 · Generate (every token)",
        pairs: "Contrastive pairs",
        positive: "+ cheerful reply",
        negative: "− gloomy reply",
        forward: "Run the model",
        record: "keep h after each block",
        mean: "Mean difference",
        per_block: "one direction per block",
        vector: "Steering vector",
        tokens: "tokens",
        next_token: "next token",
        stream: "residual stream",
        steered: "blocks L … M",
        inject: "+ c × s × v_N",
        every_position: "slider c, strength s, at every position",
    },
    vectors_heading: "Tiller's vectors",
    vector_line: |label, (a, b), strength, pairs| {
        format!("{label}: blocks {a}–{b}, strength {strength}, mean difference of {pairs} pairs")
    },
    compare_heading: "Other ways to control generation",
    compare_intro: "Steering is one of several places where generation can be controlled: the input, the \
                    decoding of each token, the weights, or the activations.",
    table_caption: "Ways to control a language model's output, compared",
    columns: [
        "Method",
        "What is changed",
        "When it acts",
        "Training needed",
        "Cost at generation",
        "Strengths and weaknesses",
    ],
    rows: [
        MethodRow {
            name: "Prompting",
            cite: "system prompt, instructions, examples",
            changes: "The input text",
            when: "Before generation, through the context",
            training: "None",
            cost: "A longer prompt to read",
            tradeoffs: "Easiest and works with any model; small models follow it weakly, and the user can override it.",
        },
        MethodRow {
            name: "Control codes",
            cite: "CTRL, Keskar et al. 2019",
            changes: "A code (domain, style) prepended to the input",
            when: "Learned in training, chosen in the input",
            training: "The whole model is trained with codes prepended to its texts",
            cost: "None",
            tradeoffs: "Fluent, reliable control, but only over the codes chosen before training.",
        },
        MethodRow {
            name: "PPLM",
            cite: "Dathathri et al. 2020",
            changes: "The cached activations (keys and values), moved by gradients of an attribute model",
            when: "Every decoding step",
            training: "A small attribute model (bag of words or a classifier); the LM stays frozen",
            cost: "Several forward and backward passes per token",
            tradeoffs: "Plug-and-play for any attribute with a classifier; slow, and can hurt fluency.",
        },
        MethodRow {
            name: "GeDi",
            cite: "Krause et al. 2021",
            changes: "Next-token probabilities, reweighted by a class-conditional LM used as a generative discriminator",
            when: "Every decoding step",
            training: "A small class-conditional LM",
            cost: "Forward passes of the small LM for the desired and undesired class",
            tradeoffs: "Much faster than PPLM and strong for detoxification; needs a second model and inherits its biases.",
        },
        MethodRow {
            name: "FUDGE",
            cite: "Yang & Klein 2021",
            changes: "Next-token probabilities, times a future discriminator's estimate that the attribute will hold",
            when: "Every decoding step, over the top candidates",
            training: "A discriminator trained on prefixes of labelled text",
            cost: "The discriminator on each candidate token",
            tradeoffs: "Modular and composable; only as good as its guess about the rest of the text.",
        },
        MethodRow {
            name: "DExperts",
            cite: "Liu et al. 2021",
            changes: "Next-token logits: base + α × (expert − anti-expert), a product of experts",
            when: "Every decoding step",
            training: "An expert and an anti-expert LM fine-tuned on text with and without the attribute",
            cost: "Two more LM forward passes per token",
            tradeoffs: "Strong detoxification and sentiment control; two extra models with the same vocabulary.",
        },
        MethodRow {
            name: "Fine-tuning and RLHF",
            cite: "Ouyang et al. 2022",
            changes: "The model's weights",
            when: "Before use",
            training: "Much: demonstrations, human preference labels, a reward model, reinforcement learning",
            cost: "None",
            tradeoffs: "Durable and general; costly, one fixed behaviour per model, and can be fine-tuned away.",
        },
        MethodRow {
            name: "Activation steering",
            cite: "ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024; RepE, Zou et al. 2023",
            changes: "The residual-stream activations: a vector added at chosen layers",
            when: "Every forward pass",
            training: "None: forward passes over a few to a few hundred contrastive examples",
            cost: "One vector addition per steered block",
            tradeoffs: "Cheap, adjustable while generating, continuous strength; assumes a linear concept, breaks \
                        fluency when too strong, belongs to one model.",
        },
    ],
    limits_heading: "Limits",
    limits: [
        "It assumes the concept is one linear direction, the same for every prompt and position. A mean difference \
         cannot capture a concept that is not.",
        "Strength costs fluency: a large coefficient pushes the hidden state away from anything the model saw in \
         training, and perplexity rises until the text falls apart. Tiller's ±1 is the largest strength that kept \
         perplexity within 1.75× on development prompts.",
        "Steering can hide a behaviour rather than remove it: the weights still hold it, and another prompt or the \
         opposite coefficient brings it back. A reply that looks safe may only be a deflection.",
        "Concepts are entangled: the direction carries every way the pairs differ. Tiller's sentiment slider also \
         makes replies more formal (formality score 64 → 73), because the gloomy examples were also more personal.",
        "A vector belongs to one model: its coordinates only mean something in that model's hidden space.",
        "A 135M-parameter model barely refuses anything, so there is little to amplify. With its gate (conditional \
         steering) the safety slider barely touches harmless requests (5% refused on held-out prompts) and at 1 it \
         refuses 65% of harmful ones (unsteered: 2%). Sentiment works: the VADER score of replies goes from \
         −0.21 at −1 to 0.89 at +1.",
    ],
    toxic_heading: "Why models write toxic or biased text",
    toxic: "A language model learns to continue text the way its training data does. Web text holds insults, \
            stereotypes and one-sided views, so the model reproduces them, and instruction tuning only partly covers \
            them up.",
    conditional_heading: "Conditional steering: refuse only when the request is harmful",
    conditional: [
        "Adding a refusal direction to every prompt makes a model refuse harmless requests too (\"as a chess AI, \
         I'm unable…\"). Conditional steering (CAST, Lee et al. 2024) first reads the request, then decides whether \
         to steer the reply.",
        "The safety slider holds two directions. Civility (polite against insulting replies with the same content) \
         is always added, like sentiment. Refusal (the model's own way of starting to comply against a refusal \
         opener, read over the first reply tokens only) is added only when the gate opens.",
        "The gate is a linear probe: a logistic regression on one block's output at the end of the request (the last \
         user token and the chat template's tokens after it), where the model has read the whole request. It was \
         fitted on harmful requests against everyday and borderline ones (\"how do I kill a Python process?\"), and \
         its threshold lets at most one in ten borderline development prompts through. It reads the request as \
         no slider has moved it, so a request scores the same at any setting. The chat shows each request's score \
         and whether the gate opened.",
    ],
    source: "The measured numbers, with the method and the prompts, are in docs/steering.md in Tiller's source.",
};

pub const ZH: ExplainText = ExplainText {
    title: "激活引导是如何工作的",
    intro: "Tiller 的滑块既不改提示词，也不改模型权重。它们在模型读入和生成文本时，往隐藏状态里加上一个方向，\
            这就是激活引导（activation steering）。",
    what_heading: "什么是激活引导",
    steps: [
        "收集对比样本：约 250 对针对同一提示词、只在一个概念上不同的回复，例如一条开朗的回复和一条忧郁的回复。",
        "把每一对都送入模型，记录每个块之后的残差流（每个块读取并往里累加的隐藏状态），并在回复的各个词元上取平均。",
        "对每个块 N，正样本激活减去负样本激活的均值就是一个方向 v_N：每个块一个向量，合起来就是一个引导向量。",
        "生成时，滑块系数 c 乘以该概念校准过的强度 s，再乘以 v_N，把 c·s·v_N 加到第 L 到第 M 块中每个块的输出上，\
         并且作用于每个位置。这与 llama.cpp 应用控制向量的方式相同，所以向量文件也能在 llama.cpp 中使用。",
    ],
    formula_note: "对所有满足 L ≤ N ≤ M 的块 N：h_N ← h_N + c · s · v_N",
    diagram: DiagramText {
        title: "引导向量的构建与应用",
        desc: "上半部分：对比样本对送入模型，取每个块之后激活值的均值差，得到每个块的一个方向。下半部分：生成时，\
               把滑块值乘以强度再乘以该方向，在第 L 到第 M 块之后加到残差流上，作用于每个位置。",
        build: "1 · 构建（一次）",
        generate: "2 · 生成（每个词元）",
        pairs: "对比样本对",
        positive: "+ 开朗的回复",
        negative: "− 忧郁的回复",
        forward: "模型前向计算",
        record: "记录每个块后的 h",
        mean: "均值差",
        per_block: "每个块一个方向",
        vector: "引导向量",
        tokens: "词元",
        next_token: "下一个词元",
        stream: "残差流",
        steered: "第 L … M 块",
        inject: "+ c × s × v_N",
        every_position: "滑块 c，强度 s，作用于每个位置",
    },
    vectors_heading: "Tiller 的引导向量",
    vector_line: |label, (a, b), strength, pairs| {
        format!("{label}：第 {a}–{b} 块，强度 {strength}，{pairs} 对样本的均值差")
    },
    compare_heading: "控制生成的其他方法",
    compare_intro: "控制生成可以作用在不同的地方：输入、每个词元的解码、模型权重，或者激活值。激活引导是其中之一。",
    table_caption: "控制语言模型输出的方法对比",
    columns: ["方法", "改变了什么", "何时起作用", "需要的训练", "生成时的开销", "优点与缺点"],
    rows: [
        MethodRow {
            name: "提示词",
            cite: "系统提示词、指令、示例",
            changes: "输入文本",
            when: "生成之前，通过上下文",
            training: "无",
            cost: "提示词更长，需要多读一些词元",
            tradeoffs: "最简单，适用于任何模型；小模型不太听从，用户也能把它覆盖掉。",
        },
        MethodRow {
            name: "控制码",
            cite: "CTRL，Keskar 等，2019",
            changes: "在输入前加上一个控制码（领域、风格）",
            when: "训练时学会，使用时在输入中选择",
            training: "整个模型用前置控制码的文本训练",
            cost: "无",
            tradeoffs: "控制流畅可靠，但只能用训练前选定的那些控制码。",
        },
        MethodRow {
            name: "PPLM",
            cite: "Dathathri 等，2020",
            changes: "缓存的激活值（键和值），按属性模型的梯度更新",
            when: "每个解码步",
            training: "一个小的属性模型（词袋或分类器）；语言模型本身冻结",
            cost: "每个词元要做多次前向和反向传播",
            tradeoffs: "即插即用，任何有分类器的属性都可以；速度慢，也可能损害流畅度。",
        },
        MethodRow {
            name: "GeDi",
            cite: "Krause 等，2021",
            changes: "下一个词元的概率，由作为生成式判别器的类条件语言模型重新加权",
            when: "每个解码步",
            training: "一个小的类条件语言模型",
            cost: "小模型针对期望类别和不期望类别的前向计算",
            tradeoffs: "比 PPLM 快得多，去毒效果好；需要第二个模型，也会继承它的偏差。",
        },
        MethodRow {
            name: "FUDGE",
            cite: "Yang 和 Klein，2021",
            changes: "下一个词元的概率，乘以未来判别器估计的“属性最终成立”的概率",
            when: "每个解码步，作用于得分最高的候选词元",
            training: "一个在带标签文本的前缀上训练的判别器",
            cost: "对每个候选词元运行判别器",
            tradeoffs: "模块化，可以组合多个约束；效果取决于它对后文的预测。",
        },
        MethodRow {
            name: "DExperts",
            cite: "Liu 等，2021",
            changes: "下一个词元的 logits：基础模型 + α ×（专家 − 反专家），即专家乘积",
            when: "每个解码步",
            training: "在具有和不具有该属性的文本上分别微调的专家模型和反专家模型",
            cost: "每个词元多两次语言模型前向计算",
            tradeoffs: "去毒和情感控制效果强；需要两个词表相同的额外模型。",
        },
        MethodRow {
            name: "微调与 RLHF",
            cite: "Ouyang 等，2022",
            changes: "模型权重",
            when: "使用之前",
            training: "很多：示范数据、人类偏好标注、奖励模型、强化学习",
            cost: "无",
            tradeoffs: "效果持久、通用；代价高，每个模型只有一种固定行为，而且可能被再次微调抹掉。",
        },
        MethodRow {
            name: "激活引导",
            cite: "ActAdd，Turner 等，2023；CAA，Rimsky 等，2024；RepE，Zou 等，2023",
            changes: "残差流中的激活值：在选定的层上加一个向量",
            when: "每次前向计算",
            training: "无：只需对几个到几百个对比样本做前向计算",
            cost: "每个被引导的块做一次向量加法",
            tradeoffs: "开销小，生成过程中可随时调节，强度连续可调；假设概念是线性的，过强会破坏流畅度，只适用于一个模型。",
        },
    ],
    limits_heading: "局限",
    limits: [
        "它假设概念是一个线性方向，并且对每个提示词、每个位置都相同。如果概念不是这样，均值差就无法刻画它。",
        "强度以流畅度为代价：系数太大，隐藏状态会偏离模型在训练中见过的分布，困惑度上升，直到文本支离破碎。\
         Tiller 的 ±1 是在开发集提示词上困惑度不超过 1.75 倍时的最大强度。",
        "引导可能只是把某种行为藏起来，而不是消除它：权重里仍然保留着它，换一个提示词或者反向的系数就会让它重新出现。\
         看起来安全的回复，可能只是在回避。",
        "概念相互纠缠：这个方向包含了样本对之间所有的差异。Tiller 的情感滑块也会让回复更正式（正式度评分 64 → 73），\
         因为忧郁的样本同时也更口语化、更私人。",
        "向量只属于一个模型：它的坐标只在那个模型的隐藏空间里才有意义。",
        "1.35 亿参数的模型几乎什么都不拒绝，可放大的东西很少。加上闸门（条件引导）后，安全滑块基本不影响无害请求\
         （留出集上只拒绝了 5%），在 1 时拒绝了 65% 的有害请求（不引导时为 2%）。情感引导是有效的：\
         回复的 VADER 情感分从 −1 时的 −0.21 升到 +1 时的 0.89。",
    ],
    toxic_heading: "模型为什么会生成有害或带偏见的文本",
    toxic: "语言模型学会的是按照训练数据的方式续写文本。网络文本里有辱骂、刻板印象和片面的观点，模型就会把它们复现出来；\
            指令微调只能部分地掩盖这些问题。",
    conditional_heading: "条件引导：只在请求有害时拒绝",
    conditional: [
        "如果对每个提示词都加上“拒绝”方向，模型连无害的请求也会拒绝（“作为国际象棋 AI，我无法……”）。\
         条件引导（CAST，Lee 等，2024）先读取请求，再决定是否引导回答。",
        "安全滑块包含两个方向。“文明”方向（内容相同、措辞礼貌与辱骂的回答之差）始终加上，和情感滑块一样。\
         “拒绝”方向（模型自己开始照做的开头与拒绝开头之差，只读取回答的前几个词元）只有在闸门开启时才加上。",
        "闸门是一个线性探针：在请求末尾（用户消息的最后一个词元及其后的对话模板词元）读取某一块的输出，\
         做逻辑回归——此时模型已经读完了整个请求。它用有害请求对照日常请求和“听起来危险”的请求\
         （“如何结束一个 Python 进程？”）训练，阈值设定为开发集中的边缘请求最多十分之一能打开闸门。\
         它读取的是未被任何滑块改动过的请求，所以无论滑块怎样设置，同一个请求的得分都相同。\
         对话中会显示每个请求的得分，以及闸门是否开启。",
    ],
    source: "实测数字以及评测方法和提示词，见 Tiller 源代码中的 docs/steering.md。",
};
