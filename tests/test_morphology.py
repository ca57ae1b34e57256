"""Known answers for the fixed segmentation, skeleton parts, beads and morphology features."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi
from skimage.draw import disk, line

from analysis.metrics.morphology_distance import morph_distances
from analysis.morphology import (MORPH_FEATURES, geometric_masks,
                                 morphology_table, segment, skeleton_parts)
from bench.errors import MitoError


def _n_components(mask: np.ndarray) -> int:
    return ndi.label(mask, np.ones((3, 3)))[1]


def _draw_lines(shape, segments, width_px: int = 1) -> np.ndarray:
    """float32 image (H, W) with value 1 on the drawn segments (dilated to ``width_px``)."""
    img = np.zeros(shape, bool)
    for r0, c0, r1, c1 in segments:
        rr, cc = line(r0, c0, r1, c1)
        img[rr, cc] = True
    if width_px > 1:
        img = ndi.binary_dilation(img, np.ones((3, 3)), iterations=(width_px - 1) // 2)
    return img.astype(np.float32)


def _y_shape(width_px: int = 1) -> np.ndarray:
    return _draw_lines((48, 48), [(24, 24, 6, 24), (24, 24, 40, 8), (24, 24, 40, 40)], width_px)


def _chain(k: int, radius: float = 4.5, spacing: int = 11, neck: float = 1.0) -> np.ndarray:
    """``k`` disks strung along a 1 px tubule of intensity ``neck`` (a pearled mitochondrion)."""
    img = np.zeros((32, spacing * k + 10), np.float32)  # (32, W)
    rr, cc = line(16, 8, 16, 8 + spacing * (k - 1))
    img[rr, cc] = neck
    for i in range(k):
        rr, cc = disk((16, 8 + spacing * i), radius, shape=img.shape)
        img[rr, cc] = 1
    return img


def test_segment_recovers_rendered_shapes_and_rejects_blank_and_noise():
    rng = np.random.default_rng(0)
    truth = np.zeros((64, 64), bool)
    rr, cc = disk((20, 20), 7)
    truth[rr, cc] = True
    truth |= _draw_lines((64, 64), [(50, 5, 50, 60)], 3).astype(bool)
    img = np.clip(0.1 + 0.7 * ndi.gaussian_filter(truth.astype(float), 0.7)
                  + 0.03 * rng.standard_normal(truth.shape), 0, 1).astype(np.float32)
    mask = segment(img)
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.8
    stack = np.stack([img, np.zeros_like(img), np.clip(0.5 + 0.2 * rng.standard_normal(img.shape), 0, 1)])
    masks = segment(stack.astype(np.float32))
    assert masks.shape == stack.shape and masks.dtype == bool
    assert np.array_equal(masks[0], mask)
    assert masks[1].sum() == 0 and masks[2].sum() == 0  # blank and pure noise: no objects


def test_segment_rejects_bad_input():
    with pytest.raises(MitoError, match="shape"):
        segment(np.zeros(5, np.float32))
    with pytest.raises(MitoError, match="NaN"):
        segment(np.full((8, 8), np.nan, np.float32))
    with pytest.raises(MitoError, match=r"\[0, 1\]"):
        morphology_table(np.full((2, 8, 8), 255, np.uint8))


@pytest.mark.parametrize("width_px", [1, 3])
def test_y_shape_has_three_tips_and_one_branch_point(width_px):
    parts = skeleton_parts(_y_shape(width_px) > 0)
    assert parts["tips"].sum() == 3
    assert _n_components(parts["branch_points"]) == 1
    assert not (parts["skeleton"] & ~(_y_shape(width_px) > 0)).any()


def test_oblique_line_has_two_tips_and_no_junction():
    mask = _draw_lines((40, 40), [(3, 2, 35, 21)], 3) > 0  # staircase skeleton
    parts = skeleton_parts(mask)
    assert parts["tips"].sum() == 2
    assert parts["branch_points"].sum() == 0


@pytest.mark.parametrize("k", [2, 3, 5])
def test_bead_count_on_a_chain_of_k_disks(k):
    expected = k if k >= 3 else 0  # two blobs are not yet a (periodic) chain
    table = morphology_table(_chain(k)[None])
    assert table.loc[0, "bead_count"] == expected
    assert _n_components(geometric_masks(_chain(k))["beads"]) == expected


def test_beads_need_a_neck_but_not_a_segmented_one():
    faint = _chain(4, neck=0.3)  # the neck falls below the threshold: 4 separate objects
    assert segment(faint)[16, 8 + 11 // 2] == 0
    assert morphology_table(faint[None]).loc[0, "bead_count"] == 4
    loose = _chain(4, spacing=15, neck=0.0)  # puncta in a row with background between them
    assert morphology_table(loose[None]).loc[0, "bead_count"] == 0


def test_no_beads_on_plain_tubules_or_a_single_blob():
    tube = _draw_lines((48, 48), [(10, 5, 30, 44)], 5)
    frames = np.stack([_y_shape(3), tube, np.zeros((48, 48), np.float32)])
    rr, cc = disk((24, 24), 8)
    frames[2][rr, cc] = 1
    assert morphology_table(frames)["bead_count"].tolist() == [0, 0, 0]


def test_geometric_masks_partition_the_frame():
    tubule = _draw_lines((32, 8), [(2, 3, 30, 3)], 3)  # a 3 px tubule beside a pearled one
    img = np.concatenate([tubule, _chain(4)], axis=1)
    m = geometric_masks(img)
    assert set(m) == {"foreground", "boundary", "skeleton", "branch_points", "tips", "thick",
                      "thin", "beads", "background"}
    fg = m["foreground"]
    assert np.array_equal(m["background"], ~fg)
    assert np.array_equal(m["thick"] | m["thin"], fg) and not (m["thick"] & m["thin"]).any()
    for key in ("boundary", "skeleton", "branch_points", "tips", "beads"):
        assert not (m[key] & ~fg).any(), key
    assert m["thick"][16, 16] and m["thin"][16, 3]  # a bead centre is thick, the tubule thin
    assert m["beads"][16, 16] and not m["beads"][16, 3]
    assert _n_components(m["beads"]) == 4 and _n_components(m["tips"]) == 4


def test_morphology_table_known_answers_and_frames_do_not_interact():
    hline = _draw_lines((48, 48), [(24, 4, 24, 43)], 3)
    frames = np.stack([_y_shape(1), hline, np.zeros((48, 48), np.float32), _y_shape(3)])
    table = morphology_table(frames)
    assert list(table.columns) == list(MORPH_FEATURES) and len(table) == 4
    assert table.loc[0, "junctions"] == 1 and table.loc[0, "end_points"] == 3
    assert table.loc[0, "branches_per_network"] == 3
    assert table.loc[1, "junctions"] == 0 and table.loc[1, "end_points"] == 2
    assert 34 <= table.loc[1, "branch_length_px"] <= 42  # a 40 px long line
    assert 2.5 <= table.loc[1, "tubule_width_px"] <= 3.5
    assert table.loc[1, "aspect_ratio"] > 5 and table.loc[1, "solidity"] > 0.9
    assert (table.loc[2] == 0).all()
    one_by_one = pd.concat([morphology_table(f[None]) for f in frames], ignore_index=True)
    pd.testing.assert_frame_equal(table, one_by_one)


def test_a_frames_row_does_not_depend_on_its_batch(monkeypatch):
    """Beaded tubules next to a wide blob: each row must equal the frame measured alone, whatever
    frames share its mosaic (bead necks were once sampled by the widest bead of the batch)."""
    import analysis.morphology as morph
    from analysis.attribution.known_answer import render_tubules

    frames = render_tubules(10, 64, beaded=True, seed=3)[:, 0]  # (10, 64, 64)
    blob = np.zeros((64, 64), np.float32)
    blob[disk((32, 32), 20)] = 1
    frames = np.concatenate([frames[:5], blob[None], frames[5:]])
    alone = pd.concat([morphology_table(f[None]) for f in frames], ignore_index=True)
    assert alone["bead_count"].sum() > 20  # the rule has beads to find here
    pd.testing.assert_frame_equal(morphology_table(frames), alone, rtol=1e-9)
    monkeypatch.setattr(morph, "CHUNK_FRAMES", 4)  # chunks of 4, measured on threads
    pd.testing.assert_frame_equal(morphology_table(frames), alone, rtol=1e-9)


def test_skeleton_graph_needs_a_background_frame():
    from analysis.pixel_geometry import distance_to_background, skeleton_graph

    mask = _y_shape(3) > 0
    mask[0, 10] = True  # touches the edge: neighbours would be read outside the array
    with pytest.raises(ValueError, match="background frame"):
        skeleton_graph(mask, distance_to_background(mask))


def _random_networks(n: int, seed: int, width_px: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = [_draw_lines((48, 48), [tuple(rng.integers(4, 44, 4)) for _ in range(3)], width_px)
              for _ in range(n)]
    return np.stack(frames)


def test_morph_distances_zero_for_identical_sets_and_track_a_shifted_feature():
    real = morphology_table(_random_networks(40, 0, 1))
    same = morph_distances(real, real.copy())
    assert same["morph_fd"] == pytest.approx(0, abs=1e-6)
    assert all(same[f"wd_{f}"] == pytest.approx(0, abs=1e-12) for f in MORPH_FEATURES)
    shifted = real.copy()
    shifted["tubule_width_px"] += real["tubule_width_px"].std(ddof=0)  # one real std
    d = morph_distances(real, shifted)
    assert d["morph_fd"] == pytest.approx(1.0, abs=1e-3)
    assert d["wd_tubule_width_px"] == pytest.approx(1.0, abs=1e-9)
    thick = morph_distances(real, morphology_table(_random_networks(40, 1, 5)))
    other = morph_distances(real, morphology_table(_random_networks(40, 1, 1)))
    assert thick["morph_fd"] > 3 * other["morph_fd"]
    assert thick["wd_tubule_width_px"] > 2


def test_real_mitotnt_masks_have_plausible_networks(shared_data):
    from skimage.io import imread

    files = sorted((shared_data / "mitotnt-masks").glob("frame_*.png"))[:6]
    if not files:
        pytest.skip("../shared/data/mitotnt-masks has no frame_*.png")
    masks = np.stack([imread(f) > 0 for f in files])  # (6, Y, X)
    seg = segment(masks.astype(np.float32))
    assert (seg & masks).sum() / (seg | masks).sum() > 0.85
    table = morphology_table(masks.astype(np.float32))
    assert (table["junctions"] > 10).all() and (table["end_points"] > 10).all()
    assert table["tubule_width_px"].between(2, 10).all()
    assert table["branch_length_px"].between(2, 30).all()
