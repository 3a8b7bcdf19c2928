"""Other ONNX graphs of the same one-step cell, built from an exported step's weights (numpy + onnx).

    python -m export.cell_variants --artifacts model_artifacts --out runs/cells

The exported step is ~20 nodes (an embedding Gather, two MatMuls, two bias Adds, the gate
arithmetic). On a GPU each node is at least one kernel, and at batch 1 kernels are mostly launch
and latency, so fewer nodes can mean a faster step. Two rewrites of a one-layer cell, same IO:
- folded: the embedding and the input projection (with both biases) folded into one [V, 4H] table,
  so the input side is one Gather and the recurrent product one Gemm that adds it (C input);
- lstm_op: ONNX's fused `LSTM` operator (cuDNN's on the CUDA provider), gates reordered to ONNX's
  i, o, f, c.
Each is checked against the original teacher-forced on a corpus tune (`max_logit_diff`).
benchmarks/gpu_cell.py times them on a GPU; whichever wins there is what export should write.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from tunesmith.engine import zero_state
from tunesmith.model import DEFAULT_ARTIFACTS, ModelDescription, load_description

from .onnx_step import INPUT_NAMES, OPSET, OUTPUT_NAMES

VARIANTS = ("folded", "lstm_op")


def cell_weights(path: Path, description: ModelDescription) -> dict[str, np.ndarray]:
    """The one-layer cell's weights from an exported step file, found by their shapes."""
    layers, hidden = description.state_shape
    if layers != 1:
        raise ValueError(f"cell variants are built for one-layer cells ({path} has {layers})")
    vocab, embed = len(description.vocab), description.embedding_size
    wanted = {"embedding": (vocab, embed), "w_ih_t": (embed, 4 * hidden), "w_hh_t": (hidden, 4 * hidden),
              "bias": (4 * hidden,), "head_w": (vocab, hidden), "head_b": (vocab,)}
    by_shape = {}
    for tensor in onnx.load(str(path)).graph.initializer:
        by_shape.setdefault(tuple(tensor.dims), []).append(numpy_helper.to_array(tensor))
    weights = {}
    for name, shape in wanted.items():
        found = by_shape.get(shape, [])
        if len(found) != 1:
            raise ValueError(f"{path}: expected one {shape} weight for {name}, found {len(found)}")
        weights[name] = found[0].astype(np.float32)
    return weights


def _io(hidden: int):
    token, h, c = INPUT_NAMES
    inputs = [helper.make_tensor_value_info(token, TensorProto.INT64, ["batch"]),
              helper.make_tensor_value_info(h, TensorProto.FLOAT, [1, "batch", hidden]),
              helper.make_tensor_value_info(c, TensorProto.FLOAT, [1, "batch", hidden])]
    logits, h_out, c_out = OUTPUT_NAMES
    outputs = [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["batch", None]),
               helper.make_tensor_value_info(h_out, TensorProto.FLOAT, [1, "batch", hidden]),
               helper.make_tensor_value_info(c_out, TensorProto.FLOAT, [1, "batch", hidden])]
    return inputs, outputs


def _model(name, nodes, inputs, outputs, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs,
                              [numpy_helper.from_array(np.ascontiguousarray(v), k) for k, v in initializers.items()])
    # IR version 10: what the exported step uses and every ONNX Runtime here reads
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)
    onnx.checker.check_model(model, full_check=True)
    return model


def folded(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """Embedding · W_ih + both biases as one table (computed in float64), one Gemm for the rest."""
    hidden = weights["w_hh_t"].shape[0]
    table = (weights["embedding"].astype(np.float64) @ weights["w_ih_t"].astype(np.float64)
             + weights["bias"].astype(np.float64)).astype(np.float32)
    token, h, c = INPUT_NAMES
    logits, h_out, c_out = OUTPUT_NAMES
    n = helper.make_node
    nodes = [
        n("Gather", ["input_table", token], ["input_gates"], axis=0),
        n("Squeeze", [h, "axis0"], ["h0"]),
        n("Squeeze", [c, "axis0"], ["c0"]),
        n("Gemm", ["h0", "w_hh_t", "input_gates"], ["gates"]),
        n("Split", ["gates"], ["i", "f", "g", "o"], axis=1, num_outputs=4),
        n("Sigmoid", ["i"], ["si"]), n("Sigmoid", ["f"], ["sf"]), n("Tanh", ["g"], ["tg"]),
        n("Sigmoid", ["o"], ["so"]),
        n("Mul", ["sf", "c0"], ["kept"]), n("Mul", ["si", "tg"], ["written"]),
        n("Add", ["kept", "written"], ["c1"]),
        n("Tanh", ["c1"], ["tc"]), n("Mul", ["so", "tc"], ["h1"]),
        n("Gemm", ["h1", "head_w", "head_b"], [logits], transB=1),
        n("Unsqueeze", ["h1", "axis0"], [h_out]),
        n("Unsqueeze", ["c1", "axis0"], [c_out]),
    ]
    inputs, outputs = _io(hidden)
    return _model("tunesmith_step_folded", nodes, inputs, outputs, {
        "input_table": table, "w_hh_t": weights["w_hh_t"], "head_w": weights["head_w"],
        "head_b": weights["head_b"], "axis0": np.array([0], np.int64)})


def lstm_op(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """ONNX's LSTM operator for the cell (gate blocks reordered from PyTorch's i,f,g,o to i,o,f,c)."""
    hidden = weights["w_hh_t"].shape[0]

    def onnx_order(rows):  # rows: [4H, ...] in PyTorch order
        i, f, g, o = np.split(rows, 4, axis=0)
        return np.concatenate([i, o, f, g], axis=0)

    token, h, c = INPUT_NAMES
    logits, h_out, c_out = OUTPUT_NAMES
    n = helper.make_node
    nodes = [
        n("Gather", ["embedding", token], ["x"], axis=0),
        n("Unsqueeze", ["x", "axis0"], ["x_seq"]),
        n("LSTM", ["x_seq", "W", "R", "B", "", h, c], ["", h_out, c_out], hidden_size=hidden),
        n("Squeeze", [h_out, "axis0"], ["h1"]),
        n("Gemm", ["h1", "head_w", "head_b"], [logits], transB=1),
    ]
    bias = np.concatenate([onnx_order(weights["bias"]), np.zeros(4 * hidden, np.float32)])
    inputs, outputs = _io(hidden)
    return _model("tunesmith_step_lstm_op", nodes, inputs, outputs, {
        "embedding": weights["embedding"], "W": onnx_order(weights["w_ih_t"].T)[None],
        "R": onnx_order(weights["w_hh_t"].T)[None], "B": bias[None], "head_w": weights["head_w"],
        "head_b": weights["head_b"], "axis0": np.array([0], np.int64)})


BUILDERS = {"folded": folded, "lstm_op": lstm_op}


def max_logit_diff(reference: Path, candidate: Path, description: ModelDescription, text: str,
                   batch: int = 2) -> float:
    """Largest |logit difference| teacher-forced over `text` (row r reads it rotated by r)."""
    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (reference, candidate)]
    ids = description.vocab.encode(text)
    rows = np.stack([np.roll(ids, -r) for r in range(batch)], axis=1).astype(np.int64)
    states = [zero_state(description, batch) for _ in sessions]
    states = [(s.h, s.c) for s in states]
    worst = 0.0
    for tokens in rows:
        outs = []
        for k, session in enumerate(sessions):
            logits, h, c = session.run(None, {INPUT_NAMES[0]: tokens, INPUT_NAMES[1]: states[k][0],
                                              INPUT_NAMES[2]: states[k][1]})
            states[k] = (h, c)
            outs.append(logits)
        worst = max(worst, float(np.abs(outs[0] - outs[1]).max()))
    return worst


def write_variants(artifacts: Path, out: Path, text: str) -> dict:
    description = load_description(artifacts)
    source = description.weights["fp32"].check()
    weights = cell_weights(source, description)
    out.mkdir(parents=True, exist_ok=True)
    report = {}
    for name, build in BUILDERS.items():
        path = out / f"{name}.onnx"
        onnx.save(build(weights), str(path))
        report[name] = {"file": str(path), "nodes": len(onnx.load(str(path)).graph.node),
                        "max_logit_diff": max_logit_diff(source, path, description, text)}
    report["original"] = {"file": str(source), "nodes": len(onnx.load(str(source)).graph.node)}
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.cell_variants", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--out", default="runs/cells")
    parser.add_argument("--tune", default="data/irish.abc", help="a corpus file; its first 600 characters are read")
    args = parser.parse_args(argv)
    text = Path(args.tune).read_text(encoding="utf-8")[:600]
    print(json.dumps(write_variants(Path(args.artifacts), Path(args.out), text), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
