"""Which model answers: the newest model file of the configured backend, from the files
shipped in the package (data/models/) and those `zombiewatch classifier train` writes to
ZW_CLASSIFIER_DIR. The directory is looked at again on every use (one stat), so a newly
trained model is picked up without a restart."""
import threading
from pathlib import Path

from service.config import Settings
from service.detection.classifier import semantic, transparent
from service.detection.classifier.corpus import DATA_DIR
from service.detection.classifier.verdicts import Model, Verdict

SHIPPED_DIR = DATA_DIR / "models"
BACKENDS = ("transparent", "semantic", "combined")
LOADERS = {transparent.BACKEND: transparent.TransparentModel.load, semantic.BACKEND: semantic.SemanticModel.load}


class CombinedModel:
    """The transparent model decides; a post it is unsure about (score within `margin` of 0.5)
    gets the semantic model's second opinion, and the two scores are averaged."""

    backend = "combined"

    def __init__(self, fast: Model, second: Model, margin: float):
        self.fast, self.second, self.margin = fast, second, margin
        self.version = f"{fast.version}+{second.version}"
        self.meta = {"backend": self.backend, "version": self.version, "unsure_margin": margin, "parts": [fast.meta, second.meta]}

    def classify(self, texts: list[str], *, threshold: float, explain_on_topic: bool = True) -> list[Verdict]:
        verdicts = self.fast.classify(texts, threshold=threshold, explain_on_topic=explain_on_topic)
        unsure = [i for i, v in enumerate(verdicts) if abs(v.score - 0.5) <= self.margin]
        if unsure:
            opinions = self.second.classify([texts[i] for i in unsure], threshold=threshold)
            for i, opinion in zip(unsure, opinions):
                score = round((verdicts[i].score + opinion.score) / 2, 4)
                label = "off_topic" if score >= threshold else "on_topic"
                reasons = [r for r in verdicts[i].reasons if r["leans"] == label][:3] + opinion.reasons
                verdicts[i] = Verdict(label, score, reasons, self.version)
        return [Verdict(v.label, v.score, v.reasons, self.version) for v in verdicts]


def model_files(backend: str, model_dir: Path | None) -> list[Path]:
    folders = [SHIPPED_DIR] + ([model_dir] if model_dir is not None and model_dir.is_dir() else [])
    return [p for folder in folders for p in folder.glob(f"{backend}-*.npz") if not p.name.endswith(".partial.npz")]


def newest_file(backend: str, model_dir: Path | None) -> Path:
    files = model_files(backend, model_dir)
    if not files:
        raise FileNotFoundError(f"no {backend} model in {SHIPPED_DIR} or {model_dir}")
    return max(files, key=lambda p: p.stem)  # versions are backend-YYYYmmddHHMMSS: newest sorts last


class ModelStore:
    def __init__(self, *, backend: str, model_dir: Path | None, unsure_margin: float = 0.25):
        if backend not in BACKENDS:
            raise ValueError(f"unknown classifier backend {backend!r}; one of {', '.join(BACKENDS)}")
        self.backend, self.model_dir, self.unsure_margin = backend, model_dir, unsure_margin
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._parts: dict[str, tuple[Path, Model]] = {}
        self._model: Model | None = None

    def _directory_stamp(self) -> int:
        try:
            return self.model_dir.stat().st_mtime_ns if self.model_dir is not None else 0
        except FileNotFoundError:
            return 0

    def _part(self, backend: str) -> Model:
        path = newest_file(backend, self.model_dir)
        loaded = self._parts.get(backend)
        if loaded is None or loaded[0] != path:
            self._parts[backend] = (path, LOADERS[backend](path))
        return self._parts[backend][1]

    def current(self) -> Model:
        with self._lock:
            stamp = self._directory_stamp()
            if self._model is None or stamp != self._stamp:
                if self.backend == "combined":
                    fast, second = self._part(transparent.BACKEND), self._part(semantic.BACKEND)
                    if self._model is None or self._model.version != f"{fast.version}+{second.version}":
                        self._model = CombinedModel(fast, second, self.unsure_margin)
                else:
                    self._model = self._part(self.backend)
                self._stamp = stamp
            return self._model

    def classify(self, texts: list[str], *, threshold: float) -> list[Verdict]:
        return self.current().classify(texts, threshold=threshold) if texts else []


_stores: dict[tuple, ModelStore] = {}
_stores_lock = threading.Lock()


def store_for(settings: Settings) -> ModelStore:
    """One store per configuration and process: a model is loaded once, however many requests use it."""
    key = (settings.classifier_backend, str(settings.classifier_dir), settings.classifier_unsure_margin)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = ModelStore(backend=key[0], model_dir=Path(key[1]), unsure_margin=key[2])
        return _stores[key]
