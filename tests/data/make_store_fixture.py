"""How tests/data/store-0.1.0/ was written (by the code before rcbench/sweep.py was split, commit f684a36).

Run from the repository root: ``python tests/data/make_store_fixture.py`` (rewrites the fixture; only do so when
the on-disk format is meant to change, and say so). tests/test_store_format.py reads the committed files.
"""

from pathlib import Path

from rcbench import sweep as S

OUT = Path(__file__).parent / "store-0.1.0"

if __name__ == "__main__":
    # a sweep: manifest, table.csv, two cells
    S.sweep("toy:mlp_trace", {"depth": [2, 3]}, params={"width": 8, "n": 4}, seeds=2, seed=7, results_dir=OUT,
            workers=0, progress=False)
    # requested calls (what a claims run asks of a store), one that fails, into the same store
    S.compute_requests([
        {"experiment": "toy:mlp_trace", "params": S.encode_params(
            {"depth": 2, "width": 8, "n": 4, "seeds": 1, "seed": 11, "norm": "ln", "activation": "tanh",
             "metrics": ["soft_rank"], "device": "cpu"})},
        {"experiment": "toy:fragile_trace", "params": S.encode_params(
            {"depth": 2, "width": 8, "raise_depth": 2, "seed": 3})},
    ], OUT, workers=0, progress=False)
