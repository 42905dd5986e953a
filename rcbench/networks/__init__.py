"""Random networks of the four papers: ``rcbench.networks.MLP`` and its vocabulary of norms, activations, inits."""

from rcbench.networks.activations import ACTIVATIONS, Activation, get_activation
from rcbench.networks.gram_chain import GaussianWeights, GramChain, HaarWeights
from rcbench.networks.init import INITS, get_init, haar_orthogonal
from rcbench.networks.iterative_init import iterative_orthogonal_init_
from rcbench.networks.mlp import MLP, Block, EnsembleLinear, NumericalDivergence, gain_schedule
from rcbench.networks.norms import NORMS, Normalization, PerSeed, TorchBatchNorm, get_norm

__all__ = [
    "MLP",
    "GramChain",
    "GaussianWeights",
    "HaarWeights",
    "iterative_orthogonal_init_",
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
