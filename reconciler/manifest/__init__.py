"""Manifests: YAML files -> settings and desired CAs, every problem located.

The first step of the flow. `document` reads one YAML file with the position of every key
and value; `files` turns one file into its `desired` CAs and problems; `loader` turns a
directory into checked `Manifests`, with the rules `crossfile` checks across files, many
files at once in worker processes (`parallel`) on a first load; `diagnostics` words
pydantic's errors for people; `cache` keeps what an error-free file held, read back as
`cached` CAs; `schema` generates the JSON Schemas editors use; `settings_file` reads
`reconciler.yaml`; `overrides` makes each environment's CAs.
"""

from reconciler.manifest.loader import UNFINISHED_EXPORT, DesiredCA, Manifests, discover, load
from reconciler.manifest.settings_file import SETTINGS_FILE, load_settings

__all__ = [
    "SETTINGS_FILE",
    "UNFINISHED_EXPORT",
    "DesiredCA",
    "Manifests",
    "discover",
    "load",
    "load_settings",
]
