#!/usr/bin/env bash
# Gate a change on rcbench: run the claims against your component and compare with the baseline stored in your repo.
#
#   examples/ci/gate.sh BASELINE_DIR NEW_DIR [rcbench run options ...]
#   e.g. examples/ci/gate.sh ci/rcbench-baseline rcbench-new --paper A,B --norm mypkg.norms:MyNorm
#
# Exit status: that of `rcbench compare` -- 0 no claim regressed, 1 a claim regressed (a verdict got worse, or a
# check that passed in the baseline fails now), 2 bad input. A claim failing in both runs is not a regression.
# Make the baseline once with the same options: rcbench run --results-dir ci/rcbench-baseline --no-report ... and
# commit it (run.json, checks.csv, verdicts.*; frames/ can be left out: compare reads run.json and checks.csv).
set -uo pipefail
baseline=${1:?usage: gate.sh BASELINE_DIR NEW_DIR [rcbench run options ...]}
new=${2:?usage: gate.sh BASELINE_DIR NEW_DIR [rcbench run options ...]}
shift 2
rcbench=${RCBENCH:-rcbench}   # e.g. RCBENCH="python -m rcbench"

$rcbench run --results-dir "$new" --overwrite --no-report "$@"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then   # 1 = some claim failed: the comparison decides whether that is new
  echo "gate.sh: rcbench run exited $rc (no usable run)" >&2
  exit "$rc"
fi
$rcbench compare "$baseline" "$new"
