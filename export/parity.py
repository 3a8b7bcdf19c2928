"""Parity of the exported step against torch eager on a real validation tune."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from train.model import CharLSTM
from tunesmith.vocab import Vocabulary

# Two fp32 graphs of the same weights (torch vs export, exporter's vs fused form) must agree this closely.
MAX_LOGIT_DIFF = 1e-4


def _torch_step(model, token_ids, h, c):
    with torch.no_grad():
        logits, h, c = model.step(torch.as_tensor(token_ids, dtype=torch.int64), h, c)
    return logits.numpy(), h, c


def check_parity(model: CharLSTM, onnx_path, vocab: Vocabulary, tune: str, batch_size: int = 1,
                 greedy_chars: int = 200) -> dict:
    """Feeds `tune` through both step by step (teacher forcing), then continues it greedily.

    Returns the max |logit difference| over every step and whether the greedy continuations match.
    Row r of a batch reads the tune rotated by r characters, so rows differ and must not mix.
    """
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    model.eval()
    ids = vocab.encode(tune)
    h_t, c_t = model.initial_state(batch_size)
    h_o, c_o = h_t.numpy(), c_t.numpy()
    max_diff = 0.0
    rows = np.stack([np.roll(ids, -r) for r in range(batch_size)], axis=1)  # [T, B]
    for tokens in rows:
        logits_t, h_t, c_t = _torch_step(model, tokens, h_t, c_t)
        logits_o, h_o, c_o = session.run(None, {"token": tokens, "h": h_o, "c": c_o})
        max_diff = max(max_diff, float(np.abs(logits_t - logits_o).max()))

    continuation_torch, continuation_onnx = [], []
    token_t = token_o = rows[-1]
    for _ in range(greedy_chars):
        logits_t, h_t, c_t = _torch_step(model, token_t, h_t, c_t)
        logits_o, h_o, c_o = session.run(None, {"token": token_o, "h": h_o, "c": c_o})
        max_diff = max(max_diff, float(np.abs(logits_t - logits_o).max()))
        token_t, token_o = logits_t.argmax(-1), logits_o.argmax(-1).astype(np.int64)
        continuation_torch.append(token_t)
        continuation_onnx.append(token_o)
    torch_text = [vocab.decode(col) for col in np.stack(continuation_torch, 1)]
    onnx_text = [vocab.decode(col) for col in np.stack(continuation_onnx, 1)]
    return {
        "batch_size": batch_size,
        "teacher_forced_chars": len(ids),
        "max_abs_logit_diff": max_diff,
        "greedy_chars": greedy_chars,
        "greedy_identical": torch_text == onnx_text,
        "greedy_continuation": onnx_text[0],
    }
