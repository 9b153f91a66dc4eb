"""ALWANN: layer-wise approximate multipliers without retraining (Mrazek et al., ICCAD 2019).

``network`` prepares a model for search (its IR, layer MACs, candidate multipliers, calibration data);
``accelerators`` encodes candidates for hls4ml's per-layer dataflow and ALWANN's tiled accelerator;
``costmodel`` turns a per-layer assignment into energy and LUTs; ``tuning`` is the weight update;
``evaluator`` computes accuracy in (parallel) workers; ``nsga`` runs NSGA-II (pymoo); ``run`` writes results.
"""
