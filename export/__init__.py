"""torch -> ONNX export of the one-step cell, with a parity check against torch."""
