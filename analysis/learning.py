"""How the network learned, read from a run's ``learning.npz`` (``explain.learning``): answers, per-class
accuracy, confusion, drift and the maps at each snapshot. TensorFlow-free: the "Watch it learn" page reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from runfolder.artefacts import LearningError  # noqa: F401  (the page catches it by this name)

SETTLED_SHARE = 0.95  # "the answers have settled": this share of test images already gets its final answer
MAPS_SETTLED = 0.9  # "the maps have settled": mean rank correlation with the final maps reaches this
LEARNED_SHARE = 0.9  # a class counts as learned once its accuracy reaches this share of its final accuracy


def answers_changed(predictions: np.ndarray) -> np.ndarray:
    """Per frame, the share of answers that differ from the previous frame's (NaN for the first frame)."""
    predictions = np.asarray(predictions)
    changed = (predictions[1:] != predictions[:-1]).mean(axis=1)
    return np.concatenate([[np.nan], changed])


def agreement_with_final(predictions: np.ndarray, final: int = -1) -> np.ndarray:
    """Per frame, the share of answers already equal to the final frame's."""
    predictions = np.asarray(predictions)
    return (predictions == predictions[final]).mean(axis=1)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks (1 to n) along the last axis, ties sharing their average rank: scipy.stats.rankdata's "average"
    method in NumPy, because importing scipy.stats costs this TensorFlow-free page 0.6 s on its first visit."""
    values = np.asarray(values)
    n = values.shape[-1]
    order = np.argsort(values, axis=-1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=-1)
    position = np.broadcast_to(np.arange(n), ordered.shape)
    starts = np.ones(ordered.shape, dtype=bool)  # True where a run of equal values begins
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = np.ones(ordered.shape, dtype=bool)  # and where one ends
    ends[..., :-1] = starts[..., 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, position, n - 1), axis=-1), axis=-1), axis=-1)
    ranks = np.empty(values.shape, dtype=np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=-1)
    return ranks


def map_correlation_with_final(maps: np.ndarray, final: int = -1) -> np.ndarray:
    """Per frame, the mean Spearman rank correlation of each probe image's map with its final map (blank maps,
    which have no ranking, left out; NaN where every map is blank). Spearman as explain.faithfulness.spearman
    defines it (Pearson correlation of average ranks), for every map at once."""
    maps = np.asarray(maps, dtype=np.float64)
    ranks = average_ranks(maps.reshape(maps.shape[0], maps.shape[1], -1))
    centred = ranks - ranks.mean(axis=-1, keepdims=True)
    reference = centred[final][np.newaxis]
    numerator = (centred * reference).sum(axis=-1)
    denominator = np.sqrt((centred**2).sum(axis=-1) * (reference**2).sum(axis=-1))
    correlations = np.divide(numerator, denominator, out=np.full(numerator.shape, np.nan), where=denominator > 0)
    counted = np.isfinite(correlations).sum(axis=1)
    sums = np.nansum(correlations, axis=1)
    return np.divide(sums, counted, out=np.full(sums.shape, np.nan), where=counted > 0)


def first_epoch_reaching(epochs, values, level: float) -> int | None:
    """The first epoch whose value reaches ``level`` and stays there through the last frame (None if never)."""
    values = np.asarray(values, dtype=np.float64)
    for i, epoch in enumerate(epochs):
        rest = values[i:]
        rest = rest[np.isfinite(rest)]
        if rest.size and np.all(rest >= level):
            return int(epoch)
    return None


def accuracy_per_class(predictions: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """(frames, classes): the share of each class's test images answered right at each frame."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    right = predictions == labels[np.newaxis]
    counts = np.bincount(labels, minlength=classes)[:classes]
    hits = np.stack([right[:, labels == c].sum(axis=1) for c in range(classes)], axis=1)
    return np.divide(hits, counts, out=np.full(hits.shape, np.nan), where=counts > 0)  # NaN: no such images


def precision_per_class(predictions: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """(frames, classes): of the images answered as each class, the share that are of that class (0 where a frame
    answers the class for no image: a class never named has not been learned)."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    right = predictions == labels[np.newaxis]
    named = np.stack([(predictions == c).sum(axis=1) for c in range(classes)], axis=1)
    hits = np.stack([(right & (predictions == c)).sum(axis=1) for c in range(classes)], axis=1)
    return np.divide(hits, named, out=np.zeros(hits.shape), where=named > 0)


def learned_at(
    epochs, per_class: np.ndarray, share: float = LEARNED_SHARE, precision: np.ndarray | None = None
) -> list[int | None]:
    """Per class, the first epoch from which its accuracy stays at ``share`` of its final accuracy or more, and,
    given ``precision`` (precision_per_class), its precision too: a network that answers one class for every
    image gets all of that class right without having learned it."""
    ratio = np.asarray(per_class, dtype=np.float64) / np.maximum(np.asarray(per_class)[-1], 1e-9)
    if precision is not None:
        precision = np.asarray(precision, dtype=np.float64)
        ratio = np.minimum(ratio, precision / np.maximum(precision[-1], 1e-9))
    return [first_epoch_reaching(epochs, ratio[:, c], share) for c in range(ratio.shape[1])]


def one_answer_sentence(epochs, predictions: np.ndarray, class_names, share: float = 0.5) -> str:
    """The snapshots at which one class takes most of the answers ('' if none): that class's accuracy line is
    high there without the class having been learned."""
    predictions = np.asarray(predictions)
    said = []
    for epoch, answers in zip(epochs, predictions):
        counts = np.bincount(answers, minlength=len(class_names))
        top = int(counts.argmax())
        if counts[top] >= share * len(answers):
            said.append(
                f"at epoch {epoch} it answers {class_names[top]} for {counts[top] / len(answers):.0%} of the images"
            )
    if not said:
        return ""
    listed = "; ".join(said[:3])
    return (
        f"{listed[0].upper()}{listed[1:]}{' (and later)' if len(said) > 3 else ''}: that class's line is high there "
        "because nearly everything is called by its name, not because it has been learned."
    )


def confusion(predictions: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """(true, predicted) counts of one frame's answers."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


@dataclass(frozen=True)
class Rerun:
    """A rerun of a run's recipe (the same settings and seed, trained again with snapshots): its own figures."""

    test_accuracy: float
    validation_accuracy: float
    trained_on: str  # from the run folder: user text, never markup

    def sentence(self, test_accuracy: float, validation_accuracy: float, selected_epoch: int, escape=str) -> str:
        """What the reader must know before reading the story, in plain words; ``escape`` makes the text from the
        run folder safe for where it is shown (markup.escape for Markdown)."""
        return (
            "This model was trained before snapshots were recorded, so this is the story of a rerun of its recipe: "
            f"the same settings and seed, trained again with snapshots ({escape(self.trained_on)}). Training is not "
            "repeatable bit for bit, so the rerun is a sibling of this model, not the same network: it reached "
            f"{self.validation_accuracy:.2%} on the validation images and {self.test_accuracy:.2%} on the test "
            f"images, this model {validation_accuracy:.2%} and {test_accuracy:.2%}. Its epoch {selected_epoch} is the "
            "rerun's selected model (the best on validation), and its feature-space map is the rerun's own, not the "
            "Feature space page's."
        )


@dataclass(frozen=True)
class Story:
    """A run's validated learning.npz and its test labels."""

    arrays: dict
    labels: np.ndarray

    @property
    def epochs(self) -> list[int]:
        return [int(e) for e in self.arrays["epochs"]]

    @property
    def selected_epoch(self) -> int:
        return int(self.arrays["selected_epoch"])

    @property
    def final(self) -> int:
        """The frame of the selected epoch: the run's model, which every other page shows."""
        return self.epochs.index(self.selected_epoch)

    def frame(self, epoch: int) -> int:
        return self.epochs.index(int(epoch))

    @property
    def rerun(self) -> Rerun | None:
        """The rerun whose training this story tells, when it is not the run's own (explain.learning
        --from-rerun: for runs trained before snapshots were recorded); None for the run's own story."""
        if "rerun_test_accuracy" not in self.arrays:
            return None
        return Rerun(
            float(self.arrays["rerun_test_accuracy"]),
            float(self.arrays["rerun_validation_accuracy"]),
            str(self.arrays["rerun_trained_on"]),
        )

    # Computed once per story: the page's Story is shared by every session (st.cache_resource), and the maps'
    # correlations (900 rank correlations) take most of a second.
    @cached_property
    def _predictions(self) -> np.ndarray:
        predictions = np.asarray(self.arrays["probabilities"], dtype=np.float32).argmax(axis=2)
        predictions.setflags(write=False)
        return predictions

    @cached_property
    def _drift(self) -> dict[str, np.ndarray]:
        predictions = self.predictions()
        return {
            "changed": answers_changed(predictions),
            "agreement": agreement_with_final(predictions, self.final),
            "maps": map_correlation_with_final(self.arrays["probe_maps"], self.final),
        }

    def predictions(self) -> np.ndarray:
        return self._predictions

    def map_mistakes(self) -> tuple[np.ndarray, np.ndarray]:
        """(true classes of the moving map's points, (frames, points) True where a frame answers one wrong)."""
        points = self.arrays["map_points"]
        labels = self.labels[points]
        return labels, self.predictions()[:, points] != labels[np.newaxis]

    def accuracy(self) -> np.ndarray:
        return (self.predictions() == self.labels[np.newaxis]).mean(axis=1)

    def accuracy_per_class(self) -> np.ndarray:
        return accuracy_per_class(self.predictions(), self.labels)

    def precision_per_class(self) -> np.ndarray:
        return precision_per_class(self.predictions(), self.labels)

    def classes_reading(self, class_names) -> str:
        """The per-class chart in words: which classes are learned first and last, and any snapshot where one
        class takes most answers (its line is high there without its being learned)."""
        learned = learned_first_sentence(
            self.epochs, self.accuracy_per_class(), class_names, self.precision_per_class()
        )
        return " ".join([learned, one_answer_sentence(self.epochs, self.predictions(), class_names)]).strip()

    def probe_map(self, frame: int, row: int) -> np.ndarray:
        """The raw map of probe image ``row`` at ``frame`` (the stored uint8 times its peak)."""
        return (
            self.arrays["probe_maps"][frame, row].astype(np.float32)
            / 255.0
            * float(self.arrays["probe_peaks"][frame, row])
        )

    def drift(self) -> dict[str, np.ndarray]:
        return self._drift

    def reading(self) -> str:
        """The drift chart in plain words, computed from it. Agreement and correlation are measured against the
        selected model, which matches itself by construction: settling only there is not settling."""
        drift = self.drift()
        final = self.selected_epoch
        answers = first_epoch_reaching(self.epochs, drift["agreement"], SETTLED_SHARE)
        maps = first_epoch_reaching(self.epochs, drift["maps"], MAPS_SETTLED)
        answers_settled = answers is not None and answers < final
        maps_settled = maps is not None and maps < final
        said = (
            f"By epoch {answers} the answers have settled: {SETTLED_SHARE:.0%} of the test images already get the "
            "answer the final model gives, and keep it"
            if answers_settled
            else f"The answers keep changing until the final model (epoch {final}): at no earlier snapshot do "
            f"{SETTLED_SHARE:.0%} of the test images get its answer and keep it"
        )
        if not maps_settled:
            said += (
                f"; the maps keep changing until the final model{'' if answers_settled else ' too'}: no earlier "
                f"snapshot's maps correlate with its maps at {MAPS_SETTLED:g} or more."
            )
            if answers_settled:
                said += " The network goes on changing *why* after it has settled *what*."
        elif answers_settled and maps > answers:
            said += (
                f"; the maps keep changing until epoch {maps} (only then do they correlate with the final maps at "
                f"{MAPS_SETTLED:g} or more): the network goes on changing *why* after it has settled *what*."
            )
        else:
            said += (
                f"; the maps settle by epoch {maps} (rank correlation with the final maps {MAPS_SETTLED:g} or more)."
            )
        return said


LAG_LEFT = 0.15  # a moving average with less than this share of the random start left has caught up


def average_lag_sentence(settings: dict, train_images: int, epochs, accuracy) -> str | None:
    """Why the first snapshots of a recipe that keeps a moving average of the weights answer so badly (None for a
    recipe without one). ``settings``: the run's recorded settings; ``accuracy``: test accuracy per snapshot."""
    from training.config import TrainConfig

    try:  # the settings as the run recorded them: unchecked, so anything unreadable means no sentence
        config = TrainConfig.from_dict(settings)
        steps_per_epoch = -(-int(train_images) // int(config.batch_size))
        momentum = float(config.ema_momentum_for(int(config.epochs) * steps_per_epoch))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 0 < momentum < 1 or steps_per_epoch <= 0:
        return None
    left = [momentum ** (steps_per_epoch * e) for e in epochs]
    if left[0] < LAG_LEFT:
        return None  # the average has forgotten the start by the first snapshot: no lag to explain
    caught_up = next((e for e, share in zip(epochs, left) if share < LAG_LEFT), None)
    said = (
        f"Why so few right at first? This recipe snapshots, validates and ships a moving average of the weights "
        f"(momentum {momentum:g} per step), not the weights being trained. The average starts at the random "
        f"first weights and forgets them slowly: after epoch {epochs[0]} ({steps_per_epoch * epochs[0]:,} steps) "
        f"{left[0]:.0%} of it is still the random start, so the snapshot answers {accuracy[0]:.0%} of the test "
        "images right, while the weights being trained already do much better (the Learning curves page shows "
        "their training accuracy)."
    )
    if caught_up is not None:
        said += f" By epoch {caught_up} less than {LAG_LEFT:.0%} of the start is left, and the average has caught up."
    return said


# --------------------------------------------------------------------------- the page's charts in words


def drift_summary(epochs, drift: dict) -> str:
    """The drift chart's main facts: the largest change and the last snapshot's agreement and map correlation."""
    changed = np.asarray(drift["changed"], dtype=np.float64)
    parts = []
    if np.isfinite(changed).any():
        biggest = int(np.nanargmax(changed))
        parts.append(
            f"The most answers changed between epochs {epochs[biggest - 1]} and {epochs[biggest]} "
            f"({changed[biggest]:.0%})."
        )
    maps = np.asarray(drift["maps"], dtype=np.float64)
    if np.isfinite(maps[0]):
        parts.append(f"At epoch {epochs[0]} the maps correlate {maps[0]:.2f} with the final maps.")
    return " ".join(parts) or "Only one snapshot: nothing to compare."


def learned_first_sentence(epochs, per_class: np.ndarray, class_names, precision: np.ndarray | None = None) -> str:
    """Which classes reach 90% of their final accuracy (and, given it, precision) first and stay there, and
    which last."""
    learned = learned_at(epochs, per_class, precision=precision)
    known = [(e, c) for c, e in enumerate(learned) if e is not None]
    never = [class_names[c] for c, e in enumerate(learned) if e is None]
    measure = "accuracy and precision" if precision is not None else "accuracy"
    unsettled = f" Never settled: {', '.join(never)}." if never else ""
    if not known:
        return f"No class settles near its final {measure} before the end."
    first = min(e for e, _ in known)
    last = max(e for e, _ in known)
    firsts = [class_names[c] for e, c in known if e == first]
    lasts = [class_names[c] for e, c in known if e == last]
    if first == last:
        who = "Every class" if not never else "Every other class"
        return f"{who} reaches {LEARNED_SHARE:.0%} of its final {measure} by epoch {first} and stays there.{unsettled}"
    return (
        f"Learned first (from epoch {first} on at {LEARNED_SHARE:.0%} or more of their final {measure}): "
        f"{', '.join(firsts)}. Learned last (epoch {last}): {', '.join(lasts)}.{unsettled}"
    )


def confusion_sentence(predictions: np.ndarray, labels: np.ndarray, class_names) -> str:
    """The confusion matrix's main fact: the most common mistake."""
    matrix = confusion(predictions, labels, len(class_names))
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true, answer = np.unravel_index(int(off.argmax()), off.shape)
    if off[true, answer] == 0:
        return "No mistakes."
    return (
        f"{np.trace(matrix) / matrix.sum():.1%} right. The most common mistake: {off[true, answer]:,} "
        f"{class_names[true]} images answered {class_names[answer]}."
    )


def image_answers(epochs, probabilities: np.ndarray, label: int, class_names, chosen: int | None = None) -> list[dict]:
    """One image's answer at each snapshot as rows (a phone's version of the stacked bars): the epoch (marked
    '*' where it is ``chosen``, as the bars' axis is), the answer, its probability, and the true class's."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    rows = []
    for epoch, row in zip(epochs, probabilities):
        answer = int(row.argmax())
        rows.append(
            {
                "epoch": f"{int(epoch)}{'*' if epoch == chosen else ''}",
                "answer": class_names[answer],
                "its probability": float(row[answer]),
                f"{class_names[label]} (true)": float(row[label]),
            }
        )
    return rows


def image_sentence(epochs, probabilities: np.ndarray, label: int, class_names) -> str:
    """One image's answers through training in words: when it was first right and whether it stayed right."""
    answers = np.asarray(probabilities).argmax(axis=1)
    right = answers == label
    if not right.any():
        return f"It is never answered {class_names[label]} at these snapshots."
    settled = first_epoch_reaching(epochs, right.astype(float), 1.0)
    first = epochs[int(np.argmax(right))]
    if settled == first:
        return (
            f"Answered right from epoch {first} on, with {probabilities[-1, label]:.0%} for {class_names[label]} "
            "at the last snapshot."
        )
    if settled is None:
        return f"First right at epoch {first}, but wrong again at the end."
    return f"First right at epoch {first}, wrong again after it, and right for good from epoch {settled}."


EXPLAINER = """
**What is a snapshot?** Training shows the network the 55,000 training images again and again; one pass is an
*epoch*. After some epochs the run saved the network's weights and asked it about the 10,000 test images, which
it never trains on. Each snapshot is the network as it was at that moment.

**Why do the answers change?** After each batch of training images, gradient descent changes every weight a
little in the direction that makes the right answers more likely. Early changes are large and answers jump
around; later ones are small, and most answers stop changing.

**Why do the maps keep changing after the answers settle?** A network can give the same answer for different
reasons. While it keeps training, it keeps adjusting *which* pixels matter, even for images it already gets
right. The drift chart shows both: the share of answers that changed, and how similar the maps are to the final
ones.

**The moving map.** Each point is a test image placed by the network's 250 last features: images the network
describes alike lie close together. At epoch 1 the classes overlap; as training goes on they separate. Where two
classes stay mixed (shirts, T-shirts, pullovers), the network keeps confusing them.
"""
