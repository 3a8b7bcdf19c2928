"""Tunesmith runtime: vocabulary, the ONNX Runtime step engine, the sampler and ABC helpers.

Never imports torch: this package is all the app needs besides onnxruntime and numpy.
"""
