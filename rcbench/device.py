"""Device and precision policy: CPU by default, CUDA on request, float64 for measurements, no TF32."""

from __future__ import annotations

import torch

#: dtype of every measurement in rcbench (the papers' quantities reach 1e-10 .. 1e-17).
MEASUREMENT_DTYPE = torch.float64


def disable_tf32() -> None:
    """Turn TF32 off for matmuls and convolutions (it silently rounds float32 products to 10 bits)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """Return a :class:`torch.device`.

    ``None`` or ``"cpu"`` gives the CPU; ``"auto"`` gives CUDA when present, else the CPU; ``"cuda"`` (or
    ``"cuda:k"``) raises a clear error when CUDA is not available instead of failing deep inside torch.
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device name (use 'cpu', 'cuda' or 'auto')") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available on this machine")
    return dev


def environment(device: torch.device | str = "cpu", dtype: torch.dtype = MEASUREMENT_DTYPE) -> dict:
    """The facts a result must carry to be comparable: library versions, device, dtype, threads, precision."""
    import platform

    from rcbench import __version__

    dev = resolve_device(device)
    env = {
        "rcbench": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "dtype": str(dtype).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "matmul_precision": torch.get_float32_matmul_precision(),
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
    }
    env["git_commit"] = _git_commit()
    return env


def _git_commit() -> str:
    import subprocess
    from pathlib import Path

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
