"""Backend (a), transparent: character 1–3-grams weighted by tf-idf and the curated phrase
lists of data/phrases.json, scored by one logistic regression. Its reasons are the features
that pushed the score furthest towards the verdict: phrases found and character n-grams."""
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from service.detection.classifier.corpus import DATA_DIR, OFF_TOPIC, Example
from service.detection.classifier.verdicts import (
    MAX_REASONS, Verdict, label_of, prepare, read_model_file, rounded, sigmoid, write_model_file,
)  # fmt: skip

BACKEND = "transparent"
PHRASES_PATH = DATA_DIR / "phrases.json"
NGRAMS = (1, 3)
MIN_DF = 2  # an n-gram seen in a single training post says more about that post than about the class
# Chosen by 5-fold cross-validation grouped by template on the training split (bench/classify.py --tune):
# a phrase-list hit weighs a quarter of a unit so the lists guide the n-grams rather than overrule them
# (the hard cases are written to mislead a phrase list), with weak regularisation.
C = 16.0
PHRASE_SCALE = 0.25


@dataclass(frozen=True)
class PhraseList:
    name: str
    title: str
    leans: str
    phrases: tuple[str, ...]


def load_phrase_lists(path: Path = PHRASES_PATH) -> list[PhraseList]:
    lists = json.loads(path.read_text(encoding="utf-8"))["lists"]
    return [PhraseList(p["name"], p["title"], p["leans"], tuple(p["phrases"])) for p in lists]


class PhraseMatcher:
    """All lists in one regular expression (longest phrase first): one scan of a text finds
    every list it touches."""

    def __init__(self, phrase_lists: list[PhraseList]):
        self.owner: dict[str, int] = {}
        for index, phrase_list in enumerate(phrase_lists):
            for phrase in phrase_list.phrases:
                self.owner.setdefault(prepare(phrase), index)
        self.size = len(phrase_lists)
        ordered = sorted(self.owner, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(p) for p in ordered)) if ordered else None

    def hits(self, prepared: str) -> dict[int, list[str]]:
        """list index → the distinct phrases of that list found, in order of appearance."""
        found: dict[int, list[str]] = {}
        for phrase in self.pattern.findall(prepared) if self.pattern else ():
            phrases = found.setdefault(self.owner[phrase], [])
            if phrase not in phrases:
                phrases.append(phrase)
        return found

    def matrix(self, hits: list[dict[int, list[str]]]) -> np.ndarray:
        values = np.zeros((len(hits), self.size), dtype=np.float32)
        for row, found in enumerate(hits):
            for column in found:
                values[row, column] = 1.0
        return values


class TransparentModel:
    backend = BACKEND

    def __init__(self, *, terms: list[str], idf: np.ndarray, coef: np.ndarray, intercept: float, meta: dict):
        self.meta = meta
        self.version: str = meta["version"]
        self.terms = terms
        self.idf = idf.astype(np.float32)
        self.ngram_coef = coef[: len(terms)].astype(np.float32)
        self.phrase_coef = coef[len(terms) :].astype(np.float32)
        self.intercept = float(intercept)
        self.phrase_lists = [PhraseList(p["name"], p["title"], p["leans"], tuple(p["phrases"])) for p in meta["phrase_lists"]]
        self._phrases = PhraseMatcher(self.phrase_lists)
        self._phrase_scale = float(meta.get("phrase_scale", 1.0))
        self._ngram_keys = self._pack_vocabulary()
        # a lone character or punctuation explains nothing to a reader: such n-grams score but are not given as reasons
        self._explains = np.array([sum(1 for ch in t if ch.isalnum()) >= 2 for t in terms], dtype=bool)

    @classmethod
    def load(cls, path: Path) -> "TransparentModel":
        arrays, meta = read_model_file(path)
        return cls(terms=arrays["terms"].tolist(), idf=arrays["idf"], coef=arrays["coef"], intercept=float(arrays["intercept"]), meta=meta)

    def save(self, path: Path) -> Path:
        arrays = {
            "terms": np.array(self.terms), "idf": self.idf,
            "coef": np.concatenate([self.ngram_coef, self.phrase_coef]), "intercept": np.array(self.intercept),
        }  # fmt: skip
        return write_model_file(path, arrays, self.meta)

    def ngram_features(self, prepared: list[str]) -> sparse.csr_matrix:
        """The tf-idf rows of scikit-learn's "char" analyzer (prepare() already folded white space).
        Counted with numpy rather than a loop over every n-gram, the slowest step of a batch: each
        n-gram of n code points (< 2^21 each) is packed into one integer and looked up in the sorted
        keys of the vocabulary's n-grams of that length."""
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=len(prepared))
        codes = np.frombuffer("".join(prepared).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        owner = np.repeat(np.arange(len(prepared), dtype=np.int64), lengths)  # the text each code point is in
        rows, columns = [], []
        for n, (keys, indices) in self._ngram_keys.items():
            starts = len(codes) - n + 1
            if starts <= 0 or not len(keys):
                continue
            packed = codes[:starts].copy()
            for k in range(1, n):
                packed = (packed << np.uint64(21)) | codes[k : k + starts]
            inside = owner[:starts] == owner[n - 1 : n - 1 + starts]  # not across two texts
            at = np.minimum(np.searchsorted(keys, packed), len(keys) - 1)
            known = inside & (keys[at] == packed)
            rows.append(owner[:starts][known])
            columns.append(indices[at[known]])
        row_of = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        column_of = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
        counts = sparse.csr_matrix(
            (np.ones(len(row_of), dtype=np.float32), (row_of, column_of)), shape=(len(prepared), len(self.terms))
        )  # duplicates are summed: the counts
        counts.sum_duplicates()
        counts.data = np.log(counts.data) + 1.0  # sublinear tf, as in training
        counts.data *= self.idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ counts)

    def _pack_vocabulary(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """n → (sorted packed keys of the vocabulary's n-grams, their columns)."""
        packed: dict[int, list[tuple[int, int]]] = {}
        for column, term in enumerate(self.terms):
            key = 0
            for ch in term:
                key = (key << 21) | ord(ch)
            packed.setdefault(len(term), []).append((key, column))
        tables = {}
        for n, pairs in sorted(packed.items()):
            pairs.sort()
            tables[n] = (np.array([k for k, _ in pairs], dtype=np.uint64), np.array([c for _, c in pairs], dtype=np.int32))
        return tables

    def classify(self, texts: list[str], *, threshold: float, explain_on_topic: bool = True) -> list[Verdict]:
        prepared = [prepare(t) for t in texts]
        grams = self.ngram_features(prepared)
        hits = [self._phrases.hits(text) for text in prepared]
        phrase_matrix = self._phrases.matrix(hits) * self._phrase_scale
        margins = grams @ self.ngram_coef + phrase_matrix @ self.phrase_coef + self.intercept
        scores = sigmoid(np.asarray(margins, dtype=np.float64))
        # every n-gram's contribution to its text's score, at once; each text then takes its strongest
        explains = self._explains[grams.indices]
        columns = grams.indices[explains]
        contributions = (grams.data * self.ngram_coef[grams.indices])[explains]
        bounds = np.concatenate([[0], np.cumsum(explains)])[grams.indptr]  # row r's n-grams: bounds[r]:bounds[r + 1]
        verdicts = []
        for row, score in enumerate(scores):
            label = label_of(float(score), threshold)
            start, end = bounds[row], bounds[row + 1]
            # explaining is a third of the cost of a batch, and a detection run only shows off-topic reasons
            explain = explain_on_topic or label == OFF_TOPIC
            reasons = self._reasons(columns[start:end], contributions[start:end], hits[row], label) if explain else []
            verdicts.append(Verdict(label, rounded(float(score)), reasons, self.version))
        return verdicts

    def _reasons(self, columns: np.ndarray, contributions: np.ndarray, hits: dict[int, list[str]], label: str) -> list[dict]:
        towards = 1.0 if label == OFF_TOPIC else -1.0
        candidates: list[tuple[float, dict]] = []
        for index, found in hits.items():
            weight = float(self.phrase_coef[index]) * self._phrase_scale
            candidates.append((weight, {
                "kind": "phrase", "feature": "、".join(found[:4]), "category": self.phrase_lists[index].title, "weight": round(weight, 4),
            }))  # fmt: skip
        pushing = -towards * contributions
        strongest = np.argpartition(pushing, MAX_REASONS * 3)[: MAX_REASONS * 3] if len(pushing) > MAX_REASONS * 3 else range(len(pushing))
        for index in strongest:
            contribution = float(contributions[index])
            candidates.append((contribution, {"kind": "ngram", "feature": self.terms[columns[index]], "weight": round(contribution, 4)}))
        chosen: list[dict] = []
        for contribution, reason in sorted(candidates, key=lambda c: -towards * c[0]):
            if towards * contribution <= 0 or len(chosen) == MAX_REASONS:
                break
            feature = reason["feature"]
            if reason["kind"] == "ngram" and any(feature in r["feature"] or r["feature"] in feature for r in chosen):
                continue  # 买一 inside 买一送 says nothing new
            chosen.append({**reason, "leans": label})
        if not chosen:  # nothing pushed either way: the verdict is the model's prior
            chosen.append({"kind": "prior", "feature": "无明显特征，按模型的基准倾向判定", "weight": rounded(self.intercept), "leans": label})
        return chosen


def train(
    examples: list[Example], *, version: str, meta: dict, phrase_lists: list[PhraseList] | None = None, c: float = C, phrase_scale: float = PHRASE_SCALE
) -> TransparentModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    phrase_lists = load_phrase_lists() if phrase_lists is None else phrase_lists
    prepared = [prepare(e.text) for e in examples]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, lowercase=False, sublinear_tf=True, min_df=MIN_DF, dtype=np.float32)
    grams = vectorizer.fit_transform(prepared)
    matcher = PhraseMatcher(phrase_lists)
    phrases = sparse.csr_matrix(matcher.matrix([matcher.hits(t) for t in prepared]) * phrase_scale)
    labels = np.array([e.label == OFF_TOPIC for e in examples])
    regression = LogisticRegression(C=c, max_iter=5000).fit(sparse.hstack([grams, phrases]).tocsr(), labels)
    terms = [None] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    meta = {
        **meta, "backend": BACKEND, "version": version, "ngrams": list(NGRAMS), "min_df": MIN_DF, "C": c, "phrase_scale": phrase_scale,
        "phrase_lists": [{"name": p.name, "title": p.title, "leans": p.leans, "phrases": list(p.phrases)} for p in phrase_lists],
    }  # fmt: skip
    return TransparentModel(terms=terms, idf=vectorizer.idf_, coef=regression.coef_[0], intercept=float(regression.intercept_[0]), meta=meta)

