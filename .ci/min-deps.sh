#!/usr/bin/env bash
# CI: prove the declared lower bounds. A second virtualenv sees .venv's packages through a .pth
# file (no second torch install: the wheel already unpacked there is reused) and installs, in
# front of them, exactly the minimum versions pyproject.toml declares for optuna, mlflow and
# torch-fidelity; then runs the fast tests that exercise their APIs. Run after .venv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
mins="$(.venv/bin/python - <<'PY'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
want = {"optuna", "mlflow", "torch-fidelity"}
for d in deps:
    m = re.match(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", d)
    if m and m[1] in want:
        print(f"{m[1]}=={m[2]}")
        if m[1] == "mlflow":  # mlflow pins its two halves to its own version
            print(f"mlflow-skinny=={m[2]}\nmlflow-tracing=={m[2]}")
PY
)"
for pin in $mins; do  # a lower bound must be a version the index actually has
    name="${pin%%==*}" ver="${pin##*==}"
    on_index="$(.venv/bin/pip index versions "$name" 2>/dev/null || true)"  # no pipe: grep -q would SIGPIPE pip
    grep -Eq "[ ,]${ver//./\\.}(,|$)" <<<"$on_index" \
        || { echo "min-deps: $name $ver (the declared minimum) is not on the package index" >&2; exit 1; }
done
rm -rf .venv-min && python3 -m venv .venv-min
site_min="$(.venv-min/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
.venv/bin/python -c 'import sys; print("\n".join(p for p in sys.path if p.endswith("site-packages")))' \
    > "$site_min/mitogan-base.pth"
# --no-deps: the rest comes from .venv; pip must not touch (uninstall from) the shared one.
# shellcheck disable=SC2086
.venv-min/bin/pip install -q --no-deps $mins
echo "min-deps: testing with $(echo $mins | tr '\n' ' ')"
.venv-min/bin/python - <<PY
from importlib.metadata import version
for pin in """$mins""".split():
    name, ver = pin.split("==")
    assert version(name) == ver, f"{name}: {version(name)} imported, {ver} wanted"
PY
.venv-min/bin/python -m pytest -q -p no:cacheprovider tests/test_dependencies.py \
    "tests/test_study.py::test_local_study_end_to_end_and_rerun" \
    "tests/test_train.py::test_each_variant_trains_and_records_its_run[dcgan]" \
    tests/test_compare.py::test_precision_recall_equal_torch_fidelitys_on_overlapping_sets \
    tests/test_compare.py::test_fid_kid_prc_are_torch_fidelitys
