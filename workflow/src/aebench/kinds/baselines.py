"""The closed-form baselines: raw input (identity), PCA (slides 2-5), LSA and the full tf-idf
vectors it reduces (slides 6-7).

All four are deterministic functions of their train data: no seed enters them (PCA and LSA use
exact solvers, whose signs scikit-learn's svd_flip fixes). Fitted per seed, they differ only
because each seed draws its own data (aebench.datasets); on the same data every seed gives
the same values.
"""

from __future__ import annotations

import numpy as np

from . import Kind, only, register


@register("identity")
class Identity(Kind):
    """No model: the (transformed) input is the code. The raw-pixel retrieval baseline."""

    encoder = True

    @classmethod
    def check_params(cls, params):
        only(params, set(), set(), "identity")

    def fit(self, data, seed, deps, *, device="cpu", log=print):
        return []

    def encode(self, x):
        return np.asarray(self.inputs(x), dtype=np.float32)

    def decode(self, z):
        return z


class Decomposition(Kind):
    """A scikit-learn decomposition: codes = transform(features(x)), decoding = its inverse."""

    encoder = True

    def make(self, seed: int):
        raise NotImplementedError

    def fit_features(self, x: np.ndarray) -> None:
        """Learn any feature weighting from train (before the decomposition sees it)."""

    def features(self, x: np.ndarray):
        return self.inputs(x)

    def fit(self, data, seed, deps, *, device="cpu", log=print):
        self.fit_features(data.x_train)
        self.model = self.make(seed).fit(self.features(data.x_train))
        log(f"{self.name}-{self.spec.params['n_components']}: explained variance "
            f"{self.model.explained_variance_ratio_.sum():.4f}")
        return []

    def encode(self, x):
        return self.model.transform(self.features(x)).astype(np.float32)

    def decode(self, z):
        return self.model.inverse_transform(z).astype(np.float32)

    def n_params(self):
        return int(self.model.components_.size)


@register("pca")
class PCA(Decomposition):
    """scikit-learn PCA: the linear baseline of slides 2-5."""

    @classmethod
    def check_params(cls, params):
        only(params, {"n_components"}, {"n_components"}, "pca")

    def make(self, seed):
        from sklearn.decomposition import PCA

        # Exact: the eigendecomposition of the feature covariance (images have few features),
        # never the randomized solver `auto` may pick, whose result would follow the seed.
        return PCA(n_components=self.spec.params["n_components"], svd_solver="covariance_eigh")

    def basis(self) -> np.ndarray:
        """Columns span the principal subspace (features x k)."""
        return self.model.components_.T

    def n_params(self):
        return int(self.model.components_.size + self.model.mean_.size)


@register("lsa")
class LSA(Decomposition):
    """Latent semantic analysis: scikit-learn TruncatedSVD of tf-idf (or log) word counts."""

    @classmethod
    def check_params(cls, params):
        only(params, {"n_components", "weighting"}, {"n_components"}, "lsa")
        if params.get("weighting", "tfidf") not in ("tfidf", "log"):
            raise ValueError("lsa: weighting must be 'tfidf' or 'log'")

    def make(self, seed):
        from sklearn.decomposition import TruncatedSVD

        # Exact (ARPACK, to machine precision), not the randomized default, whose noise would
        # follow the run's seed; ARPACK's start vector is fixed (random_state 0), so the same
        # data gives bit-identical codes whatever the seed.
        return TruncatedSVD(self.spec.params["n_components"], algorithm="arpack", random_state=0)

    def fit_features(self, x):
        from sklearn.feature_extraction.text import TfidfTransformer

        tfidf = self.spec.params.get("weighting", "tfidf") == "tfidf"
        self.tfidf = TfidfTransformer().fit(self.inputs(x)) if tfidf else None

    def features(self, x):
        x = self.inputs(x)
        return self.tfidf.transform(x) if self.tfidf is not None else np.log1p(x)


@register("tfidf")
class TfIdf(Kind):
    """The full tf-idf vectors, no reduction: E4's reference, as raw pixels are E5's.

    scikit-learn's TfidfTransformer (smooth idf, sublinear_tf off, rows L2-normalised: the
    weighting LSA decomposes) fitted on the train counts; the code of a document is its
    tf-idf vector, dense float32 (vocabulary-sized: 2000 dimensions on 20news). Deterministic,
    but fitted per seed like ``identity``, so that claims against it pair over seeds. ``decode``
    returns the vector itself, the tf-idf space LSA decodes to: the reconstruction figures the
    fit step records compare it with the counts, as LSA's do, and mean nothing.
    """

    encoder = True

    @classmethod
    def check_params(cls, params):
        only(params, set(), set(), "tfidf")

    def fit(self, data, seed, deps, *, device="cpu", log=print):
        from sklearn.feature_extraction.text import TfidfTransformer

        self.tfidf = TfidfTransformer().fit(self.inputs(data.x_train))
        log(f"tfidf: {len(self.tfidf.idf_)} terms, idf {self.tfidf.idf_.min():.2f}"
            f"-{self.tfidf.idf_.max():.2f}")
        return []

    def encode(self, x):
        v = self.tfidf.transform(self.inputs(x))  # scipy sparse, whatever came in
        return (v.toarray() if hasattr(v, "toarray") else np.asarray(v)).astype(np.float32)

    def decode(self, z):
        return np.asarray(z, dtype=np.float32)

    def n_params(self):
        return int(self.tfidf.idf_.size)
