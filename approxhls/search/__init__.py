"""ALWANN: layer-wise approximate multipliers without retraining (Mrazek et al., ICCAD 2019).

Split the way pymoo splits an optimization: ``options`` (what is asked, and refusals); ``network`` prepares a model
(IR, layer MACs, candidate multipliers, calibration / validation / test splits); ``accelerators`` encodes
candidates for hls4ml's per-layer dataflow and ALWANN's tiled accelerator; ``costmodel`` prices an assignment;
``tuning`` is the weight update and bias compensation; ``evaluator`` computes accuracy (and ``Fitness``, the
evaluation cache) in the ``pool`` of workers; ``problem`` is the pymoo problem; ``nsga`` runs NSGA-II with a
``checkpoint`` per generation; ``front`` measures the front found, ``choice`` picks a point on validation;
``output`` says where results go; ``run`` is the orchestration of these steps.
"""
