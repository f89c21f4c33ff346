"""A run's hardware (model_card.json's "hardware") in a few words, for the pages. Only ``device`` is
required; the rest (the CPU's name, its core count, the GPUs) is said when the card holds it. The text comes
from a file: the pages escape it (analysis.markup)."""

from __future__ import annotations


def describe(hardware: dict) -> str:
    """'CPU (AMD EPYC, 2 cores)', 'GPU (NVIDIA H200)' or just the device."""
    device = str(hardware.get("device", "unknown"))
    details = [str(g) for g in hardware.get("gpus") or []] if device.upper().startswith("GPU") else []
    if not details:
        details = [str(hardware["cpu"])] if hardware.get("cpu") else []
        if isinstance(hardware.get("cpu_count"), int):
            details.append(f"{hardware['cpu_count']} cores")
    return f"{device} ({', '.join(details)})" if details else device
