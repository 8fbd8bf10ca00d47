import sys, numpy as np, torch
from aebench.datasets import prepare
from aebench.kinds import make
from aebench.train import set_determinism
p,_,_ = prepare("mnist", "/tmp/e10x/raw", "/work/shared/data", False, n_train=10000, n_val=2000, n_test=2000)
import pickle; pickle.dump(p, open("/tmp/e10x/mnist.pkl","wb"))
mn = None if sys.argv[1] == "none" else float(sys.argv[1]); l2 = float(sys.argv[2])
params = {"arch":"mlp","hidden":[1000,500,250],"code_dim":2,"activation":"sigmoid",
          "pretrain":{"kind":"rbm","params":{"epochs":5,"lr":0.1}}}
if mn: params["code_max_norm"]=mn
set_determinism(0, threads=1)
ae = make({"kind":"autoencoder","params":params,"train":{"epochs":24,"lr":3e-3,"code_l2":l2}}, dataset="mnist")
ae.fit(p, 0, {}, log=lambda s: None)
net = ae.net
we, wd = net.enc[-1].weight.detach(), net.dec[0].weight.detach()
print("raw enc row norms", we.norm(dim=1).numpy(), "raw dec col norms", wd.norm(dim=0).numpy())
e, dd = net.code_weights()
print("eff", e.norm(dim=1).detach().numpy(), dd.norm(dim=0).detach().numpy())
z = ae.encode(p.x_test); print("z2", (z**2).sum(1).mean(), "rms", np.sqrt((z**2).mean(0)), "mean", z.mean(0))
xr = ae.reconstruct(p.x_test); print("sqerr", ((xr-p.x_test)**2).sum(1).mean())
torch.save(net.state_dict(), f"/tmp/e10x/ae_{sys.argv[1]}_{sys.argv[2]}.pt")
