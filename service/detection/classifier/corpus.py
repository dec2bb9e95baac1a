"""The labelled corpus shipped with the package (written by `writing/`), and its fixed split:
training never sees a post of the held-out test split."""
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
CORPUS_PATH = DATA_DIR / "corpus.jsonl"
ON_TOPIC, OFF_TOPIC = "on_topic", "off_topic"
LABELS = (ON_TOPIC, OFF_TOPIC)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    genre: str = "human"
    group: str = "human"
    split: str = "train"
    hard: bool = False

    @property
    def off_topic(self) -> bool:
        return self.label == OFF_TOPIC


@lru_cache(maxsize=1)
def load_corpus() -> tuple[Example, ...]:
    with CORPUS_PATH.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return tuple(Example(r["text"], r["label"], r["genre"], r["group"], r["split"], r["hard"]) for r in rows)


def training_examples() -> list[Example]:
    return [e for e in load_corpus() if e.split == "train"]


def held_out_examples() -> list[Example]:
    return [e for e in load_corpus() if e.split == "test"]
