"""Exports one step of the character LSTM as a single self-contained ONNX file."""
from __future__ import annotations

from pathlib import Path

import onnx
import torch
from torch import nn

from train.model import CharLSTM

OPSET = 18
INPUT_NAMES = ["token", "h", "c"]
OUTPUT_NAMES = ["logits", "h_out", "c_out"]


class OneStep(nn.Module):
    """token [B] int64, h/c [layers, B, H] float32 -> logits [B, V], h_out, c_out."""

    def __init__(self, model: CharLSTM):
        super().__init__()
        self.model = model

    def forward(self, token, h, c):
        return self.model.step(token, h, c)


def export_step(model: CharLSTM, path: str | Path) -> onnx.ModelProto:
    model.eval()
    path = Path(path)
    batch = torch.export.Dim("batch", min=1, max=4096)
    example_batch = 2  # not 1: a size-1 example would be specialised away
    h, c = model.initial_state(example_batch)
    token = torch.zeros(example_batch, dtype=torch.int64)
    onnx_program = torch.onnx.export(
        OneStep(model).eval(), (token, h, c), dynamo=True, opset_version=OPSET,
        input_names=INPUT_NAMES, output_names=OUTPUT_NAMES,
        dynamic_shapes=({0: batch}, {1: batch}, {1: batch}),
        optimize=True, verbose=False,
    )
    onnx_program.save(str(path), external_data=False)  # one file: what the app and a Space load
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto
