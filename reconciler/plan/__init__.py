"""Planning: desired and live CAs -> a Plan value, its safety rules and its renderings.

Pure: nothing here performs I/O beyond saving and loading a plan file. `value` is the Plan
and its JSON form, `planner` builds it, `changes` computes field-level differences,
`safety` refuses what must not run unattended, `report` is what became of each action
when it was applied, `render` prints plans and reports for people.
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
