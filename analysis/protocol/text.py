"""A protocol result (:meth:`analysis.protocol.score.Protocol.score`) as a plain-text table, as
``compare-sets`` and ``evaluate`` print it."""
from __future__ import annotations

from analysis.protocol.measures import METRICS


def _word(res: dict, m: str) -> str:
    v = res["verdict"]
    if not v["possible"]:
        return "no verdict"
    word = "within floor" if v["within_floor"][m] else "BEYOND floor"
    return word if m in res["headline"] else f"({word}; not headline)"


def format_result(res: dict, title: str) -> str:
    """metric | worse when | value [95%] | floor [95%] | verdict, then the flags and N per role."""
    g = lambda x: f"{x:.4g}"  # noqa: E731
    ival = lambda d, m: "" if not d else f" [{g(d[m][0])}, {g(d[m][1])}]"  # noqa: E731
    worse = {1: "higher", -1: "lower", 0: "either way"}
    n = res["n"]
    lines = [f"{title}: samples {n['samples']['frames']} frames (of {n['samples']['given']}), "
             f"held-out {n['heldout']['frames']} frames / {n['heldout']['movies']} movies, "
             f"train {n['train']['frames']} / {n['train']['movies']}; extractor {res['extractor']}; "
             f"{res['ci_method']}",
             f"{'metric':<15}{'worse':<12}{'value [95%]':>30}{'floor [95%]':>30}  verdict"]
    for m in res["metrics"]:
        lines.append(f"{m:<15}{worse[METRICS[m]]:<12}{g(res['metrics'][m]) + ival(res['ci'], m):>30}"
                     f"{g(res['floor'][m]) + ival(res['floor_ci'], m):>30}  {_word(res, m)}")
    v = res["verdict"]
    if not v["possible"]:
        lines.append(v["reason"])
    else:
        null = res["floor_ci"]["copy_fraction"]
        lines.append(f"copying TRAIN: {'YES' if v['copying'] else 'no'} (copy_fraction interval vs its "
                     f"null {res['copy_quantile']:g} [{null[0]:.3g}, {null[1]:.3g}]);  collapsed: "
                     f"{'YES' if v['collapsed'] else 'no'};  objective (mean worse-side gap in floor sd "
                     f"over headline): {res['objective']:.3g} [{res['objective_ci'][0]:.3g}, "
                     f"{res['objective_ci'][1]:.3g}]")
    return "\n".join(lines)
