"""The rules of an invalid CA that can still be checked: part of manifest loading.

A CA that fails validation has no model, so its rules (`problems()`) would not run and one
typo would hide every other mistake of the CA (a bad cutoff date hid the missing
`attribute_name` of a `sum`). Here each field is validated on its own; a model whose fields
are not all valid is built from the valid ones (the others None), and its own rules run
over what is known: a rule that reads a field that is not valid says nothing. A part that
is valid as a whole reports all its rules, as it would in a valid CA. A list of parts (the
conditions) is checked item by item: one bad condition hides none of the others' problems,
and a condition built partly reports what its valid fields show (the `abc` of a number
condition whose operator is misspelt), as a data point does (the `event_name` a
`custom_event` needs, whatever else of it is misspelt).
"""

from __future__ import annotations

from functools import cache
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from reconciler.errors import DataPath
from reconciler.models import CalculatedAttribute, Condition, Definition, Problem
from reconciler.models.definition import Datapoint, TimePeriod
from reconciler.models.rules import ManifestModel, prefixed

_DEFER_RULES = {"defer_rules": True}
_STRICT = ConfigDict(strict=True)
#: The models whose own rules are written to read an invalid field (None) as unknown, so
#: they may run over a model built partly (a `custom_event` data point whose
#: `attribute_category` is misspelt still says it needs `event_name`). A rule about a field
#: that is itself invalid is dropped by the loader, which reported the field.
_PARTLY_CHECKED: tuple[type[ManifestModel], ...] = (
    CalculatedAttribute,
    Condition,
    Datapoint,
    Definition,
    TimePeriod,
)


def _keys(name: str, field: FieldInfo) -> list[str]:
    """The keys a manifest may write a field under: its name and its alias choices."""
    choices = getattr(field.validation_alias, "choices", None) or []
    return [name, *(choice for choice in choices if isinstance(choice, str))]


@cache
def _adapter(model: type[ManifestModel], name: str) -> TypeAdapter[Any]:
    annotation = model.model_fields[name].rebuild_annotation()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return TypeAdapter(annotation)
    return TypeAdapter(annotation, config=_STRICT)


def _item_model(annotation: Any) -> type[ManifestModel] | None:
    """The model of each item of a field written as a list of models (`list[Condition] |
    None`), else None."""
    if get_origin(annotation) in (Union, UnionType):
        written = [arg for arg in get_args(annotation) if arg is not NoneType]
        annotation = written[0] if len(written) == 1 else None
    if get_origin(annotation) is not list:
        return None
    (item,) = get_args(annotation)
    return item if isinstance(item, type) and issubclass(item, ManifestModel) else None


@cache
def _adapter_of(model: type[ManifestModel]) -> TypeAdapter[ManifestModel]:
    return TypeAdapter(model)


class _Builder:
    """Builds models from what is valid, remembering which ones were built partly."""

    def __init__(self) -> None:
        self.partly: set[int] = set()

    def model(self, model: type[ManifestModel], data: Any) -> ManifestModel | None:
        """`model` from the fields of `data` that are valid (None: data is no mapping)."""
        if not isinstance(data, dict):
            return None
        values = {
            name: self.field(model, name, field, data) for name, field in model.model_fields.items()
        }
        built = model.model_construct(**values)
        self.partly.add(id(built))
        return built

    def field(
        self, model: type[ManifestModel], name: str, field: FieldInfo, data: dict[str, Any]
    ) -> Any:
        """The field validated (rules deferred), its default when not written, None when
        invalid; a part that is a model of its own, when invalid, built partly."""
        written = [data[key] for key in _keys(name, field) if key in data]
        if not written:
            return None if field.is_required() else field.get_default(call_default_factory=True)
        try:
            return _adapter(model, name).validate_python(written[0], context=_DEFER_RULES)
        except ValidationError:
            inner = field.annotation
            if isinstance(inner, type) and issubclass(inner, ManifestModel):
                return self.model(inner, written[0])
            item = _item_model(inner)
            if item is not None and isinstance(written[0], list):
                return [self.item(item, value) for value in written[0]]
            return None

    def item(self, model: type[ManifestModel], data: Any) -> ManifestModel | None:
        """One item of a list of parts: validated (rules deferred), or built partly."""
        try:
            return _adapter_of(model).validate_python(data, context=_DEFER_RULES)
        except ValidationError:
            return self.model(model, data)

    def problems(self, part: ManifestModel) -> list[Problem]:
        """All rules of a part valid as a whole; of one built partly, its own rules over
        its valid fields, and its parts' problems."""
        if id(part) not in self.partly:
            return part.problems()
        found = part.local_problems() if isinstance(part, _PARTLY_CHECKED) else []
        for name in type(part).model_fields:
            value = getattr(part, name, None)
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if isinstance(item, ManifestModel):
                    path: DataPath = (name, index) if isinstance(value, list) else (name,)
                    found += prefixed(path, self.problems(item))
        return found


def partial_problems(item: Any) -> list[Problem]:
    """The rules broken by the parts of an invalid CA that are valid, wherever they are:
    each part's rules, the definition's across its valid fields, the CA's own."""
    builder = _Builder()
    ca = builder.model(CalculatedAttribute, item)
    return [] if ca is None else builder.problems(ca)
