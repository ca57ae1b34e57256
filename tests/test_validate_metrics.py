"""``mitogan validate-metrics --ladder-only``: the planted-generator ladder printed as a table,
exit 0 when every requirement holds and 1 when one fails; bad settings exit 2."""
from __future__ import annotations

import analysis.protocol.ladder as ladder
from bench.cli import main

N_BOOT = 50


def test_ladder_table_and_exit_code(tmp_path, capsys, monkeypatch):
    seen = []
    real_run = ladder.run_ladder
    monkeypatch.setattr(ladder, "run_ladder", lambda *a, **kw: seen.append(real_run(*a, **kw)) or seen[-1])
    argv = ["--workspace", str(tmp_path / "ws"), "validate-metrics", "--ladder-only", "--n-boot", str(N_BOOT),
            "--data-dir", str(tmp_path / "no-data")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"notice: {tmp_path / 'no-data'} absent" in out  # no HeLa movie: simulator only, said so
    assert len(seen) == 1 and seen[0]["name"] == "simulator" and seen[0]["results"]["a heldout-movies"]["n_boot"] == N_BOOT
    assert "rung" in out and "f drop-class" in out and f"({N_BOOT} replicates, seeded)" in out
    assert "PASS  b flagged copying" in out and "FAIL" not in out and out.rstrip().endswith("all checks passed")
    assert "real-vs-real" not in out  # --ladder-only: the known-answer checks did not run
    # the same ladder with one requirement broken: the command says so and fails
    broken = {**seen[0], "checks": {**seen[0]["checks"], "c flagged collapsed": False}}
    monkeypatch.setattr(ladder, "run_ladder", lambda *a, **kw: broken)
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAIL  c flagged collapsed" in out and out.rstrip().endswith("1 check(s) FAILED")


def test_bad_n_boot_is_exit_2(tmp_path, capsys):
    assert main(["--workspace", str(tmp_path), "validate-metrics", "--n-boot", "2"]) == 2
    assert capsys.readouterr().err.strip() == "error: --n-boot: must be at least 10, got 2"
