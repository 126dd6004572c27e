"""Benchmark of the training loop against a naive TF1 loop, NumPy, scikit-learn and Keras.

Run `python -m bench` (or `make bench`); `python -m bench --quick` takes under a minute on an
idle 2-core machine. See bench/__main__.py for what is measured and how.
"""
