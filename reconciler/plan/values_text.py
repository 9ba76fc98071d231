"""The test users' values as the plan words them: `alice 120 -> 130`, the tests an "after"
value fails or fixes, and the plan's failing tests counted. Plain text, read by the
renderers (`render`'s text, `markdown`'s summary and `sections`' tables); the values
themselves are computed in `values`. Names and values are escaped (`errors.printable`)
and quoted (`errors.quoted`) as `render` says.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import printable, quoted
from reconciler.plan.value import FailedTest, Plan, ValueDiff

#: How many changed test users the text plan names per CA (the JSON plan has every one).
SHOWN_USERS = 8


def no_value_changes(count: int) -> str:
    """What a change that moves no test user's value says: a hint that no test covers it."""
    users = f"{count} test user{'s' if count != 1 else ''}"
    return f"no test user's value changes ({users}): the tests may not cover this change"


def value_text(value: Any, limit: int = 200) -> str:
    """A value as `quoted` shows it, cut to `limit` characters."""
    text = quoted(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def user_label(diff: ValueDiff, values: list[ValueDiff]) -> str:
    """The test user's name, with its file when another file has a user of that name."""
    if sum(other.user == diff.user for other in values) > 1:
        return printable(f"{diff.user} ({diff.file})")
    return printable(diff.user)


def shown_value(value: str, limit: int = 40) -> str:
    """A value as the plan shows it: mParticle's string, escaped and cut to `limit`."""
    text = printable(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def values_line(values: list[ValueDiff]) -> str:
    """`alice 120 -> 130, bob - -> 4; 1 unchanged`, or that no test user's value changes."""
    changed = [diff for diff in values if diff.changed]
    if not changed:
        return no_value_changes(len(values))
    line = ", ".join(
        f"{user_label(d, values)} {shown_value(d.before)} -> {shown_value(d.after)}"
        for d in changed[:SHOWN_USERS]
    )
    if len(changed) > SHOWN_USERS:
        line += f", and {len(changed) - SHOWN_USERS} more"
    unchanged = len(values) - len(changed)
    return line + (f"; {unchanged} unchanged" if unchanged else "")


def test_where(diff: ValueDiff, test: FailedTest) -> str:
    """`commerce.test.yaml:76`: the expectation a value fails or fixes."""
    return f"{diff.file}:{test.line}" if test.line is not None else diff.file


def failure_text(diff: ValueDiff, values: list[ValueDiff]) -> str:
    """`alice: expected 129.99, got 120 (commerce.test.yaml:76)`: a test user whose "after"
    value fails its test, as `reconciler test` says it."""
    failed = diff.fails_test
    if failed is None:
        return ""
    return (
        f"{user_label(diff, values)}: expected {shown_value(failed.expected)}, got "
        f"{shown_value(diff.after)} ({printable(test_where(diff, failed))})"
    )


def fails_line(values: list[ValueDiff]) -> str | None:
    """`tests fail: alice: expected 129.99, got 120 (...); bob: ...`, the test users whose
    "after" value fails their test (at most SHOWN_USERS named); None when none does."""
    failing = [diff for diff in values if diff.failing]
    if not failing:
        return None
    line = "; ".join(failure_text(diff, values) for diff in failing[:SHOWN_USERS])
    if len(failing) > SHOWN_USERS:
        line += f"; and {len(failing) - SHOWN_USERS} more"
    return f"tests fail: {line}"


def fixes_line(values: list[ValueDiff]) -> str | None:
    """`fixes test: alice (ltv.test.yaml:6)`, the test users whose test failed on "before"
    and passes on "after" (at most SHOWN_USERS named); None when none does."""
    fixing = [(diff, diff.fixes_test) for diff in values if diff.fixes_test is not None]
    if not fixing:
        return None
    listed = ", ".join(
        f"{user_label(diff, values)} ({printable(test_where(diff, test))})"
        for diff, test in fixing[:SHOWN_USERS]
    )
    if len(fixing) > SHOWN_USERS:
        listed += f", and {len(fixing) - SHOWN_USERS} more"
    return f"fixes test{'s' if len(fixing) != 1 else ''}: {listed}"


def failing_tests(plan: Plan) -> tuple[int, list[str]]:
    """How many test users' "after" values fail their tests, and the CAs they are of."""
    failing = [
        action.name for action in plan.actions for diff in action.values or () if diff.failing
    ]
    return len(failing), list(dict.fromkeys(failing))


def failing_users(count: int) -> str:
    """`After this plan, 2 test users' values fail their tests`."""
    if count == 1:
        return "After this plan, 1 test user's value fails its test"
    return f"After this plan, {count} test users' values fail their tests"
