"""Live CAs: definitions are read with the list (a garbled one names its CA there), and
`definitions_as` is a shortcut that never changes what a definition reads as, nor the model."""

from __future__ import annotations

import copy
import json
import random
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

from reconciler.errors import ApiError
from reconciler.models import CanonicalDefinition, Definition, LiveCA
from reconciler.models.canonical import NON_TEXT_LEAVES, fingerprint
from reconciler.models.live import read_live, read_live_json
from tests.strategies import api_shaped, definitions, meaning_changes
from tests.support.data import replaced
from tests.support.workspace import PURCHASES

Json = dict[str, Any]


def live_ca(active: Json | None, draft: Json | None = None) -> LiveCA:
    return LiveCA.model_validate(
        {"id": 7, "name": "CA", "active_definition": active, "draft_definition": draft}
    )


def as_sent(data: Json) -> Json:
    """The canonical form of a manifest definition as the API would echo it (JSON)."""
    parsed: Json = orjson.loads(orjson.dumps(Definition.model_validate(data).canonical))
    return parsed


def shuffled(definition: Json, seed: int) -> Json:
    """The same definition with its conditions and in_list values in another order."""
    rng = random.Random(seed)
    result = copy.deepcopy(definition)
    for condition in result["conditions"]:
        if condition.get("values"):
            rng.shuffle(condition["values"])
    rng.shuffle(result["conditions"])
    return result


def taken_unread(ca: LiveCA, target: CanonicalDefinition) -> bool:
    """The active definition was found to be `target` without being reduced (a reduction
    builds a new canonical form, never `target` itself)."""
    assert ca.active_definition is not None
    active, _ = ca.definitions_as(target)
    return active is target


@settings(max_examples=200)
@given(definitions(), st.integers(0, 2**32))
def test_a_canonical_form_in_any_order_is_taken_unread(data: Json, seed: int) -> None:
    target = Definition.model_validate(data).canonical
    raw = shuffled(as_sent(data), seed)
    ca = live_ca(raw, draft=raw)
    assert taken_unread(ca, target)
    active, draft = ca.definitions_as(target)
    assert active is target
    assert draft is None  # a draft equal to the active definition is no draft
    assert live_ca(raw).active == target  # reading it says the same


@settings(max_examples=300)
@given(st.data())
def test_recognising_never_changes_what_a_definition_reads_as(draw: st.DataObject) -> None:
    data = draw.draw(definitions())
    other = draw.draw(st.one_of(st.just(data), meaning_changes(data)))
    seed = draw.draw(st.integers(0, 2**32))
    raw = draw.draw(
        st.sampled_from([api_shaped(other, seed), shuffled(as_sent(other), seed), as_sent(other)])
    )
    draft = draw.draw(st.sampled_from([None, raw, as_sent(data)]))
    target = Definition.model_validate(data).canonical
    ca = live_ca(raw, draft)
    state = (ca.model_dump(), vars(ca).copy())
    taken = ca.definitions_as(target)
    fresh = live_ca(raw, draft)
    assert taken == (fresh.active, fresh.draft)
    assert (ca.model_dump(), vars(ca)) == state  # a question, not a change


ROLLING: Json = {
    "calculation_type": "count",
    "datapoint": {"event_type": "session_start"},
    "conditions": [
        {
            "type": "number",
            "operator": "in_list",
            "attribute_name": "Step",
            "values": [10, 9, 100],
        },
        {"type": "string", "operator": "equals", "attribute_name": "Plan", "value": "gold"},
    ],
    "time_period": {"type": "within", "within": 1, "within_unit": "days"},
}


def _where(raw: Json, kind: str) -> int:
    return next(i for i, c in enumerate(raw["conditions"]) if c["type"] == kind)


def _respelled(raw: Json) -> Json:
    changed = copy.deepcopy(raw)
    changed["data_point"] = changed.pop("datapoint")
    return changed


@pytest.mark.parametrize(
    ("change", "taken", "means_the_target"),
    [
        (lambda raw: raw, True, True),
        (lambda raw: shuffled(raw, 3), True, True),
        # Equal in Python, but of another type: read. A whole JSON float is that number
        # (a server may write 1 as 1.0), a boolean is no number.
        (lambda raw: replaced(raw, ("time_period", "within"), 1.0), False, True),
        (lambda raw: replaced(raw, ("time_period", "within"), 1.5), False, False),
        (lambda raw: replaced(raw, ("time_period", "within"), True), False, False),
        # NaN equals nothing: read (and here a `within` period ignores its date).
        (lambda raw: replaced(raw, ("time_period", "date"), float("nan")), False, True),
        # Beyond 64 bits: compared exactly, and read.
        (lambda raw: replaced(raw, ("time_period", "within"), 2**70), False, False),
        (
            lambda raw: replaced(raw, ("conditions", _where(raw, "string"), "value"), "gold "),
            False,
            False,
        ),
        # Same meaning, other spelling: read, and found equal.
        (_respelled, False, True),
        (lambda raw: replaced(raw, ("recipe_type",), None), False, True),
        (
            lambda raw: replaced(
                raw, ("conditions", _where(raw, "number"), "values"), ["100", "9", "10", "9"]
            ),
            False,
            True,
        ),
    ],
)
def test_only_the_canonical_form_is_taken_unread(
    change: Any, taken: bool, means_the_target: bool
) -> None:
    target: CanonicalDefinition = Definition.model_validate(ROLLING).canonical
    raw = change(as_sent(ROLLING))
    ca = live_ca(raw)
    assert taken_unread(ca, target) == taken
    fresh = live_ca(raw).active
    assert ca.definitions_as(target)[0] == fresh
    assert ca.active == fresh
    assert (fresh == target) == means_the_target


def test_an_unreadable_definition_names_its_ca_when_the_list_is_read() -> None:
    listed = [
        {"id": 6, "name": "Fine", "active_definition": None},
        {"id": 7, "name": "CA", "active_definition": {"conditions": "not a list"}},
        {"id": 8, "name": "Other", "draft_definition": {"time_period": []}},
    ]
    with pytest.raises(ApiError) as caught:
        read_live(listed)
    assert str(caught.value).startswith('"CA" (id 7): its active definition could not be read')
    assert '"Other" (id 8): its draft definition could not be read' in str(caught.value)
    assert "Fine" not in str(caught.value)


def test_an_unreadable_definition_names_the_field_and_what_is_wrong() -> None:
    """It said "(1 problem(s))" only: which field of the CA's definition went unsaid."""
    listed = [{"id": 7, "name": "CA", "active_definition": {"conditions": [None]}}]
    with pytest.raises(ApiError) as caught:
        read_live(listed)
    assert str(caught.value) == (
        '"CA" (id 7): its active definition could not be read from the API\'s answer '
        "(1 problem(s), the first at active_definition.conditions[0]: Input should be a "
        "valid dictionary)"
    )


def test_a_list_that_is_no_list_of_cas_says_so() -> None:
    with pytest.raises(ApiError, match=r"the CA list could not be read: 1 problem"):
        read_live({"calculated_attributes": []})


def test_a_list_with_a_bad_field_says_where() -> None:
    """It said only "1 problem(s)": which CA and field, and what is wrong, went unsaid."""
    with pytest.raises(ApiError) as caught:
        read_live([{"id": 6, "name": "Fine"}, {"id": "x", "name": "CA"}])
    assert str(caught.value) == (
        'the CA list could not be read: 1 problem(s), the first at [1].id (CA "CA"): '
        "Input should be a valid integer, unable to parse string as an integer"
    )
    # A CA whose name is what cannot be read is named by its place alone.
    with pytest.raises(ApiError) as unnamed:
        read_live([{"id": 6, "name": None}])
    assert "the first at [0].name: Input should be a valid string" in str(unnamed.value)


def test_a_list_holding_an_id_under_two_names_is_refused_naming_both() -> None:
    """mParticle keeps ids unique: the planner read such a list as two CAs (an update and
    a delete of one), export as two manifests."""
    listed = [
        {"id": 5, "name": "Sessions"},
        {"id": 6, "name": "Fine"},
        {"id": 5, "name": "Visits"},
        {"id": 8, "name": "Twice"},
        {"id": 8, "name": "Twice"},
    ]
    with pytest.raises(ApiError) as caught:
        read_live(listed, "the CA list (GET /x)")
    assert str(caught.value) == (
        'the CA list (GET /x) holds id 5 under 2 names, "Sessions" and "Visits"; id 8 2 '
        'times, as "Twice": mParticle keeps ids unique, so the answer was misread or is '
        "damaged, and the reconciler acts on no part of it. Run the command again; if the "
        "answer stays so, look the CA up in mParticle"
    )
    # The answer as sent is read again, as a list with any other problem is, to say so.
    assert read_live_json(json.dumps(listed).encode()) is None
    assert read_live_json(json.dumps(listed[:2]).encode()) is not None


def test_many_repeated_ids_are_named_a_few_at_a_time() -> None:
    listed = [{"id": n // 2, "name": f"CA {n}"} for n in range(200)]
    with pytest.raises(ApiError) as caught:
        read_live(listed)
    assert str(caught.value).startswith(
        'the CA list holds id 0 under 2 names, "CA 0" and "CA 1"; id 1 under 2 names, '
    )
    assert "; and 90 more: mParticle keeps ids unique" in str(caught.value)


@pytest.mark.parametrize(
    ("count", "audiences"), [(None, None), (-1, None), (-7, None), (0, 0), (3, 3)]
)
def test_an_absent_or_negative_audience_count_is_unknown(
    count: int | None, audiences: int | None
) -> None:
    """The plan decides on it (rule delete-in-use), so the fingerprint tells it from 0."""
    read = LiveCA.model_validate({"id": 1, "name": "CA", "audience_count": count})
    absent = LiveCA.model_validate({"id": 1, "name": "CA"})
    none = LiveCA.model_validate({"id": 1, "name": "CA", "audience_count": 0})
    assert read.audiences == audiences
    assert (read.fingerprint == absent.fingerprint) == (audiences is None)
    assert (read.fingerprint == none.fingerprint) == (audiences == 0)


def _non_text_leaves(hints: type, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Paths of a canonical TypedDict whose values are neither text nor null."""
    text_types = {str, type(None)}
    found: set[tuple[str, ...]] = set()
    for key, hint in get_type_hints(hints).items():
        options = set(get_args(hint)) if get_origin(hint) in (Union, UnionType) else {hint}
        for option in options - text_types:
            if is_typeddict(option):
                found |= _non_text_leaves(option, (*path, key))
            elif get_origin(option) is list:
                (item,) = get_args(option)
                if is_typeddict(item):
                    found |= _non_text_leaves(item, (*path, key, "[]"))
                elif item is not str:
                    found.add((*path, key))
            else:
                found.add((*path, key))
    return found


def test_the_non_text_leaves_are_the_ones_recognition_checks() -> None:
    assert _non_text_leaves(CanonicalDefinition) == set(NON_TEXT_LEAVES)


#: Places where an API could garble a definition, and what it could put there.
GARBLED_AT = [
    ("calculation_type",),
    ("datapoint",),
    ("datapoint", "use_product_quantity"),
    ("conditions",),
    ("time_period", "within"),
    ("time_period",),
]
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=150)
@given(st.lists(definitions(), max_size=3), st.integers(0, 2**32), st.data())
def test_the_answer_read_as_sent_reads_as_the_parsed_answer(
    found: list[Json], seed: int, draw: st.DataObject
) -> None:
    """`read_live_json` (the list as sent, in one pass) gives exactly what `read_live` gives
    for the parsed list, and None where that names a problem."""
    listed: list[Json] = []
    for index, data in enumerate(found):
        active = api_shaped(data, seed)
        at = draw.draw(st.sampled_from(GARBLED_AT))
        if draw.draw(st.booleans()) and at[0] in active:
            active = replaced(active, at, draw.draw(JUNK))
        description = draw.draw(st.one_of(st.none(), st.text(max_size=5), st.integers()))
        listed.append({"id": index, "name": f"CA {index}", "description": description})
        listed[-1][draw.draw(st.sampled_from(["active_definition", "draft_definition"]))] = active
    content = json.dumps(listed).encode()  # integers beyond 64 bits too
    try:
        expected = [json.dumps(ca.model_dump()) for ca in read_live(from_json(content))]
    except ApiError:
        assert read_live_json(content) is None
        return
    read = read_live_json(content)
    assert read is not None
    assert [json.dumps(ca.model_dump()) for ca in read] == expected


@pytest.mark.parametrize("content", [b"", b"[{", b"{}", b'[{"id": "x"}]', b"\xff"])
def test_an_answer_that_is_no_list_of_cas_is_not_read_as_sent(content: bytes) -> None:
    assert read_live_json(content) is None


def with_unknown_fields(raw: Json) -> Json:
    """`raw` holding fields the models do not know, at every depth (fields newer than the
    docs, set in the UI)."""
    result = copy.deepcopy(raw)
    result["audience_filter"] = {"nested": [1, 2]}
    result["datapoint"]["filter_mode"] = "all"
    for condition in result["conditions"] or ():
        condition["case_sensitive"] = True
    result["time_period"]["timezone"] = "UTC"
    if result.get("seeding") is not None:
        result["seeding"]["source"] = "ui"
    return result


def keys_reversed(value: Any) -> Any:
    """`value` with the keys of every object in reverse order (the same JSON meaning)."""
    if isinstance(value, dict):
        return {k: keys_reversed(value[k]) for k in reversed(value)}
    if isinstance(value, list):
        return [keys_reversed(item) for item in value]
    return value


@settings(max_examples=150)
@given(definitions(), st.integers(0, 2**32))
def test_unknown_fields_are_kept_unread_and_mean_nothing(data: Json, seed: int) -> None:
    """A definition's unknown fields are named by their paths, and change nothing else:
    its canonical form, the recognition of the desired form. The fingerprint sees them, and
    not the order of the keys sent."""
    target = Definition.model_validate(data).canonical
    raw = shuffled(as_sent(data), seed)
    plain, extended = live_ca(raw, draft=raw), live_ca(with_unknown_fields(raw), draft=raw)
    assert extended.active == plain.active == target
    assert extended.definitions_as(target) == (target, None)
    assert extended.fingerprint != plain.fingerprint
    reordered = live_ca(keys_reversed(with_unknown_fields(raw)), draft=raw)
    assert reordered.fingerprint == extended.fingerprint
    assert plain.unknown_fields("active_definition") == []
    conditions = [
        f"active_definition.conditions[{i}].case_sensitive"
        for i in range(len(raw["conditions"] or ()))
    ]
    seeding = ["active_definition.seeding.source"] if raw.get("seeding") is not None else []
    assert sorted(extended.unknown_fields("active_definition")) == sorted(
        [
            "active_definition.audience_filter",
            "active_definition.datapoint.filter_mode",
            *conditions,
            "active_definition.time_period.timezone",
            *seeding,
        ]
    )
    assert extended.unknown_fields("draft_definition") == []


def test_unknown_fields_are_read_from_the_answer_as_sent_under_either_data_point_key() -> None:
    definition = as_sent(dict(PURCHASES))
    definition["data_point"] = {**definition.pop("datapoint"), "filter_mode": "all"}
    listed = [{"id": 1, "name": "CA", "draft_definition": definition, "created_by": "x"}]
    read = read_live_json(orjson.dumps(listed))
    assert read is not None
    assert read[0].unknown_fields("draft_definition") == ["draft_definition.data_point.filter_mode"]
    assert read[0].unknown_fields("active_definition") == []
    assert read[0].held_draft == Definition.model_validate(PURCHASES).canonical


def test_the_fingerprint_sees_unknown_fields_where_they_are_and_what_they_hold() -> None:
    """A saved plan keeps the fingerprints of the CAs it touches: setting such a field in
    the UI between `plan --out` and `apply --plan`, or changing its value, makes the plan
    stale (its update would drop the field without the plan's warning). A CA without such
    fields keeps the digest earlier versions saved: their plans still apply."""
    raw = as_sent(dict(PURCHASES))
    plain = live_ca(raw, draft=raw).model_copy(update={"audience_count": 0})

    def held(active: Json, draft: Json) -> str:
        return live_ca({**raw, **active}, draft={**raw, **draft}).fingerprint

    earlier = fingerprint(
        {
            "name": "CA",
            "description": "",
            "active": plain.active,
            "draft": None,
            "audience_count": 0,
        }
    )
    assert plain.fingerprint == earlier
    seen = {
        plain.fingerprint,
        held({"source": "ui"}, {}),
        held({"source": "api"}, {}),
        held({}, {"source": "ui"}),  # the draft equals the active one: an update replaces it
        held({"source": "ui", "origin": "ui"}, {}),
        held({"source": {"a": 2**70}}, {}),  # beyond 64 bits: any JSON value
    }
    assert len(seen) == 6
    assert held({"source": "ui", "origin": "ui"}, {}) == held({"origin": "ui", "source": "ui"}, {})
