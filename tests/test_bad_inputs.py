"""Bad-input corpus: every wrong input to the library gets a clear error (its type, and a message naming the
argument) before any work, or a documented outcome that is recorded as such. Nothing crashes deep inside torch with
an unrelated message and nothing writes NaN as data.

Documented outcomes checked here (not errors):

* the isometry gap of an exactly degenerate batch (repeated samples, ``n > d``) is ``+inf`` (isometry ``0``,
  potential ``+inf``); ``trace``/``tidy`` keep ``+inf`` as a value;
* paper BN of an all-zero feature column divides ``0 / 0``: the forward pass raises
  :class:`~rcbench.networks.NumericalDivergence` (likewise centred BN of a batch of identical samples or of one
  sample); a representation that is exactly zero (dead ReLUs without normalisation) has no spectral scale, its
  soft rank is NaN and ``tidy`` refuses it with ``NumericalDivergence``;
* half-precision inputs: metrics and ``spectral_metrics`` promote float16/bfloat16 to float32 (the linear-algebra
  kernels have no half version); an MLP casts its input to its own dtype (float64 by default).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import rcbench.metrics as M
from rcbench import stats
from rcbench.components import ComponentError, checked, load_component
from rcbench.experiments import common as C
from rcbench.networks import MLP, NumericalDivergence
from rcbench.networks.init import perturbed_identity

F64 = torch.float64


def _h(n=6, d=10, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _zero_first_row(shape, generator, dtype):
    """An initializer whose first output unit has zero weights: an all-zero feature column after the linear map."""
    w = torch.randn(shape, generator=generator, dtype=dtype) / math.sqrt(shape[-1])
    w[..., 0, :] = 0
    return w


# ---------------------------------------------------------------------------------------------------------------
# clear errors: (call, exception type, regex the message must match)
# ---------------------------------------------------------------------------------------------------------------
G = _h() @ _h().T
NET = MLP(4, 8, 3, ensemble=2)
LIN = nn.Linear(2, 2)

ERRORS = {
    # metrics: ranks, shapes, dtypes, non-finite values
    "metric 1-d": (lambda: M.soft_rank(torch.ones(3)), ValueError, r"H must have shape \(\.\.\., n, d\)"),
    "metric numpy": (lambda: M.soft_rank(np.ones((3, 3))), TypeError, r"H must be a torch.Tensor"),
    "metric int": (lambda: M.isometry_gap(torch.ones(3, 3, dtype=torch.int64)), TypeError, r"H must be a floating"),
    "metric empty": (lambda: M.soft_rank(torch.ones(0, 3)), ValueError, r"H has an empty"),
    "metric nan": (lambda: M.soft_rank(torch.full((3, 3), math.nan)), ValueError, r"H contains NaN or inf"),
    "metric inf": (lambda: M.isometry_gap(torch.full((3, 3), math.inf)), ValueError, r"H contains NaN or inf"),
    "metric zero": (lambda: M.soft_rank(torch.zeros(3, 4)), ValueError, r"H is identically zero"),
    "tau out of range": (lambda: M.tau_rank(_h(), 1.0), ValueError, r"tau must lie in \[0, 1\)"),
    "tau nan": (lambda: M.tau_rank(_h(), math.nan), ValueError, r"tau must lie"),
    "cosine zero row": (lambda: M.cosine_similarity(torch.cat([_h(3), torch.zeros(1, 10, dtype=F64)])), ValueError,
                        r"zero norm"),  # fmt: skip
    "gradient non-scalar loss": (lambda: M.gradient_norms(nn.Linear(2, 2), torch.ones(2)), ValueError,
                                 r"loss must be a scalar"),  # fmt: skip
    "gradient unknown name": (lambda: M.gradient_norms(LIN, LIN(torch.ones(2)).sum(), names=["nope"]), KeyError,
                              r"no weight matrix named"),  # fmt: skip
    "spectral unknown metric": (lambda: M.spectral_metrics(G, ["soft_rnk"]), KeyError, r"unknown spectral metric"),
    "spectral not square": (lambda: M.spectral_metrics(torch.ones(2, 3, dtype=F64)), ValueError,
                            r"grams must have shape"),  # fmt: skip
    "spectral empty": (lambda: M.spectral_metrics(torch.ones(0, 0, dtype=F64)), ValueError, r"grams must have shape"),
    "spectral int": (lambda: M.spectral_metrics(torch.eye(3, dtype=torch.int64)), TypeError, r"grams must be a float"),
    "spectral numpy": (lambda: M.spectral_metrics(np.eye(3)), TypeError, r"grams must be a floating"),
    "spectral nan": (lambda: M.spectral_metrics(torch.full((2, 3, 3), math.nan, dtype=F64)), ValueError,
                     r"grams contain NaN or inf"),  # fmt: skip
    # MLP builder: sizes, names, dtypes, seeds, devices
    "MLP depth 0": (lambda: MLP(4, 8, 0), ValueError, r"depth must be a positive integer, got 0"),
    "MLP width 0": (lambda: MLP(4, 0, 2), ValueError, r"width must be a positive integer, got 0"),
    "MLP width float": (lambda: MLP(4, 8.0, 2), ValueError, r"width must be a positive integer, got 8.0"),
    "MLP widths length": (lambda: MLP(4, [8, 8], 3), ValueError, r"width is a sequence of 2 widths but depth=3"),
    "MLP in_features 0": (lambda: MLP(0, 8, 2), ValueError, r"in_features must be a positive integer"),
    "MLP ensemble 0": (lambda: MLP(4, 8, 2, ensemble=0), ValueError, r"ensemble must be a positive integer"),
    "MLP out_features 0": (lambda: MLP(4, 8, 2, out_features=0), ValueError, r"out_features must be a positive"),
    "MLP unknown norm": (lambda: MLP(4, 8, 2, norm="bnn"), ValueError, r"unknown norm 'bnn'; known names"),
    "MLP unknown activation": (lambda: MLP(4, 8, 2, activation="rleu"), ValueError, r"unknown activation 'rleu'"),
    "MLP unknown init": (lambda: MLP(4, 8, 2, init="kaiming"), ValueError, r"unknown init 'kaiming'"),
    "MLP unknown readout init": (lambda: MLP(4, 8, 2, out_features=2, readout_init="x"), ValueError, r"unknown init"),
    "MLP norm type": (lambda: MLP(4, 8, 2, norm=3), TypeError, r"norm must be a name"),
    "MLP activation type": (lambda: MLP(4, 8, 2, activation=3), TypeError, r"activation must be a name"),
    "MLP order": (lambda: MLP(4, 8, 2, order="x"), ValueError, r"order must be 'norm_act' or 'act_norm'"),
    "MLP gain nan": (lambda: MLP(4, 8, 2, gain=math.nan), ValueError, r"gains must be finite"),
    "MLP gains length": (lambda: MLP(4, 8, 2, gain=[1.0]), ValueError, r"gain is a sequence of 1 values"),
    "MLP bias_init": (lambda: MLP(4, 8, 2, bias=True, bias_init="ones"), ValueError, r"bias_init must be"),
    "MLP dtype int": (lambda: MLP(4, 8, 2, dtype=torch.int64), TypeError, r"dtype must be a floating-point"),
    "MLP seed float": (lambda: MLP(4, 8, 2, seed=1.5), TypeError, r"seed must be an integer, got 1.5"),
    "MLP device unknown": (lambda: MLP(4, 8, 2, device="tpu"), ValueError, r"device='tpu' is not a torch device"),
    "MLP init wrong shape": (lambda: MLP(4, 8, 2, init=lambda s, g, d: torch.ones(2, 2)), ValueError,
                             r"initializer returned shape \(2, 2\), expected \(1, 8, 4\)"),  # fmt: skip
    "perturbed identity non-square": (lambda: MLP(4, 8, 2, init=perturbed_identity(0.1)), ValueError,
                                      r"needs square layers"),  # fmt: skip
    # MLP forward: shapes, values
    "forward 1-d": (lambda: NET(torch.randn(4)), ValueError, r"input must have shape \(n, 4\)"),
    "forward wrong features": (lambda: NET(torch.randn(3, 5)), ValueError, r"input must have shape"),
    "forward wrong seeds": (lambda: NET(torch.randn(3, 3, 4)), ValueError, r"input has 3 seeds"),
    "forward empty batch": (lambda: NET(torch.randn(0, 4)), ValueError, r"input batch is empty"),
    "forward numpy": (lambda: NET(np.ones((3, 4))), TypeError, r"input must be a torch.Tensor"),
    "forward nan": (lambda: NET(torch.full((3, 4), math.nan)), ValueError, r"input contains NaN or inf"),
    "forward inf": (lambda: NET(torch.full((3, 4), math.inf)), ValueError, r"input contains NaN or inf"),
    "grams nan": (lambda: NET.grams(torch.full((3, 4), math.nan)), ValueError, r"input contains NaN or inf"),
    # experiments.common
    "n > d": (lambda: C.require_n_le_d(10, 5, "A3"), ValueError, r"\(A3\) needs n <= d .* n=10, d=5"),
    "gaussian_input n 0": (lambda: C.gaussian_input(0, 4), ValueError, r"n must be a positive integer, got 0"),
    "gaussian_input d float": (lambda: C.gaussian_input(3, 4.5), ValueError, r"d must be a positive integer"),
    "gaussian_input cuda": (lambda: C.gaussian_input(3, 4, device="cuda:99"), (ValueError, RuntimeError), r"cuda"),
    "tidy empty": (lambda: C.tidy({}), ValueError, r"at least one statistic"),
    "tidy 1-d": (lambda: C.tidy({"r": torch.ones(3)}), ValueError, r"statistic 'r' has shape \(3,\)"),
    "tidy ragged": (lambda: C.tidy({"r": torch.ones(3, 2), "v": torch.ones(3, 1)}), ValueError, r"statistic 'v'"),
    "tidy seed labels": (lambda: C.tidy({"r": torch.ones(3, 2)}, seeds=[0]), ValueError, r"1 seed labels"),
    "tidy nan": (lambda: C.tidy({"r": torch.tensor([[math.nan]])}), NumericalDivergence, r"statistic 'r' is NaN"),
    "trace unknown metric": (lambda: C.trace(MLP(4, 8, 2), torch.randn(3, 4), ["soft_rnk"]), KeyError,
                             r"soft_rnk"),  # fmt: skip
    # stats
    "fit nan": (lambda: stats.linear_fit([1, 2, math.nan], [1, 2, 3]), ValueError, r"x contains NaN or inf"),
    "fit lengths": (lambda: stats.linear_fit([1, 2, 3], [1, 2]), ValueError, r"different lengths \(3 and 2\)"),
    "fit two points": (lambda: stats.linear_fit([1, 2], [1, 2]), ValueError, r"at least 3 points"),
    "fit confidence": (lambda: stats.linear_fit([1, 2, 3], [1, 2, 4], confidence=1.5), ValueError,
                       r"confidence must lie in \(0, 1\), got 1.5"),  # fmt: skip
    "slope log of negative": (lambda: stats.slope([-1, 2, 3], [1, 2, 3], logx=True), ValueError,
                              r"x has non-positive values"),  # fmt: skip
    "mean_interval empty": (lambda: stats.mean_interval([]), ValueError, r"values is empty"),
    "mean_interval confidence": (lambda: stats.mean_interval([1, 2], confidence=0), ValueError, r"confidence"),
    "bound inf": (lambda: stats.upper_confidence_bound([1, math.inf]), ValueError, r"values contains NaN or inf"),
    "tolerance one value": (lambda: stats.tolerance_from_spread([1.0]), ValueError, r"at least 2 pilot values"),
    "tolerance rate": (lambda: stats.tolerance_from_spread([1.0, 2.0], false_failure_rate=1), ValueError,
                       r"false_failure_rate must lie in \(0, 1\)"),  # fmt: skip
    "binomial k > n": (lambda: stats.binomial_interval(3, 2), ValueError, r"0 <= successes <= trials.*3/2"),
    "binomial no trials": (lambda: stats.binomial_interval(0, 0), ValueError, r"trials >= 1"),
    "bootstrap nan": (lambda: stats.bootstrap_interval([1.0, math.nan]), ValueError, r"values contains NaN"),
    # components given on the command line
    "component module": (lambda: load_component("no_such_mod:x", "norm"), ValueError,
                         r"--norm 'no_such_mod:x': cannot import module"),  # fmt: skip
    "component attribute": (lambda: load_component("math:nope", "activation"), ValueError,
                            r"--activation 'math:nope': module 'math' has no attribute 'nope'"),  # fmt: skip
    "component name": (lambda: load_component("bnx", "norm"), ValueError, r"--norm 'bnx': not a built-in norm"),
    "component kind": (lambda: load_component("bn", "loss"), ValueError, r"unknown component kind 'loss'"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_clear_error(case):
    call, exc, match = ERRORS[case]
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------------
# a user's component that raises or breaks its contract (rcbench.components.checked)
# ---------------------------------------------------------------------------------------------------------------
def _raising_factory(d):
    raise RuntimeError("boom in factory")


class _RaisingNorm(nn.Module):
    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        raise ZeroDivisionError("boom in forward")


class _ShrinkingNorm(_RaisingNorm):
    def forward(self, x):
        return x[:, :1]


class _NaNNorm(_RaisingNorm):
    def forward(self, x):
        return x * math.nan


def _raising_init(shape, generator, dtype):
    raise KeyError("boom in init")


COMPONENTS = {
    "norm factory raises": (lambda: MLP(4, 8, 2, norm=checked(_raising_factory, "norm", "u:f")),
                            r"norm u:f: factory\(8\) raised RuntimeError\('boom in factory'\)"),  # fmt: skip
    "norm forward raises": (lambda: MLP(4, 8, 2, norm=checked(_RaisingNorm, "norm", "u:R"))(torch.randn(3, 4)),
                            r"norm u:R: raised ZeroDivisionError\('boom in forward'\) on input of "
                            r"shape \(3, 8\)"),  # fmt: skip
    "norm wrong shape": (lambda: MLP(4, 8, 2, norm=checked(_ShrinkingNorm, "norm", "u:S"))(torch.randn(3, 4)),
                         r"norm u:S: returned \(3, 1\) for input of shape \(3, 8\)"),  # fmt: skip
    "norm NaN": (lambda: MLP(4, 8, 2, norm=checked(_NaNNorm, "norm", "u:N"))(torch.randn(3, 4)),
                 r"norm u:N: produced NaN or inf"),  # fmt: skip
    "activation raises": (lambda: MLP(4, 8, 2, activation=checked(lambda x: 1 / 0, "activation", "u:a"))(
                              torch.randn(3, 4)), r"activation u:a: raised ZeroDivisionError"),  # fmt: skip
    "init raises": (lambda: MLP(4, 8, 2, init=checked(_raising_init, "init", "u:i")),
                    r"init u:i: raised KeyError\('boom in init'\) for shape \(1, 8, 4\)"),  # fmt: skip
    "init wrong shape": (lambda: MLP(4, 8, 2, init=checked(lambda s, g, d: torch.ones(2, 2), "init", "u:w")),
                         r"init u:w: returned \(2, 2\), expected a tensor of shape \(1, 8, 4\)"),  # fmt: skip
    "init NaN": (lambda: MLP(4, 8, 2, init=checked(lambda s, g, d: torch.full(s, math.nan), "init", "u:n")),
                 r"init u:n: returned non-finite weights"),  # fmt: skip
}


@pytest.mark.parametrize("case", list(COMPONENTS))
def test_user_component_errors_name_the_component(case):
    call, match = COMPONENTS[case]
    with pytest.raises(ComponentError, match=match):
        call()


def test_unchecked_component_with_nan_weights_still_never_records_nan():
    """A raw (unchecked) initializer returning NaN builds, but the forward pass refuses to produce data."""
    net = MLP(4, 8, 2, init=lambda s, g, d: torch.full(s, math.nan, dtype=d))
    with pytest.raises(NumericalDivergence):
        C.trace(net, torch.randn(3, 4), ["soft_rank"])


# ---------------------------------------------------------------------------------------------------------------
# documented outcomes
# ---------------------------------------------------------------------------------------------------------------
def test_all_zero_feature_column_under_paper_bn_raises_divergence():
    """Paper BN divides each feature column by its norm; a column that is zero over the batch gives 0/0. The MLP
    raises NumericalDivergence rather than passing NaN on (both for the forward pass and for ``grams``/``trace``)."""
    net = MLP(4, 8, 3, init=_zero_first_row)
    x = torch.randn(5, 4, dtype=F64)
    with pytest.raises(NumericalDivergence, match="NaN or inf"):
        net(x)
    with pytest.raises(NumericalDivergence):
        C.trace(net, x, ["soft_rank", "isometry_gap"])
    # the same network with epsilon in the norm, or without norm, is fine (the zero column is then just zero)
    from rcbench.networks import Normalization

    ok = MLP(4, 8, 3, init=_zero_first_row, norm=lambda d: Normalization("batch", scale="norm", eps=1e-12))
    assert torch.isfinite(ok(x)).all()


def test_zero_input_under_bn_and_dead_representation_raise_divergence():
    with pytest.raises(NumericalDivergence):
        MLP(4, 8, 2)(torch.zeros(3, 4))  # every column 0/0
    # without normalisation, ReLUs with all-negative pre-activations give an exactly zero representation: its soft
    # rank is 0/0; tidy refuses the NaN (the run is reported as diverged, not recorded)
    dead = MLP(4, 8, 2, norm="none", activation="relu", init=lambda s, g, d: -torch.ones(s, dtype=d))
    with pytest.raises(NumericalDivergence, match="soft_rank"):
        C.trace(dead, torch.ones(3, 4), ["soft_rank"])


@pytest.mark.parametrize("norm", ["bn_centered", "bn_centered_std"])
def test_centred_bn_of_identical_samples_raises_divergence(norm):
    with pytest.raises(NumericalDivergence):
        MLP(4, 8, 2, norm=norm)(torch.ones(3, 4))
    with pytest.raises(NumericalDivergence):
        MLP(4, 8, 2, norm=norm)(torch.randn(1, 4))  # one sample: centring leaves zero


def test_exactly_degenerate_batches_give_infinite_isometry_gap():
    """Repeated samples (rank one) or n > d: the Gram is singular. Documented values: isometry gap +inf,
    isometry 0, potential +inf, soft rank finite (1 for rank one); trace keeps +inf in the table."""
    H = torch.ones(4, 8, dtype=F64)
    assert M.isometry_gap(H).item() == math.inf
    assert M.isometry(H).item() == 0.0
    assert M.potential(H).item() == math.inf
    assert M.soft_rank(H).item() == pytest.approx(1.0)
    assert M.orthogonality_gap(H).item() == pytest.approx(math.sqrt(1 - 1 / 4))
    assert M.isometry_gap(_h(8, 4)).item() == math.inf  # n > d
    df = C.trace(MLP(4, 8, 2), torch.ones(3, 4), ["isometry_gap", "soft_rank"])
    assert (df["isometry_gap"] == math.inf).all() and np.allclose(df["soft_rank"], 1.0)
    assert not df.isna().any().any()
    wide = C.trace(MLP(4, 2, 2), torch.randn(3, 4), ["isometry_gap"])  # width 2 < n = 3
    assert (wide.loc[wide.layer > 0, "isometry_gap"] == math.inf).all()


def test_float16_inputs():
    """Half precision: metrics promote to float32; an MLP casts its input to its own dtype; a float16 network is
    measured in float32 by trace; no NotImplementedError from inside torch."""
    H = _h()
    for low in (torch.float16, torch.bfloat16):
        r = M.soft_rank(H.to(low))
        assert r.dtype == torch.float32 and r.item() == pytest.approx(M.soft_rank(H).item(), rel=1e-2)
        out = M.spectral_metrics((H @ H.T).to(low), "soft_rank")["soft_rank"]
        assert out.dtype == torch.float32
    x = torch.randn(3, 4)
    net = MLP(4, 8, 2)
    assert net(x.half()).dtype == F64
    assert torch.equal(net(x.half()), net(x.half().double()))
    df = C.trace(MLP(4, 8, 2, dtype=torch.float16), x, ["soft_rank"])
    assert np.isfinite(df["soft_rank"]).all()


def test_checks_happen_before_any_work(monkeypatch):
    """Argument checks come first: a bad name fails without drawing a single weight."""
    calls = []
    monkeypatch.setattr(torch, "randn", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    for kwargs in ({"norm": "bnn"}, {"activation": "x"}, {"init": "x"}, {"order": "x"}, {"dtype": torch.int32}):
        with pytest.raises((ValueError, TypeError)):
            MLP(4, 8, 2, **kwargs)
    assert not calls


# ---------------------------------------------------------------------------------------------------------------
# the command line and the pytest harness: refused before any work, one line, exit 2 (rcbench) / 4 (pytest)
# ---------------------------------------------------------------------------------------------------------------
ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
NO_CUDA = not torch.cuda.is_available()


def _cli(capsys, monkeypatch, *argv):
    """``rcbench <argv>`` in-process with pytest never started: (exit status, stderr)."""
    import rcbench.cli as cli

    def no_work(*a, **k):
        raise AssertionError(f"work started: {a}")

    monkeypatch.setattr(cli.subprocess, "run", no_work)
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    return code, err


RUN_REFUSED = {
    # argv -> regex the one line must match (it names the argument and what is valid)
    "norm not a module factory": (["--norm", "math:sqrt"], r"--norm math:sqrt: not a factory f\(num_features\) -> "
                                  r"nn.Module.*returned float, not an nn.Module"),  # fmt: skip
    "norm constructor needs other args": (["--norm", "torch.nn:GroupNorm"],
                                          r"--norm torch.nn:GroupNorm: .*'num_channels'.*functools.partial"),
    "norm wrong shape": (["--norm", "torch.nn:Flatten"], None),  # Flatten(8) = Flatten(start_dim=8): raises/shape
    "init not an init": (["--init", "math:sqrt"], r"--init math:sqrt: not a function f\(shape, generator, dtype\)"),
    "activation not elementwise": (["--activation", "torch.nn:Softmax"], r"--activation torch.nn:Softmax: .*"
                                   r"not elementwise"),  # fmt: skip
    "activation not callable on a tensor": (["--activation", "math:sqrt"], r"--activation math:sqrt: "),
    "device tpu": (["--device", "tpu"], r"--device tpu: not a torch device name; valid here: cpu, auto"),
    "seed negative": (["--seed", "-1"], r"--seed: the master seed must be a non-negative integer, got -1"),
    "unknown claim": (["--claim", "Z9"], r"--claim: unknown claim id 'Z9'; .*valid ids: A1–A11, B1–B32"),
    "unknown paper": (["--paper", "Q"], r"--paper: unknown paper 'Q'; valid: A, B, C, D"),
    "data root missing": (["--data-root", "/nonexistent/rcbench-data"], r"--data-root /nonexistent/rcbench-data: "
                          r"not a directory.*cifar-10-batches-py.*never downloads"),  # fmt: skip
    "activation on a claim without one": (["--activation", "torch.nn:GELU", "--claim", "D10"],
                                          r"--activation: no selected claim\(s\) D10 takes an activation; the "
                                          r"claims that do: .*D8"),  # fmt: skip
    "executor without store": (["--executor", "local"], r"--executor computes into a results store"),
}
if NO_CUDA:
    RUN_REFUSED["device cuda unavailable"] = (["--device", "cuda"], r"--device cuda: cuda is not available on this "
                                              r"machine; valid here: cpu, auto")  # fmt: skip


@pytest.mark.parametrize("case", list(RUN_REFUSED))
def test_rcbench_run_refuses_before_any_work(case, capsys, monkeypatch, tmp_path):
    argv, match = RUN_REFUSED[case]
    code, err = _cli(capsys, monkeypatch, "run", "--results-dir", str(tmp_path / "r"), *argv)
    assert code == 2, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("rcbench run: "), err
    if match:
        import re

        assert re.search(match, lines[0]), lines[0]
    assert "download=True" not in err
    assert not (tmp_path / "r").exists()


def test_claim_ids_are_case_insensitive(capsys, monkeypatch, tmp_path):
    import rcbench.cli as cli

    seen = []
    monkeypatch.setattr(cli.subprocess, "run", lambda cmd, *a, **k: seen.append(cmd) or (_ for _ in ()).throw(
        KeyboardInterrupt))  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        cli.main(["run", "--claim", "a3,b13", "--paper", "c", "--results-dir", str(tmp_path / "r")])
    cmd = seen[0]
    assert cmd[cmd.index("--rcbench-claim") + 1] == "A3,B13" and cmd[cmd.index("--rcbench-paper") + 1] == "C"


def test_rcbench_list_refuses_unknown_paper_and_accepts_lower_case(capsys, monkeypatch):
    code, err = _cli(capsys, monkeypatch, "list", "--paper", "Q")
    assert code == 2 and err.strip() == "rcbench list: --paper: unknown paper 'Q'; valid: A, B, C, D (see `rcbench list`)"
    code, _ = _cli(capsys, monkeypatch, "list", "--paper", "a", "--json")
    assert code == 0


def test_results_dir_reuse_refused_unless_overwrite(capsys, monkeypatch, tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "run.json").write_text("{}")
    code, err = _cli(capsys, monkeypatch, "run", "--claim", "A1", "--results-dir", str(earlier))
    assert code == 2 and "holds an earlier run; give a new directory or --overwrite" in err
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("not a run")
    code, err = _cli(capsys, monkeypatch, "run", "--claim", "A1", "--overwrite", "--results-dir", str(other))
    assert code == 2 and "not empty and not an rcbench results directory" in err
    assert (other / "mine.txt").read_text() == "not a run"


@pytest.mark.parametrize("content, problem", [
    ('{"tests": [{"nodeid": "x", "claim": "A1", "outcome": "passed"}', r"truncated JSON"),
    ("{not json", r"corrupt JSON"),
    ("[1, 2]", r"not an rcbench run"),
    ('{"tests": [{"claim": "A1"}]}', r"test entry 0 lacks nodeid/claim/outcome"),
])  # fmt: skip
def test_report_and_compare_name_a_corrupt_run_file(content, problem, capsys, monkeypatch, tmp_path):
    import re

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text(content)
    good = tmp_path / "good"
    good.mkdir()
    (good / "run.json").write_text('{"tests": []}')
    for argv in (["report", str(bad)], ["compare", str(good), str(bad)], ["compare", str(bad), str(good)]):
        code, err = _cli(capsys, monkeypatch, *argv)
        assert code == 2, (argv, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert str(bad / "run.json") in err and re.search(problem, err), err


def test_missing_run_dir_for_report_and_compare(capsys, monkeypatch, tmp_path):
    for argv in (["report", str(tmp_path / "none")], ["compare", str(tmp_path / "none"), str(tmp_path / "none")]):
        code, err = _cli(capsys, monkeypatch, *argv)
        assert code == 2 and "is not an rcbench results directory" in err and "Traceback" not in err


def test_dataset_missing_under_data_root_is_named_with_its_layout(tmp_path):
    from rcbench.data import DataSetMissing, torchvision_dataset

    for name, layout in (("cifar10", "cifar-10-batches-py"), ("mnist", "MNIST/raw"), ("fashionmnist", "FashionMNIST")):
        with pytest.raises(DataSetMissing, match=layout) as info:
            torchvision_dataset(name, tmp_path)
        assert "download=True" not in str(info.value) and "never downloads" in str(info.value)


HARNESS_REFUSED = {
    # pytest options of the harness (short spelling of the checkout): pytest.UsageError, exit 4, one ERROR line
    "seed": (["--seed", "-1"], "the master seed must be a non-negative integer, got -1"),
    "device": (["--device", "tpu"], "--rcbench-device tpu: not a torch device name; valid here: cpu, auto"),
    "claim": (["--claim", "Z9"], "--rcbench-claim: unknown claim id 'Z9'"),
    "norm": (["--norm", "math:sqrt"], "--norm math:sqrt: not a factory"),
    "data root": (["--data-root", "/nonexistent/rcbench-data"], "--rcbench-data-root /nonexistent/rcbench-data: not a"),
    "activation on a claim without one": (["--activation", "torch.nn:GELU", "--claim", "D10"],
                                          "--rcbench-activation: no selected claim takes an activation; the claims "
                                          "that do: D8"),  # fmt: skip
}


@pytest.mark.parametrize("case", list(HARNESS_REFUSED))
def test_pytest_harness_refuses_before_collection(case, tmp_path):
    import subprocess
    import sys

    argv, message = HARNESS_REFUSED[case]
    target = ROOT / "claims" / ("test_d_isometry.py" if "--activation" in argv else "conftest.py")
    proc = subprocess.run([sys.executable, "-m", "pytest", str(target), "-p",
                           "no:cacheprovider", "--co", "-q", "--results-dir", str(tmp_path / "r"), *argv],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stderr and "INTERNALERROR" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_pytest_harness_never_replaces_a_directory_that_is_not_a_run(tmp_path):
    """--results-dir naming a folder of the user's (not empty, no run.json) is refused before any claim runs."""
    import subprocess
    import sys

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    proc = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "claims" / "test_b_orthogonality.py"), "-p",
                           "no:cacheprovider", "-q", "--claim", "B1", "--results-dir", str(mine)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "not empty and not an rcbench results directory" in proc.stderr and "INTERNALERROR" not in proc.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


TINY_DATA_CLAIM = '''
import pytest

from rcbench.data import torchvision_dataset


@pytest.mark.claim("A9")
def test_needs_mnist(record, data_root):
    torchvision_dataset("mnist", data_root)
    record.check("x", 1.0, expected=1.0, tolerance="exact", passed=True)
    record.verify()
'''


def test_missing_data_set_skips_the_claim_with_the_layout(tmp_path):
    """A --data-root without the claim's data set: the claim is skipped (never failed), the reason names the data set
    and the folder torchvision expects, and never suggests download=True."""
    import json
    import shutil
    import subprocess
    import sys

    claims = tmp_path / "claims"
    claims.mkdir()
    shutil.copy(ROOT / "claims" / "conftest.py", claims / "conftest.py")
    (claims / "test_tiny.py").write_text(TINY_DATA_CLAIM)
    (tmp_path / "data").mkdir()
    proc = subprocess.run([sys.executable, "-m", "pytest", str(claims), "-p", "rcbench.pytest_plugin", "-p",
                           "no:cacheprovider", "-q", "-rs", "--rcbench-data-root", str(tmp_path / "data"),
                           "--rcbench-results-dir", str(tmp_path / "r")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    test = json.loads((tmp_path / "r" / "run.json").read_text())["tests"][0]
    assert test["outcome"] == "skipped" and test["verdict"] != "failed"
    assert "MNIST" in test["reason"] and "MNIST/raw" in test["reason"] and "never downloads" in test["reason"]
    assert "download=True" not in proc.stdout + proc.stderr + test["reason"]
