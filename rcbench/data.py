"""Data for the training claims: scikit-learn's bundled digits by default (no network needed), the papers' data
sets through torchvision from a local ``--data-root`` (``download=False``), and generated data.
"""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["Dataset", "DataSetMissing", "digits", "torchvision_dataset", "gaussian_mixture", "load"]

TORCHVISION_SETS = {"mnist": "MNIST", "fashionmnist": "FashionMNIST", "cifar10": "CIFAR10"}
#: where torchvision looks under the data root (``download=False``).
LAYOUT = {"mnist": "MNIST/raw/train-images-idx3-ubyte etc.", "fashionmnist": "FashionMNIST/raw/train-images-idx3-ubyte etc.",
          "cifar10": "cifar-10-batches-py/data_batch_1..5, test_batch"}  # fmt: skip


class DataSetMissing(FileNotFoundError):
    """A data set the claim needs is not under the data root (the claims harness skips that claim, never fails it)."""


class Dataset:
    """Inputs ``x`` (float, ``(N, features)``, flattened) and integer labels ``y`` held in memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, name: str, num_classes: int):
        if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError(f"x must be (N, features) and y (N,), got {tuple(x.shape)} and {tuple(y.shape)}")
        self.x, self.y, self.name, self.num_classes = x, y, name, num_classes

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def num_features(self) -> int:
        return self.x.shape[1]

    def to(self, device=None, dtype=None) -> "Dataset":
        return Dataset(self.x.to(device=device, dtype=dtype), self.y.to(device=device), self.name, self.num_classes)

    def subset(self, size: int, *, seed: int = 0) -> "Dataset":
        """A seeded random subset of ``size`` examples."""
        if not 1 <= size <= len(self):
            raise ValueError(f"subset size must be in [1, {len(self)}], got {size}")
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:size]
        return Dataset(self.x[idx], self.y[idx], self.name, self.num_classes)

    def batches(self, batch_size: int, *, seed: int = 0, drop_last: bool = True):
        """One epoch of shuffled mini-batches ``(x, y)`` (seeded)."""
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        stop = len(self) - (len(self) % batch_size if drop_last else 0)
        for i in range(0, stop, batch_size):
            j = perm[i : i + batch_size]
            yield self.x[j], self.y[j]


def _standardize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-8)


def digits(*, standardize: bool = True, dtype: torch.dtype = torch.float64) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, 64 features, 10 classes), shipped with the package."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.data, dtype=dtype)
    x = _standardize(x) if standardize else x / 16.0
    return Dataset(x, torch.as_tensor(bunch.target, dtype=torch.long), "digits", 10)


def torchvision_dataset(
    name: str, root: str | Path, *, train: bool = True, raw_pixels: bool = False, dtype: torch.dtype = torch.float32
) -> Dataset:
    """MNIST, FashionMNIST or CIFAR10 from torchvision's standard folders under ``root`` (never downloads).

    ``raw_pixels=True`` keeps 0-255 values (paper A's Fig. 4 feeds raw CIFAR pixels); otherwise pixels are scaled
    to [0, 1] and standardised per feature.
    """
    import torchvision

    key = name.lower().replace("-", "").replace("_", "")
    if key not in TORCHVISION_SETS:
        raise ValueError(f"unknown data set {name!r}; one of {sorted(TORCHVISION_SETS)}")
    root = Path(root)
    where = f"{TORCHVISION_SETS[key]} expected under {root} as {root}/{LAYOUT[key]} (torchvision's layout; rcbench never downloads)"
    if not root.is_dir():
        raise DataSetMissing(f"data root {root} does not exist: {where}")
    cls = getattr(torchvision.datasets, TORCHVISION_SETS[key])
    try:
        ds = cls(str(root), train=train, download=False)
    except (RuntimeError, FileNotFoundError, OSError):  # torchvision's message suggests download=True: not ours
        raise DataSetMissing(f"{where}; not found") from None
    data = ds.data if isinstance(ds.data, torch.Tensor) else torch.as_tensor(ds.data)
    x = data.reshape(data.shape[0], -1).to(dtype)
    if not raw_pixels:
        x = _standardize(x / 255.0)
    y = torch.as_tensor(ds.targets, dtype=torch.long)
    return Dataset(x, y, key, 10)


def gaussian_mixture(
    n: int, features: int, classes: int = 10, *, separation: float = 2.0, seed: int = 0, dtype=torch.float64
) -> Dataset:
    """``n`` points from ``classes`` isotropic Gaussian clusters with random means of norm ``separation``."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(classes, features, generator=g, dtype=dtype)
    means = separation * means / means.norm(dim=1, keepdim=True)
    y = torch.randint(0, classes, (n,), generator=g)
    x = means[y] + torch.randn(n, features, generator=g, dtype=dtype)
    return Dataset(x, y, "gaussian_mixture", classes)


def load(name: str | None, data_root: str | Path | None, **kwargs) -> Dataset:
    """The paper's data set ``name`` when ``data_root`` is given, else scikit-learn's digits (the CPU default)."""
    if data_root is None or name is None:
        return digits()
    return torchvision_dataset(name, data_root, **kwargs)
