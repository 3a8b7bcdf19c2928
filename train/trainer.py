"""The training loop: random windows of the training text, Adam, best checkpoint on validation."""
from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from train.config import Config
from tunesmith.vocab import Vocabulary

from .batches import RandomWindows, TunesInOrder
from .data import Split
from .evaluate import validation_nats_per_char
from .model import CharLSTM, count_parameters

CHECKPOINT_NAME = "best.pt"


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


BATCHING = {"random": RandomWindows, "in_order": TunesInOrder}


def learning_rate_at(step: int, config: Config) -> float:
    """Linear warm-up, then constant or cosine decay to min_learning_rate at max_steps."""
    if config.warmup_steps and step <= config.warmup_steps:
        return config.learning_rate * step / config.warmup_steps
    if config.lr_schedule == "constant":
        return config.learning_rate
    progress = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    return config.min_learning_rate + 0.5 * (config.learning_rate - config.min_learning_rate) * (
        1 + math.cos(math.pi * min(1.0, progress)))


def save_checkpoint(path: Path, model: CharLSTM, vocab: Vocabulary, step: int, val_loss: float) -> None:
    torch.save({"model": model.state_dict(), "config": model.config.to_dict(), "vocab": vocab.chars,
                "step": step, "val_nats_per_char": val_loss}, path)


def load_checkpoint(path: str | Path) -> tuple[CharLSTM, Vocabulary, dict]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = CharLSTM(Config.from_dict(saved["config"]))
    model.load_state_dict(saved["model"])
    model.eval()
    return model, Vocabulary(saved["vocab"]), saved


def train(config: Config, split: Split, vocab: Vocabulary, out_dir: str | Path,
          device: torch.device | None = None, progress: bool = True, provenance: dict | None = None) -> dict:
    """Trains, keeping the checkpoint with the lowest validation loss; returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = device or pick_device()
    torch.manual_seed(config.seed)
    if config.batching not in BATCHING:
        raise ValueError(f"batching must be one of {sorted(BATCHING)}, not {config.batching!r}")
    if config.lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be constant or cosine, not {config.lr_schedule!r}")
    batches = iter(BATCHING[config.batching](split.train, vocab, config.batch_size, config.seq_len,
                                             torch.Generator().manual_seed(config.seed)))

    config.vocab_size = len(vocab)
    model = CharLSTM(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)

    history: list[dict] = []
    best = {"step": 0, "val_nats_per_char": math.inf}
    evals_since_best = 0
    running = None
    state = None
    started = time.perf_counter()
    bar = tqdm(range(1, config.max_steps + 1), desc="train", disable=not progress, dynamic_ncols=True)
    for step in bar:
        inputs, targets, carry_state = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        # A carried state is detached: gradients stop at the window edge (truncated BPTT).
        state = tuple(s.detach() for s in state) if carry_state and state is not None else None
        logits, state = model(inputs.to(device), state)
        loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), targets.to(device).reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        bar.set_postfix(loss=f"{running:.3f}", best_val=f"{best['val_nats_per_char']:.3f}")

        if step % config.eval_every == 0 or step == config.max_steps:
            val = validation_nats_per_char(model, split.validation, vocab)
            history.append({"step": step, "train_loss": running, "val_nats_per_char": val,
                            "seconds": round(time.perf_counter() - started, 2)})
            if val < best["val_nats_per_char"]:
                best = {"step": step, "val_nats_per_char": val}
                evals_since_best = 0
                save_checkpoint(out_dir / CHECKPOINT_NAME, model, vocab, step, val)
            else:
                evals_since_best += 1
            write_metrics(out_dir, history)
            if config.patience and evals_since_best >= config.patience:
                bar.write(f"stopping early at step {step}: no improvement for {config.patience} evaluations")
                break
    bar.close()

    summary = {
        "best_step": best["step"],
        "best_val_nats_per_char": best["val_nats_per_char"],
        "steps_run": history[-1]["step"] if history else 0,
        "train_seconds": round(time.perf_counter() - started, 1),
        "parameters": count_parameters(model),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "config": config.to_dict(),
        **(provenance or {}),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_losses(out_dir / "loss_curve.png", history, best)
    return summary


def write_metrics(out_dir: Path, history: list[dict]) -> None:
    with open(out_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    (out_dir / "metrics.json").write_text(json.dumps(history, indent=1) + "\n")


def plot_losses(path: Path, history: list[dict], best: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")  # headless: the curve goes to a file
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, [h["train_loss"] for h in history], label="train (running mean)")
    ax.plot(steps, [h["val_nats_per_char"] for h in history], label="validation")
    if best["step"]:
        ax.axvline(best["step"], color="grey", linestyle=":", label=f"best step {best['step']}")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per character")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
