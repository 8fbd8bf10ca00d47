"""Rule fit_classifier: the digit classifier that judges E10's decoded grids (aebench.classifier)."""

import json

from aebench import classifier
from aebench.data import load_prepared
from aebench.runlog import rule_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    data = load_prepared(sm.input.data)
    cfg = classifier.ClassifierConfig(**sm.params.cfg)
    log(f"logistic regression on {len(data.x_train)} {data.name} training images ({cfg})")
    clf = classifier.fit_classifier(data.x_train, data.y_train, cfg)
    acc = float((clf.predict(data.x_test) == data.y_test).mean())
    conf, _ = classifier.confidence(clf, data.x_test)
    log(f"test accuracy {acc:.4f}, mean max probability on test {conf.mean():.4f}")
    classifier.save(clf, sm.output.model)
    with open(sm.output.metrics, "w") as f:
        json.dump({"dataset": data.name, "n_train": len(data.x_train), "test_accuracy": acc,
                   "test_mean_confidence": float(conf.mean()), **vars(cfg)}, f, indent=2)
