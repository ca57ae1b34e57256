"""``mitogan report`` on a real tiny study (2 cells, real training and evaluation in a tmp
MLflow store), opened in a real headless Chromium: the page's self-test (``?selftest=1``)
sorts the leaderboard, clicks the quiz and records console errors into ``<body>``."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import cells_dataset, local_uri, tiny_study

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent "
                                "(install it with .ci/chromium.sh: apt-get install chromium)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--headless", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def chromium(page: Path, profile: Path, *args: str, query: str = "") -> subprocess.CompletedProcess:
    """Run headless Chromium on a local page (no network), console messages on stderr."""
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
                           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                           *args, page.resolve().as_uri() + query],
                          capture_output=True, text=True, timeout=120)


def body_attrs(dom: str) -> dict[str, str]:
    tag = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A 2-cell study (1 pipeline × dcgan/lsgan, 32 px, 12 steps) run by ``mitogan study``."""
    from bench.cli import main
    tmp = tmp_path_factory.mktemp("study")
    ws = tmp / "ws"
    cells_dataset(tmp, ws)
    uri = local_uri(tmp)
    tiny_study(tmp / "tiny.yaml", "tiny", pipelines=["normalize|resize"], tracking_uri=uri,
               storage=f"journal:{tmp / 'mlruns' / 'optuna.journal'}",
               finish={"explain_frames": 8, "generate_ratio": 2})  # the main job's finish, small
    assert main(["--workspace", str(ws), "study", "--config", str(tmp / "tiny.yaml")]) == 0
    from bench.jobs.report import build_report
    res = build_report("tiny", tmp / "report", tracking_uri=uri, workspace=ws)
    return {"res": res, "uri": uri, "tmp": tmp, "ws": ws}


def test_report_in_browser(study, tmp_path):
    from mlflow.tracking import MlflowClient
    res = study["res"]
    html = res.html.read_text()
    assert res.n_trials == 2 and html.count('<tr class="') == 2
    # self-contained: no fetched resources (images are data URIs, script inline)
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<link" not in html
    assert html.count('class="tile"') == 16 and 'src="data:image/png;base64,' in html
    sections = dict(re.findall(r'<section id="sec-(\w+)">(.*?)</section>', html, re.S))
    assert list(sections)[0] == "verdict" and "pareto" not in sections  # one objective: no front
    for name, sec in sections.items():  # the main job's report: every section filled
        assert "Not available" not in sec and "not available" not in sec, f"{name}: {sec[:300]}"
    targets = re.findall(r'<li data-target="sec-(\w+)">', sections["verdict"])
    assert len(targets) == 5 and set(targets) <= set(sections), targets  # each sentence: its evidence
    assert "Best at matching the held-out movies" in sections["verdict"]
    assert "effectively distinct frames" in sections["verdict"]  # the finish's synthetic set
    assert "Background: 0% of its pixels are exactly zero" in sections["verdict"]  # tanh: no zero
    assert "exact-zero pixels (fraction)" in sections["morphology"] and "pixel 99th percentile" in \
        sections["morphology"]  # evaluate's intensity summaries beside the morphology
    prov = sections["provenance"]
    assert "mito-ssl" in prov and "data_hash" in prov        # extractor and data set hash named
    assert "explain" in sections["attribution"]

    run = chromium(res.html, tmp_path / "p1", "--dump-dom", query="?selftest=1")
    attrs = body_attrs(run.stdout)
    assert attrs.get("data-selftest") == "ok", attrs
    assert attrs["data-leaderboard-rows"] == "2" and attrs["data-console-errors"] == "0"
    assert attrs["data-quiz"] == "1/16/16"                 # one click reveals one; all reveal all
    assert not [ln for ln in run.stderr.splitlines() if "CONSOLE" in ln and "Uncaught" in ln]

    shot = tmp_path / "report.png"
    chromium(res.html, tmp_path / "p2", f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    client = MlflowClient(study["uri"])
    logged = {a.path for a in client.list_artifacts(res.logged_to, "report")}
    assert logged == {"report/report.html", "report/summary.md"}
    md = res.markdown.read_text()
    assert "Best trial" in md and "| trial |" in md and md.index("## Verdict") < md.index("Best trial")


def test_selftest_detects_a_broken_page(study, tmp_path):
    """The harness can fail: a page missing one leaderboard row is reported, not passed."""
    html = study["res"].html.read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r'<tr class="[^"]*".*?</tr>', "", html, count=1, flags=re.S))
    attrs = body_attrs(chromium(broken, tmp_path / "p", "--dump-dom", query="?selftest=1").stdout)
    assert attrs["data-selftest"].startswith("fail") and "leaderboard rows 1" in attrs["data-selftest"]


def test_unknown_study_is_one_line_error(study, capsys):
    from bench.cli import main
    rc = main(["report", "--study", "nope", "--tracking-uri", study["uri"],
               "--out", str(study["tmp"] / "nope")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "study-nope" in err
    assert not (study["tmp"] / "nope").exists()


def test_cli_report_rebuilds_and_degrades_without_workspace(study, tmp_path, capsys):
    """Without the data sets the frame sections say why in one line; the rest is built."""
    from bench.cli import main
    empty = tmp_path / "empty-ws"
    rc = main(["--workspace", str(empty), "report", "--study", "tiny", "--tracking-uri",
               study["uri"], "--out", str(tmp_path / "r"), "--no-log"])
    out = capsys.readouterr().out
    html = (tmp_path / "r" / "report.html").read_text()
    assert rc == 0 and html.count('<tr class="') == 2
    assert "Real or fake?: not available" in out
    shutil.rmtree(empty, ignore_errors=True)
