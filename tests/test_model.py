import torch

from train.model import CharLSTM, count_parameters
from train.config import PRESETS, Config


def test_seed_architecture_size():
    model = CharLSTM(PRESETS["seed"])
    assert count_parameters(model) == 5_357_395  # Embedding 83x256, LSTM 1024, Linear 1024->83


def test_forward_shapes():
    config = Config(vocab_size=11, embedding_size=8, hidden_size=16, num_layers=2, dropout=0.1)
    model = CharLSTM(config)
    logits, (h, c) = model(torch.randint(0, 11, (3, 7)))
    assert logits.shape == (3, 7, 11)
    assert h.shape == c.shape == (2, 3, 16)


def test_step_matches_the_sequence_forward():
    torch.manual_seed(0)
    for layers in (1, 2):
        config = Config(vocab_size=11, embedding_size=8, hidden_size=16, num_layers=layers)
        model = CharLSTM(config).eval()
        tokens = torch.randint(0, 11, (4, 9))
        with torch.no_grad():
            full, _ = model(tokens)
            h, c = model.initial_state(4)
            for t in range(tokens.shape[1]):
                logits, h, c = model.step(tokens[:, t], h, c)
                assert logits.shape == (4, 11)
                torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=1e-5)
