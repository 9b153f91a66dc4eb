"""Plots written beside the JSON results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(record: dict, path: Path) -> Path:
    """Loss and accuracy per epoch (train and validation) of a train.json record."""
    plt = _pyplot()
    h = record["history"]
    epochs = range(1, len(h["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, h["loss"], label="train")
    if "val_loss" in h:
        ax1.plot(epochs, h["val_loss"], label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax2.plot(epochs, h["accuracy"], label="train")
    if "val_accuracy" in h:
        ax2.plot(epochs, h["val_accuracy"], label="validation")
    ax2.axhline(record["test_accuracy"], color="k", ls="--", lw=1, label=f"test {record['test_accuracy']:.3f}")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{record['model']} on {record['dataset']}, {record['scheme']['name']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
