"""The character LSTM: Embedding -> LSTM -> Linear, and its one-step form that export ships."""
from __future__ import annotations

import torch
from torch import nn

from train.config import Config


class CharLSTM(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.lstm = nn.LSTM(
            config.embedding_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def initial_state(self, batch_size: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, tokens: torch.Tensor, state=None):
        """tokens [B, T] -> logits [B, T, V] and the state after the last character."""
        x = self.dropout(self.embedding(tokens))
        out, state = self.lstm(x, state)
        return self.head(self.dropout(out)), state

    def step(self, token: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """One character: token [B], h/c [layers, B, H] -> logits [B, V], h_out, c_out.

        Written with plain matrix products (PyTorch's gate order i, f, g, o) so the exported graph
        is a handful of MatMul/Sigmoid/Tanh nodes with no sequence loop.
        """
        x = self.embedding(token)
        h_out, c_out = [], []
        for layer in range(self.config.num_layers):
            w_ih = getattr(self.lstm, f"weight_ih_l{layer}")
            w_hh = getattr(self.lstm, f"weight_hh_l{layer}")
            bias = getattr(self.lstm, f"bias_ih_l{layer}") + getattr(self.lstm, f"bias_hh_l{layer}")
            gates = x @ w_ih.T + h[layer] @ w_hh.T + bias
            i, f, g, o = gates.chunk(4, dim=-1)
            c_new = torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            h_out.append(h_new)
            c_out.append(c_new)
            x = h_new
        return self.head(x), torch.stack(h_out), torch.stack(c_out)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
