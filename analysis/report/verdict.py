"""The verdict at the top of the report: five sentences a biologist reads in a minute, each
pointing at the section with its evidence.

1. Which preprocessing × variant learned the held-out population best, and whether its lead over
   the runner-up is larger than the intervals (``heldout_gap`` intervals disjoint).
2. Collapse: distinct frames of the synthetic set against the real frames' own, at the same N.
3. Copying: the fraction of samples nearer a training frame than held-out frames typically are,
   against the fraction expected of new movies.
4. Morphology, feature by feature: the generated median inside the middle half (25-75%) of the
   held-out frames is "within real variation"; outside it, in words ("too thin", "too few tips");
   then the background, where evaluate logged it: exact-zero pixels and median pixel against the
   held-out frames' (a tanh generator's haze, :mod:`analysis.intensity`).
5. Attribution: geometric features whose attribution, beyond what the overlapping masks explain,
   exceeds the randomized-weights null (``unique`` excess, 95% interval above 0, in at least half
   of the methods that pass the sanity check), and whether the causal blur check agreed.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analysis.protocol.flat import HIGH, LOW, OBJECTIVE, number
from analysis.protocol.measures import COPY_QUANTILE
from analysis.report.sections import Missing, ReportContext, register_section
from analysis.report.tables import fmt, param_label, trial_label

# morphology column -> (name, word when the generated median is below, when above)
FEATURE_WORDS = {"tubule_width_px": ("tubule width", "too thin", "too thick"),
                 "branch_length_px": ("branch length", "branches too short", "branches too long"),
                 "end_points": ("tips", "too few tips", "too many tips"),
                 "junctions": ("junctions", "too few junctions", "too many junctions"),
                 "bead_count": ("beads", "too few beads", "too many beads"),
                 "area_px": ("mitochondrial area", "too little area", "too much area"),
                 "branches_per_network": ("branches per network", "networks too simple",
                                          "networks too branched")}


def _setting(row) -> str:
    opts = [name for key, name in (("diffaug", "DiffAugment"), ("ada", "ADA")) if str(row.get(key)) == "True"]
    opts += ["fluorescence output"] if row.get("output") == "fluorescence" else []
    gan = " + ".join([str(row.get("gan", "?")), *opts])
    return f"{param_label(row, 'pipeline')} × {gan} (trial {trial_label(row)})"


def winner(ranked: pd.DataFrame) -> str:
    best = ranked.iloc[0]
    gap, lo, hi = (number(best, OBJECTIVE + s) for s in ("", LOW, HIGH))
    flags = [w for k, w in (("copying", "it copies training frames"), ("collapsed", "it collapsed"))
             if number(best, k) == 1]
    text = (f"Best at matching the held-out movies: {_setting(best)}, {fmt(gap)} floor SDs from "
            f"new real movies on average" + (f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None else "")
            + (f" (although {' and '.join(flags)}: every ranked trial does)" if flags else ""))
    if len(ranked) < 2:
        return text + "; it is the only ranked trial."
    second = ranked.iloc[1]
    gap2, lo2 = number(second, OBJECTIVE), number(second, OBJECTIVE + LOW)
    if gap is not None and gap2 is not None and gap2 < gap:
        why = "copies training frames" if number(second, "copying") == 1 else "collapsed"
        return text + f"; {_setting(second)} is closer ({fmt(gap2)}) but ranks below it: it {why}."
    clear = hi is not None and lo2 is not None and hi < lo2
    return text + (f"; its lead over {_setting(second)} ({fmt(gap2)}) is "
                   + ("larger than the intervals." if clear else
                      "within the intervals: no clear winner."))


def collapse(row) -> str:
    synth, real, n = (number(row, k) for k in ("synthetic_distinct", "real_distinct", "distinct_n"))
    flag = number(row, "collapsed")
    head = ("It collapsed: fewer than half the distinct frames of real movies at the same N. "
            if flag == 1 else "It did not collapse (distinct frames at the same N as real). " if flag == 0 else "")
    if synth is None or real is None:
        return head + "No synthetic set was generated, so its distinct frames were not counted."
    return (head + f"Its synthetic set ({fmt(number(row, 'synthetic_frames'))} frames) holds {fmt(synth)} "
            f"effectively distinct frames among {fmt(n)} sampled; {fmt(n)} real frames hold {fmt(real)}.")


def copying(row) -> str:
    v, lo, hi = (number(row, "copy_fraction" + s) for s in ("", LOW, HIGH))
    if v is None:
        return "Copying was not measured (no held-out verdict)."
    copied = number(row, "copying") == 1
    null_hi = number(row, "floor_copy_fraction" + HIGH)
    return (f"{'It copies training frames' if copied else 'It does not copy training frames'}: "
            f"{v:.0%} of its samples [{lo:.0%}, {hi:.0%}] are nearer a training frame than "
            f"{1 - COPY_QUANTILE:.0%} of held-out frames are; new movies would give {COPY_QUANTILE:.0%}"
            + (f" (up to {null_hi:.0%} with this few movies)." if null_hi is not None else "."))


def morphology_words(real: pd.DataFrame, fake: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(within, off)``: feature names within real variation, and words for the others."""
    within, off = [], []
    for col, (name, low, high) in FEATURE_WORDS.items():
        if col not in real or col not in fake:
            continue
        q1, q3 = np.percentile(real[col], [25, 75])
        m = float(np.median(fake[col]))
        if q1 <= m <= q3:
            within.append(name)
        else:
            off.append(f"{low if m < q1 else high} ({name} median {fmt(m)} vs real {fmt(q1)}–{fmt(q3)})")
    return within, off


def morphology(real: pd.DataFrame, fake: pd.DataFrame) -> str:
    within, off = morphology_words(real, fake)
    return ("Its mitochondria, feature by feature against held-out frames (generated median inside "
            "the middle half of real frames = within real variation): "
            + ("; ".join(off) if off else "every feature within real variation")
            + (f"; within real variation: {', '.join(within)}." if within and off else "."))


def background(row) -> str:
    """`` Background: ...`` (exact-zero pixels and median pixel, generated vs held-out), or ``""``
    for runs evaluated before these were logged."""
    v = {(side, k): number(row, f"{side}_{k}") for side in ("real", "fake")
         for k in ("zero_fraction", "pixel_median")}
    if any(x is None for x in v.values()):
        return ""
    return (f" Background: {v['fake', 'zero_fraction']:.0%} of its pixels are exactly zero against "
            f"{v['real', 'zero_fraction']:.0%} of held-out pixels (median pixel "
            f"{fmt(v['fake', 'pixel_median'])} vs {fmt(v['real', 'pixel_median'])}).")


def attribution(doc: dict) -> str:
    table = pd.DataFrame(doc.get("table", []))
    if table.empty:
        return "The attribution run has no per-feature table."
    if "sanity_pass" not in table or not table["sanity_pass"].any():
        return ("No attribution method passed the sanity check (trained maps too close to those of "
                "randomized weights): no claim about salient features.")
    ok = table[table["sanity_pass"]]
    src = "real" if "real" in set(ok["source"]) else ok["source"].iloc[0]
    ok = ok[ok["source"] == src]
    lo = "unique_lo" if "unique_lo" in ok else "over_null_lo"  # beyond overlapping masks, when known
    passed = ok.assign(above=ok[lo] > 0).groupby("feature")["above"].mean()
    salient = sorted(passed[passed >= 0.5].index)
    causal = pd.DataFrame(doc.get("causal", []))
    if not causal.empty:
        causal = causal[causal["source"] == src] if "source" in causal else causal
    agreed = [r["feature"] for _, r in causal.iterrows()
              if pd.notna(r.get("causal_lo")) and (r["causal_lo"] > 0 or r["causal_hi"] < 0)]
    head = (f"On {src} frames the discriminator's attribution, beyond the overlapping masks, "
            "exceeded the randomized-weights null on "
            + (", ".join(salient) if salient else "no geometric feature"))
    tail = ("; the causal blur check agreed for " + ", ".join(agreed) + "." if agreed else
            "; the causal blur check found no feature whose blurring moved the discriminator more "
            "than blurring random foreground.")
    return head + tail


def _explain_doc(ctx: ReportContext, rid: str) -> dict:
    doc = next((p for p in ctx.study.artifacts(rid) if p.endswith("explain.json")), None)
    if doc is None:
        raise Missing("the best trial has no `mitogan explain` outputs")
    return json.loads(ctx.study.download(rid, doc).read_text())


@register_section("verdict", "Verdict", 5)
def verdict(ctx: ReportContext) -> dict:
    ranked = ctx.study.ranked()
    if not len(ranked):
        raise Missing("no ranked trial: none is complete with a verdict on an intensity pipeline")
    row = ranked.iloc[0]
    rid = row["run_id"]
    sentences = [(winner(ranked), "leaderboard"), (collapse(row), "memorization"),
                 (copying(row), "memorization")]
    from analysis.report.imagery import morphology_tables  # late: imagery registers its sections
    for text, target, make in (
            ("morphology", "morphology", lambda: morphology(*morphology_tables(ctx, rid)) + background(row)),
            ("attribution", "attribution", lambda: attribution(_explain_doc(ctx, rid)))):
        try:
            sentences.append((make(), target))
        except Missing as err:
            sentences.append((f"No {text} verdict: {err}.", target))
        except Exception as err:  # noqa: BLE001 - one input in an unexpected form: say so, keep the rest
            sentences.append((f"No {text} verdict: {type(err).__name__}: {str(err)[:120]}.", target))
    return {"sentences": [{"text": t, "target": f"sec-{s}"} for t, s in sentences]}
