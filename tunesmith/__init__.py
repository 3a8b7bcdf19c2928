"""Tunesmith runtime: the tune request, the model description, engines, streams, the batched
composer, the strict-meter tracker, vocabulary, ABC helpers and the CLI (see README, "The runtime").

Never imports torch: this package is all the app needs besides onnxruntime and numpy.
"""
