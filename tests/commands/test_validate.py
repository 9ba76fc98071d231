"""`reconciler validate`: the example workspace is valid; every bad manifest fails with a
located message (one fixture per documented rule in tests/manifests/)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "manifests").glob("bad-*.yaml"))


def expectation(fixture: Path) -> str:
    match = re.search(r"^# expect: (.+)$", fixture.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{fixture.name} has no `# expect:` line"
    return match.group(1)


def test_there_is_a_fixture_per_rule() -> None:
    assert len(FIXTURES) >= 30


def test_example_workspace_is_valid() -> None:
    result = run_cli("validate", ROOT / "manifests")
    assert result.exit_code == 0, result.output
    assert "13 calculated attributes in 2 files: valid." in result.stdout


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_bad_manifest_is_refused_with_its_location(fixture: Path, tmp_path: Path) -> None:
    if fixture.name.startswith("bad-settings-"):
        shutil.copy(fixture, tmp_path / "reconciler.yaml")
        shown = "reconciler.yaml"
    else:
        (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
        shutil.copy(fixture, tmp_path / fixture.name)
        shown = fixture.name
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 1
    assert "1 error in manifests:" in stderr
    assert f"{shown}{expectation(fixture)}" in stderr
    assert re.search(rf"{re.escape(shown)}:\d+", stderr), "message names file:line"
    assert "Traceback" not in result.output


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    for fixture in FIXTURES[:12]:
        if not fixture.name.startswith("bad-settings-"):
            shutil.copy(fixture, tmp_path / fixture.name)
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 1
    for fixture in FIXTURES[:12]:
        if not fixture.name.startswith("bad-settings-"):
            assert f"{fixture.name}{expectation(fixture)}" in stderr


def test_warnings_do_not_fail_validation(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "ca.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Rolling\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
        "      seeding: {cutoff_date: 2024-01-01}\n"
    )
    result = run_cli("validate", tmp_path)
    assert result.exit_code == 0, result.output
    assert "ca.yaml:7:16: definition.seeding: rolling (`within`) time periods cannot be seeded" in (
        result.stderr
    )


def test_a_directory_without_settings_is_refused(tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path)
    assert result.exit_code == 1
    assert "reconciler.yaml: not found" in result.stderr


def test_validate_makes_no_network_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate must not make HTTP requests")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)
    monkeypatch.setattr(httpx.Client, "send", refuse)
    result = run_cli("validate", ROOT / "manifests")
    assert result.exit_code == 0


def test_a_bug_is_one_paragraph_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler import manifest

    def broken(directory: Path) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(manifest, "load", broken)
    result = run_cli("validate", ROOT / "manifests")
    assert result.exit_code == 3  # SPEC §4: a bug, and only a bug, exits 3
    assert "unexpected ZeroDivisionError: boom. This is a bug in reconciler" in result.stderr
    assert "Traceback" not in result.output
    debugged = run_cli("validate", ROOT / "manifests", "--debug")
    assert debugged.exit_code == 3
    assert "Traceback (most recent call last)" in debugged.stderr
    assert "ZeroDivisionError" in debugged.stderr


def test_every_error_of_one_ca_is_reported_at_once(tmp_path: Path) -> None:
    """A bad cutoff date made the CA invalid as a whole, and the definition's own rule (a
    `sum` needs `datapoint.attribute_name`) was never checked: the user fixed one error
    to meet the next."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: LTV\n"
        "    renamed_from: LTV\n"
        "    definition:\n"
        "      calculation_type: sum\n"
        "      datapoint: {event_name: Purchase, event_type: commerce_event}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
        "      seeding: {cutoff_date: 2019-13-45}\n"
        "  - name: Sessions\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start, custom_event_type: purchase}\n"
        "      time_period: {type: within, within_unit: fortnights}\n"
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 1
    assert "Error: 6 errors in manifests:" in stderr
    for expected in (
        'cas.yaml:3:19: renamed_from: equals `name`; remove renamed_from (CA "LTV")',
        "cas.yaml:6:18: definition.datapoint.attribute_name: calculation_type `sum` aggregates "
        'an attribute\'s value: set datapoint.attribute_name (CA "LTV")',
        "cas.yaml:8:30: definition.seeding.cutoff_date: '2019-13-45' is not a valid ISO 8601 "
        'date or datetime (CA "LTV")',
        "cas.yaml:12:65: definition.datapoint.custom_event_type: Invalid data point custom "
        "event type",
        "cas.yaml:13:48: definition.time_period.within_unit: 'fortnights' is not valid",
        # A period with an invalid unit still says its `within` is missing.
        "cas.yaml:13:20: definition.time_period.within: Invalid 'within' time period "
        'specification: must be a positive integer (CA "Sessions")',
    ):
        assert expected in stderr, (expected, stderr)


def test_a_period_with_a_bad_unit_still_checks_its_window(tmp_path: Path) -> None:
    """A negative `within` beside an unknown `within_unit` is two errors, said at once; the
    unit is not said twice (its rule would repeat what its type says)."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: A\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start}\n"
        "      time_period: {type: within, within: -3, within_unit: months}\n"
    )
    result = run_cli("validate", tmp_path)
    assert result.exit_code == 1
    lines = result.stderr.replace(f"{tmp_path}/", "").splitlines()
    assert lines == [
        "Error: 2 errors in manifests:",
        "  cas.yaml:6:43: definition.time_period.within: Invalid 'within' time period "
        'specification: must be a positive integer (CA "A")',
        "  cas.yaml:6:60: definition.time_period.within_unit: 'months' is not valid; use one "
        'of: days, weeks (CA "A")',
    ]


def test_names_that_differ_only_in_case_or_unicode_form_warn(tmp_path: Path) -> None:
    """`LTV`, `ltv` and the full-width `ＬＴＶ` are three CAs to mParticle and one to a
    reader: validate passes and warns at each later spelling, naming the first."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    body = (
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
    )
    (tmp_path / "a.yaml").write_text("calculated_attributes:\n  - name: LTV\n" + body)
    (tmp_path / "b.yaml").write_text(
        "calculated_attributes:\n  - name: ltv\n" + body + "  - name: ＬＴＶ\n" + body
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 0, result.output
    assert 'b.yaml:2:5: name: "ltv" differs from "LTV" at a.yaml:2 only in case' in stderr
    assert 'b.yaml:7:5: name: "ＬＴＶ" differs from "LTV" at a.yaml:2 only in case' in stderr
    assert "a.yaml:2:5" not in stderr


SESSIONS_SINCE = (
    "    definition:\n"
    "      calculation_type: count\n"
    "      datapoint: {event_type: session_start}\n"
    "      time_period: {type: since, date: 2024-01-01}\n"
)


def test_string_operands_that_yaml_reads_as_other_values_must_be_quoted(tmp_path: Path) -> None:
    """Unquoted, `007` was sent as "7", `1.10` as "1.1", `0x1F` as "31", and the in_list
    `[1.0, 1.00, 01]` became two values: validate passed and the CA compared other text.
    Each is refused where it is written; text YAML leaves as written (`5`, `true`,
    `2024-01-01`, `1.5`) is taken."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    operands = [
        "1.10", "007", "0o17", "1_000", "1e3", "0x1F", ".inf", "2024-01-01 10:00:00 +02:00",
        "True", "5", "true", "2024-01-01", "1.5",
    ]  # fmt: skip
    conditions = "".join(
        f"        - {{type: string, operator: equals, attribute_name: A{index}, value: {text}}}\n"
        for index, text in enumerate(operands)
    )
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Sessions\n"
        + SESSIONS_SINCE
        + "      conditions:\n"
        + conditions
        + "        - {type: string, operator: in_list, attribute_name: L,"
        + " values: [1.0, 1.00, 01]}\n"
        + "        - {type: number, operator: equals, attribute_name: N, value: 007}\n"
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 1, result.output
    assert "Error: 11 errors in manifests:" in stderr, stderr
    read_as = {
        "1.10": "the number 1.1", "007": "the number 7", "0o17": "the number 15",
        "1_000": "the number 1000", "1e3": "the number 1000.0", "0x1F": "the number 31",
        ".inf": "the number inf", "True": "the boolean true",
        "2024-01-01 10:00:00 +02:00": "the date and time 2024-01-01T08:00:00",
    }  # fmt: skip
    for index, text in enumerate(operands[:9]):
        message = f'value {text} is read as {read_as[text]}; quote it ("{text}") to compare'
        where = rf"cas\.yaml:{8 + index}:\d+: definition\.conditions\[{index}\]\.value: "
        assert re.search(where + re.escape(message), stderr), (message, stderr)
    for item, text, number in ((1, "1.00", "1.0"), (2, "01", "1")):
        message = f'item {text} is read as the number {number}; quote it ("{text}")'
        where = rf"cas\.yaml:21:\d+: definition\.conditions\[13\]\.values\[{item}\]: "
        assert re.search(where + re.escape(message), stderr), (message, stderr)
    assert "values[0]" not in stderr
    assert "conditions[14]" not in stderr  # a number condition compares numbers


def test_a_number_yaml_reads_as_another_float_is_refused_where_written(tmp_path: Path) -> None:
    """`value: 0.12345678901234567890` was read by YAML as a float and sent as
    0.12345678901234568, `1e400` was refused as "inf", and `[1.00000000000000000001, 1]`
    became one item: the number sent was not the one written, silently."""
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n  dev: {workspace_id: 1}\n  prod: {workspace_id: 2}\n"
    )
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Sessions\n"
        + SESSIONS_SINCE
        + "      conditions:\n"
        + "        - {type: number, operator: equals, attribute_name: A,"
        + " value: 0.12345678901234567890}\n"
        + "        - {type: number, operator: in_list, attribute_name: B,"
        + " values: [1.00000000000000000001, 1, 1.5, 1e3, 2.50, 007]}\n"
        + "        - {type: number, operator: between, attribute_name: C,"
        + " min_value: 0.1, max_value: 1e400}\n"
        + "    overrides:\n"
        + "      prod:\n"
        + "        definition:\n"
        + "          conditions:\n"
        + "            - {type: number, operator: equals, attribute_name: A, value: 1e400}\n"
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 1, result.output
    assert "Error: 4 errors in manifests:" in stderr, stderr
    for where, field, text, read in (
        ("8", "conditions[0].value", "value 0.12345678901234567890", "0.12345678901234568"),
        ("9", "conditions[1].values[0]", "item 1.00000000000000000001", "1"),
        ("10", "conditions[2].max_value", "value 1e400", "inf"),
        ("15", "overrides.prod.definition.conditions[0].value", "value 1e400", "inf"),
    ):
        written = text.split()[1]
        message = f'{text} is read by YAML as the float {read}; quote it ("{written}")'
        assert re.search(rf"cas\.yaml:{where}:\d+: (definition\.)?{re.escape(field)}: ", stderr)
        assert message in stderr, (message, stderr)
    assert "not a finite number" not in stderr  # the cause is said, not its effect
    quoted = re.sub(
        r"(0\.12345678901234567890|1\.00000000000000000001|1e400)",
        r'"\1"',
        (tmp_path / "cas.yaml").read_text(),
    )
    (tmp_path / "cas.yaml").write_text(quoted)
    assert run_cli("validate", tmp_path).exit_code == 0
    planned = run_cli("plan", tmp_path, "--env", "dev", "--format", "json")
    assert planned.exit_code == 0, planned.output
    assert '"0.1234567890123456789"' in planned.stdout
    assert '"1.00000000000000000001"' in planned.stdout


def test_a_quoted_operand_that_looks_like_a_number_converges_as_text(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1234\ntarget: embedded\n")
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Sessions\n"
        + SESSIONS_SINCE
        + "      conditions:\n"
        + '        - {type: string, operator: equals, attribute_name: Code, value: "007"}\n'
        + "        - {type: string, operator: equals, attribute_name: Count, value: 5}\n"
        + "        - {type: string, operator: in_list, attribute_name: V,"
        + ' values: ["1.0", "1.00", 2]}\n'
    )
    applied = run_cli("apply", tmp_path, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    planned = run_cli("plan", tmp_path, "--format", "json")
    assert planned.exit_code == 0, planned.output
    assert '"actions": []' in planned.stdout


def test_a_padded_name_is_a_warning_and_a_blank_one_an_error(tmp_path: Path) -> None:
    """mParticle keeps whitespace around a name (a CA made in the UI may have it): such a
    name, quoted, is accepted with a located warning so that the CA can be managed."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(
        'calculated_attributes:\n  - name: " Padded\\t"\n    renamed_from: "Old "\n'
        + SESSIONS_SINCE
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 0, result.output
    assert (
        'cas.yaml:2:11: name: " Padded\\t" has leading or trailing whitespace, which '
        "mParticle keeps as part of the name; if no live CA is named so, remove it"
    ) in stderr, stderr
    assert 'cas.yaml:3:19: renamed_from: "Old " has leading or trailing whitespace' in stderr


def test_the_summary_counts_every_environment_unless_one_is_asked_for(tmp_path: Path) -> None:
    """`validate --help` said --env defaults to default_environment; validate counts every
    environment (RECONCILER_ENV, or --env, picks one), as the README says."""
    directory = tmp_path / "environments"
    shutil.copytree(ROOT / "examples" / "environments", directory)
    assert "default_environment: dev" in (directory / "reconciler.yaml").read_text()
    every = run_cli("validate", directory)
    assert every.exit_code == 0, every.output
    assert "(CAs per environment: dev 4, staging 3, prod 3)" in every.stdout
    chosen = run_cli("validate", directory, env={"RECONCILER_ENV": "prod"})
    assert "(CAs per environment: prod 3)" in chosen.stdout
    helped = " ".join(run_cli("validate", "--help").stdout.split())
    assert "(default: RECONCILER_ENV, else all)" in helped
    assert "default_environment" not in helped


@pytest.mark.parametrize("separator", ["\\u2028", "\\u2029"])
def test_a_name_with_a_line_or_paragraph_separator_is_a_warning(
    tmp_path: Path, separator: str
) -> None:
    """U+2028 and U+2029 break a line in a browser or an editor, and the plan writes them
    as escapes, as it does a tab or `\\n`: a name holding one is warned about as those are."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(
        f'calculated_attributes:\n  - name: "Line{separator}break"\n' + SESSIONS_SINCE
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 0, result.output
    assert (
        f'cas.yaml:2:11: name: "Line{separator}break" is named with a tab, a line break or an '
        "invisible character"
    ) in stderr, stderr


def test_a_warning_about_a_name_names_the_ca_once(tmp_path: Path) -> None:
    """`name: "A\tB" is named with a tab ... (CA "A\tB")` said the name twice: a warning
    that quotes the name needs no `(CA ...)` after it; one about renamed_from does."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(
        'calculated_attributes:\n  - name: "A\\tB"\n    renamed_from: "Old "\n' + SESSIONS_SINCE
    )
    result = run_cli("validate", tmp_path)
    assert result.exit_code == 0, result.output
    warnings = result.stderr.replace(f"{tmp_path}/", "").splitlines()
    named = [line for line in warnings if "is named with a tab" in line]
    assert named == [
        'Warning: cas.yaml:2:11: name: "A\\tB" is named with a tab, a line break or an '
        "invisible character, which mParticle keeps as part of the name (and a reader cannot "
        "see); if no live CA is named so, remove it"
    ], warnings
    renamed = [line for line in warnings if "renamed_from:" in line]
    assert renamed[0].endswith('if no live CA is named so, remove it (CA "A\\tB")'), renamed


def test_product_or_promotion_attributes_of_an_event_without_them_warn_where_written(
    tmp_path: Path,
) -> None:
    """Only a commerce event carries products and promotions: a custom event's (or a
    session's) product attribute finds no value, which passed silently. It is a warning
    (the API is not documented to refuse it), at the category, or at the override that
    makes the combination; a commerce event's, or a category without attribute_name
    (which then means nothing), says nothing."""
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n  dev: {workspace_id: 1}\n  prod: {workspace_id: 2}\n"
    )
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Cart Brands\n"
        "    definition:\n"
        "      calculation_type: unique_list\n"
        "      datapoint:\n"
        "        event_type: custom_event\n"
        "        event_name: Cart\n"
        "        attribute_name: Brand\n"
        "        attribute_category: product_attribute\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Session Promotions\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start, attribute_name: Promotion Name}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "    overrides:\n"
        "      prod:\n"
        "        definition: {datapoint: {attribute_category: promotion_attribute}}\n"
        "  - name: Purchased Brands\n"
        "    definition:\n"
        "      calculation_type: unique_list\n"
        "      datapoint: {event_type: commerce_event, custom_event_type: purchase,\n"
        "                  attribute_name: Brand, attribute_category: product_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Sessions\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start, attribute_category: product_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 0, result.output
    products = (
        "Warning: cas.yaml:9:29: definition.datapoint.attribute_category: `product_attribute` "
        "reads the products of a commerce_event, and a custom_event has none: this CA never "
        "finds a value; write `attribute_category: event_attribute` (the default) to read "
        'the event\'s own attribute, or `event_type: commerce_event` (CA "Cart Brands")'
    )
    assert products in stderr, stderr
    promotions = (
        "cas.yaml:18:54: overrides.prod.definition.datapoint.attribute_category: "
        "`promotion_attribute` reads the promotions of a commerce_event, and a session_start "
        "has none: this CA never finds a value; write `attribute_category: event_attribute`"
    )
    assert promotions in stderr, stderr
    assert stderr.count("never finds a value") == 2, stderr


def test_a_commerce_event_s_items_of_the_other_kind_warn_where_written(tmp_path: Path) -> None:
    """A promotion-based commerce event has no products, a product- or impression-based
    one no promotions (Events API JSON reference): a product attribute of a promotion_view,
    or a promotion attribute of a purchase (written by an override) or an impression, never
    finds a value, which passed silently. A warning at the category, only when the kind is
    certain: a commerce event selected by its event_name alone (R8, our reading) and the
    matching kinds say nothing."""
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n  dev: {workspace_id: 1}\n  prod: {workspace_id: 2}\n"
    )
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Promoted Brands\n"
        "    definition:\n"
        "      calculation_type: unique_list\n"
        "      datapoint:\n"
        "        event_type: commerce_event\n"
        "        custom_event_type: promotion_view\n"
        "        attribute_name: Brand\n"
        "        attribute_category: product_attribute\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Purchase Promotions\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: commerce_event, custom_event_type: purchase,\n"
        "                  attribute_name: Promotion Name}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "    overrides:\n"
        "      prod:\n"
        "        definition: {datapoint: {attribute_category: promotion_attribute}}\n"
        "  - name: Seen Promotions\n"
        "    definition:\n"
        "      calculation_type: unique_list\n"
        "      datapoint: {event_type: commerce_event, custom_event_type: impression,\n"
        "                  attribute_name: Name, attribute_category: promotion_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Clicked Promotions\n"
        "    definition:\n"
        "      calculation_type: unique_list\n"
        "      datapoint: {event_type: commerce_event, custom_event_type: promotion_click,\n"
        "                  attribute_name: Name, attribute_category: promotion_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Named Promotion Brands\n"
        "    definition:\n"
        "      calculation_type: unique_list\n"
        "      datapoint: {event_type: commerce_event, event_name: Promotion View,\n"
        "                  attribute_name: Brand, attribute_category: product_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 0, result.output
    products = (
        "Warning: cas.yaml:9:29: definition.datapoint.attribute_category: `product_attribute` "
        "reads an event's products, and `custom_event_type: promotion_view` selects "
        "promotion-based commerce_events, which have none: this CA never finds a value; "
        "write `attribute_category: promotion_attribute` to read its promotions, or the "
        "`custom_event_type` of events with products (purchase, add_to_cart, impression, "
        '...) (CA "Promoted Brands")'
    )
    assert products in stderr, stderr
    purchase = (
        "cas.yaml:19:54: overrides.prod.definition.datapoint.attribute_category: "
        "`promotion_attribute` reads an event's promotions, and `custom_event_type: "
        "purchase` selects product-based commerce_events, which have none: this CA never "
        "finds a value; write `attribute_category: product_attribute` to read its products, "
        "or `custom_event_type: promotion_view` (or promotion_click)"
    )
    assert purchase in stderr, stderr
    assert re.search(
        r"cas\.yaml:24:\d+: definition\.datapoint\.attribute_category: `promotion_attribute` "
        r"reads an event's promotions, and `custom_event_type: impression` selects "
        r"impression-based commerce_events",
        stderr,
    ), stderr
    assert stderr.count("never finds a value") == 3, stderr


def test_a_category_or_quantity_without_an_attribute_warns_where_written(
    tmp_path: Path,
) -> None:
    """`attribute_category` is "Only applicable when attribute_name is provided" and the
    quantity only with a product or promotion attribute (Platform API): written without an
    attribute (as the docs' own create example does) neither is sent nor compared, which
    passed silently. A warning at each; the default category says nothing."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Added To Cart\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint:\n"
        "        event_type: commerce_event\n"
        "        custom_event_type: add_to_cart\n"
        "        attribute_category: product_attribute\n"
        "        use_product_quantity: true\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Promotions Seen\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: commerce_event, custom_event_type: promotion_view,\n"
        "                  attribute_category: promotion_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: Searches\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: custom_event, event_name: Search,\n"
        "                  attribute_category: event_attribute}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
    )
    result = run_cli("validate", tmp_path)
    stderr = result.stderr.replace(f"{tmp_path}/", "")
    assert result.exit_code == 0, result.output
    category = (
        "Warning: cas.yaml:8:29: definition.datapoint.attribute_category: `product_attribute` "
        'applies only with an `attribute_name` (Platform API: "Only applicable when '
        'attribute_name is provided"): without one it is not sent, nor compared with the '
        "live CA; write the product's attribute as `attribute_name`, or remove "
        '`attribute_category` (CA "Added To Cart")'
    )
    assert category in stderr, stderr
    quantity = (
        "Warning: cas.yaml:9:31: definition.datapoint.use_product_quantity: applies only "
        "with an `attribute_name` of a product or promotion: without one it is not sent, "
        "nor compared with the live CA; write `attribute_name` with `attribute_category: "
        'product_attribute`, or remove `use_product_quantity` (CA "Added To Cart")'
    )
    assert quantity in stderr, stderr
    assert re.search(
        r"cas\.yaml:15:\d+: definition\.datapoint\.attribute_category: `promotion_attribute` "
        r"applies only with an `attribute_name`.*write the promotion's attribute",
        stderr,
    ), stderr
    assert "Searches" not in stderr, stderr
    assert stderr.count("Warning:") == 3, stderr
