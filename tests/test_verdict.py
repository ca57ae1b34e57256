"""The report's verdict sentences on planted rows and tables (known answers)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report.verdict import attribution, background, copying, morphology_words, winner


def _row(trial, gap, lo, hi, **kw):
    return {"trial": trial, "pipeline": "normalize|resize", "gan": "dcgan", "heldout_gap": gap,
            "heldout_gap_ci_low": lo, "heldout_gap_ci_high": hi, **kw}


def test_winner_says_whether_the_lead_exceeds_the_intervals():
    clear = pd.DataFrame([_row(1, 0.5, 0.2, 0.9), _row(2, 3.0, 2.0, 4.0)])
    assert "larger than the intervals" in winner(clear) and "trial #1" in winner(clear)
    close = pd.DataFrame([_row(1, 0.5, 0.2, 2.5), _row(2, 3.0, 2.0, 4.0)])
    assert "no clear winner" in winner(close)
    assert "only ranked trial" in winner(clear.iloc[:1])
    # a copier ranks below a non-copier even when it is closer: said, not called a "lead"
    copier_second = pd.DataFrame([_row(1, 3.0, 2.0, 4.0), _row(2, 0.5, 0.2, 0.9, copying=1.0)])
    assert "is closer (0.5) but ranks below it: it copies training frames" in winner(copier_second)


def test_copying_sentence_follows_the_flag():
    assert copying({"copy_fraction": 0.9, "copy_fraction_ci_low": 0.8, "copy_fraction_ci_high": 1.0,
                    "copying": 1.0}).startswith("It copies training frames: 90%")
    assert copying({"copy_fraction": 0.1, "copy_fraction_ci_low": 0.05, "copy_fraction_ci_high": 0.2,
                    "copying": 0.0}).startswith("It does not copy")


def test_background_clause_compares_exact_zeros_and_median():
    row = {"real_zero_fraction": 0.67, "real_pixel_median": 0.0, "fake_zero_fraction": 0.0,
           "fake_pixel_median": 0.0145}
    assert background(row) == (" Background: 0% of its pixels are exactly zero against 67% of "
                               "held-out pixels (median pixel 0.0145 vs 0).")
    assert background({"real_zero_fraction": 0.67}) == ""  # evaluated before these were logged


def test_morphology_words_name_the_direction_of_each_departure():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"tubule_width_px": rng.normal(5, 1, 200), "end_points": rng.normal(10, 2, 200)})
    fake = pd.DataFrame({"tubule_width_px": rng.normal(2, 0.3, 200), "end_points": rng.normal(10, 2, 200)})
    within, off = morphology_words(real, fake)
    assert within == ["tips"] and len(off) == 1 and off[0].startswith("too thin")


def test_attribution_lists_features_above_the_null_and_the_causal_check():
    table = [{"source": "real", "method": m, "feature": f, "sanity_pass": True,
              "over_null_lo": lo} for m in ("ig", "gradcam") for f, lo in (("beads", 0.2), ("tips", -0.1))]
    causal = [{"source": "real", "feature": "beads", "causal_lo": -0.5, "causal_hi": -0.1},
              {"source": "real", "feature": "tips", "causal_lo": -0.2, "causal_hi": 0.3}]
    text = attribution({"table": table, "causal": causal})
    assert "null on beads;" in text and "agreed for beads." in text
    none = attribution({"table": [dict(r, over_null_lo=-1.0) for r in table], "causal": []})
    assert "no geometric feature" in none and "found no feature" in none
    insane = attribution({"table": [dict(r, sanity_pass=False) for r in table], "causal": causal})
    assert insane.startswith("No attribution method passed the sanity check")


def test_budget_statement_says_whether_compute_was_equal():
    from analysis.report.board import budget_statement
    done = {"state": ["complete"] * 2, "steps_done": [100.0, 300.0], "images_seen": [3200.0, 9600.0],
            "train_gflops": [50.0, 60.0], "train_seconds": [10.0, 10.0]}
    timed = budget_statement(pd.DataFrame({**done, "max_seconds": [10.0, 10.0]}))
    assert timed.startswith("Equal compute: every trial trained for 10 s")
    assert "took 100–300 steps, saw 3,200–9,600 images" in timed
    steps = budget_statement(pd.DataFrame({**done, "steps_done": [200.0, 200.0],
                                           "train_seconds": [8.0, 30.0], "max_seconds": [None, None]}))
    assert steps.startswith("Equal steps, not equal compute: every trial ran 200 steps, which took 8–30 s")
    mixed = budget_statement(pd.DataFrame({**done, "max_seconds": [10.0, None]}))
    assert mixed.startswith("Budgets differ between trials")
    old = budget_statement(pd.DataFrame({**done, "steps_done": [None, None], "max_seconds": [None, None]}))
    assert "not logged" in old
