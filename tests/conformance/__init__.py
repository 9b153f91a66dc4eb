"""Conformance with hls4ml's own test models (issue 31).

``cases`` rebuilds the models and parametrizations of hls4ml 1.3.0's test files (test_qkeras.py, test_softmax.py,
test_pooling.py, test_merge.py, test_keras_api.py, test_cnn_mnist_qkeras.py) for the Vivado/Vitis backends, each
as the test builds it and as its functional (or Sequential) twin; ``harness`` converts one case through approxhls
and through hls4ml alone (with and without hls4ml's ``bit_exact=True``) and compares every output with Keras;
``test_conformance`` holds the rules; ``bench/conformance.py`` tabulates every case for docs/RESULTS.md.
"""
