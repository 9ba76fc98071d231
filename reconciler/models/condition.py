"""A condition of a CA definition (a filter on an attribute of the datapoint's event) and
its rules: the operator x type map, and which operands each operator takes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema

from reconciler.errors import DataPath
from reconciler.models.rules import (
    TYPE_WORD,
    ManifestModel,
    Problem,
    Scalar,
    Text,
    long_name_problem,
)
from reconciler.models.values import (
    canonical_text,
    check_operand,
    parse_instant,
    parse_number,
    shown,
)
from reconciler.models.vocabulary import OPERAND_SHAPE, OPERATOR_SUPPORT, ConditionType, Operator

#: An item of `values`, for editors: the API refuses an empty one (`""`) as an empty list.
_ITEM = {"type": ["string", "number", "boolean"], "minLength": 1}


class Condition(ManifestModel):
    """A filter on an attribute of the datapoint's event."""

    type: ConditionType
    operator: Operator
    attribute_name: Text
    value: Scalar | None = None
    #: Never empty, nor an item (editors are told so; `validate` says what to write).
    values: list[Annotated[Scalar, WithJsonSchema(_ITEM)]] | None = Field(
        default=None, json_schema_extra={"minItems": 1}
    )
    min_value: Scalar | None = None
    max_value: Scalar | None = None

    def local_problems(self) -> list[Problem]:
        # The type or the operator is None here when the condition is checked partly
        # (manifest.partial), that field not valid: a rule that reads it says nothing.
        long_name = long_name_problem("attribute_name", self.attribute_name, "attribute names")
        if self.type is None:
            return long_name
        word = TYPE_WORD[self.type]
        if self.operator is None:
            return self._written_operand_problems(word) + long_name
        found: list[Problem] = []
        supported = OPERATOR_SUPPORT[self.type]
        if self.operator not in supported:
            found.append(
                Problem(
                    ("operator",),
                    f"Invalid {word} condition operator: `{self.operator}` does not apply to "
                    f"{self.type} conditions; use one of {', '.join(sorted(supported))}",
                )
            )
        shape = OPERAND_SHAPE[self.operator]
        found += self._operand_problems(shape, word)
        return found + long_name

    def _written_operand_problems(self, word: str) -> list[Problem]:
        """Each operand written that the type cannot read, the operator unknown: whether
        the operator takes it or not, as written it is wrong."""
        found: list[Problem] = []
        for field, what in (
            ("value", f"Invalid {word} condition value"),
            ("min_value", f"Invalid {word} condition minimum value"),
            ("max_value", f"Invalid {word} condition maximum value"),
        ):
            value = getattr(self, field)
            if value is not None and value != "":
                found += self._unreadable(field, value, what)
        for index, item in enumerate(self.values or ()):
            if item != "":
                found += self._unreadable(
                    "values", item, f"Invalid {word} in-list condition values", index
                )
        return found

    def _operand_problems(self, shape: str, word: str) -> list[Problem]:
        """`value`, then `values`, then the range: each required or forbidden by the shape."""
        return (
            self._value_problems(shape, word)
            + self._values_problems(shape, word)
            + self._range_problems(shape, word)
        )

    def _unreadable(
        self, field: str, value: object, what: str, index: int | None = None
    ) -> list[Problem]:
        reason = check_operand(self.type, value)
        if reason is None:
            return []
        path: DataPath = (field,) if index is None else (field, index)
        return [Problem(path, f"{what}: {reason}")]

    def _value_problems(self, shape: str, word: str) -> list[Problem]:
        op = self.operator
        if shape == "single":
            if self.value is None or self.value == "":
                required = {
                    "string": "String condition value must be specified",
                    "number": "Invalid numeric condition value",
                    "boolean": "Invalid boolean condition value",
                    "date": "Invalid date condition value",
                }[self.type]
                return [Problem(("value",), f"{required}: operator `{op}` needs `value`")]
            if op == "pattern":
                return self._pattern_problems()
            return self._unreadable("value", self.value, f"Invalid {word} condition value")
        if self.value is None:
            return []
        if shape == "list":
            message = "is ignored with in_list; put the items in `values`"
            return [Problem(("value",), message, "warning")]
        why = "a range" if shape == "range" else f"operator `{op}`"
        return [Problem(("value",), f"Condition value must be empty for {why}")]

    def _pattern_problems(self) -> list[Problem]:
        """A pattern that is no regular expression in Python's dialect matches nothing in
        `reconciler test` (docs/semantics.md, R14): valid for the API, but never silent."""
        import regex  # `reconciler test`'s engine; only a pattern condition needs it

        pattern = canonical_text(self.value)
        try:
            regex.compile(pattern)
        except regex.error as exc:
            message = (
                f"pattern `{pattern}` is not a regular expression `reconciler test` can read "
                f"({exc}): there it matches nothing"
            )
            return [Problem(("value",), message, "warning")]
        return []

    def _values_problems(self, shape: str, word: str) -> list[Problem]:
        if shape != "list":
            if self.values is None:
                return []
            message = f"Condition values must be empty: operator `{self.operator}` takes no list"
            return [Problem(("values",), message)]
        required = {
            "string": "In-list condition values must be specified",
            "number": "Invalid numeric in-list condition values",
        }.get(self.type, f"Invalid {word} in-list condition values")
        if not self.values:
            return [Problem(("values",), f"{required}: in_list needs a non-empty `values`")]
        what = f"Invalid {word} in-list condition values"
        found: list[Problem] = []
        for index, item in enumerate(self.values):
            if item == "":  # the API refuses a list with an empty item, as an empty list
                message = f"{required}: an item is empty; remove it or write the text to match"
                found.append(Problem(("values", index), message))
            else:
                found += self._unreadable("values", item, what, index)
        return found

    def _range_problems(self, shape: str, word: str) -> list[Problem]:
        op = self.operator
        found: list[Problem] = []
        if shape != "range":
            for field, bound in (("min_value", "minimum"), ("max_value", "maximum")):
                if getattr(self, field) is not None:
                    message = f"Condition {bound} value must be empty: `{op}` is not a range"
                    found.append(Problem((field,), message))
            return found
        for field, bound in (("min_value", "minimum"), ("max_value", "maximum")):
            value = getattr(self, field)
            what = f"Invalid {word} condition {bound} value"
            if value is None or value == "":
                found.append(Problem((field,), f"{what}: `{op}` needs `{field}`"))
            else:
                found += self._unreadable(field, value, what)
        return found + self._range_order()

    def _range_order(self) -> list[Problem]:
        low, high = self.min_value, self.max_value
        if low is None or high is None:
            return []
        try:
            if self.type == "number":
                inverted = parse_number(low) > parse_number(high)
            else:
                inverted = parse_instant(low) > parse_instant(high)
        except ValueError:
            return []
        if inverted:
            return [
                Problem(
                    ("min_value",),
                    f"min_value {shown(low)} is greater than max_value {shown(high)}",
                )
            ]
        return []
