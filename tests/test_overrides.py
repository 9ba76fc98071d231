"""Per-CA `environments:` and `overrides:` (SPEC §7) and the ownership scope (§8) in the
manifests: each environment's CAs, errors located where they are written, did-you-mean on
environment names, and a manifest cache that gives the same CAs per environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import loader as manifest
from reconciler.manifest.cached import CachedCA
from reconciler.manifest.overrides import merge

SETTINGS = """\
environments:
  dev: {workspace_id: 1}
  staging: {workspace_id: 2}
  prod:
    workspace_id: 3
    scope: ["Growth *", "LTV"]
"""
CAS = """\
calculated_attributes:
  - name: Growth Sessions
    description: all sessions
    overrides:
      prod:
        active: false
        description: null
        protect: true
        definition:
          time_period: {within: 90}
          conditions:
            - {type: string, operator: equals, attribute_name: Plan, value: paid}
      dev:
        definition:
          seeding: {cutoff_date: 2024-01-01}
          time_period: {type: since, date: 2023-06-01, within: null, within_unit: null}
    definition:
      calculation_type: count
      datapoint: {event_type: session_start}
      time_period: {type: within, within: 30, within_unit: days}
  - name: Debug Counter
    environments: [dev, staging]
    definition:
      calculation_type: count
      datapoint: {event_type: screen_view}
      time_period: {type: within, within: 1, within_unit: days}
"""


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(folder))
    return folder


def directory(tmp_path: Path, cas: str = CAS, settings: str = SETTINGS) -> Path:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "reconciler.yaml").write_text(settings)
    (folder / "cas.yaml").write_text(cas)
    return folder


def facts(loaded: manifest.Manifests, environment: str | None) -> list[tuple[Any, ...]]:
    return [
        (d.name, d.ca.description, d.ca.active, d.ca.protect, d.ca.canonical)
        for d in loaded.for_environment(environment)
    ]


def errors(folder: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        manifest.load(folder)
    return [str(issue).removeprefix(str(folder) + "/") for issue in caught.value.issues]


def test_merge_merges_mappings_replaces_the_rest_and_null_removes() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": 1}
    patch = {"a": {"c": [3], "f": 2}, "d": None, "g": {"h": 1}}
    assert merge(base, patch) == {"a": {"b": 1, "c": [3], "f": 2}, "e": 1, "g": {"h": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": 1}  # untouched


def test_an_override_may_spell_the_datapoint_otherwise(tmp_path: Path) -> None:
    """`datapoint` and `data_point` are one field, but an override's `datapoint` was
    merged beside the CA's `data_point`: "the same field; keep one" and a missing
    `event_type` that the CA does write."""
    cas = """\
calculated_attributes:
  - name: Growth Searches
    definition:
      calculation_type: count
      data_point: {event_type: custom_event, event_name: Search, custom_event_type: search}
      time_period: {type: within, within: 7, within_unit: days}
    overrides:
      prod:
        definition:
          datapoint: {event_name: Find}
      dev:
        definition:
          datapoint: {custom_event_type: null}
      staging:
        definition:
          datapoint: {custom_event_type: 7}
"""
    assert merge({"data_point": {"a": 1, "b": 2}}, {"datapoint": {"a": 3, "b": None}}) == {
        "data_point": {"a": 3}
    }
    assert errors(directory(tmp_path, cas)) == [
        # Found where the override wrote it.
        "cas.yaml:16:42: overrides.staging.definition.data_point.custom_event_type: expected "
        'text, got 7 (YAML read it as a number or boolean: put it in quotes) (CA "Growth Searches" '
        "in environment staging)",
    ]
    loaded = manifest.load(directory(tmp_path, cas.replace("custom_event_type: 7", "")))
    points = {}
    for environment in ("dev", "staging", "prod"):
        point = loaded.for_environment(environment)[0].ca.canonical["datapoint"]
        assert point is not None
        points[environment] = (point["event_name"], point["custom_event_type"])
    assert points == {
        "dev": ("Search", None),
        "staging": ("Search", "search"),
        "prod": ("Find", "search"),
    }


def test_each_environment_gets_its_overrides(tmp_path: Path) -> None:
    loaded = manifest.load(directory(tmp_path))
    by_env = {env: {d.name: d.ca for d in loaded.for_environment(env)} for env in ("dev", "prod")}
    assert sorted(by_env["dev"]) == ["Debug Counter", "Growth Sessions"]
    assert sorted(by_env["prod"]) == ["Growth Sessions"]  # Debug Counter: dev and staging
    prod = by_env["prod"]["Growth Sessions"]
    assert (prod.active, prod.description, prod.protect) == (False, None, True)
    assert prod.canonical["time_period"] == {
        "type": "within",
        "date": None,
        "within": 90,
        "within_unit": "days",
    }
    assert [c["attribute_name"] for c in prod.canonical["conditions"]] == ["Plan"]
    dev = by_env["dev"]["Growth Sessions"]
    period = dev.canonical["time_period"]
    assert period is not None
    assert period["type"] == "since"
    assert dev.canonical["seeding"] is not None
    assert dev.description == "all sessions"
    # staging has no override: the CA as written.
    (staging,) = [d.ca for d in loaded.for_environment("staging") if d.name == "Growth Sessions"]
    period = staging.canonical["time_period"]
    assert period is not None
    assert period["within"] == 30
    assert staging.active is True


def test_the_cache_gives_the_same_environments(tmp_path: Path) -> None:
    folder = directory(tmp_path)
    first = manifest.load(folder)
    second = manifest.load(folder)
    assert isinstance(second.cas[0].ca, CachedCA)
    for environment in ("dev", "staging", "prod"):
        assert facts(second, environment) == facts(first, environment)
        # Full models (which seeding reads) come from the cached data with the override.
        assert [d.ca.definition for d in second.for_environment(environment)] == [
            d.ca.definition for d in first.for_environment(environment)
        ]


def test_override_errors_are_located_at_the_override(tmp_path: Path) -> None:
    cas = CAS.replace(
        "time_period: {within: 90}", "time_period: {within: -1}\n          recipe: event"
    )
    cas = cas.replace("active: false", "active: nope")
    cas = cas.replace("seeding: {cutoff_date: 2024-01-01}", "calculation_type: sum")
    variants = [
        # Every problem of the variant at once: its rules and its unknown fields.
        "cas.yaml:10:33: overrides.prod.definition.time_period.within: Invalid 'within' time "
        'period specification: must be a positive integer (CA "Growth Sessions" in environment '
        "prod)",
        "cas.yaml:11:11: overrides.prod.definition.recipe: unknown field `recipe`; did you "
        'mean `recipe_type`? (CA "Growth Sessions" in environment prod)',
        # The override made it a sum: the datapoint written in the CA lacks the attribute.
        "cas.yaml:20:18: definition.datapoint.attribute_name: calculation_type `sum` "
        'aggregates an attribute\'s value: set datapoint.attribute_name (CA "Growth Sessions" '
        "in environment dev)",
    ]
    # In the same run as an error that makes the CA invalid (which hid them all).
    assert errors(directory(tmp_path, cas)) == [
        "cas.yaml:6:17: overrides.prod.active: expected true or false, got 'nope' (CA \"Growth "
        'Sessions")',
        *variants,
    ]
    cas = cas.replace("active: nope", "active: false")
    assert errors(directory(tmp_path, cas)) == variants


def test_a_ca_not_valid_as_written_shows_its_environment_problems_in_the_same_run(
    tmp_path: Path,
) -> None:
    """An error that made the CA invalid (a misspelt key of an override) hid every check of
    its environments: its overrides merged, the names it mentions, its scope. The first run
    showed 2 errors, the next 6 more. An error of the CA as written is said once, not once
    per environment that inherits it."""
    cas = """\
calculated_attributes:
  - name: Growth Count
    description: counts
    definition:
      calculation_type: count
      datapoint: {event_type: session_start}
      time_period: {type: since, date: 2024-01-01}
    environments: [dev, prd]
    overrides:
      prod:
        actve: false
        definition: {calculation_type: summ, datapont: {event_type: x}}
      dve: {description: x}
      dev: {description: 5, definition: {time_period: {within: "7"}}}
  - name: Debug Count
    definition:
      calculation_type: cont
      datapoint: {event_type: session_start}
      time_period: {type: since, date: 2024-01-01}
    overrides:
      dev: {description: x}
      staging: {description: y}
"""
    found = [
        "cas.yaml:11:9: overrides.prod.actve: unknown field `actve`; did you mean `active`? "
        '(CA "Growth Count")',
        "cas.yaml:12:40: overrides.prod.definition.calculation_type: 'summ' is not valid; did "
        'you mean `sum`? (CA "Growth Count" in environment prod)',
        "cas.yaml:12:46: overrides.prod.definition.datapont: unknown field `datapont`; did you "
        'mean `datapoint`? (CA "Growth Count" in environment prod)',
        "cas.yaml:14:26: overrides.dev.description: expected text, got 5 (YAML read it as a "
        'number or boolean: put it in quotes) (CA "Growth Count")',
        "cas.yaml:14:64: overrides.dev.definition.time_period.within: expected a whole number, "
        "got '7' (the quotes make it text: write 7 without them) (CA \"Growth Count\" in "
        "environment dev)",
        # Once, though dev and staging inherit it.
        "cas.yaml:17:25: definition.calculation_type: 'cont' is not valid; did you mean "
        '`count`? (CA "Debug Count")',
        "cas.yaml:8:25: environments[1]: unknown environment `prd`; did you mean `prod`? "
        'reconciler.yaml defines dev, staging, prod (CA "Growth Count")',
        "cas.yaml:10:7: overrides.prod: override for `prod`, but the CA exists only in dev, "
        'prd; add it to `environments` or remove the override (CA "Growth Count")',
        "cas.yaml:13:7: overrides.dve: unknown environment `dve`; did you mean `dev`? "
        'reconciler.yaml defines dev, staging, prod (CA "Growth Count")',
        'cas.yaml:15:5: name: CA "Debug Count" is outside the scope of prod (Growth *, LTV): '
        "add a pattern that matches it to `scope`, or limit the CA with `environments:`",
    ]
    folder = directory(tmp_path, cas)
    assert errors(folder) == found
    assert errors(folder) == found  # a file with errors is read again, not from the cache


def test_a_field_the_ca_sets_is_removed_in_the_override_that_writes_its_mapping(
    tmp_path: Path,
) -> None:
    """An override that makes the time period a `since` one, leaving the CA's `within`:
    the error pointed at the CA's `within` and said "remove it", which would break the
    other environments. It points at the override's `time_period` and says what to write
    there. A field whose mapping the override does not write stays at the CA's line."""
    cas = CAS.replace(
        "      dev:\n",
        "      staging:\n        definition:\n"
        "          time_period: {type: since, date: 2024-01-01}\n      dev:\n",
    )
    assert errors(directory(tmp_path, cas)) == [
        "cas.yaml:15:24: overrides.staging.definition.time_period.within: applies only to type "
        "`within`; the CA as written sets it for every environment: write `within: null` here "
        'to remove it in this one (CA "Growth Sessions" in environment staging)',
        "cas.yaml:15:24: overrides.staging.definition.time_period.within_unit: applies only to "
        "type `within`; the CA as written sets it for every environment: write `within_unit: "
        'null` here to remove it in this one (CA "Growth Sessions" in environment staging)',
    ]
    fixed = cas.replace(
        "date: 2024-01-01}\n      dev",
        "date: 2024-01-01, within: null, within_unit: null}\n      dev",
    )
    period = (
        manifest.load(directory(tmp_path, fixed))
        .for_environment("staging")[0]
        .ca.canonical["time_period"]
    )
    assert period is not None
    assert (period["type"], period["within"]) == ("since", None)


def test_unknown_environment_names_are_located_with_did_you_mean(tmp_path: Path) -> None:
    cas = CAS.replace("environments: [dev, staging]", "environments: [dev, stagng]")
    cas = cas.replace("      prod:\n", "      prd:\n")
    assert errors(directory(tmp_path, cas)) == [
        "cas.yaml:5:7: overrides.prd: unknown environment `prd`; did you mean `prod`? "
        'reconciler.yaml defines dev, staging, prod (CA "Growth Sessions")',
        "cas.yaml:22:25: environments[1]: unknown environment `stagng`; did you mean "
        '`staging`? reconciler.yaml defines dev, staging, prod (CA "Debug Counter")',
    ]


def test_an_override_where_the_ca_does_not_exist_is_an_error(tmp_path: Path) -> None:
    cas = CAS.replace(
        "    environments: [dev, staging]\n",
        "    environments: [dev, staging]\n    overrides: {prod: {active: false}}\n",
    )
    assert errors(directory(tmp_path, cas)) == [
        "cas.yaml:23:17: overrides.prod: override for `prod`, but the CA exists only in dev, "
        'staging; add it to `environments` or remove the override (CA "Debug Counter")'
    ]


def test_environment_names_need_environments_in_the_settings(tmp_path: Path) -> None:
    found = errors(directory(tmp_path, settings="workspace_id: 1\n"))
    assert found[0] == (
        "cas.yaml:5:7: overrides.prod: environment `prod`: reconciler.yaml defines no "
        'environments (add `environments:` to it) (CA "Growth Sessions")'
    )
    assert len(found) == 4  # prod, dev, and the two names of Debug Counter


def test_a_ca_outside_the_scope_is_a_located_error(tmp_path: Path) -> None:
    cas = CAS.replace("    environments: [dev, staging]\n", "")
    assert errors(directory(tmp_path, cas)) == [
        'cas.yaml:21:5: name: CA "Debug Counter" is outside the scope of prod (Growth *, LTV): '
        "add a pattern that matches it to `scope`, or limit the CA with `environments:`"
    ]
    # Scopes are matched case-sensitively.
    lower = CAS.replace("Growth Sessions", "growth sessions")
    assert "outside the scope of prod" in errors(directory(tmp_path, lower))[0]


def test_a_settings_change_is_seen_by_a_cached_directory(tmp_path: Path) -> None:
    folder = directory(tmp_path)
    manifest.load(folder)
    manifest.load(folder)  # the directory's verdict is cached now
    (folder / "reconciler.yaml").write_text(SETTINGS.replace('"Growth *", ', ""))
    assert errors(folder) == [
        'cas.yaml:2:5: name: CA "Growth Sessions" is outside the scope of prod (LTV): add a '
        "pattern that matches it to `scope`, or limit the CA with `environments:`"
    ]


def test_a_renamed_from_outside_the_scope_is_a_located_error(tmp_path: Path) -> None:
    """The plan cannot see a live CA outside the scope: a rename from one planned a silent
    create and left the old CA behind."""
    cas = CAS.replace(
        "    description: all sessions\n",
        "    description: all sessions\n    renamed_from: Sessions\n",
    )
    assert errors(directory(tmp_path, cas)) == [
        'cas.yaml:2:5: renamed_from: CA "Growth Sessions" is renamed from "Sessions", which is '
        "outside the scope of prod (Growth *, LTV): the plan cannot see it, so it would create "
        '"Growth Sessions" and leave "Sessions" behind; add a pattern that matches "Sessions" '
        "to `scope`, or remove renamed_from"
    ]
    inside = CAS.replace(
        "    description: all sessions\n", "    description: all sessions\n    renamed_from: LTV\n"
    )
    assert [d.ca.renamed_from for d in manifest.load(directory(tmp_path, inside)).cas] == [
        "LTV",
        None,
    ]
    # Only where the CA exists: prod's scope does not apply to a CA of dev and staging.
    elsewhere = CAS.replace("    renamed_from: Sessions\n", "").replace(
        "  - name: Debug Counter\n", "  - name: Debug Counter\n    renamed_from: Debug\n"
    )
    manifest.load(directory(tmp_path, elsewhere))


def test_an_environment_listed_twice_is_a_warning_at_its_second_mention(tmp_path: Path) -> None:
    """`environments: [dev, dev]` was taken in silence: harmless, but a slip (a name meant
    for another environment, or a merge that doubled it) worth a word at the line."""
    cas = CAS.replace("environments: [dev, staging]", "environments: [dev, staging, dev]")
    folder = directory(tmp_path, cas)
    loaded = manifest.load(folder)
    assert [str(warning) for warning in loaded.warnings] == [
        f"{folder / 'cas.yaml'}:22:34: environments[2]: `dev` is listed twice in "
        '`environments`: once is enough (CA "Debug Counter")'
    ]
    assert [d.name for d in loaded.for_environment("dev")] == ["Growth Sessions", "Debug Counter"]
    # From the cache too: the check reads the mentions the cache keeps.
    again = manifest.load(folder)
    assert [str(warning) for warning in again.warnings] == [str(w) for w in loaded.warnings]
