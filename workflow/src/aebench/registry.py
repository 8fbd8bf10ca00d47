"""The extension point of every plugin kind (model kinds, experiments, datasets, E6 inits, E7
variants, encoder inputs): a name -> object table filled by registration, so adding one is a
registered object plus a config entry.

A :class:`Registry` reads like the plain dict it replaces (``TABLE[name]``, ``in``, iteration in
registration order, ``items()``), so the code that looks names up is unchanged; what it adds is
the two mistakes a dict lets through: a name registered twice (the second would silently
replace the first) and an unknown name (a bare ``KeyError: 'autoencodr'`` names neither the
table nor what was meant).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    """A name a registry does not hold. A KeyError, so ``Mapping.get`` and ``except KeyError``
    keep working; ``str()`` is the message itself (KeyError's own would print it quoted)."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Mapping[str, Any]):
    """``KINDS = Registry("model kind")``; ``@KINDS.register("pca")`` files the decorated object
    under that name, ``KINDS.add(name, obj)`` files a built one. Iteration follows registration
    order (:meth:`sort` reorders, where a table's order is shown to readers)."""

    def __init__(self, what: str):
        self.what = what  # what one entry is, for the messages: "model kind", "dataset", ...
        self._entries: dict[str, Any] = {}

    def add(self, name: str, obj: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered twice ({self._entries[name]!r} "
                             f"and {obj!r}): rename one")
        self._entries[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator filing the decorated function or class under ``name``; returns it as is."""
        return lambda obj: self.add(name, obj)

    def unknown(self, name, what: str | None = None) -> str:
        """The message for a name this registry lacks: the name, the nearest registered names
        (difflib) and all of them, in the table's order. ``what`` names it as the config does (e.g. just ``kind``
        after ``models.ae30.kind:``); the registry's own noun by default."""
        near = difflib.get_close_matches(str(name), list(self._entries), n=3)
        hint = f"did you mean {' or '.join(map(repr, near))}? " if near else ""
        return f"unknown {what or self.what} {name!r}; {hint}known: {', '.join(self._entries)}"

    def sort(self, key: Callable[[tuple[str, Any]], Any]) -> None:
        """Reorder the entries by ``key`` over (name, object) pairs."""
        self._entries = dict(sorted(self._entries.items(), key=key))

    def __getitem__(self, name: str):
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(self.unknown(name)) from None

    def get(self, name: str, default=None):
        return self._entries.get(name, default)  # no message built for a lookup that may miss

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self._entries)})"
