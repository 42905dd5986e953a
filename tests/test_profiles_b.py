"""The paper profile of paper B's claims (B1-B5, B7-B20) starts and runs a few layers, so it cannot rot.

Every configuration of ``PROFILES["paper"]`` is fed to its experiment with the depth truncated and the runs,
draws and counts cut to a few; the widths stay the paper's (the largest chains are only a few layers deep here).
"""

import pytest

from rcbench.experiments import orthogonality as exp

_SMALL = {"depth": 3, "runs": 2, "literal_runs": 2, "control_runs": 2, "random_runs": 2, "info_runs": 2,
          "random_depth": 3, "draws": 4, "count": 4, "steps": 2, "mc_draws": 1000, "layers": 1, "burn_in": 1,
          "plateau_from": 1}


def _paper(claim: str) -> dict:
    cfg = exp.config(claim, "paper")
    return {k: (min(v, _SMALL[k]) if k in _SMALL else v) for k, v in cfg.items()}


CHAIN_KEYS = ("n", "widths", "depth", "runs", "input", "sampler")


@pytest.mark.parametrize("claim", ["B2", "B12", "B13", "B15", "B17", "B19"])
def test_paper_chain_profiles_start(claim):
    cfg = _paper(claim)
    df = exp.bn_chain(**{k: v for k, v in cfg.items() if k in CHAIN_KEYS})
    assert df.layer.max() == cfg["depth"] and set(df.width) == set(cfg["widths"])
    if claim == "B12":
        lit = exp.bn_chain(n=cfg["n"], widths=cfg["literal_widths"], depth=cfg["depth"], runs=cfg["literal_runs"],
                           input=cfg["input"], sampler="literal")
        assert set(lit.width) == set(cfg["literal_widths"])
    if claim == "B15":
        info = exp.bn_chain(n=cfg["info_n"], widths=cfg["info_widths"], depth=cfg["depth"], runs=cfg["info_runs"],
                            input=cfg["input"])
        assert len(exp.theorem1_table(info)) == cfg["depth"] * len(cfg["info_widths"])


def test_paper_profiles_b14_b16():
    cfg = _paper("B14")
    for n in cfg["ns"]:
        exp.bn_chain(n=n, widths=cfg["widths"][:2], depth=cfg["depth"], runs=cfg["runs"], input="random")
    cfg = _paper("B16")
    for n in cfg["ns"]:
        exp.bn_chain(n=n, widths=(cfg["width"],), depth=cfg["depth"], runs=cfg["runs"], input=cfg["input"])


def test_paper_profiles_exact_and_one_step():
    assert len(exp.gap_identities(**_paper("B1"))) == 4
    assert len(exp.lemma4_table(**_paper("B3"))) > 0
    c4 = _paper("B4")
    assert len(exp.lemma8_table(count=c4["count"], n_max=c4["n_max"])) == 4
    assert len(exp.near_isotropy_table(ns=c4["isotropy_ns"], mc_draws=c4["mc_draws"])) == 3
    c5 = _paper("B5")
    assert len(exp.mean_field_table(start=c5["start"], steps=c5["steps"])) == 3
    assert len(exp.whitening_chain(**_paper("B7"))) > 0
    s = exp.one_step_summary(exp.one_step(**_paper("B8")))
    assert set(s.width) == set(exp.config("B8", "paper")["widths"])
    g = exp.gaussianity(**{**_paper("B20"), "widths": exp.config("B20", "paper")["widths"][:1]})
    assert set(g.arm) == {"bn", "vanilla"}
