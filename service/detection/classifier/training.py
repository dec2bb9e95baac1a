"""Training: the corpus's training split plus every human label, measured on the held-out
split, written as a new versioned model file."""
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.activity.models import Post
from service.detection.classifier import semantic, transparent
from service.detection.classifier.corpus import Example, held_out_examples, training_examples
from service.detection.classifier.models import PostLabel
from service.detection.classifier.verdicts import Model, post_text

TRAINERS = {transparent.BACKEND: transparent.train, semantic.BACKEND: semantic.train}


def human_examples(*, session: Session) -> list[Example]:
    rows = session.execute(select(Post.title, Post.text, PostLabel.label).join(PostLabel, PostLabel.post_id == Post.id))
    return [Example(post_text(title, text), label) for title, text, label in rows if post_text(title, text)]


def evaluate(model: Model, examples: list[Example], *, threshold: float) -> dict:
    """Precision, recall and F1 of off_topic."""
    verdicts = model.classify([e.text for e in examples], threshold=threshold)
    hits = [(v.label == "off_topic", e.off_topic) for v, e in zip(verdicts, examples)]
    tp = sum(1 for p, t in hits if p and t)
    fp = sum(1 for p, t in hits if p and not t)
    fn = sum(1 for p, t in hits if t and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(1 for p, t in hits if p == t) / len(hits) if hits else 0.0
    return {
        "posts": len(examples), "off_topic": tp + fn, "precision": round(precision, 4), "recall": round(recall, 4),
        "f1": round(f1, 4), "accuracy": round(accuracy, 4), "threshold": threshold,
    }  # fmt: skip


def train_model(*, backend: str, model_dir: Path, human: list[Example], threshold: float) -> Model:
    """Trains one backend and writes `<backend>-<UTC timestamp>.npz` into model_dir."""
    trained_at = clock.now()
    version = f"{backend}-{trained_at:%Y%m%d%H%M%S}"
    corpus = training_examples()
    meta = {"trained_at": trained_at.isoformat(), "training": {"corpus_posts": len(corpus), "human_labels": len(human)}}
    model = TRAINERS[backend](corpus + human, version=version, meta=meta)
    model.meta["held_out"] = evaluate(model, held_out_examples(), threshold=threshold)
    model.save(model_dir / f"{version}.npz")
    return model
