"""Evaluation (layer 6): robustness (SA/RA/AA, ε-curves), metrics, corruptions, representation
analysis and result records (docs/evaluation.md)."""
