"""The workspace a command works on, between the commands and the pure steps of the flow.

`loading`: its manifests and resolved settings, for one environment or each of them;
`planning`: list it (and the workspace it promotes from) and run the pure planning steps
of `reconciler.plan` on what came back; `suites`: its test files, for the value diffs of
its plans; `seeds`: the seed file of `--seeds` (read for a plan, sent group by group for
an apply, what landed recorded); `saved`: reach a saved plan's workspace again and refuse
any doubt about it.
"""

from reconciler.workspace.loading import Chosen, Workspace, load, load_all, source

__all__ = ["Chosen", "Workspace", "load", "load_all", "source"]
