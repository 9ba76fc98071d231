"""Manifests written by hand: every spelling YAML allows for one definition (key order,
block or flow, quoting, number, date and boolean forms, defaults written out or left out,
`data_point`, anchors, aliases and merge keys) loads as that definition's meaning, with
no other problem than the definition has; and an environment's override that says the
same again in other spellings changes nothing."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.manifest.files import parse_file
from reconciler.manifest.writing import reads_plain
from reconciler.models import CalculatedAttribute
from tests.strategies import definitions

Json = dict[str, Any]


class Writer:
    """YAML text for plain data, each node in a spelling drawn from `rng`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def text(self, value: str, flow: bool) -> str:
        styles = ["single", "double"]
        if reads_plain(value, flow):
            styles.append("plain")
        style = self.rng.choice(styles)
        if style == "plain":
            return value
        if style == "single":
            return "'" + value.replace("'", "''") + "'"
        return json.dumps(value, ensure_ascii=self.rng.random() < 0.5)

    def scalar(self, value: Any, flow: bool) -> str:
        if value is None:
            return self.rng.choice(["null", "~", "Null", "NULL"])
        if isinstance(value, bool):
            return self.rng.choice(["true", "True", "TRUE"] if value else ["false", "False"])
        if isinstance(value, int):
            return self.rng.choice([str(value), f"+{value}" if value >= 0 else str(value)])
        if isinstance(value, date):
            return self.text(value.isoformat(), flow)
        if isinstance(value, Spelt):
            return value.text
        return self.text(str(value), flow)

    def node(self, value: Any, indent: int, flow: bool = False) -> str:
        """`value` after a key (or a dash): inline for scalars and flow collections, else a
        newline and a block at `indent`."""
        if isinstance(value, dict) and value and not isinstance(value, Spelt):
            if flow or self.rng.random() < 0.3:
                return " " + self.flow(value)
            return "\n" + self.block_mapping(value, indent)
        if isinstance(value, list) and value:
            if flow or self.rng.random() < 0.4:
                return " " + self.flow(value)
            return "\n" + self.block_sequence(value, indent)
        if isinstance(value, dict):
            return " {}"
        if isinstance(value, list):
            return " []"
        return " " + self.scalar(value, flow)

    def flow(self, value: Any) -> str:
        if isinstance(value, Spelt):
            return value.text
        if isinstance(value, dict):
            items = self.ordered(value)
            return "{" + ", ".join(f"{k}:{self.node(v, 0, flow=True)}" for k, v in items) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(item) for item in value) + "]"
        return self.scalar(value, flow=True)

    def ordered(self, mapping: dict[str, Any]) -> list[tuple[str, Any]]:
        items = list(mapping.items())
        self.rng.shuffle(items)
        return items

    def block_mapping(self, mapping: dict[str, Any], indent: int) -> str:
        pad = " " * indent
        lines = []
        for key, value in self.ordered(mapping):
            if self.rng.random() < 0.1:
                lines.append(f"{pad}# a comment about {key}\n")
            lines.append(f"{pad}{key}:{self.node(value, indent + 2)}\n")
        return "".join(lines).rstrip("\n")

    def block_sequence(self, items: list[Any], indent: int) -> str:
        pad = " " * indent
        lines = []
        for item in items:
            if isinstance(item, dict) and item and self.rng.random() < 0.7:
                inner = self.block_mapping(item, indent + 2)
                lines.append(f"{pad}- {inner.lstrip()}\n")
            else:
                lines.append(f"{pad}-{self.node(item, indent + 2)}\n")
        return "".join(lines).rstrip("\n")


class Spelt(str):
    """A scalar already written as YAML text (`2.2e1`, `2024-01-01T02:00:00+02:00`)."""

    @property
    def text(self) -> str:
        return str(self)


def _instant(value: date, rng: random.Random, quoted: bool) -> Spelt:
    moment = datetime(value.year, value.month, value.day)
    forms = [
        moment.strftime("%Y-%m-%d"),
        moment.strftime("%Y-%m-%dT%H:%M:%S"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
        (moment - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S-05:00"),
    ]
    if quoted:
        forms.append(moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    text = rng.choice(forms)
    return Spelt(json.dumps(text) if quoted else text)


def _number(value: Any, rng: random.Random) -> Spelt:
    """A number condition's operand, as a YAML number or quoted text, in any exact form."""
    number = Decimal(str(value))
    forms = [str(value), json.dumps(str(value))]
    if number == number.to_integral_value():
        whole = int(number)
        forms += [f"{whole}.0", f"{whole}e0", f"{whole}.00", json.dumps(f"{whole}.000")]
        if whole > 0:
            forms += [f"{hex(whole)}", f"0o{whole:o}", f"+{whole}"]
    else:
        forms += [f"{number}0", f"{number * 10}e-1", json.dumps(f"{number}00")]
    return Spelt(rng.choice(forms))


def _boolean(value: bool, rng: random.Random) -> Spelt:
    words = ["true", "True", "TRUE", '"true"', '"True"', "'TRUE'"]
    if not value:
        words = ["false", "False", "FALSE", '"false"', "'False'"]
    return Spelt(rng.choice(words))


def respelt(definition: Json, rng: random.Random) -> Json:
    """The same definition with its operands, dates and defaults spelt otherwise."""
    spelt: Json = {"calculation_type": definition["calculation_type"]}
    spelt[rng.choice(["datapoint", "data_point"])] = _point(definition["datapoint"], rng)
    if rng.random() < 0.3:
        spelt["recipe_type"] = "event"
    conditions = [_condition(condition, rng) for condition in definition.get("conditions", [])]
    rng.shuffle(conditions)
    if conditions:
        spelt["conditions"] = conditions
    elif rng.random() < 0.5:
        spelt["conditions"] = rng.choice([None, []])
    spelt["time_period"] = _period(definition["time_period"], rng)
    seeding = definition.get("seeding")
    if seeding:
        spelt["seeding"] = {
            "cutoff_date": _instant(seeding["cutoff_date"], rng, rng.random() < 0.5)
        }
    elif rng.random() < 0.3:
        spelt["seeding"] = None
    return spelt


def _point(datapoint: Json, rng: random.Random) -> Json:
    """The datapoint with some of the defaults written out."""
    point = dict(datapoint)
    if rng.random() < 0.3:
        point.setdefault("type", "event")
    if rng.random() < 0.3 and "attribute_name" in point:
        point.setdefault("attribute_category", "event_attribute")
    if rng.random() < 0.3 and "custom_event_type" not in point:
        point["custom_event_type"] = None
    if rng.random() < 0.3 and not point.get("use_product_quantity"):
        point["use_product_quantity"] = False
    return point


def _condition(condition: Json, rng: random.Random) -> Json:
    """The condition with its operands spelt otherwise, its list shuffled, and some of the
    operands it does not take written as null."""
    kind = condition["type"]
    written = dict(condition)
    for key in ("value", "min_value", "max_value"):
        if key in written:
            written[key] = _operand(kind, written[key], rng)
    if "values" in written:
        written["values"] = [_operand(kind, item, rng) for item in written["values"]]
        rng.shuffle(written["values"])
    for key in ("value", "values", "min_value", "max_value"):
        if key not in written and rng.random() < 0.2:
            written[key] = None
    return written


def _period(time_period: Json, rng: random.Random) -> Json:
    period = dict(time_period)
    if period["type"] == "since":
        period["date"] = _instant(period["date"], rng, rng.random() < 0.5)
        if rng.random() < 0.3:
            period.update(within=None, within_unit=None)
    elif rng.random() < 0.3:
        period["date"] = None
    return period


def _operand(kind: str, value: Any, rng: random.Random) -> Any:
    if kind == "number":
        return _number(value, rng)
    if kind == "boolean":
        return _boolean(value, rng)
    if kind == "date":
        return _instant(value, rng, rng.random() < 0.5)
    return value


def manifest_text(entries: list[Json], rng: random.Random) -> str:
    """A file of CAs; some share a time period or datapoint through an anchor, or merge a
    definition's fields from one with `<<`."""
    writer = Writer(rng)
    shared: list[str] = []
    body: list[str] = ["calculated_attributes:\n"]
    for index, entry in enumerate(entries):
        definition = dict(entry["definition"])
        lines = [f"  - name: {writer.text(entry['name'], False)}\n"]
        for key in ("description", "renamed_from"):
            if key in entry or rng.random() < 0.2:
                lines.append(f"    {key}:{writer.node(entry.get(key), 6)}\n")
        if "active" in entry or rng.random() < 0.2:
            lines.append(f"    active:{writer.node(entry.get('active', True), 6)}\n")
        trick = rng.choice(["none", "alias", "merge"])
        if trick == "alias":
            period = definition.pop("time_period")
            shared.append(f"x-period-{index}: &period{index}{writer.node(period, 2)}\n")
            lines.append(f"    definition:\n      time_period: *period{index}\n")
            lines.append(writer.block_mapping(definition, 6) + "\n")
        elif trick == "merge":
            point_key = "datapoint" if "datapoint" in definition else "data_point"
            base = {"calculation_type": definition.pop("calculation_type")}
            base[point_key] = definition.pop(point_key)
            shared.append(f"x-base-{index}: &base{index}{writer.node(base, 2)}\n")
            lines.append(f"    definition:\n      <<: *base{index}\n")
            lines.append(writer.block_mapping(definition, 6) + "\n")
        else:
            lines.append(f"    definition:{writer.node(definition, 6)}\n")
        if "overrides" in entry:
            lines.append(f"    overrides:{writer.node(entry['overrides'], 6)}\n")
        body += lines
    return "".join(shared) + "".join(body)


@st.composite
def entries(draw: st.DrawFn) -> list[Json]:
    found = draw(st.lists(definitions(), min_size=1, max_size=4))
    result = []
    for index, definition in enumerate(found):
        entry: Json = {"name": f"CA {index}", "definition": definition}
        description = draw(st.sampled_from([None, "", "Lifetime value", "x: y # z", "yes"]))
        if description is not None or draw(st.booleans()):
            entry["description"] = description
        if draw(st.booleans()):
            entry["active"] = draw(st.booleans())
        result.append(entry)
    return result


@settings(max_examples=300)
@given(entries(), st.randoms(use_true_random=False))
def test_every_spelling_of_a_definition_loads_as_its_meaning(
    written: list[Json], rng: random.Random
) -> None:
    spelt = [{**entry, "definition": respelt(entry["definition"], rng)} for entry in written]
    for entry, original in zip(spelt, written, strict=True):
        if rng.random() < 0.5:
            # The definition again, spelt on its own (`datapoint` where the CA wrote
            # `data_point`), in part: the override means no change.
            again = respelt(original["definition"], rng)
            keys = rng.sample(sorted(again), rng.randint(1, len(again)))
            entry["overrides"] = {"prod": {"definition": {key: again[key] for key in keys}}}
    text = manifest_text(spelt, rng)
    result, _ = parse_file(text.encode(), "cas.yaml")
    plain, _ = parse_file(
        json.dumps({"calculated_attributes": written}, default=str).encode(), "cas.yaml"
    )
    # The same problems (warnings: the definitions are valid), wherever they are written;
    # an override that writes a field a warning is about has it too.
    assert all(issue.severity == "warning" for issue in result.issues)
    found = sorted(
        (issue.severity, issue.path, issue.message)
        for issue in result.issues
        if not issue.path.startswith("overrides.")
    )
    meant_issues = sorted((issue.severity, issue.path, issue.message) for issue in plain.issues)
    assert found == meant_issues, text
    by_name = {desired.ca.name: desired for desired in result.cas}
    loaded = {name: desired.ca for name, desired in by_name.items()}
    assert len(loaded) == len(written), text
    for entry in written:
        meant = CalculatedAttribute.model_validate(entry)
        ca = loaded[entry["name"]]
        assert ca.canonical == meant.canonical, text
        prod = by_name[entry["name"]].in_environment("prod")
        assert prod is not None
        assert prod.ca.canonical == meant.canonical, text
        assert (ca.description or "") == (meant.description or "")
        assert ca.active == meant.active
