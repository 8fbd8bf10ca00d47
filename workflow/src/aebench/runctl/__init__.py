"""Run management: what a run costs, where it stands, what it publishes and restores.

Nothing here computes a result, and the science modules (training, kinds, experiments,
datasets, claims) import nothing from here. The Snakefile imports only :mod:`.restore`,
:mod:`.gpus` and :mod:`.frontpage`, which stay free of pandas, so planning a run stays fast.
"""
