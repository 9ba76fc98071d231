"""Planning: desired and live CAs -> a Plan value, its safety rules and its renderings.

No network (tests/test_layout.py holds it): the only I/O is saving and loading a plan file
and the renderers writing through the console's Output. `value` is the Plan, its JSON form
and the action kinds; `planner` builds it, deciding by the table in `steps`; `changes`
computes field-level differences; `safety` refuses what must not run unattended, with
`budget` counting the active CAs against the account's limit; `values` adds the test
users' values before -> after (the reference evaluator, no I/O); `seeds` places the seed
actions of `--seeds`; `phases` is the order apply runs a plan in; `report` is what became
of each action (and CA) when it was applied, and `report_text` its text; `render` prints
plans as text, and `markdown` makes a plan a PR comment (a CA's section in `sections`),
with `gfm`'s GitHub-safe pieces (which the test report's comment uses too), both wording
the test users' values by `values_text`; `integrity` checks that a saved plan's bodies
send what its changes show.
"""

from reconciler.plan.value import (
    ACTION_KINDS,
    KINDS,
    Action,
    ActionKind,
    Change,
    Kind,
    Plan,
    Summary,
    summarize,
)

__all__ = [
    "ACTION_KINDS",
    "KINDS",
    "Action",
    "ActionKind",
    "Change",
    "Kind",
    "Plan",
    "Summary",
    "summarize",
]
