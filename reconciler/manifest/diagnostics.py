"""Turning pydantic validation errors into messages a person can act on.

Each error becomes (data path, message): unknown keys get "did you mean", enum mistakes list
the choices, type mistakes say what was expected. Callers add the file position.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler.errors import DataPath

_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation may hold (through Optional, list, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, Sequence):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found += _unwrap(arg)
        return found
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Accepted input keys of a model -> its field name (aliases included)."""
    names: dict[str, str] = {}
    for name, info in model.model_fields.items():
        names[name] = name
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if isinstance(alias, str):
            names[alias] = name
        elif choices:
            for choice in choices:
                if isinstance(choice, str):
                    names[choice] = name
    return names


def _keyed(annotation: Any) -> bool:
    """Whether an annotation is a mapping (`dict[str, Model]`): its keys are data, not
    fields (environment names, for instance)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _keyed(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_keyed(arg) for arg in typing.get_args(annotation))
    return origin is dict


def model_at(root: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class validating the mapping found at `path` below `root`."""
    model: type[BaseModel] | None = root
    key_next = False
    for part in path:
        if model is None:
            return None
        if isinstance(part, int) or key_next:
            key_next = False
            continue
        field = _field_names(model).get(part)
        if field is None:
            return None
        annotation = model.model_fields[field].annotation
        candidates = _unwrap(annotation)
        model = candidates[0] if candidates else None
        key_next = _keyed(annotation)
    return model


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """The closest choice to a misspelt word, if one is close enough."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {choice.lower(): choice for choice in choices}
    return lowered.get(word.lower().replace("-", "_").replace(" ", "_"))


def _data_path(loc: tuple[str | int, ...], data: Any) -> DataPath:
    """The part of a pydantic loc that exists in the input (drops union member tags)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if part == "[key]":  # pydantic's mark for a mapping's key: the key itself is wrong
            break
        in_mapping = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_list:
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str):
            path.append(part)  # a missing key: keep it, it names the field to add
            break
        else:
            break
        path.append(part)
    return tuple(path)


#: What YAML 1.2 reads as a whole number, a number, a boolean, by the type expected:
#: text in quotes that matches is the value the user meant, quoted by mistake.
_UNQUOTED = {
    "int_type": re.compile(r"[-+]?[0-9]+"),
    "float_type": re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"),
    "bool_type": re.compile(r"true|True|TRUE|false|False|FALSE"),
}


def _type_hint(kind: str, value: object) -> str | None:
    """What to write instead of a value of the wrong type, when the mistake is a common one:
    quotes around a number or boolean, or quotes missing around text; one item where a
    list goes; a list (a `-` too many) or a mapping where the other goes."""
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        return "YAML read it as a number or boolean: put it in quotes"
    unquoted = _UNQUOTED.get(kind)
    if isinstance(value, str) and unquoted is not None and unquoted.fullmatch(value.strip()):
        return f"the quotes make it text: write {value.strip()} without them"
    if kind == "list_type" and isinstance(value, (str, int, float, bool)):
        return f"a single item is a list too: write [{value}]"
    if kind == "list_type" and isinstance(value, dict):
        return "write each entry as an item of a list, starting with `- `"
    mapping = kind in ("dict_type", "model_type", "model_attributes_type")
    if mapping and isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return "remove the `-` (or the [ ]) before its keys"
    if mapping and value == []:
        return "an empty mapping is written {}"
    return None


def _written(data: Any, path: DataPath) -> Any:
    """The value at `path` of the input (None where it is not written)."""
    for part in path:
        listed = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not listed and not (isinstance(data, dict) and part in data):
            return None
        data = data[part]
    return data


def _instead(root: type[BaseModel], path: DataPath, data: Any) -> str | None:
    """What to write for the field at `path`, missing or not valid, where the other fields
    of its mapping tell (`ManifestModel.write_instead`: `purchase` is a commerce_event
    type, so the event type to write is commerce_event)."""
    model = model_at(root, path[:-1])
    written = _written(data, path[:-1])
    told = getattr(model, "write_instead", None)
    if not path or not callable(told) or not isinstance(written, dict):
        return None
    said = told(str(path[-1]), written)
    return said if isinstance(said, str) else None


def _message(
    error: ErrorDetails, root: type[BaseModel], path: DataPath, data: Any = None
) -> tuple[str, bool]:
    """The message for one error, and whether it is about a key (vs a value)."""
    kind = error["type"]
    value = error.get("input")
    field = str(path[-1]) if path else ""
    if kind == "extra_forbidden":
        parent = model_at(root, path[:-1])
        names = _field_names(parent) if parent else {}
        allowed = sorted(names)
        if field in names:
            others = [k for k, v in names.items() if v == names[field] and k != field]
            return f"`{field}` and `{'`/`'.join(others)}` are the same field; keep one", True
        hint = suggest(field, allowed)
        if hint:
            return f"unknown field `{field}`; did you mean `{hint}`?", True
        return f"unknown field `{field}`; allowed: {', '.join(allowed)}", True
    if kind == "missing":
        instead = _instead(root, path, data)
        missing = f"required field `{field}` is missing"
        return (f"{missing}; {instead}" if instead else missing), False
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        shown = _describe(value)
        hint = suggest(str(value), expected) if isinstance(value, str) else None
        instead = _instead(root, path, data)
        if instead and (hint is None or f"`{field}: {hint}`" not in instead):
            # The other fields name another value than the spelling's nearest choice.
            return f"{shown} is not valid; {instead}", False
        if hint:
            return f"{shown} is not valid; did you mean `{hint}`?", False
        return f"{shown} is not valid; use one of: {', '.join(expected)}", False
    if kind in _TYPE_WORDS:
        message = f"expected {_TYPE_WORDS[kind]}, got {_describe(value)}"
        hint = _type_hint(kind, value)
        return f"{message} ({hint})" if hint else message, False
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, "), False
    if kind in ("greater_than", "greater_than_equal"):
        return f"must be a positive number, got {_describe(value)}", False
    return f"{error['msg']} (got {_describe(value)})", False


def explain(
    exc: ValidationError, root: type[BaseModel], data: Any
) -> list[tuple[DataPath, str, bool]]:
    """(data path, message, is_key) per error: the first error at each path, in input order.

    A union (e.g. `list | None`) reports one error per member at the same path; the first
    one says what was expected.
    """
    seen: dict[DataPath, tuple[str, bool]] = {}
    explained_missing: set[DataPath] = set()
    for error in exc.errors(include_url=False):
        path = _data_path(tuple(error["loc"]), data)
        if path not in seen:
            seen[path] = _message(error, root, path, data)
        hint = re.search(r"did you mean `([^`]+)`", seen[path][0])
        if error["type"] == "extra_forbidden" and hint:
            explained_missing.add((*path[:-1], hint.group(1)))
    # "unknown field `calcualtion_type`; did you mean `calculation_type`?" already says
    # that `calculation_type` is missing.
    return [
        (path, message, is_key)
        for path, (message, is_key) in seen.items()
        if not (path in explained_missing and message.startswith("required field"))
    ]
