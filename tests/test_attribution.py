"""Attribution of a discriminator onto geometric masks (``analysis.attribution``,
``mitogan explain``): method conformance, scores against hand-made answers, the randomized
null, the causal blur check, a trained known answer, and the CLI on a real tracked run."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

import models
from analysis.attribution import (AttributionMethod, explain_discriminator, get_method,
                                  list_methods, register_method)
from analysis.attribution import scores
from analysis.attribution.causal import feature_region, random_region
from analysis.attribution.known_answer import known_answer, render_tubules
from analysis.attribution.null import cascading_randomization, parametrized_layers, spearman_maps
from bench.errors import MitoError

torch.set_num_threads(2)
S = 32


def _D(seed=0, width=8, gan="dcgan"):
    torch.manual_seed(seed)
    return models.get_variant(gan).build(S, latent_dim=8, width=width)[1].eval()


@pytest.mark.parametrize("name", list_methods())
def test_every_method_gives_nonnegative_deterministic_maps_that_follow_the_weights(name):
    x = torch.from_numpy(render_tubules(3, S, beaded=True, seed=0)) * 2 - 1  # (3, 1, S, S)
    D, other = _D(0), _D(1)
    m = get_method(name)
    torch.manual_seed(0)
    a = m.attribute(D, x)
    torch.manual_seed(0)
    b = m.attribute(D, x)
    torch.manual_seed(0)
    c = m.attribute(other, x)
    assert a.shape == (3, S, S) and a.dtype == torch.float32
    assert (a >= 0).all() and a.sum() > 0
    assert torch.equal(a, b)  # same seed, same maps
    assert not torch.allclose(a, c)  # other weights, other maps


def test_registry_refuses_duplicates_and_unknown_names():
    class Flat(AttributionMethod):
        def attribute(self, D, x):
            return torch.ones(len(x), *x.shape[-2:])

    with pytest.raises(ValueError, match="already registered"):
        register_method("ig", Flat())
    with pytest.raises(ValueError, match="bad"):
        register_method("no spaces", Flat())
    with pytest.raises(MitoError, match="unknown attribution method 'shap'"):
        get_method("shap")


def test_enrichment_matches_hand_computed_values():
    rng = np.random.default_rng(0)
    mask = np.zeros((6, 10, 10), bool)
    mask[:, :2] = True  # 20 % of every frame
    on_mask = np.where(mask, 1.0, 0.0)  # all mass inside
    uniform = np.ones((6, 10, 10))
    half = np.where(mask, 1.0, 0.25)  # inside: 20 / (20 + 20) = 50 % of mass
    idx = scores.bootstrap_indices(6, 200, 0)
    for maps, expect in ((on_mask, 5.0), (uniform, 1.0), (half, 2.5)):
        e, lo, hi = scores.enrichment(*scores.mask_stats(maps, {"m": mask})["m"], idx)
        assert e == pytest.approx(expect) and lo <= e <= hi
    ratio = scores.enrichment_over_null(scores.mask_stats(on_mask, {"m": mask})["m"],
                                        scores.mask_stats(half, {"m": mask})["m"], idx)
    assert ratio[0] == pytest.approx(2.0)
    noisy = uniform + rng.random(uniform.shape)
    e, lo, hi = scores.enrichment(*scores.mask_stats(noisy, {"m": mask})["m"], idx)
    assert lo < e < hi and abs(e - 1) < 0.1


def test_cascade_randomizes_from_the_top_and_leaves_D_alone():
    D = _D(0, gan="sngan")  # spectral norm: weights live under parametrizations
    before = copy.deepcopy(D.state_dict())
    names = [n for n, _ in parametrized_layers(D)]
    steps = list(cascading_randomization(D, seed=0))
    assert [n for n, _ in steps] == names[::-1]  # top (head) first
    first_name, D1 = steps[0]
    changed = {k for k, v in D1.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(first_name) for k in changed)
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in before.items())
    last = steps[-1][1].state_dict()
    assert all(not torch.equal(last[k], before[k]) for k in before
               if k.endswith(("weight", "original")) and "." in k)


def test_spearman_is_one_for_monotone_and_low_for_independent_maps():
    rng = np.random.default_rng(0)
    a = rng.random((4, 8, 8))
    assert np.allclose(spearman_maps(a, a ** 3), 1.0)
    assert np.abs(spearman_maps(a, rng.random((4, 8, 8)))).max() < 0.4


def test_causal_control_is_equal_area_foreground_outside_the_feature():
    rng = np.random.default_rng(0)
    fg = np.zeros((20, 20), bool)
    fg[5:15, 2:18] = True
    tips = np.zeros_like(fg)
    tips[10, 3] = tips[10, 16] = True
    region, pool = feature_region(tips, fg, 2, rng)
    ctrl = random_region(pool, int(region.sum()), 2, rng)
    assert region.sum() > 2 and not (region & ~fg).any()
    assert ctrl.sum() == region.sum() and not (ctrl & region).any() and not (ctrl & ~fg).any()
    assert random_region(pool, int(pool.sum()) + 1, 2, rng) is None


def test_bad_frames_are_refused_in_one_line():
    D = _D()
    good = render_tubules(3, S, beaded=False, seed=0)
    with pytest.raises(MitoError, match=r"real: frames must be finite and in \[0, 1\]"):
        explain_discriminator(D, good * 2 - 1, methods=["gradcam"])
    with pytest.raises(MitoError, match="fake: expected frames"):
        explain_discriminator(D, good, good[:, 0], methods=["gradcam"])
    with pytest.raises(MitoError, match="unknown attribution method"):
        explain_discriminator(D, good, methods=["nope"])


def test_known_answer_beads_rank_first_above_null_and_causally():
    """A discriminator trained to tell pearled from smooth tubules must find the beads."""
    result, acc = known_answer(size=S, n_train=128, steps=250, n_eval=24, width=8,
                               methods=["ig", "saliency", "gradcam"], seed=0, n_boot=300,
                               n_sanity=2, figures=False, progress=False)
    assert acc > 0.6  # above chance on fresh frames (0.5); the causal check below is sharper
    real = result.summary[result.summary.source == "real"].set_index("feature")
    assert real["rank"].idxmin() == "beads"  # most unique attribution over the null
    assert real.loc["beads", "over_null"] > 1
    beads = result.table.query("source == 'real' and feature == 'beads'").set_index("method")
    assert (beads.loc[["ig", "saliency"], "unique_lo"] > 0).all()  # CI excludes the null
    causal = result.causal.set_index(["source", "feature"]).loc[("real", "beads")]
    assert causal["effect_hi"] < 0  # blurring beads lowers "pearled" more than random foreground


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """A real (tiny) training run on tubule movies in a SQLite MLflow store."""
    import tifffile
    from bench import tracking
    from bench.config import TrainConfig
    from bench.train import train
    from preprocessing.ingest import import_dataset

    root = tmp_path_factory.mktemp("explain")
    paths = []
    for i in range(4):
        frames = render_tubules(5, 40, beaded=i % 2 == 0, seed=i)[:, 0]  # (T, Y, X) [0, 1]
        tifffile.imwrite(root / f"movie{i}.tif", (frames * 4000).astype(np.uint16))
        paths.append(root / f"movie{i}.tif")
    ws = root / "ws"
    import_dataset(paths, "tubes", ws, progress=False)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    tracking.ensure_experiment("t", uri)
    cfg = TrainConfig(dataset="tubes", pipeline="normalize|resize", size=S, steps=4, batch=8,
                      width=8, latent_dim=16, log_every=2, sample_every=2, ckpt_every=4, n_grid=4,
                      threads=1, experiment="t", log_model=False)
    res = train(cfg, workspace=ws, tracking_uri=uri, progress=False)
    assert res.status == "FINISHED"
    return {"ws": ws, "uri": uri, "run_id": res.run_id}


def test_cli_explains_a_tracked_run_and_logs_artifacts(tracked_run, tmp_path, capsys):
    from bench import tracking
    from bench.cli import main as cli

    r = tracked_run
    rc = cli(["--workspace", str(r["ws"]), "explain", "--run", r["run_id"], "--tracking-uri",
              r["uri"], "--frames", "4", "--methods", "ig,gradcam", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert rc == 0 and "salient geometric features, real frames (N = 4)" in out
    c = tracking.client(r["uri"])
    logged = {a.path for a in c.list_artifacts(r["run_id"], "explain")}
    assert {"explain/table.csv", "explain/explain.json", "explain/attribution_overlay.png",
            "explain/enrichment_over_null.png", "explain/sanity_cascade.png"} <= logged
    table = pd.read_csv(tmp_path / "o" / "table.csv")
    assert set(table.source) == {"real", "fake"} and set(table.method) == {"ig", "gradcam"}
    assert len(table) == 2 * 2 * 9
    tags = c.get_run(r["run_id"]).data.tags
    assert tags["mitogan.explain.top_real"] in set(table.feature)


def test_cli_bad_input_is_one_line_exit_2(tracked_run, capsys):
    from bench.cli import main as cli

    r = tracked_run
    rc = cli(["explain", "--run", r["run_id"], "--tracking-uri", r["uri"], "--methods", "ig,shap"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: --methods: unknown method(s) ['shap']")
    assert "\n" not in err
    rc = cli(["explain", "--run", "0" * 32, "--tracking-uri", r["uri"]])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and "\n" not in err
