"""Training settings: the shipped recipe's defaults, their valid ranges and validation.

TensorFlow-free, so the retraining page can validate a form without importing it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# name -> (lowest, highest) accepted value; checked by TrainConfig.validate().
RANGES = {
    "epochs": (1, 200),
    "batch_size": (8, 2048),
    "learning_rate": (1e-6, 1.0),
    "weight_decay": (0.0, 0.5),
    "ema_momentum": (0.0, 0.9999),
    "label_smoothing": (0.0, 0.5),
    "warmup_epochs": (0.0, 20.0),
    "erasing_probability": (0.0, 1.0),
    "shift_pixels": (0, 8),
    "limit": (64, 60_000),
    "val_size": (10, 30_000),
    "seed": (0, 2**31 - 1),
}
# Settings added after runs had been recorded, with the value that those older runs used.
SETTINGS_BEFORE_THEY_EXISTED = {"ema_momentum": 0.0}
# command-line name -> name in words (sgd: Nesterov momentum 0.9)
OPTIMIZERS = {"adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD with Nesterov momentum"}
SCHEDULES = ("cosine", "constant")


@dataclass
class TrainConfig:
    """One training run. The defaults are the recipe of the shipped model."""

    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 4e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.1  # decoupled: each step shrinks weights by learning_rate * weight_decay
    schedule: str = "cosine"  # linear warm-up, then cosine decay to zero
    warmup_epochs: float = 1.0  # capped at a tenth of the run, so short runs still decay
    label_smoothing: float = 0.1
    ema_momentum: float = 0.999  # > 0: validate, checkpoint and ship an exponential moving average of the weights
    augment: bool = True  # horizontal flips, shifts and random erasing as set below
    shift_pixels: int = 0  # random shifts of up to this many pixels (only when augment is on)
    erasing_probability: float = 0.0  # random erasing (only when augment is on)
    seed: int = 11
    val_size: int | None = None  # None: 5,000, or a tenth of --limit
    limit: int | None = None  # use only the first N training images

    @classmethod
    def original_recipe(cls, **overrides) -> "TrainConfig":
        """The original notebook's recipe with only its defects fixed (softmax, honest validation)."""
        base = dict(
            epochs=15,
            batch_size=32,
            learning_rate=1e-3,  # Keras' RMSprop default
            optimizer="rmsprop",
            weight_decay=0.0,
            schedule="constant",
            warmup_epochs=0.0,
            label_smoothing=0.0,
            ema_momentum=0.0,
            augment=False,
            erasing_probability=0.0,
        )
        base.update(overrides)
        return cls(**base)

    def augmentation_summary(self) -> str:
        """The augmentation in words, e.g. 'horizontal flips, shifts of up to 2 px'."""
        if not self.augment:
            return "none"
        parts = ["horizontal flips"]
        if self.shift_pixels:
            parts.append(f"shifts of up to {self.shift_pixels} px")
        if self.erasing_probability:
            parts.append(f"random erasing ({self.erasing_probability:.0%} of images)")
        return ", ".join(parts)

    def weight_averaging_summary(self) -> str:
        """'EMA 0.999' or 'none'."""
        return f"EMA {self.ema_momentum:g}" if self.ema_momentum else "none"

    @property
    def optimizer_name(self) -> str:
        """The optimizer in words, e.g. 'AdamW'."""
        return OPTIMIZERS.get(self.optimizer, self.optimizer)

    def optimizer_summary(self) -> str:
        """The optimisation recipe in words, e.g. 'AdamW (weight decay 0.1), 1-epoch warm-up then
        cosine decay, label smoothing 0.1, weights averaged (EMA 0.999)'."""
        parts = [self.optimizer_name]
        if self.weight_decay:
            parts[0] += f" (weight decay {self.weight_decay:g})"
        if self.schedule == "cosine":
            warmup = f"{self.warmup_epochs:g}-epoch warm-up then " if self.warmup_epochs else ""
            parts.append(f"{warmup}cosine decay")
        else:
            parts.append("constant learning rate")
        if self.label_smoothing:
            parts.append(f"label smoothing {self.label_smoothing:g}")
        if self.ema_momentum:
            parts.append(f"weights averaged ({self.weight_averaging_summary()})")
        return ", ".join(parts)

    def ema_momentum_for(self, total_steps: int) -> float:
        """The EMA momentum used for a run of ``total_steps``: the setting, capped so the average
        spans at most a tenth of the run. A momentum of m averages about 1 / (1 - m) steps, and the
        average starts at the random initial weights, so 0.999 would spoil a run of a few hundred steps."""
        if not self.ema_momentum:
            return 0.0
        return max(0.0, min(self.ema_momentum, 1.0 - 10.0 / max(total_steps, 1)))

    @property
    def effective_val_size(self) -> int:
        if self.val_size is not None:
            return self.val_size
        return 5000 if self.limit is None else max(self.limit // 10, RANGES["val_size"][0])

    def validate(self) -> list[str]:
        """Every problem with these settings, as messages a user can act on (empty if fine)."""
        problems = []
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{name} must be a number, not {value!r}.")
            elif not low <= value <= high:
                problems.append(f"{name} must be between {low:g} and {high:g}; got {value:g}.")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}.")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}; got {self.schedule!r}.")
        n_train = self.limit if self.limit is not None else 60_000
        if self.effective_val_size >= n_train:
            problems.append(
                f"The validation split ({self.effective_val_size}) must be smaller than the "
                f"training images used ({n_train})."
            )
        elif n_train - self.effective_val_size < self.batch_size:
            problems.append(
                f"batch_size ({self.batch_size}) is larger than the {n_train - self.effective_val_size} "
                "images left for training; lower it or use more images."
            )
        return problems

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Settings as a run recorded them; a setting added after the run takes the value that
        reproduces how runs trained before it existed (SETTINGS_BEFORE_THEY_EXISTED)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {**SETTINGS_BEFORE_THEY_EXISTED, **data}
        return cls(**{k: v for k, v in known.items() if k in fields})
