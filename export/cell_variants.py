"""Other ONNX graphs of the same one-step cell, built from an exported step's weights (numpy + onnx).

    python -m export.cell_variants --artifacts model_artifacts --out runs/cells
    python -m export.cell_variants --artifacts model_artifacts --fuse   (rewrites model.onnx)

The exported step is ~20 nodes (an embedding Gather, two MatMuls, two bias Adds, the gate
arithmetic). On a GPU each node is at least one kernel, and at batch 1 kernels are mostly launch
and latency, so fewer nodes can mean a faster step. Two rewrites of a one-layer cell, same IO:
- folded: the embedding and the input projection (with both biases) folded into one [V, 4H] table,
  so the input side is one Gather and the recurrent product one Gemm that adds it (C input);
- lstm_op: ONNX's fused `LSTM` operator (cuDNN's on the CUDA provider), gates reordered to ONNX's
  i, o, f, c.
Each is checked against the original teacher-forced on a corpus tune (`max_logit_diff`).
benchmarks/gpu_cell.py times them on a GPU. On an H100 the fused LSTM won (52.7 µs a batch-1
step in a CUDA graph against 65.2 folded and 75.0 for the exporter's graph), so export writes it
as model.onnx (`fuse_folder`); the int8 file is quantised from the MatMul form of the same weights
(`matmul_form`), since ONNX Runtime's static quantiser leaves an LSTM node in float.
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

from .describe import update_description
from .onnx_step import INPUT_NAMES, OPSET, OUTPUT_NAMES
from .parity import MAX_LOGIT_DIFF



def _torch_order(rows: np.ndarray) -> np.ndarray:
    """Gate blocks along axis 0 from ONNX's i, o, f, c back to PyTorch's i, f, g(=c), o."""
    i, o, f, g = np.split(rows, 4, axis=0)
    return np.concatenate([i, f, g, o], axis=0)


def _onnx_order(rows: np.ndarray) -> np.ndarray:
    """Gate blocks along axis 0 from PyTorch's i, f, g, o to ONNX's i, o, f, c."""
    i, f, g, o = np.split(rows, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def cell_weights(path: Path, description: ModelDescription) -> dict[str, np.ndarray]:
    """The one-layer cell's weights, found by their shapes, from a step file in the exporter's
    MatMul form or in the fused-LSTM form (the folded table cannot be split back)."""
    layers, hidden = description.state_shape
    if layers != 1:
        raise ValueError(f"cell graphs are built for one-layer cells ({path} has {layers})")
    vocab, embed = len(description.vocab), description.embedding_size
    by_shape = {}
    for tensor in onnx.load(str(path)).graph.initializer:
        by_shape.setdefault(tuple(tensor.dims), []).append(numpy_helper.to_array(tensor).astype(np.float32))

    def one(shape, name):
        found = by_shape.get(shape, [])
        if len(found) != 1:
            raise ValueError(f"{path}: expected one {shape} weight for {name}, found {len(found)}")
        return found[0]

    weights = {"embedding": one((vocab, embed), "embedding"), "head_w": one((vocab, hidden), "head weight"),
               "head_b": one((vocab,), "head bias")}
    if (1, 4 * hidden, embed) in by_shape:  # the fused LSTM form
        weights["w_ih_t"] = _torch_order(one((1, 4 * hidden, embed), "W")[0]).T
        weights["w_hh_t"] = _torch_order(one((1, 4 * hidden, hidden), "R")[0]).T
        both = one((1, 8 * hidden), "B")[0]
        weights["bias"] = _torch_order(both[:4 * hidden] + both[4 * hidden:])
    else:
        weights["w_ih_t"] = one((embed, 4 * hidden), "input projection")
        weights["w_hh_t"] = one((hidden, 4 * hidden), "recurrent projection")
        weights["bias"] = one((4 * hidden,), "bias")
    return {k: np.ascontiguousarray(v) for k, v in weights.items()}


def is_fused(path: Path) -> bool:
    """Whether a step file is the fused-LSTM form (which ORT's static quantiser cannot quantise)."""
    return any(node.op_type == "LSTM" for node in onnx.load(str(path), load_external_data=False).graph.node)


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


def _gate_arithmetic() -> list:
    """gates [B, 4H] (PyTorch order i, f, g, o), c0 -> c1, h1."""
    n = helper.make_node
    return [
        n("Split", ["gates"], ["i", "f", "g", "o"], axis=1, num_outputs=4),
        n("Sigmoid", ["i"], ["si"]), n("Sigmoid", ["f"], ["sf"]), n("Tanh", ["g"], ["tg"]),
        n("Sigmoid", ["o"], ["so"]),
        n("Mul", ["sf", "c0"], ["kept"]), n("Mul", ["si", "tg"], ["written"]),
        n("Add", ["kept", "written"], ["c1"]),
        n("Tanh", ["c1"], ["tc"]), n("Mul", ["so", "tc"], ["h1"]),
    ]


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
        *_gate_arithmetic(),
        n("Gemm", ["h1", "head_w", "head_b"], [logits], transB=1),
        n("Unsqueeze", ["h1", "axis0"], [h_out]),
        n("Unsqueeze", ["c1", "axis0"], [c_out]),
    ]
    inputs, outputs = _io(hidden)
    return _model("tunesmith_step_folded", nodes, inputs, outputs, {
        "input_table": table, "w_hh_t": weights["w_hh_t"], "head_w": weights["head_w"],
        "head_b": weights["head_b"], "axis0": np.array([0], np.int64)})


def matmul_form(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The exporter's form (embedding Gather, two MatMuls, the gate arithmetic): what ONNX
    Runtime's static quantiser turns into int8 matrix products."""
    hidden = weights["w_hh_t"].shape[0]
    token, h, c = INPUT_NAMES
    logits, h_out, c_out = OUTPUT_NAMES
    n = helper.make_node
    nodes = [
        n("Gather", ["embedding", token], ["x"], axis=0),
        n("MatMul", ["x", "w_ih_t"], ["input_gates"]),
        n("Squeeze", [h, "axis0"], ["h0"]),
        n("Squeeze", [c, "axis0"], ["c0"]),
        n("MatMul", ["h0", "w_hh_t"], ["recurrent_gates"]),
        n("Add", ["input_gates", "recurrent_gates"], ["summed"]),
        n("Add", ["summed", "bias"], ["gates"]),
        *_gate_arithmetic(),
        n("Gemm", ["h1", "head_w", "head_b"], [logits], transB=1),
        n("Unsqueeze", ["h1", "axis0"], [h_out]),
        n("Unsqueeze", ["c1", "axis0"], [c_out]),
    ]
    inputs, outputs = _io(hidden)
    return _model("tunesmith_step", nodes, inputs, outputs, {
        "embedding": weights["embedding"], "w_ih_t": weights["w_ih_t"], "w_hh_t": weights["w_hh_t"],
        "bias": weights["bias"], "head_w": weights["head_w"], "head_b": weights["head_b"],
        "axis0": np.array([0], np.int64)})


def lstm_op(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """ONNX's LSTM operator for the cell (gate blocks reordered from PyTorch's i,f,g,o to i,o,f,c)."""
    hidden = weights["w_hh_t"].shape[0]
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
    bias = np.concatenate([_onnx_order(weights["bias"]), np.zeros(4 * hidden, np.float32)])
    inputs, outputs = _io(hidden)
    return _model("tunesmith_step_lstm_op", nodes, inputs, outputs, {
        "embedding": weights["embedding"], "W": _onnx_order(weights["w_ih_t"].T)[None],
        "R": _onnx_order(weights["w_hh_t"].T)[None], "B": bias[None], "head_w": weights["head_w"],
        "head_b": weights["head_b"], "axis0": np.array([0], np.int64)})


BUILDERS = {"folded": folded, "lstm_op": lstm_op, "matmul": matmul_form}


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


def fuse_folder(folder: Path, tune: str, max_diff: float) -> dict:
    """Rewrites a model folder's one-layer fp32 step as ONNX's fused LSTM operator (5 nodes instead
    of ~20: on a GPU, cuDNN's cell in one CUDA graph, which benchmarks/gpu_cell.py measured fastest;
    on the CPU its logits equal the MatMul form's), kept only if its logits match the file it
    replaces within max_diff; model.json is re-hashed. Deeper cells keep the exporter's graph."""
    description = load_description(folder)
    path = description.weights["fp32"].check()
    if description.state_shape[0] != 1:
        return {"form": "exporter's MatMul graph", "why": "the fused form is built for one-layer cells"}
    if is_fused(path):
        return {"form": "ONNX LSTM operator", "max_abs_logit_diff": 0.0, "note": "already fused"}
    candidate = path.with_name(path.name + ".fused")
    onnx.save(lstm_op(cell_weights(path, description)), str(candidate))
    diff = max_logit_diff(path, candidate, description, tune)
    if diff > max_diff:
        candidate.unlink()
        raise RuntimeError(f"the fused LSTM graph's logits differ from {path.name}'s by {diff} (> {max_diff})")
    candidate.replace(path)
    update_description(folder)
    result = {"form": "ONNX LSTM operator (export/cell_variants.py)", "max_abs_logit_diff": diff}
    card_path = folder / "model_card.json"
    if card_path.exists():  # export writes the card afterwards; a re-fused folder records it here
        card = json.loads(card_path.read_text())
        card["graph"] = result
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.cell_variants", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--out", default="runs/cells")
    parser.add_argument("--tune", default="data/irish.abc", help="a corpus file; its first 600 characters are read")
    parser.add_argument("--fuse", action="store_true",
                        help="instead: rewrite the folder's model.onnx as the fused LSTM form (export does this)")
    args = parser.parse_args(argv)
    text = Path(args.tune).read_text(encoding="utf-8")[:600]
    if args.fuse:
        print(json.dumps(fuse_folder(Path(args.artifacts), text, max_diff=MAX_LOGIT_DIFF), indent=1))
        return 0
    print(json.dumps(write_variants(Path(args.artifacts), Path(args.out), text), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
