"""Classifier benchmark (issue 6): off_topic precision, recall and F1 on the corpus's fixed
held-out split, and texts per second for one batch of 1,000 distinct posts of about 75
characters, for each backend.

    .venv/bin/python bench/classify.py                 # all backends; semantic speed on 200 posts
    .venv/bin/python bench/classify.py --backends transparent
    .venv/bin/python bench/classify.py --semantic-posts 1000   # the semantic speed on the full batch (~1 min)
    .venv/bin/python bench/classify.py --tune          # also: C of the transparent model by 5-fold grouped CV on the training split

The 1,000 posts are generated here from the corpus templates with another seed and cut or run
on to 70–80 characters, every one distinct (the semantic encoder caches repeated texts, so
repeats would flatter it). Speed is the median of --repeats passes, on a model already loaded and
warmed up on other texts; the first-use cost (loading the model and, for semantic, the encoder) is printed apart."""
import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.detection.classifier import corpus, training  # noqa: E402
from service.detection.classifier.store import ModelStore  # noqa: E402
from service.detection.classifier.writing import render  # noqa: E402
from service.detection.classifier.writing.off_topic import OFF_TOPIC  # noqa: E402
from service.detection.classifier.writing.on_topic import ON_TOPIC  # noqa: E402

THRESHOLD = 0.5


def distinct_posts(count: int, *, seed: str = "bench-classify", low: int = 70, high: int = 80) -> list[str]:
    rng = random.Random(seed)
    templates = [t for genre in (*ON_TOPIC, *OFF_TOPIC) for t in genre.templates]
    posts: set[str] = set()
    while len(posts) < count:
        text = render(rng.choice(templates), rng)
        while len(text) < low:
            text += render(rng.choice(templates), rng)
        posts.add(text[: rng.randint(low, high)])
    return sorted(posts)


def timed(model, texts: list[str], repeats: int = 1) -> float:
    """Median seconds of `repeats` passes over the batch (the machine is shared: one pass can be unlucky)."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.classify(texts, threshold=THRESHOLD)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def tune() -> None:
    import numpy as np
    from sklearn.model_selection import GroupKFold

    from service.detection.classifier import transparent

    examples = corpus.training_examples()
    groups = np.array([e.group for e in examples])
    folds = list(GroupKFold(n_splits=5).split(examples, groups=groups))
    print("\ntransparent model, 5-fold cross-validation grouped by template on the training split (the held-out split is not used):")
    print(f"  {'phrase_scale':>12} {'C':>5} {'F1':>16} {'acc hard':>9}")
    for phrase_scale in (1.0, 0.5, 0.25):
        for c in (4.0, 8.0, 16.0):
            f1s, hard = [], []
            for train_index, test_index in folds:
                model = transparent.train([examples[i] for i in train_index], version="transparent-cv", meta={}, c=c, phrase_scale=phrase_scale)
                fold = [examples[i] for i in test_index]
                f1s.append(training.evaluate(model, fold, threshold=THRESHOLD)["f1"])
                hard.append(training.evaluate(model, [e for e in fold if e.hard], threshold=THRESHOLD)["accuracy"])
            print(f"  {phrase_scale:>12} {c:>5} {statistics.mean(f1s):>8.4f} ± {statistics.pstdev(f1s):.4f} {statistics.mean(hard):>9.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="transparent,semantic,combined")
    parser.add_argument("--posts", type=int, default=1000, help="batch size for the speed figure")
    parser.add_argument("--semantic-posts", type=int, default=200, help="posts timed for the semantic backend (it is slow)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the batch; the median is printed (semantic: one)")
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()

    held_out = corpus.held_out_examples()
    batch = distinct_posts(args.posts)
    warm_up = distinct_posts(20, seed="warm-up")
    lengths = [len(t) for t in batch]
    print(f"corpus: {len(corpus.load_corpus())} posts, held-out split {len(held_out)} "
          f"({sum(e.off_topic for e in held_out)} off_topic, {sum(e.hard for e in held_out)} hard cases)")
    print(f"speed batch: {len(batch)} distinct posts, {min(lengths)}–{max(lengths)} characters (mean {statistics.mean(lengths):.1f})\n")
    rows = []
    for backend in args.backends.split(","):
        store = ModelStore(backend=backend, model_dir=None)
        started = time.perf_counter()
        model = store.current()
        model.classify(warm_up, threshold=THRESHOLD)
        first_use = time.perf_counter() - started
        metrics = training.evaluate(model, held_out, threshold=THRESHOLD)
        hard = training.evaluate(model, [e for e in held_out if e.hard], threshold=THRESHOLD)
        texts = batch[: args.semantic_posts] if backend == "semantic" else batch
        seconds = timed(model, texts, repeats=1 if backend == "semantic" else args.repeats)
        rows.append((backend, model.version, metrics, hard, len(texts) / seconds, len(texts), first_use))
    if "transparent" in args.backends.split(","):
        # the phrase lists were written knowing the whole corpus: this row shows what the n-grams alone learn
        from service.detection.classifier import transparent

        ngrams_only = transparent.train(corpus.training_examples(), version="transparent-ngrams-only", meta={}, phrase_lists=[])
        metrics = training.evaluate(ngrams_only, held_out, threshold=THRESHOLD)
        hard = training.evaluate(ngrams_only, [e for e in held_out if e.hard], threshold=THRESHOLD)
        rows.append(("(n-grams)", ngrams_only.version, metrics, hard, len(batch) / timed(ngrams_only, batch, args.repeats), len(batch), 0.0))
    print(f"{'backend':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'acc hard':>8} {'texts/s':>9} {'timed on':>9} {'first use s':>12}  model")
    for backend, version, metrics, hard, speed, n, first_use in rows:
        print(f"{backend:<12} {metrics['precision']:>9.4f} {metrics['recall']:>7.4f} {metrics['f1']:>6.4f} {hard['accuracy']:>8.4f}"
              f" {speed:>9.1f} {n:>9} {first_use:>12.2f}  {version}")
    print("\n(acc hard: accuracy on the held-out hard cases of both classes; (n-grams): the transparent model trained "
          "without its phrase lists, for comparison; targets: F1 ≥ 0.92, ≥ 2,000 texts/s with the default)")
    if args.tune:
        tune()


if __name__ == "__main__":
    main()
