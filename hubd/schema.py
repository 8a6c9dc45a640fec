"""Declarative validation of TOML tables into frozen dataclasses.

Each dataclass field carries its rule in ``metadata`` (min, max, choices, pattern,
help); this module turns a plain dict into the dataclass or raises one
:class:`ConfigError` naming the key, the value and the rule. The rules live next to
the defaults so that ``config.example.toml``, validation and docs cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import types
import typing
from typing import Any, get_args, get_origin


class ConfigError(ValueError):
    """A config problem: where, what value, which rule."""

    def __init__(self, key: str, value: Any, rule: str, source: str = ""):
        self.key, self.value, self.rule, self.source = key, value, rule, source
        where = f"{source}: " if source else ""
        shown = "(missing)" if value is _MISSING else _SHOWN.repr(list(value) if isinstance(value, tuple) else value)
        super().__init__(f"{where}{key} = {shown}: {rule}")


_MISSING = object()
# a value in an error is shown short and on one line, however long or deep it is
_SHOWN = reprlib.Repr()
_SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlevel = 80, 80, 3


def rule(default: Any = dataclasses.MISSING, *, help: str = "", min: float | None = None,
         max: float | None = None, choices: tuple | None = None, pattern: str | None = None,
         shape: str = "", nonempty: bool = False, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its validation rule attached; ``shape`` says ``pattern`` in words
    for the error ("must be <shape>"), since a technician should not have to read a regex."""
    meta = {"help": help, "min": min, "max": max, "choices": choices, "pattern": pattern, "shape": shape,
            "nonempty": nonempty}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    return {int: "integer", float: "number", str: "string", bool: "true/false"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        for arg in args:
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(key, value, f"must be a {_type_name(tp)}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, value, f"must be a {_type_name(tp)}")
        (item_tp,) = get_args(tp)
        return tuple(_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, value, f"must be a list")
        item_tp = get_args(tp)[0]
        return tuple(_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, value, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, value, "must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, value, "must be a number")
        if not math.isfinite(value):
            raise ConfigError(key, value, "must be a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, value, "must be a string")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(key, value, "must be a table")
        return build(tp, value, key)
    raise TypeError(f"unsupported config type {tp!r} at {key}")


def _check_rule(value: Any, meta: dict, key: str) -> None:
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if item is None:
            continue
        lo, hi = meta.get("min"), meta.get("max")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if lo is not None and item < lo:
                raise ConfigError(key, value, f"must be at least {lo}")
            if hi is not None and item > hi:
                raise ConfigError(key, value, f"must be at most {hi}")
        choices = meta.get("choices")
        if choices is not None and item not in choices:
            raise ConfigError(key, value, f"must be one of {', '.join(map(repr, choices))}")
        if meta.get("nonempty") and item == "":
            raise ConfigError(key, value, "must not be empty")
        pattern = meta.get("pattern")
        if pattern is not None and isinstance(item, str) and not re.fullmatch(pattern, item):
            raise ConfigError(key, value, f"must be {meta['shape']}" if meta.get("shape") else f"must match {pattern}")


def build(cls: type, table: dict[str, Any], prefix: str) -> Any:
    """Build dataclass ``cls`` from ``table``; unknown keys and bad values are errors."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for name in table:
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(_join(prefix, name), table[name], f"unknown key (known keys: {known})")
    kwargs = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(key, _MISSING, "is required")
            continue
        value = _coerce(table[name], hints[name], key)
        _check_rule(value, dict(f.metadata), key)
        kwargs[name] = value
    return cls(**kwargs)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def describe(cls: type) -> list[tuple[str, Any, str]]:
    """(name, default, rule text) for each field: used to check the example config documents every key."""
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        rows.append((f.name, default, f.metadata.get("help", "")))
    return rows
