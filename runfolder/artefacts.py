"""The optional artefacts of a run folder, each read and validated once: the maps' scorecard
(``faithfulness.json``), the channel atlas (``atlas.npz``) and the feature-space map (``embedding.npz``).

A run folder can come from anyone (the Retrain page, a shared zip), so nothing in these files is
trusted: every array's shape and type is checked from its header *before* it is read (an 80-million-row
array is refused without loading it), numbers must be finite and in range, method, layer, verdict and
control names must be known, and no file may hold pickles. A failure raises the artefact's error
(``ScorecardError``, ``AtlasError``, ``EmbeddingError``) with a message naming the file and the problem,
which the pages show with their offer to recompute. Text in these files (labels, reasons) is user text:
the pages show it escaped (``analysis.markup``), never as Markdown. TensorFlow-free.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from explain import faithfulness, methods
from runfolder import runs
from runfolder.schema import NUM_CLASSES, TEST_IMAGES, pydantic_problem

SCORECARD_FILE, ATLAS_FILE, EMBEDDING_FILE = runs.FAITHFULNESS_FILE, runs.ATLAS_FILE, runs.EMBEDDING_FILE
LEARNING_FILE = runs.LEARNING_FILE
DEFAULT_MAPS_FILE = runs.DEFAULT_MAPS_FILE
MAX_SCORECARD_BYTES = 20_000_000  # the shipped one is about 0.4 MB

# The names a scorecard may use, from where they are defined (all TensorFlow-free).
METHODS = tuple(methods.METHODS)
LAYERS = (*methods.CAM_LAYERS, methods.INPUT_LAYER)
CONTROLS, TESTS = faithfulness.CONTROLS, faithfulness.TESTS
TEST_KEYS = tuple(faithfulness.TESTS_V2)  # scorecard version 2's seven tests
PIXEL_SETS = ("all", "garment")
# analysis.trust.VERDICTS (a test checks)
VERDICTS = ("passes", "partial", "blank", "not-faithful", "not-model", "neither")
STAGES = ("output", "dense", "block4", "block3", "block2", "block1", "stem")  # explain.randomisation.STAGES


class ArtefactError(ValueError):
    """An optional artefact is missing, unreadable, inconsistent or made for something else."""


class ScorecardError(ArtefactError):
    """faithfulness.json is missing, unreadable or made for another model; the message says which."""


class AtlasError(ArtefactError):
    """atlas.npz is missing, unreadable or made for another model or architecture; the message says which."""


class DefaultMapsError(ArtefactError):
    """default_maps.npz is missing, unreadable or made for another model; the message says which."""


class LearningError(ArtefactError):
    """learning.npz is missing, unreadable, inconsistent or made for another model; the message says which."""


class EmbeddingError(ArtefactError):
    """embedding.npz is missing, unreadable or made from other features; the message says which."""


# --------------------------------------------------------------------------- faithfulness.json

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Correlation = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Curve = Annotated[list[Finite], Field(min_length=2, max_length=1000)]
Text = Annotated[str, Field(max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Curves(_Strict):
    deletion: Curve
    insertion: Curve


class Beats(_Strict):
    deletion: dict[Literal["random", "garment", "edges"], Share | None]
    insertion: dict[Literal["random", "garment", "edges"], Share | None]

    @model_validator(mode="after")
    def _every_control(self):
        for test in TESTS:
            if set(getattr(self, test)) != set(CONTROLS):
                raise ValueError(f"{test} must name the controls {', '.join(CONTROLS)}")
        return self


class Paired(_Strict):
    """A map against a control in one test, over the images (explain.uncertainty.paired)."""

    difference: Finite | None
    ci: Annotated[list[Finite], Field(min_length=2, max_length=2)] | None
    win_share: Share | None
    sign_p: Share
    images: Annotated[int, Field(ge=0, le=TEST_IMAGES)]

    @model_validator(mode="after")
    def _ordered(self):
        if self.ci is not None and self.ci[0] > self.ci[1]:
            raise ValueError("a confidence interval's low end is above its high end")
        return self


class TestResult(_Strict):
    auc: Finite | None
    curve: Curve | None
    against: dict[Literal[CONTROLS], Paired]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _every_control(self):
        if set(self.against) != set(CONTROLS):
            raise ValueError(f"a test must compare with the controls {', '.join(CONTROLS)}")
        return self


class ControlTest(_Strict):
    auc: Finite
    curve: Curve


V2_ENTRY_FIELDS = ("tests", "holds", "randomisation_garment", "randomisation_draws", "where")


class Entry(_Strict):
    method: Literal[METHODS]  # type: ignore[valid-type]
    layer: Literal[LAYERS]  # type: ignore[valid-type]
    label: Text
    method_label: Text
    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    reason: Text
    passes: bool
    blank_rate: Share
    beats: Beats
    randomisation: dict[Literal[STAGES], Correlation | None]  # type: ignore[valid-type]
    curves: Curves
    runner_up_correlation: Correlation | None = None
    # version 2 only
    tests: dict[Literal[TEST_KEYS], TestResult] | None = None  # type: ignore[valid-type]
    holds: dict[Literal[TEST_KEYS], bool] | None = None  # type: ignore[valid-type]
    randomisation_garment: dict[Literal[STAGES], Correlation | None] | None = None  # type: ignore[valid-type]
    randomisation_draws: (
        dict[
            Literal[STAGES],
            dict[Literal[PIXEL_SETS], Annotated[list[Correlation | None], Field(min_length=1, max_length=100)]],
        ]  # type: ignore[valid-type]  # noqa: E501
        | None
    ) = None
    noise_ceiling: dict[Literal[PIXEL_SETS], Correlation | None] | None = None  # type: ignore[valid-type]
    where: Text | None = None

    @model_validator(mode="after")
    def _labels_name_the_method(self):
        # Labels are shown in charts and menus: they must be exactly what the method and layer are called.
        if (
            self.label != methods.method_label(self.method, self.layer)
            or self.method_label != methods.METHODS[self.method]
        ):
            raise ValueError(f"the labels of {self.method}@{self.layer} are not its names")
        return self


class Control(_Strict):
    deletion_auc: Finite
    insertion_auc: Finite
    curves: Curves
    tests: dict[Literal[TEST_KEYS], ControlTest] | None = None  # type: ignore[valid-type]  (version 2)


class Default(_Strict):
    key: Text
    method: Literal[METHODS]  # type: ignore[valid-type]
    layer: Literal[LAYERS]  # type: ignore[valid-type]
    label: Text
    passes: bool


class Sample(_Strict):
    indices: Annotated[list[Annotated[int, Field(ge=0, lt=TEST_IMAGES)]], Field(min_length=1, max_length=TEST_IMAGES)]
    images: Annotated[int, Field(ge=1, le=TEST_IMAGES)]
    cascade_images: Annotated[int, Field(ge=1, le=TEST_IMAGES)]


class Scorecard(_Strict):
    version: Literal[1, 2] = 1
    model_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    sample: Sample
    rule: dict
    stages: dict[Literal[STAGES], Text]  # type: ignore[valid-type]
    controls: dict[Literal["random", "garment", "edges"], Control]
    entries: Annotated[dict[str, Entry], Field(min_length=1, max_length=200)]
    default: Default
    seconds: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _consistent(self):
        if self.default.label != methods.method_label(self.default.method, self.default.layer):
            raise ValueError("the default's label is not its method's name")
        for key, entry in self.entries.items():
            if key != f"{entry.method}@{entry.layer}":
                raise ValueError(f"entry {key!r} describes {entry.method}@{entry.layer}")
        if self.default.key not in self.entries:
            raise ValueError(f"the default {self.default.key!r} is not among the entries")
        if self.default.key != f"{self.default.method}@{self.default.layer}":
            raise ValueError("the default's key, method and layer disagree")
        if self.version == 2:
            for key, entry in self.entries.items():
                missing = [f for f in V2_ENTRY_FIELDS if getattr(entry, f) is None]
                if missing or set(entry.tests) != set(TEST_KEYS) or set(entry.holds) != set(TEST_KEYS):
                    raise ValueError(f"entry {key!r} lacks version 2's {', '.join(missing) or 'seven tests'}")
            for name, control in self.controls.items():
                if control.tests is None or set(control.tests) != set(TEST_KEYS):
                    raise ValueError(f"control {name!r} lacks version 2's seven tests")
        return self


def read_scorecard(folder: Path, model_sha256: str | None = None) -> dict:
    """The run's scorecard, validated (and, given the model file's SHA-256, made for that model);
    ScorecardError naming the problem otherwise."""
    path = Path(folder) / SCORECARD_FILE
    if not path.is_file():
        raise ScorecardError(f"This run has no faithfulness scorecard yet ({path.name} is missing).")
    try:
        if path.stat().st_size > MAX_SCORECARD_BYTES:
            raise ValueError(f"it is {path.stat().st_size:,} bytes, far more than a scorecard needs")
        card = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
        Scorecard.model_validate(card)
    except ValidationError as exc:
        raise ScorecardError(f"{path.name} is not a valid scorecard ({pydantic_problem(exc)}).") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise ScorecardError(f"{path.name} cannot be read ({type(exc).__name__}: {exc}).") from exc
    if model_sha256 is not None and card["model_sha256"] != model_sha256:
        raise ScorecardError(
            f"{path.name} was computed for another model file than this run's model.keras (retrained since?)."
        )
    return card


def _refuse_constant(name: str):
    raise ValueError(f"it holds {name}, which is not a number")


# --------------------------------------------------------------------------- npz files, checked from headers


def npz_headers(path: Path) -> dict[str, tuple[tuple, np.dtype]]:
    """(shape, dtype) of every array in an .npz archive, read from the headers only (no data loaded)."""
    headers = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                raise ValueError(f"it holds {member!r}, which is not an array")
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                reader = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = reader(f)
            if dtype.hasobject:
                raise ValueError(f"{member[:-4]} holds Python objects (pickles are never read)")
            headers[member[:-4]] = (shape, dtype)
    return headers


def _load_checked(
    path: Path, expected: dict[str, tuple[tuple, str]], error: type[ArtefactError], optional: dict | None = None
) -> dict:
    """Check every expected array's shape (None: any length on that axis) and dtype kind from the headers,
    then load them. ``expected``: name -> (shape, kinds), kinds e.g. 'iu' or 'f' or 'U'; ``optional`` likewise,
    for arrays that may be absent (checked and loaded when present)."""
    try:
        headers = npz_headers(path)
    except Exception as exc:  # truncated, not a zip, a bad header, object arrays
        raise error(f"{path.name} cannot be read ({type(exc).__name__}: {exc}).") from exc
    expected = {**expected, **{k: v for k, v in (optional or {}).items() if k in headers}}
    for name, (shape, kinds) in expected.items():
        if name not in headers:
            raise error(f"{path.name} cannot be read (it has no array {name}).")
        stored, dtype = headers[name]
        if len(stored) != len(shape) or any(want is not None and got != want for got, want in zip(stored, shape)):
            wanted = tuple("N" if w is None else w for w in shape)
            raise error(f"{path.name} is inconsistent: {name} has shape {stored}, not {wanted}.")
        if dtype.kind not in kinds:
            raise error(f"{path.name} is inconsistent: {name} holds {dtype}, not the kind of values it should.")
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in expected}
    except Exception as exc:  # damaged data behind good headers
        raise error(f"{path.name} cannot be read ({type(exc).__name__}: {exc}).") from exc


def _finite(arrays: dict, names, path: Path, error: type[ArtefactError]) -> None:
    for name in names:
        if not np.isfinite(arrays[name]).all():
            raise error(f"{path.name} is inconsistent: {name} holds NaN or infinite values.")


# --------------------------------------------------------------------------- embedding.npz


def read_embedding(folder: Path, features: np.ndarray, features_digest: str) -> np.ndarray:
    """The run's (N, 2) map, checked against its features (their digest); EmbeddingError otherwise."""
    path = Path(folder) / EMBEDDING_FILE
    if not path.is_file():
        raise EmbeddingError(f"This run has no feature-space map yet ({path.name} is missing).")
    arrays = _load_checked(path, {"xy": ((len(features), 2), "f"), "features_sha256": ((), "U")}, EmbeddingError)
    _finite(arrays, ["xy"], path, EmbeddingError)
    if str(arrays["features_sha256"]) != features_digest:
        raise EmbeddingError(f"{path.name} was computed from other features than this run's (retrained since?).")
    return np.asarray(arrays["xy"], dtype=np.float32)


# --------------------------------------------------------------------------- atlas.npz

TOP = 9
ATLAS_ROWS = {  # array -> (trailing shape per channel, dtype kinds)
    "top_index": ((TOP,), "iu"),
    "top_value": ((TOP,), "f"),
    "top_peak": ((TOP, 2), "iu"),
    "peak_max": ((), "f"),
    "class_mean": ((NUM_CLASSES,), "f"),
    "level": ((), "f"),
    "best_mean": ((), "f"),
    "visual": ((28, 28), "u"),
    "visual_mean": ((), "f"),
    "knockout_correct": ((NUM_CLASSES,), "iu"),
    "knockout_true_probability": ((NUM_CLASSES,), "f"),
}
ATLAS_LAYER_NAME = re.compile(r"stem_conv|block(\d)_(3x3|5x5)(_reduce)?")  # groups: block, branch, reduction


def read_atlas(folder: Path, architecture: list[dict], images: int, model_sha256: str) -> dict:
    """The run's atlas arrays, checked against the run (its model file, its convolutions as architecture.json
    lists them, its number of test images) and for range; AtlasError naming the problem otherwise."""
    path = Path(folder) / ATLAS_FILE
    if not path.is_file():
        raise AtlasError(f"This run has no channel atlas yet ({path.name} is missing).")
    expected = [(row["name"], int(row["output_shape"][-1])) for row in architecture if row["type"] == "Conv2D"]
    total = sum(count for _, count in expected)
    layers = len(expected)
    arrays = _load_checked(
        path,
        {
            "model_sha256": ((), "U"),
            "layers": ((layers,), "U"),
            **{name: ((layers,), "iu") for name in ("channels", "field", "jump", "grid")},
            **{name: ((total, *shape), kinds) for name, (shape, kinds) in ATLAS_ROWS.items()},
            "probe_count": ((NUM_CLASSES,), "iu"),
            "probe_correct": ((NUM_CLASSES,), "iu"),
            "probe_true_probability": ((NUM_CLASSES,), "f"),
            "probe_indices": ((None,), "iu"),
            "images": ((), "iu"),
        },
        AtlasError,
    )
    if str(arrays["model_sha256"]) != model_sha256:
        raise AtlasError(f"{path.name} was computed for another model file than this run's (retrained since?).")
    listed = [(str(name), int(count)) for name, count in zip(arrays["layers"], arrays["channels"])]
    if sorted(listed) != sorted(expected):  # the same convolutions and widths (the atlas orders them by branch)
        raise AtlasError(
            f"{path.name} describes other convolutions than this run's architecture "
            f"({len(expected)} layers, {total} channels)."
        )
    if int(arrays["images"]) != images:
        raise AtlasError(f"{path.name} was made from {int(arrays['images'])} test images; this run has {images}.")
    _finite(arrays, [name for name, (_, kinds) in ATLAS_ROWS.items() if kinds == "f"], path, AtlasError)
    _finite(arrays, ["probe_true_probability"], path, AtlasError)
    problem = _atlas_range_problem(arrays, images)
    if problem:
        raise AtlasError(f"{path.name} is inconsistent: {problem}.")
    return arrays


def _atlas_range_problem(a: dict, images: int) -> str | None:
    """The first value out of range in an atlas whose shapes are right, or None."""
    if (a["field"] < 1).any() or (a["jump"] < 1).any() or (a["grid"] < 1).any() or (a["grid"] > 28).any():
        return "field, jump and grid must be positive (grid at most 28)"
    if a["top_index"].min() < 0 or a["top_index"].max() >= images:
        return f"top_index must name test images 0 to {images - 1}"
    grid_per_row = np.repeat(a["grid"], a["channels"])
    if a["top_peak"].min() < 0 or (a["top_peak"].max(axis=(1, 2)) >= grid_per_row).any():
        return "top_peak lies outside its layer's grid"
    count = a["probe_count"]
    if count.min() < 0 or len(a["probe_indices"]) != count.sum():
        return "probe_count must be non-negative and count the probe_indices"
    if len(a["probe_indices"]) and (a["probe_indices"].min() < 0 or a["probe_indices"].max() >= images):
        return f"probe_indices must name test images 0 to {images - 1}"
    for name in ("probe_correct", "knockout_correct"):
        if a[name].min() < 0 or (a[name] > count).any():
            return f"{name} must lie between 0 and the probe count of its class"
    for name in ("probe_true_probability", "knockout_true_probability"):
        if a[name].min() < 0 or (a[name] > count + 1e-3).any():
            return f"{name} must lie between 0 and the probe count of its class"
    for name in ("top_value", "peak_max", "class_mean", "best_mean", "visual_mean"):
        if a[name].min() < 0:
            return f"{name} holds negative activations (they are ReLU'd)"
    for name in a["layers"]:
        if not ATLAS_LAYER_NAME.fullmatch(str(name)):
            return "layers must name the network's convolutions"
    return None


# --------------------------------------------------------------------------- default_maps.npz


def read_default_maps(folder: Path, model_sha256: str, labels: np.ndarray, predictions: np.ndarray) -> dict:
    """The run's stored default maps and per-image tests (explain.default_maps), checked against the run's
    model file and stored outputs; DefaultMapsError naming the problem otherwise."""
    path = Path(folder) / DEFAULT_MAPS_FILE
    if not path.is_file():
        raise DefaultMapsError(f"This run has no stored default maps ({path.name} is missing).")
    count = len(labels)
    wrong = np.flatnonzero(predictions != labels)
    orders = 1 + len(CONTROLS)
    arrays = _load_checked(
        path,
        {
            "method": ((), "U"),
            "layer": ((), "U"),
            "model_sha256": ((), "U"),
            "targets": ((count,), "iu"),
            "map_u8": ((count, None, None), "u"),
            "map_peak": ((count,), "f"),
            "curves": ((count, len(TESTS), orders, None), "f"),
            "aucs": ((count, len(TESTS), orders), "f"),
            "other_index": ((len(wrong),), "iu"),
            "other_target": ((len(wrong),), "iu"),
            "other_u8": ((len(wrong), None, None), "u"),
            "other_peak": ((len(wrong),), "f"),
        },
        DefaultMapsError,
    )
    if str(arrays["model_sha256"]) != model_sha256:
        raise DefaultMapsError(f"{path.name} was computed for another model file than this run's (retrained since?).")
    if str(arrays["method"]) not in METHODS or str(arrays["layer"]) not in LAYERS:
        raise DefaultMapsError(f"{path.name} names an unknown method or layer.")
    _finite(arrays, ["map_peak", "curves", "aucs", "other_peak"], path, DefaultMapsError)
    # A map is stored at its layer's resolution (version 2) or stretched to the image (version 1).
    sides = {methods.MAP_SIDE[str(arrays["layer"])], methods.IMAGE_SIDE}
    problem = None
    if any(arrays[name].shape[1:] not in {(side, side) for side in sides} for name in ("map_u8", "other_u8")):
        problem = f"its maps must be square, {' or '.join(f'{s}x{s}' for s in sorted(sides))} at this layer"
    elif arrays["map_u8"].shape[1:] != arrays["other_u8"].shape[1:]:
        problem = "its predicted-class and true-class maps differ in size"
    elif not np.array_equal(arrays["targets"], predictions):
        problem = "its targets are not the run's predicted classes"
    elif not np.array_equal(arrays["other_index"], wrong) or not np.array_equal(arrays["other_target"], labels[wrong]):
        problem = "its true-class maps are not those of the run's misclassified images"
    elif min(arrays["map_peak"].min(initial=0), arrays["other_peak"].min(initial=0)) < 0:
        problem = "a map's peak is negative"
    elif (
        arrays["curves"].min() < 0
        or arrays["curves"].max() > 1.001
        or arrays["aucs"].min() < 0
        or arrays["aucs"].max() > 1.001
    ):
        problem = "its curves and AUCs must be probabilities"
    if problem:
        raise DefaultMapsError(f"{path.name} is inconsistent: {problem}.")
    return arrays


# --------------------------------------------------------------------------- learning.npz

MAX_FRAMES = 200


# Optional arrays of learning.npz (version 2): which model's training the story tells, and for a rerun of the
# run's recipe, the rerun's own figures.
LEARNING_RERUN_FIELDS = {
    "trained_model_sha256": "U",
    "rerun_test_accuracy": "f",
    "rerun_validation_accuracy": "f",
    "rerun_trained_on": "U",
}


def read_learning(folder: Path, model_sha256: str, labels: np.ndarray) -> dict:
    """The training's story (explain.learning), checked against the run (its model file, its test images) and
    for range; LearningError naming the problem otherwise."""
    path = Path(folder) / LEARNING_FILE
    if not path.is_file():
        raise LearningError(f"This run has no training story yet ({path.name} is missing).")
    images = len(labels)
    arrays = _load_checked(
        path,
        {
            "version": ((), "U"),
            "model_sha256": ((), "U"),
            "epochs": ((None,), "iu"),
            "selected_epoch": ((), "iu"),
            "probabilities": ((None, images, NUM_CLASSES), "f"),
            "map_points": ((None,), "iu"),
            "positions": ((None, None, 2), "f"),
            "probe": ((None,), "iu"),
            "probe_maps": ((None, None, 28, 28), "u"),
            "probe_peaks": ((None, None), "f"),
            "method": ((), "U"),
            "layer": ((), "U"),
            "seconds": ((), "f"),
        },
        LearningError,
        optional={name: ((), kind) for name, kind in LEARNING_RERUN_FIELDS.items()},
    )
    frames = len(arrays["epochs"])
    epochs = arrays["epochs"].astype(np.int64)
    problems = []
    if not 2 <= frames <= MAX_FRAMES:
        problems.append(f"it has {frames} frames")
    if np.any(np.diff(epochs) <= 0) or epochs.min(initial=1) < 1:
        problems.append("its epochs are not increasing from 1")
    if int(arrays["selected_epoch"]) not in set(epochs.tolist()):
        problems.append("the selected epoch is not among its frames")
    for name, first, second in (
        ("probabilities", frames, None),
        ("positions", frames, len(arrays["map_points"])),
        ("probe_maps", frames, len(arrays["probe"])),
        ("probe_peaks", frames, len(arrays["probe"])),
    ):
        shape = arrays[name].shape
        if shape[0] != first or (second is not None and shape[1] != second):
            problems.append(f"{name} has shape {shape}")
    for name in ("map_points", "probe"):
        values = arrays[name].astype(np.int64)
        if values.size == 0 or values.min() < 0 or values.max() >= images or len(np.unique(values)) != values.size:
            problems.append(f"{name} are not distinct test images")
    if str(arrays["method"]) not in METHODS or str(arrays["layer"]) not in LAYERS:
        problems.append("it names an unknown method or layer")
    if problems:
        raise LearningError(f"{path.name} is inconsistent: {'; '.join(problems)}.")
    _finite(arrays, ["probabilities", "positions", "probe_peaks", "seconds"], path, LearningError)
    probabilities = arrays["probabilities"]
    if probabilities.min() < 0 or probabilities.max() > 1.001:
        raise LearningError(f"{path.name} is inconsistent: probabilities outside [0, 1].")
    if arrays["probe_peaks"].min() < 0:
        raise LearningError(f"{path.name} is inconsistent: a map's peak is negative.")
    if str(arrays["model_sha256"]) != model_sha256:
        raise LearningError(f"{path.name} was made for another model file than this run's (retrained since?).")
    # A rerun's story (explain.learning --from-rerun): another model was trained; the page must say so.
    trained = str(arrays.get("trained_model_sha256", model_sha256))
    rerun = [name for name in LEARNING_RERUN_FIELDS if name.startswith("rerun_")]
    if trained != model_sha256:
        missing = [name for name in rerun if name not in arrays]
        if missing:
            raise LearningError(f"{path.name} tells a rerun's training without its {', '.join(missing)}.")
        _finite(arrays, ["rerun_test_accuracy", "rerun_validation_accuracy"], path, LearningError)
        if not all(0 <= float(arrays[name]) <= 1 for name in ("rerun_test_accuracy", "rerun_validation_accuracy")):
            raise LearningError(f"{path.name} is inconsistent: a rerun's accuracy outside [0, 1].")
        if not 0 < len(str(arrays["rerun_trained_on"])) <= 200:
            raise LearningError(
                f"{path.name} is inconsistent: where the rerun was trained is not said in 1-200 characters."
            )
    elif any(name in arrays for name in rerun):
        raise LearningError(f"{path.name} is inconsistent: it has a rerun's figures but tells this model's training.")
    return arrays
