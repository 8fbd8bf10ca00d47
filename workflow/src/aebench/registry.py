"""The extension point shared by experiments, E6 inits and E7 variants: a name -> function
table filled by a decorator, so adding one is a registered function plus a config entry."""

from __future__ import annotations

from typing import Callable


def registrar(table: dict) -> Callable[[str], Callable]:
    """``register = registrar(TABLE)``; ``@register("name")`` files the decorated function in
    ``TABLE`` under that name. A name registered twice is an error: the second would silently
    replace the first."""

    def register(name: str):
        def deco(fn):
            if name in table:
                raise ValueError(f"{name!r} is registered twice ({table[name]!r} and {fn!r})")
            table[name] = fn
            return fn
        return deco

    return register
