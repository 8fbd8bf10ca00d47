"""The one plugin registry (aebench.registry.Registry) behind model kinds, experiments,
datasets, E6 inits and E7 variants."""

import pytest

from aebench.registry import Registry, UnknownName


def test_register_by_decorator_and_add_keep_the_object():
    r = Registry("thing")

    @r.register("f")
    def f():
        return 1

    assert f() == 1 and r["f"] is f  # the decorator hands the function back unchanged
    obj = object()
    assert r.add("o", obj) is obj
    assert dict(r) == {"f": f, "o": obj} and len(r) == 2 and "f" in r and "g" not in r


def test_a_duplicate_name_is_refused_and_the_first_stays():
    r = Registry("model kind")
    r.add("pca", 1)
    with pytest.raises(ValueError, match=r"model kind 'pca' is registered twice"):
        r.register("pca")(2)
    assert r["pca"] == 1


def test_an_unknown_name_is_named_with_the_nearest_valid_ones():
    r = Registry("model kind")
    for name in ("autoencoder", "pca", "lsa"):
        r.add(name, name)
    with pytest.raises(KeyError) as e:  # a KeyError still, so Mapping code keeps working
        r["autoencodr"]
    assert isinstance(e.value, UnknownName)
    assert str(e.value) == ("unknown model kind 'autoencodr'; did you mean 'autoencoder'? "
                            "known: autoencoder, pca, lsa")
    assert r.unknown("zzz", "kind") == "unknown kind 'zzz'; known: autoencoder, pca, lsa"
    assert r.get("zzz") is None and r.get("zzz", 0) == 0


def test_iteration_follows_registration_order_and_sort_reorders():
    r = Registry("experiment")
    for name in ("e10", "e2", "e1"):
        r.add(name, int(name[1:]))
    assert list(r) == ["e10", "e2", "e1"] and list(r.values()) == [10, 2, 1]
    r.sort(key=lambda kv: kv[1])
    assert list(r.items()) == [("e1", 1), ("e2", 2), ("e10", 10)]


def test_every_plugin_table_is_a_registry_in_its_order():
    from aebench import datasets, experiments, kinds, pretrain, variants

    tables = [kinds.KINDS, kinds.INPUTS, experiments.EXPERIMENTS, datasets.DATASETS,
              pretrain.INITS, variants.NOISES, variants.REGULARIZERS]
    assert all(isinstance(t, Registry) for t in tables)
    # experiments in lecture order: the report, the Snakefile and the claims iterate it
    assert list(experiments.EXPERIMENTS) == [f"e{i}" for i in range(1, 11)]
    assert all(cls.name == name for name, cls in kinds.KINDS.items())
