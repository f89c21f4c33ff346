"""What a valid run folder holds, checked once when it is read.

Every page trusts the run folder: a metrics file that says 93.59% while the
stored outputs say 10% would make the app contradict itself, and a list where a
number belongs would crash a page. So ``check_run_folder`` reads each result
file, checks its structure with pydantic (types, ranges, required keys) and then
checks the files against each other (shapes, labels, the confusion matrix and
the accuracy recomputed from the stored probabilities). Each problem names the
file and what is wrong. TensorFlow-free: the model file is checked as the zip
archive Keras writes, not loaded.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

NUM_CLASSES = 10
TEST_IMAGES = 10_000  # the pages index the Fashion-MNIST test split by position
FEATURES = 250  # the penultimate layer's width (head_batchnorm)
# What Keras 3 puts in a .keras archive (Model.save); without them load_model cannot work.
KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
MAX_CONFIG_BYTES = 2_000_000  # the shipped config is about 60 KB

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
ClassList = Annotated[list[Fraction], Field(min_length=NUM_CLASSES, max_length=NUM_CLASSES)]


class RunFileError(ValueError):
    """One result file is unreadable or inconsistent; the message names the file and the problem."""

    def __init__(self, file: str, problem: str):
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


class _Strict(BaseModel):
    # Numbers must be numbers: "0.93" in a metrics file is a fault, not a value to coerce.
    model_config = ConfigDict(strict=True, extra="allow")


class PerClass(_Strict):
    precision: ClassList
    recall: ClassList
    f1: ClassList
    support: Annotated[list[Count], Field(min_length=NUM_CLASSES, max_length=NUM_CLASSES)]


class Metrics(_Strict):
    test_accuracy: Fraction
    test_loss: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    best_epoch: Annotated[int, Field(ge=1)]
    best_val_accuracy: Fraction
    epochs: Annotated[int, Field(ge=1)]
    per_class: PerClass
    confusion_matrix: Annotated[
        list[Annotated[list[Count], Field(min_length=NUM_CLASSES, max_length=NUM_CLASSES)]],
        Field(min_length=NUM_CLASSES, max_length=NUM_CLASSES),
    ]

    @model_validator(mode="after")
    def _best_epoch_in_run(self):
        if self.best_epoch > self.epochs:
            raise ValueError(f"best_epoch {self.best_epoch} is after the last epoch ({self.epochs})")
        return self


class Hardware(_Strict):
    device: str


class ModelCard(_Strict):
    command: str
    settings: dict
    hardware: Hardware
    wall_seconds: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    parameters: Annotated[int, Field(ge=1)]


class ArchitectureRow(_Strict):
    name: str
    type: str
    output_shape: list[int | None]
    params: Count
    connected_to: list[str]


def pydantic_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the top level"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _read_json(folder: Path, name: str):
    try:
        with open(folder / name, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunFileError(name, f"cannot be read as JSON ({type(exc).__name__}: {exc})") from exc


def _validated(model: type[BaseModel], data, name: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RunFileError(name, pydantic_problem(exc)) from exc


def read_metrics(folder: Path, name: str) -> dict:
    data = _read_json(folder, name)
    _validated(Metrics, data, name)
    return data


def read_card(folder: Path, name: str) -> dict:
    data = _read_json(folder, name)
    _validated(ModelCard, data, name)
    return data


def read_architecture(folder: Path, name: str) -> list[dict]:
    data = _read_json(folder, name)
    if not isinstance(data, list) or not data:
        raise RunFileError(name, f"must be a non-empty list of layers, not {type(data).__name__}")
    for i, row in enumerate(data):
        try:
            ArchitectureRow.model_validate(row)
        except ValidationError as exc:
            raise RunFileError(name, f"layer {i}: {pydantic_problem(exc)}") from exc
    return data


def check_history(folder: Path, name: str, columns) -> None:
    """history.csv has the expected numeric columns and epochs 1, 2, ...: checked with the csv module, so a
    page that shows no history (Home) does not pay pandas' import (0.5 s of a fresh server's first page)."""
    import csv

    try:
        with open(folder / name, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunFileError(name, f"cannot be read as CSV ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in columns if c not in fields]
    if missing:
        raise RunFileError(name, f"lacks the column(s) {', '.join(missing)}")
    if not rows:
        raise RunFileError(name, "has no epochs")
    for column in columns:
        try:
            [float(row[column]) for row in rows if row[column] not in (None, "")]
        except ValueError:
            raise RunFileError(name, f"column {column} holds text where numbers belong") from None
    if [row["epoch"] for row in rows] != [str(i) for i in range(1, len(rows) + 1)]:
        raise RunFileError(name, "epochs must run 1, 2, 3, ... without gaps")


def read_history(folder: Path, name: str) -> "object":
    """history.csv as a DataFrame (after check_history)."""
    import pandas as pd

    return pd.read_csv(folder / name)


def _stored_shape(npz, key: str) -> tuple | None:
    """The shape of one array in an .npz archive, read from its header (the data stays unread)."""
    if key not in npz.files:
        return None
    with npz.zip.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return reader(f)[0]


def read_outputs(folder: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32 (N, 10), labels int64 (N,)), checked for shape, range and sums."""
    try:
        with np.load(folder / name, allow_pickle=False) as outputs:
            probabilities = np.asarray(outputs["probabilities"], dtype=np.float32)
            labels = np.asarray(outputs["labels"])
            features_shape = _stored_shape(outputs, "features")
    except Exception as exc:  # zipfile, zlib, pickle refusal, missing keys: all mean "unreadable"
        raise RunFileError(name, f"cannot be read ({type(exc).__name__}: {exc})") from exc
    if probabilities.shape != (TEST_IMAGES, NUM_CLASSES):
        raise RunFileError(name, f"probabilities have shape {probabilities.shape}, not ({TEST_IMAGES}, 10)")
    if labels.shape != (TEST_IMAGES,) or labels.dtype.kind not in "iu":
        raise RunFileError(name, f"labels must be {TEST_IMAGES} whole numbers; got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise RunFileError(name, f"labels must be classes 0 to 9; found {int(labels.min())} to {int(labels.max())}")
    if features_shape is not None and features_shape != (TEST_IMAGES, FEATURES):
        raise RunFileError(name, f"features have shape {features_shape}, not ({TEST_IMAGES}, {FEATURES})")
    if not np.isfinite(probabilities).all():
        raise RunFileError(name, f"{int((~np.isfinite(probabilities)).sum())} probabilities are NaN or infinite")
    if probabilities.min() < 0 or probabilities.max() > 1 or np.abs(probabilities.sum(axis=1) - 1).max() > 1e-3:
        raise RunFileError(name, "probabilities must lie in [0, 1] and sum to 1 for every image")
    return probabilities, labels.astype(np.int64)


# What a model file of this network may contain: Keras's own layers of the architecture and the project's
# registered LRN. Anything else (a Lambda holding Python code, a class from another module, a switch that
# turns off safe deserialisation) is refused before Keras is asked to load the file.
SAFE_CLASSES = {
    "keras": {"DTypePolicy", "FloatDTypePolicy"},
    "keras.layers": {
        "InputLayer",
        "Conv2D",
        "Activation",
        "ReLU",
        "Dropout",
        "Concatenate",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "BatchNormalization",
    },
    "keras.initializers": {"GlorotUniform", "Ones", "Zeros", "HeNormal", "HeUniform", "RandomNormal"},
    "keras.regularizers": {"L2"},
    "keras.src.models.functional": {"Functional"},
    "model.lrn": {"LocalResponseNormalization"},
}
UNSAFE_KEYS = {"safe_mode", "enable_unsafe_deserialization", "function", "function_type", "module_objects"}
# Layers every Tiny GoogLeNet has (model/architecture.py names them; a test checks they agree).
REQUIRED_LAYERS = (
    "stem_conv",
    "stem_lrn",
    *(f"block{b}_{part}" for b in range(1, 5) for part in ("3x3_reduce", "3x3", "5x5_reduce", "5x5", "concat", "lrn")),
    "head_dense",
    "head_batchnorm",
    "predictions",
)


def _unsafe_parts(config) -> list[str]:
    """Every class or key in a Keras config that is not on the safe list, as 'module.Class' or 'key'."""
    found = []
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            found += [k for k in item if k in UNSAFE_KEYS]
            name = item.get("class_name")
            if isinstance(name, str) and name != "__keras_tensor__":
                module = item.get("module")
                if name not in SAFE_CLASSES.get(module if isinstance(module, str) else "", ()):
                    found.append(f"{module}.{name}")
            stack.extend(item.values())
    return sorted(set(found))


def check_model_file(folder: Path, name: str) -> None:
    """The model file is a Keras archive of this network that holds nothing unsafe to load: only the
    architecture's own layer classes, no Python code, no switch off safe mode (not whether it loads)."""
    try:
        with zipfile.ZipFile(folder / name) as archive:
            members = set(archive.namelist())
            missing = [m for m in KERAS_MEMBERS if m not in members]
            if not missing and archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise ValueError("its config.json is implausibly large")
            config = json.loads(archive.read("config.json")) if not missing else None
            metadata = json.loads(archive.read("metadata.json")) if not missing else None
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, RecursionError) as exc:
        raise RunFileError(name, f"is not a Keras model file ({type(exc).__name__}: {exc})") from exc
    if missing:
        raise RunFileError(name, f"is not a Keras model file (it lacks {', '.join(missing)})")
    if not isinstance(config, dict) or config.get("class_name") not in ("Functional", "Model", "Sequential"):
        raise RunFileError(name, "is not a Keras model file (its config.json describes no model)")
    layers = config.get("config", {}).get("layers") if isinstance(config.get("config"), dict) else None
    names = {layer.get("name") for layer in layers or [] if isinstance(layer, dict)}
    absent = [layer for layer in REQUIRED_LAYERS if layer not in names]
    if absent:
        others = " or others" if len(absent) > 1 else ""
        raise RunFileError(name, f"is not a Tiny GoogLeNet model (it has no layer {absent[0]}{others})")
    unsafe = _unsafe_parts([config, metadata])
    if unsafe:
        shown = ", ".join(unsafe[:3]) + (f" and {len(unsafe) - 3} more" if len(unsafe) > 3 else "")
        raise RunFileError(name, f"is not safe to load: it holds {shown}, which this network never uses")


def check_consistency(metrics: dict, probabilities: np.ndarray, labels: np.ndarray, outputs_name: str) -> None:
    """The metrics must say what the stored outputs say: same confusion matrix, same accuracy."""
    predictions = probabilities.argmax(axis=1)
    counts = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    if not np.array_equal(counts, np.asarray(metrics["confusion_matrix"])):
        raise RunFileError(
            outputs_name,
            "its predictions do not match the confusion matrix in metrics.json (files from different runs?)",
        )
    accuracy = float((predictions == labels).mean())
    if not math.isclose(accuracy, metrics["test_accuracy"], abs_tol=0.5 / TEST_IMAGES):
        raise RunFileError(
            outputs_name,
            f"its predictions score {accuracy:.2%}, but metrics.json says {metrics['test_accuracy']:.2%}",
        )
