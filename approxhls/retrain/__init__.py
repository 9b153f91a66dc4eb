"""Approximation-aware retraining: fine-tuning a trained QKeras model with a plan's approximate products in its
forward pass (straight-through gradients of the exact product), so that the weights learn to live with the
multipliers the hardware will use, then deploying the retrained weights bit-exactly with the same plan.

- :mod:`approxhls.retrain.products`: each planned layer's product table as integer factors (numpy only);
- :mod:`approxhls.retrain.tflayers`: the Keras layers whose sums are those products, exactly (TensorFlow);
- :mod:`approxhls.retrain.finetune`: ``approxhls finetune``: the training loop, its splits and its record.
"""
