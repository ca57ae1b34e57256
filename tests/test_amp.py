"""Mixed precision and compile options: bf16 trains on the CPU with finite losses and fp32
penalties, fp16 is refused without CUDA, and the CUDA path runs where a GPU is present."""
from __future__ import annotations

import pytest
import torch

import models
from bench import tracking
from bench.cli import main as cli
from bench.train import train
from models.amp import Precision, penalty_fp32
from models.trainer import Batches, GANTrainer
from tests.test_train import _cfg, env  # noqa: F401  (the module's tiny data set fixture)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible)")


def _trainer(gan: str, amp: str, device="cpu", **kw) -> tuple[GANTrainer, Batches]:
    torch.manual_seed(0)
    v = models.get_variant(gan)
    G, D = v.build(32, 16, 8)
    t = GANTrainer(v, G, D, batch=8, latent_dim=16, seed=0, amp=amp, device=device, **kw)
    x = torch.rand(24, 1, 32, 32, generator=torch.Generator().manual_seed(1)).to(device) * 2 - 1
    return t, Batches(x, 8, 0)


@pytest.mark.parametrize("gan", ["wgan-gp", "r1"])
def test_penalty_is_computed_in_fp32_under_autocast(gan):
    v = models.get_variant(gan)
    torch.manual_seed(0)
    _, D = v.build(32, 16, 8)
    real, fake = torch.rand(2, 4, 1, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    want = v.penalty(D, real, fake, torch.Generator().manual_seed(3))  # plain float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = penalty_fp32(v, D, real.bfloat16(), fake.bfloat16(), torch.Generator().manual_seed(3))
        naive = v.penalty(D, real, fake, torch.Generator().manual_seed(3))  # what it replaces
    (name, value), = got.items()
    assert value.dtype == torch.float32
    # the same number as in a float32 run (the bf16 inputs round the images to 3 digits only)
    assert torch.allclose(value, want[name], rtol=2e-2)
    ref = v.penalty(D, real.bfloat16().float(), fake.bfloat16().float(), torch.Generator().manual_seed(3))
    assert torch.equal(value, ref[name])
    assert not torch.equal(naive[name].float(), want[name])  # autocast would have changed it


@pytest.mark.parametrize("gan", ["dcgan", "wgan-gp", "r1"])
def test_bf16_training_steps_on_the_cpu_are_finite_and_learn(gan):
    t, b = _trainer(gan, "bf16")
    w0 = [p.detach().clone() for p in t.D.parameters()]
    for _ in range(3):
        out = t.step(b.next)
    assert all(torch.isfinite(v).all() for v in out.values())
    assert all(p.dtype == torch.float32 for p in t.G.parameters())  # master weights stay fp32
    assert any(not torch.equal(a, p) for a, p in zip(w0, t.D.parameters()))
    pen = {"wgan-gp": "gp", "r1": "r1"}.get(gan)
    if pen:
        assert out[pen].dtype == torch.float32 and float(out[pen]) > 0


def test_train_with_amp_bf16_logs_it_and_fp16_is_refused_on_the_cpu(env, capsys):
    res = train(_cfg(gan="wgan-gp", amp="bf16", steps=4), workspace=env["ws"],
                tracking_uri=env["uri"], progress=False)
    run = tracking.client(env["uri"]).get_run(res.run_id)
    assert res.status == "FINISHED" and run.data.params["amp"] == "bf16"
    assert all(abs(v) < 1e6 for k, v in run.data.metrics.items() if k.startswith("loss"))
    if torch.cuda.is_available():
        pytest.skip("fp16 is allowed on this machine (CUDA present)")
    n_runs = len(tracking.client(env["uri"]).search_runs([run.info.experiment_id]))
    rc = cli(["--workspace", str(env["ws"]), "train", "--dataset", "tiny", "--amp", "fp16",
              "--device", "cpu", "--tracking-uri", env["uri"], "--experiment", "t"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: --amp: fp16 needs a CUDA device")
    assert len(tracking.client(env["uri"]).search_runs([run.info.experiment_id])) == n_runs  # no run


def test_precision_off_keeps_no_scaler_and_fp16_needs_cuda():
    p = Precision("off", torch.device("cpu"))
    assert p.state_dict() == {}
    with pytest.raises(Exception, match="fp16 needs a CUDA device"):
        Precision("fp16", torch.device("cpu"))


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_amp_steps_are_finite_and_resume_exactly(amp):
    t, b = _trainer("wgan-gp", amp, device="cuda", channels_last=True)
    for _ in range(3):
        out = t.step(b.next)
    assert all(torch.isfinite(v).all() for v in out.values())
    state = t.state_dict()
    if amp == "fp16":
        assert set(state["scalers"]) == {"d", "g"}
    t2, b2 = _trainer("wgan-gp", amp, device="cuda", channels_last=True)
    t2.load_state_dict(state)
    b2.load_state_dict(b.state_dict())
    assert torch.equal(t.step(b.next)["loss_d"], t2.step(b2.next)["loss_d"])


@pytest.mark.cuda
@cuda
def test_cuda_compile_matches_eager_losses():
    eager, b1 = _trainer("dcgan", "off", device="cuda")
    comp, b2 = _trainer("dcgan", "off", device="cuda", compile=True)
    a, c = eager.step(b1.next), comp.step(b2.next)
    assert torch.allclose(a["loss_d"], c["loss_d"], rtol=1e-3)
