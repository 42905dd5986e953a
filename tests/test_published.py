"""The README claim table generator (rcbench.published): markers, kept quick column, paper-scale cells."""

from __future__ import annotations

from types import SimpleNamespace

from rcbench import published as P

README = """# x

| id | claim | source | quick-profile verdict |
|---|---|---|---|
| A1 | a \\| b | src | reproduced |
| A5 | c | Fig. 3a | partially reproduced |

## next
"""


def test_table_is_replaced_between_markers_and_idempotent():
    quick = P.existing_quick(README)
    assert quick == {"A1": "reproduced", "A5": "partially reproduced"}
    once = P.replace_table(README, "| T |")
    assert P.START in once and P.END in once and "| A1 |" not in once and once.endswith("## next\n")
    assert P.replace_table(once, "| T |") == once
    assert P.replace_table(once, "| U |").count("| U |") == 1


def test_paper_cell_verdict_estimate_or_gpu():
    judged = {"A1": {"verdict": "reproduced", "runtime_s": 12.0}}
    cheap = SimpleNamespace(cpu_1core_s=90.0, cpu_all_s=60.0, gpu_s=5.0)
    huge = SimpleNamespace(cpu_1core_s=5e5, cpu_all_s=3e5, gpu_s=800.0)
    assert P.paper_cell("A1", judged, {}) == "reproduced (12 s)"
    assert P.paper_cell("A4", judged, {"A4": cheap}) == "not run: est. 2 min CPU"
    assert P.paper_cell("A3", judged, {"A3": huge}).startswith("needs a GPU (est. 6 d CPU")


def test_store_judged_claims_show_the_cells_compute_time(tmp_path):
    import json

    (tmp_path / P.COMPUTE_FILE).write_text(json.dumps({"claims": {"B2": 118.0}}))
    computed = P.compute_seconds(tmp_path)
    judged = {"B2": {"verdict": "reproduced", "runtime_s": 2.0, "from_store": True},
              "B3": {"verdict": "reproduced", "runtime_s": 1.0, "from_store": True}}
    est = SimpleNamespace(cpu_1core_s=90.0, cpu_all_s=60.0, gpu_s=5.0)
    assert P.paper_cell("B2", judged, {"B2": est}, computed) == "reproduced (2 min)"
    assert P.paper_cell("B3", judged, {"B3": est}, computed) == "reproduced (judged from the store; est. 2 min CPU to compute)"
    assert P.compute_seconds(tmp_path / "none") == {}
