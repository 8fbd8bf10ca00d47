import numpy as np
import torch

from aebench import nets
from aebench.metrics import principal_angles_deg
from aebench.train import TrainConfig, fit


def test_deep_ae_shapes_and_output_range():
    m = nets.build("mlp", 784, hidden=[1000, 500, 250], code_dim=30)
    x = torch.rand(5, 784)
    assert m.encode(x).shape == (5, 30)
    out = m(x)
    assert out.shape == (5, 784) and out.min() >= 0 and out.max() <= 1
    # linear code layer: codes are not squashed into (0, 1)
    assert isinstance(m.enc_act[-1], torch.nn.Identity)


def test_tied_weights_are_one_tensor_and_stay_tied():
    tied = nets.build("mlp", 20, hidden=[8], code_dim=3, tied=True)
    untied = nets.build("mlp", 20, hidden=[8], code_dim=3, tied=False)
    # the decoder owns biases only: 20*8 + 8*3 weights fewer than the untied net
    assert nets.n_params(untied) - nets.n_params(tied) == 20 * 8 + 8 * 3
    for enc, w in zip(reversed(tied.enc), tied.decoder_weights()):
        assert w.data_ptr() == enc.weight.data_ptr()  # a view, not a copy
    opt = torch.optim.SGD(tied.parameters(), lr=0.5)
    x = torch.rand(16, 20)
    torch.nn.functional.mse_loss(tied(x), x).backward()
    opt.step()
    for enc, w in zip(reversed(tied.enc), tied.decoder_weights()):
        torch.testing.assert_close(w, enc.weight.t())


def test_linear_tied_ae_finds_the_pca_subspace():
    rng = np.random.RandomState(0)
    basis = np.linalg.qr(rng.randn(12, 3))[0]
    x = (rng.randn(2000, 3) * [3.0, 2.0, 1.5]) @ basis.T + 0.05 * rng.randn(2000, 12)
    x = x.astype(np.float32)
    torch.manual_seed(0)
    ae = nets.build("mlp", 12, hidden=[], code_dim=3, activation="linear", output="linear",
                      tied=True)
    cfg = TrainConfig(epochs=200, batch_size=100, lr=1e-2, patience=200, loss="mse")
    fit(ae, x[:1800], x[1800:], cfg, log=lambda s: None)
    from sklearn.decomposition import PCA

    pca = PCA(3).fit(x[:1800])
    angles = principal_angles_deg(ae.decoder_weights()[-1].detach().numpy(), pca.components_.T)
    assert angles.max() < 2.0, angles
    err_ae = ((ae(torch.tensor(x[1800:])).detach().numpy() - x[1800:]) ** 2).sum(1).mean()
    err_pca = ((pca.inverse_transform(pca.transform(x[1800:])) - x[1800:]) ** 2).sum(1).mean()
    assert err_ae < 1.02 * err_pca
