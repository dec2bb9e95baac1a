"""What every backend answers for a text, and the interface the backends share."""
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from service.detection.classifier.corpus import OFF_TOPIC, ON_TOPIC

READ_CHARS = 2000  # a post is judged by its first 2,000 characters (README: /v1/classify)
MAX_REASONS = 5


@dataclass(frozen=True)
class Verdict:
    label: str
    score: float  # probability of off_topic
    # never empty, but for an on-topic verdict asked for without explanation (explain_on_topic=False)
    reasons: list[dict] = field(default_factory=list)
    model_version: str = ""


class Model(Protocol):
    backend: str
    version: str
    meta: dict

    def classify(self, texts: list[str], *, threshold: float, explain_on_topic: bool = True) -> list[Verdict]: ...


_WHITESPACE = re.compile(r"\s\s+")


def prepare(text: str) -> str:
    """The form every backend reads: NFKC (full-width letters and digits to half-width), lower
    case, runs of white space as one space, trimmed, at most READ_CHARS characters."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()[:READ_CHARS]


def post_text(title: str | None, text: str | None) -> str:
    """What is classified of a post: its title, unless the text already starts with it, then its text."""
    title, text = (title or "").strip(), (text or "").strip()
    return text if not title or text.startswith(title) else f"{title}\n{text}"


def label_of(score: float, threshold: float) -> str:
    return OFF_TOPIC if score >= threshold else ON_TOPIC


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -30, 30)))


def rounded(value: float) -> float:
    return float(round(value, 4)) if math.isfinite(value) else 0.0


def read_model_file(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """A model file is an .npz of plain arrays (never pickles) and a JSON `meta` entry."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def write_model_file(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, meta=np.array(json.dumps(meta, ensure_ascii=False)), **arrays)
    partial.replace(path)  # a reader never sees half a file
    return path
