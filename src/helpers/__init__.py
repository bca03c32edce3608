"""Helper package of the motif-distribution reproduction book: simulation, data, training, pruning, motifs."""
__version__ = "0.1.0"
