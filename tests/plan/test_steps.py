"""The planner's decision table, row by row: each row's facts give its steps, and the
first row that fits is the one meant (later rows are wider)."""

from __future__ import annotations

import itertools

import pytest

from reconciler.plan.steps import TABLE, Facts, Row, rule_for, steps

#: (wants active, active is desired, draft is desired, has a draft, needs an update) -> steps
CASES = [
    # active: true
    ((True, True, False, False, False), ()),
    ((True, True, False, True, False), ("discard_draft",)),
    ((True, True, False, False, True), ("update",)),
    ((True, True, False, True, True), ("update",)),
    ((True, False, True, True, False), ("activate",)),
    ((True, False, True, True, True), ("update", "activate")),
    ((True, False, False, True, False), ("update", "activate")),
    ((True, False, False, True, True), ("update", "activate")),
    ((True, False, False, False, False), ("update", "activate")),
    ((True, False, False, False, True), ("update", "activate")),
    # active: false
    ((False, False, True, True, False), ()),
    ((False, True, False, False, False), ()),
    ((False, True, False, True, False), ("discard_draft",)),
    ((False, False, False, False, False), ("update",)),
    ((False, False, False, True, False), ("update",)),
    ((False, True, False, False, True), ("update",)),
    ((False, True, False, True, True), ("update",)),
    ((False, False, True, True, True), ("update",)),
    ((False, False, False, True, True), ("update",)),
    ((False, False, False, False, True), ("update",)),
]


@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_each_case_gives_its_steps(facts: tuple[bool, ...], expected: tuple[str, ...]) -> None:
    assert steps(Facts(*facts)) == expected


def consistent(facts: Facts) -> bool:
    """A desired draft is a draft, and a draft equal to the active one is no draft."""
    if facts.draft_is_desired and not facts.has_draft:
        return False
    return not (facts.draft_is_desired and facts.active_is_desired)


ALL_FACTS = [Facts(*values) for values in itertools.product([True, False], repeat=5)]


def test_the_cases_cover_every_consistent_set_of_facts() -> None:
    covered = {Facts(*facts) for facts, _ in CASES}
    assert covered == {facts for facts in ALL_FACTS if consistent(facts)}


@pytest.mark.parametrize("row", TABLE, ids=[row.why for row in TABLE])
def test_every_row_is_the_first_fit_for_some_facts(row: Row) -> None:
    assert any(rule_for(facts) is row for facts in ALL_FACTS if consistent(facts))


def test_every_set_of_facts_has_a_row() -> None:
    for facts in ALL_FACTS:
        assert rule_for(facts).fits(facts)


def test_inactive_cas_are_never_activated() -> None:
    assert all("activate" not in steps(f) for f in ALL_FACTS if not f.wants_active)


def test_an_update_always_comes_before_an_activation() -> None:
    for facts in ALL_FACTS:
        planned = steps(facts)
        if "activate" in planned and "update" in planned:
            assert planned.index("update") < planned.index("activate")
