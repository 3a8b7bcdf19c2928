"""PyTorch training of the Tunesmith character LSTM (never imported by the app)."""
