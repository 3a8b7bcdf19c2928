import numpy as np
import onnx
import onnxruntime as ort

from export.onnx_step import INPUT_NAMES, OPSET, OUTPUT_NAMES
from export.parity import check_parity
from train.trainer import load_checkpoint


def test_exported_graph_is_one_valid_file_with_the_named_io(tiny_artifacts):
    out, card = tiny_artifacts
    assert sorted(p.name for p in out.iterdir()) == [
        "loss_curve.png", "model.int8.onnx", "model.json", "model.onnx", "model_card.json"]
    proto = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == INPUT_NAMES
    assert [o.name for o in proto.graph.output] == OUTPUT_NAMES
    assert any(op.domain in ("", "ai.onnx") and op.version == OPSET for op in proto.opset_import)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)


def test_parity_with_torch_at_batch_1_and_4(tiny_run, tiny_artifacts, split):
    run_dir, _ = tiny_run
    out, card = tiny_artifacts
    model, vocab, _ = load_checkpoint(run_dir / "best.pt")
    for batch in (1, 4):
        result = check_parity(model, out / "model.onnx", vocab, split.validation[3], batch_size=batch)
        assert result["max_abs_logit_diff"] <= 1e-4
        assert result["greedy_identical"]
        assert len(result["greedy_continuation"]) == 200
    assert [r["batch_size"] for r in card["parity"]["runs"]] == [1, 4]


def test_batch_is_dynamic_and_rows_are_independent(tiny_artifacts):
    out, card = tiny_artifacts
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    hidden = card["config"]["hidden_size"]
    rng = np.random.default_rng(0)
    h = rng.standard_normal((1, 7, hidden)).astype(np.float32)
    c = rng.standard_normal((1, 7, hidden)).astype(np.float32)
    tokens = rng.integers(0, 83, 7)
    logits, h_out, c_out = session.run(None, {"token": tokens, "h": h, "c": c})
    assert logits.shape == (7, 83) and h_out.shape == c_out.shape == (1, 7, hidden)
    alone, _, _ = session.run(None, {"token": tokens[2:3], "h": h[:, 2:3], "c": c[:, 2:3]})
    np.testing.assert_allclose(alone[0], logits[2], atol=1e-5)


def test_model_card_records_provenance(tiny_artifacts):
    _, card = tiny_artifacts
    assert card["corpus_sha256"] == "df3782d5f7b5a2f4c66aa7c13f13008d5f48757b3f5f51620cd6c1ceb2c53023"
    assert card["split"]["validation_tunes"] == 81
    assert card["validation_nats_per_char"] > 0 and card["best_step"] > 0
    assert {"torch", "onnx", "onnxruntime"} <= set(card["versions"])
    assert card["input_names"] == INPUT_NAMES and card["opset"] == OPSET


def test_the_folder_describes_itself_for_the_runtime(tiny_artifacts):
    from tunesmith.model import load_description
    out, card = tiny_artifacts
    description = load_description(out)
    assert description.hidden_size == card["config"]["hidden_size"] and len(description.vocab) == 83
    assert description.input_names == tuple(INPUT_NAMES) and description.opset == OPSET
    assert set(description.weights) == {"fp32", "int8"}
    assert description.cpu_default == ("int8" if card["int8"]["cpu_default"] else "fp32")


def test_int8_parity_and_loss_bound_on_the_tiny_model(tiny_artifacts):
    out, card = tiny_artifacts
    int8 = card["int8"]
    assert int8["parity"]["max_abs_logit_diff_batch_row_vs_alone"] == 0.0  # rows independent of the batch
    assert int8["parity"]["max_abs_logit_diff_vs_fp32"] <= 1.0 and int8["parity"]["top1_agreement_vs_fp32"] > 0.9
    assert abs(int8["validation_nats_per_char"] - int8["fp32_validation_nats_per_char"]) <= 0.05
    assert int8["file_bytes"] < int8["fp32_file_bytes"]
    assert int8["well_formed"] == 1.0  # strict meter holds whatever the weights
    # The decision follows the rule.
    assert int8["cpu_default"] == (int8["loss_increase_vs_fp32"] <= 0.01 and int8["well_formed"] >= 0.99)


def test_the_shipped_step_is_the_fused_lstm_form_and_the_int8_file_its_matmul_form(tiny_artifacts):
    out, card = tiny_artifacts
    ops = [n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node]
    assert "LSTM" in ops and "MatMul" not in ops and len(ops) == 5
    assert card["graph"]["max_abs_logit_diff"] <= 1e-4  # against the exporter's graph it replaced
    int8_ops = {n.op_type for n in onnx.load(str(out / "model.int8.onnx")).graph.node}
    assert "LSTM" not in int8_ops and "DequantizeLinear" in int8_ops  # quantised matrix products


def test_every_cell_form_reads_back_the_same_weights_and_gives_the_same_logits(tiny_artifacts, tmp_path):
    from export.cell_variants import BUILDERS, cell_weights, is_fused, max_logit_diff
    from tunesmith.model import load_description
    out, _ = tiny_artifacts
    description = load_description(out)
    weights = cell_weights(out / "model.onnx", description)
    text = "X:1\nT:A\nM:6/8\nL:1/8\nK:D\n|:dAF DFA|"
    for name, build in BUILDERS.items():
        path = tmp_path / f"{name}.onnx"
        onnx.save(build(weights), str(path))
        assert max_logit_diff(out / "model.onnx", path, description, text) <= 1e-4, name
        assert is_fused(path) == (name == "lstm_op")
        if name != "folded":  # the folded table cannot be split back into its factors
            again = cell_weights(path, description)
            for key, value in weights.items():
                np.testing.assert_allclose(again[key], value, atol=1e-6, err_msg=f"{name}: {key}")
