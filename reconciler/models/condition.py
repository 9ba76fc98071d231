"""A condition of a CA definition (a filter on an attribute of the datapoint's event) and
its rules: the operator x type map, and which operands each operator takes."""

from __future__ import annotations

from reconciler.errors import DataPath
from reconciler.models.rules import TYPE_WORD, ManifestModel, Problem, Scalar, Text
from reconciler.models.values import check_operand, parse_instant, parse_number
from reconciler.models.vocabulary import OPERAND_SHAPE, OPERATOR_SUPPORT, ConditionType, Operator


class Condition(ManifestModel):
    """A filter on an attribute of the datapoint's event."""

    type: ConditionType
    operator: Operator
    attribute_name: Text
    value: Scalar | None = None
    values: list[Scalar] | None = None
    min_value: Scalar | None = None
    max_value: Scalar | None = None

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        word = TYPE_WORD[self.type]
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
        return found

    def _operand_problems(self, shape: str, word: str) -> list[Problem]:
        found: list[Problem] = []
        op = self.operator

        def forbid(field: str, message: str) -> None:
            if getattr(self, field) is not None:
                found.append(Problem((field,), message))

        def parse(field: str, value: object, what: str, index: int | None = None) -> None:
            reason = check_operand(self.type, value)
            if reason is not None:
                path: DataPath = (field,) if index is None else (field, index)
                found.append(Problem(path, f"{what}: {reason}"))

        if shape == "single":
            if self.value is None or self.value == "":
                required = {
                    "string": "String condition value must be specified",
                    "number": "Invalid numeric condition value",
                    "boolean": "Invalid boolean condition value",
                    "date": "Invalid date condition value",
                }[self.type]
                found.append(Problem(("value",), f"{required}: operator `{op}` needs `value`"))
            else:
                parse("value", self.value, f"Invalid {word} condition value")
        elif self.value is not None:
            if shape == "list":
                found.append(
                    Problem(
                        ("value",), "is ignored with in_list; put the items in `values`", "warning"
                    )
                )
            else:
                why = "a range" if shape == "range" else f"operator `{op}`"
                found.append(Problem(("value",), f"Condition value must be empty for {why}"))

        if shape == "list":
            if not self.values:
                required = {
                    "string": "In-list condition values must be specified",
                    "number": "Invalid numeric in-list condition values",
                }.get(self.type, f"Invalid {word} in-list condition values")
                found.append(
                    Problem(("values",), f"{required}: in_list needs a non-empty `values`")
                )
            else:
                for index, item in enumerate(self.values):
                    parse("values", item, f"Invalid {word} in-list condition values", index)
        else:
            forbid("values", f"Condition values must be empty: operator `{op}` takes no list")

        if shape == "range":
            for field, bound in (("min_value", "minimum"), ("max_value", "maximum")):
                value = getattr(self, field)
                if value is None or value == "":
                    found.append(
                        Problem(
                            (field,),
                            f"Invalid {word} condition {bound} value: `{op}` needs `{field}`",
                        )
                    )
                else:
                    parse(field, value, f"Invalid {word} condition {bound} value")
            found += self._range_order()
        else:
            forbid("min_value", f"Condition minimum value must be empty: `{op}` is not a range")
            forbid("max_value", f"Condition maximum value must be empty: `{op}` is not a range")
        return found

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
                Problem(("min_value",), f"min_value {low!r} is greater than max_value {high!r}")
            ]
        return []
