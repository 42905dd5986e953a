"""Random networks of the four papers: ``rcbench.networks.MLP`` and its vocabulary of norms, activations, inits."""

from rcbench.networks.activations import ACTIVATIONS, Activation, get_activation
from rcbench.networks.init import INITS, get_init, haar_orthogonal
from rcbench.networks.mlp import MLP, Block, EnsembleLinear, NumericalDivergence, gain_schedule
from rcbench.networks.norms import NORMS, Normalization, PerSeed, TorchBatchNorm, get_norm

__all__ = [
    "MLP",
    "Block",
    "EnsembleLinear",
    "NumericalDivergence",
    "gain_schedule",
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "INITS",
    "get_init",
    "haar_orthogonal",
    "NORMS",
    "Normalization",
    "PerSeed",
    "TorchBatchNorm",
    "get_norm",
]
