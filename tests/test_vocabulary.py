"""The models' vocabulary and the emulator's agree, except where a difference is intended.

Both are written from the same docs, independently (neither imports the other; this test
imports both). Each row names one vocabulary and what each side takes; a difference that
is not in INTENDED fails, and so does an intended one that went away, so drift shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import pytest

from reconciler.emulator import conditions as emulator_conditions
from reconciler.emulator import events as emulator_events
from reconciler.emulator import seeding as emulator_seeding
from reconciler.emulator import validation as emulator_rules
from reconciler.models import vocabulary
from reconciler.seeding import shapes
from reconciler.testfiles import events as test_events

Vocabulary = tuple[set[object], set[object]]


def _emulator_shapes() -> set[object]:
    def shape(operator: str) -> str:
        if operator in emulator_conditions.NO_VALUE_OPERATORS:
            return "none"
        if operator in emulator_conditions.LIST_OPERATORS:
            return "list"
        if operator in emulator_conditions.RANGE_OPERATORS:
            return "range"
        return "single"

    return {(op, shape(op)) for op in emulator_conditions.SUPPORT}


#: name -> (what the reconciler's models take, what the emulator takes)
VOCABULARIES: dict[str, Callable[[], Vocabulary]] = {
    "calculation types": lambda: (
        set(vocabulary.CALCULATION_TYPES),
        set(emulator_rules.CALCULATION_TYPES) | set(emulator_rules.CALCULATION_SYNONYMS),
    ),
    "calculation type spellings": lambda: (
        set(vocabulary.CALCULATION_TYPE_SYNONYMS.items()),
        set(emulator_rules.CALCULATION_SYNONYMS.items())
        | set(emulator_seeding.CALCULATION_SYNONYMS.items()),
    ),
    "event types": lambda: (set(vocabulary.EVENT_TYPES), set(emulator_rules.EVENT_TYPES)),
    "custom event types": lambda: (
        {
            (event, kind)
            for event, kinds in vocabulary.CUSTOM_EVENT_TYPES_BY_EVENT.items()
            for kind in kinds
        },
        {
            (event, kind)
            for event, kinds in emulator_rules.CUSTOM_EVENT_TYPES.items()
            for kind in kinds
        },
    ),
    "data point types": lambda: (
        set(get_args(vocabulary.DatapointType)),
        set(emulator_rules.DATA_POINT_TYPES),
    ),
    "attribute categories": lambda: (
        set(get_args(vocabulary.AttributeCategory)),
        set(emulator_rules.ATTRIBUTE_CATEGORIES),
    ),
    "condition types": lambda: (
        set(vocabulary.CONDITION_TYPES),
        set(emulator_conditions.OPERATOR_MESSAGES),
    ),
    "condition types x operators": lambda: (
        {(kind, op) for op, rule in vocabulary.OPERATOR_RULES.items() for kind in rule.types},
        {(kind, op) for op, kinds in emulator_conditions.SUPPORT.items() for kind in kinds},
    ),
    "operand shapes": lambda: (set(vocabulary.OPERAND_SHAPE.items()), _emulator_shapes()),
    "within units": lambda: (
        set(get_args(vocabulary.WithinUnit)),
        set(emulator_rules.WITHIN_UNITS),
    ),
    "identity types": lambda: (
        set(vocabulary.IDENTITY_TYPES),
        set(emulator_seeding.IDENTITY_TYPES),
    ),
    "user identity types": lambda: (
        set(vocabulary.USER_IDENTITY_TYPES),
        set(emulator_seeding.USER_IDENTITIES),
    ),
    "environments": lambda: (
        set(get_args(vocabulary.Environment)),
        set(emulator_seeding.ENVIRONMENTS),
    ),
    "Events API event types (test files)": lambda: (
        set(get_args(test_events.EventType)),
        set(emulator_events.EVENT_TYPES),
    ),
    "Events API identity types (test files)": lambda: (
        set(test_events.IDENTITY_TYPES),
        set(emulator_seeding.IDENTITY_TYPES),
    ),
    "seed field per calculation type": lambda: (
        set(shapes.SEED_FIELD.items()),
        set(emulator_seeding.SEED_FIELDS.items()),
    ),
}

#: name -> (only the models take, only the emulator takes), and why. Add a row here when
#: a difference is meant (e.g. if the emulator learns the 2020 schema's `unknown` event
#: type, which manifests should keep refusing).
INTENDED: dict[str, tuple[set[object], set[object], str]] = {
    "calculation types": (
        set(),
        {"minimum", "maximum"},
        "the API also takes the seeding page's spellings; manifests use one spelling each "
        "(and canonical forms read both, by the 'calculation type spellings' row)",
    ),
}


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_the_models_and_the_emulator_take_the_same_words(name: str) -> None:
    models, emulator = VOCABULARIES[name]()
    assert models or emulator, "an empty vocabulary compares nothing"
    only_models, only_emulator, _ = INTENDED.get(name, (set(), set(), ""))
    assert (models - emulator, emulator - models) == (only_models, only_emulator)


def test_every_intended_difference_names_a_vocabulary() -> None:
    assert set(INTENDED) <= set(VOCABULARIES)
