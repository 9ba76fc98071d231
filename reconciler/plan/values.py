"""Value diffs: for each CA a plan creates or changes, the value each of its test users
holds before -> after the change, computed by the reference evaluator (SPEC §10).

A step after planning, pure like the planner: `workspace.planning` hands it the plan, the
live and desired CAs and the loaded test files, and gets back the plan with
`actions[].values` on the action that carries each CA's definition change. Test files are
read through the small protocols below: their loading (`reconciler.testfiles`) stays out
of this room.

"Before" is what the change replaces (README, "Value diffs in plans"): for a CA the
manifests want active, the active definition (what profiles hold now; none before the
first activation, nor for a create: `-`); for a CA kept as a draft (`active: false`),
the pending draft, else the active definition. "After" is the desired definition, as
`reconciler test` evaluates it. A CA's test users are those whose test file expects a
value of it; both sides use the user's events and seeds, as of the file's `as_of`. An
"after" value that fails the file's expectation (`evaluator.expected.matches`, as
`reconciler test` compares) is marked with what was expected (`fails_test`); one that
passes where the "before" value failed, with the test it fixes (`fixes_test`), but only
where there is a "before" definition: a create has no test to fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.errors import quoted
from reconciler.evaluator import NO_VALUE, Calculation, DefinitionError, Timeline
from reconciler.evaluator.expected import matches, show
from reconciler.models import CanonicalDefinition, DeclaredCA, LiveCA
from reconciler.plan.value import Action, FailedTest, FixedTest, Plan, ValueDiff

#: The actions that can change the definition a CA's values come from.
_CARRIERS = ("create", "update", "activate")


class SampleUser(Protocol):
    """A test user: Events API events, and seeds by CA name."""

    @property
    def events(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def seeds(self) -> Mapping[str, Mapping[str, Any]]: ...


class SampleCase(Protocol):
    """One expectation of a test file: which user, which CA, the value expected (as the
    file writes it) and its line."""

    @property
    def user(self) -> str: ...
    @property
    def ca(self) -> str: ...
    @property
    def expected(self) -> object: ...
    @property
    def line(self) -> int | None: ...
    @property
    def skipped(self) -> str | None: ...


class SampleSuite(Protocol):
    """A loaded test file (`testfiles.Suite`)."""

    @property
    def file(self) -> str: ...
    @property
    def as_of(self) -> int: ...
    @property
    def users(self) -> Mapping[str, SampleUser]: ...
    @property
    def expectations(self) -> Sequence[SampleCase]: ...


@dataclass(frozen=True)
class _Subject:
    """One user of one test file, and what it expects of the CA."""

    suite: SampleSuite
    case: SampleCase

    @property
    def user(self) -> str:
        return self.case.user

    def failure(self, after: str) -> FailedTest | None:
        """What the test expects, where `after` fails it; None where it holds."""
        if matches(self.case.expected, after):
            return None
        return FailedTest(expected=show(self.case.expected), line=self.case.line)

    def fix(self, before: str, after: str) -> FixedTest | None:
        """The test `after` passes where `before` failed it; None elsewhere."""
        if matches(self.case.expected, before) or not matches(self.case.expected, after):
            return None
        return FixedTest(expected=show(self.case.expected), line=self.case.line)


class _Subjects:
    """The test users of each CA, and each user's events prepared once for every CA."""

    def __init__(self, suites: Sequence[SampleSuite]) -> None:
        self.by_ca: dict[str, list[_Subject]] = {}
        for suite in suites:
            for case in suite.expectations:
                if case.skipped is not None:  # a CA the environment does not have
                    continue
                self.by_ca.setdefault(case.ca, []).append(_Subject(suite, case))
        self._timelines: dict[tuple[int, str], Timeline] = {}

    def timeline(self, subject: _Subject) -> Timeline:
        key = (id(subject.suite), subject.user)
        if key not in self._timelines:
            self._timelines[key] = Timeline(subject.suite.users[subject.user].events)
        return self._timelines[key]

    def value(self, calculation: Calculation | None, subject: _Subject, ca: str) -> str:
        if calculation is None:
            return NO_VALUE
        seed = subject.suite.users[subject.user].seeds.get(ca)
        return calculation.evaluate(self.timeline(subject), seed, subject.suite.as_of)


def before_definition(wants_active: bool, live: LiveCA | None) -> CanonicalDefinition | None:
    """The definition a change replaces, to compute "before" values with (None: no value)."""
    if live is None:
        return None
    if wants_active:
        return live.active
    return live.draft if live.draft is not None else live.active


def carriers(actions: Sequence[Action]) -> Iterator[tuple[int, Action]]:
    """(index, action) of each CA's first create, update or activate: the action whose
    changes the values belong with."""
    seen: set[str] = set()
    for index, action in enumerate(actions):
        if action.action in _CARRIERS and action.name not in seen:
            seen.add(action.name)
            yield index, action


def _diffs(
    subjects: _Subjects,
    ca: str,
    before: CanonicalDefinition | None,
    after: CanonicalDefinition,
) -> list[ValueDiff]:
    old = Calculation(before) if before is not None else None
    new = Calculation(after)
    found: list[ValueDiff] = []
    for subject in subjects.by_ca[ca]:
        value = subjects.value(new, subject, ca)
        was = subjects.value(old, subject, ca)
        found.append(
            ValueDiff(
                user=subject.user,
                file=subject.suite.file,
                before=was,
                after=value,
                fails_test=subject.failure(value),
                fixes_test=subject.fix(was, value) if old is not None else None,
            )
        )
    return found


def with_values(
    plan: Plan,
    live: Sequence[LiveCA],
    desired: Sequence[DeclaredCA],
    suites: Sequence[SampleSuite],
) -> tuple[Plan, list[str]]:
    """The plan with the value diffs of every created or changed CA that has test users,
    and a note for each CA whose definitions the evaluator cannot read (left without)."""
    subjects = _Subjects(suites)
    if not subjects.by_ca:
        return plan, []
    wanted = {ca.name: ca for ca in desired}
    by_id = {ca.id: ca for ca in live}
    actions = list(plan.actions)
    notes: list[str] = []
    for index, action in carriers(plan.actions):
        ca = wanted.get(action.name)
        if ca is None or action.name not in subjects.by_ca:
            continue
        found = by_id.get(action.id) if action.id is not None else None
        before, after = before_definition(ca.active, found), ca.canonical
        if before == after:
            continue  # a new name or description only: no value can change
        try:
            diffs = _diffs(subjects, action.name, before, after)
        except DefinitionError as exc:
            notes.append(
                f"{quoted(action.name)}: no value diff: the evaluator cannot read its "
                f"definition ({exc})"
            )
            continue
        actions[index] = action.model_copy(update={"values": diffs})
    return plan.model_copy(update={"actions": actions}), notes
