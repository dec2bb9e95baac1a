from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.clock import Moment

Label = Literal["on_topic", "off_topic"]


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(
        description="要分类的文本，每批最多 1,000 条（ZW_CLASSIFY_MAX_TEXTS）。空白文本和超过 ZW_CLASSIFY_MAX_CHARS（默认 20,000）字的文本"
        "返回 422 并指出是第几条；模型只读每条的前 2,000 字。",
        examples=[["【通知】关于调整政务服务大厅办公时间的通知", "心若向阳，何惧忧伤。早安！"]],
    )


class Reason(BaseModel):
    kind: Literal["phrase", "ngram", "example", "prior", "human"] = Field(
        description="phrase：命中的词表短语；ngram：字符片段；example：最相近的已标注样本；prior：无明显特征时的模型基准倾向；human：编辑标注"
    )
    feature: str = Field(description="短语、字符片段或样本摘录")
    leans: Label = Field(description="这条依据支持的判定")
    weight: float | None = Field(default=None, description="对分数的贡献（线性模型的对数几率，正数偏向 off_topic）")
    category: str | None = Field(default=None, description="短语所属词表")
    label: Label | None = Field(default=None, description="相近样本的标注")
    similarity: float | None = Field(default=None, description="与相近样本的余弦相似度")


class ClassifyResult(BaseModel):
    label: Label
    score: float = Field(description="与政务工作无关（off_topic）的概率，0–1")
    reasons: list[Reason] = Field(description="决定判定的依据，从最有力的开始，至少一条")


class ClassifyResponse(BaseModel):
    results: list[ClassifyResult]
    backend: str
    model_version: str


class LabelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label = Field(description="on_topic：与政务相关；off_topic：与政务工作无关")


class ModelVerdict(BaseModel):
    label: Label
    score: float
    model_version: str | None
    reasons: list[Reason]


class PostLabelRead(BaseModel):
    post_id: int
    account_id: int
    label: Label | None = Field(description="编辑的标注；为空表示没有人工标注，以模型为准")
    labelled_by: str | None
    labelled_at: Moment | None
    effective_label: Label | None = Field(description="检测采用的判定：有人工标注时为标注，否则为模型判定")
    model: ModelVerdict | None = Field(description="当前模型对该帖子的判定")


class HeldOutMetrics(BaseModel):
    backend: str
    version: str
    posts: int | None = None
    off_topic: int | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    accuracy: float | None = None
    threshold: float | None = None


class ClassifierRead(BaseModel):
    backend: str = Field(description="transparent、semantic 或 combined（ZW_CLASSIFIER_BACKEND）")
    model_version: str = Field(description="正在使用的模型版本；训练出新模型后无需重启即自动采用")
    trained_at: str | None
    threshold: float = Field(description="分数达到此值判为 off_topic")
    off_topic_min_score: float = Field(description="off_topic.posts 规则计入一条帖子所需的最低分数（人工标注总是计入）")
    held_out: list[HeldOutMetrics] = Field(description="模型在固定留出测试集上的 off_topic 精确率、召回率与 F1")
    training: list[dict] = Field(description="训练用的语料条数与人工标注条数")
    human_labels: int = Field(description="数据库中的人工标注条数")
    human_labels_since_training: int = Field(description="模型训练之后新增的人工标注条数；较多时可运行 `zombiewatch classifier train`")
