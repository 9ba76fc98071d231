"""Seeding API rules over real HTTP: seed shape per calculation type, matching against the
CA definitions, identities, all-or-nothing bulk requests, overwrites, and seed discards."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.api import Api, ca_body, messages
from tests.support.emulator import EmulatorServer

CUTOFF = "2019-12-01"


def entry(name: str, calculation_type: str, seed: Any, **extra: Any) -> dict[str, Any]:
    return {
        "attribute_name": name,
        "calculation_type": calculation_type,
        "cutoff_date": CUTOFF,
        "seed": seed,
        **extra,
    }


def user(*entries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "environment": "development",
        "mpid": 1,
        "calculated_attributes": {"workspace": list(entries)},
    }
    body.update(fields)
    return body


def seedable(api: Api, name: str, calculation_type: str, **changes: Any) -> int:
    changes.setdefault("seeding", {"cutoff_date": CUTOFF})
    return api.create_ok(ca_body(name, calculation_type=calculation_type, **changes))


# (calculation type, a valid seed, an invalid seed, the message for the invalid one)
SHAPES = [
    ("count", {"value": "7"}, {"value": "seven"}, "Seed value must be numeric"),
    ("count", {"value": 7}, {"value": 2.5}, "Seed value must be a non-negative integer count"),
    ("sum", {"value": 100.5}, {"value": "lots"}, "Seed value must be numeric"),
    ("sum", {"value": "-3.25"}, {"value": True}, "Seed value must be numeric"),
    ("min", {"value": 123}, {"value": "x"}, "Seed value must be numeric"),
    ("max", {"value": "123"}, {}, "Seed value is required for max"),
    (
        "average",
        {"key_value_pairs": {"sum": 299.2, "count": 20}},
        {"key_value_pairs": {"sum": "a", "count": 2}},
        "Seed value must be numeric",
    ),
    (
        "average",
        {"key_value_pairs": {"sum": "1", "count": "2"}},
        {"key_value_pairs": {"sum": 1, "count": 0}},
        "Seed count must be a positive integer",
    ),
    (
        "average",
        {"key_value_pairs": {"sum": 1, "count": 1}},
        {"value": 1},
        "Seed key_value_pairs is required for average",
    ),
    (
        "first_occurrence",
        {"value": "some value"},
        {"value": ["a"]},
        "Seed value must be a string or a number",
    ),
    (
        "last_occurrence",
        {"value": 5},
        {"list": ["a"]},
        "Seed value is required for last_occurrence",
    ),
    (
        "first_occurrence_timestamp",
        {"value": 1582589378000},
        {"value": "yesterday"},
        "Seed value must be numeric",
    ),
    (
        "last_occurrence_timestamp",
        {"value": "1582589378000"},
        {"value": 1582589378},
        "Seed value must be a UNIX epoch timestamp in milliseconds",
    ),
    (
        "unique_list",
        {"list": ["a", "b"]},
        {"list": ["a", 1]},
        "Seed list must be an array of strings",
    ),
    (
        "unique_values_count",
        {"list": ["air jordan"]},
        {"list": "air jordan"},
        "Seed list must be an array of strings",
    ),
    (
        "most_frequent",
        {"key_value_pairs": {"ice cream": 10, "steak": "2"}},
        {"key_value_pairs": {"ice cream": "lots"}},
        "Seed value must be numeric",
    ),
    (
        "most_frequent",
        {"key_value_pairs": {}},
        {"key_value_pairs": ["x"]},
        "Seed key_value_pairs must be an object",
    ),
    ("sum", {"value": 1}, None, "seed is required"),
]


@pytest.mark.parametrize(("calculation_type", "valid", "invalid", "message"), SHAPES)
def test_seed_shape_per_calculation_type(
    api: Api, calculation_type: str, valid: Any, invalid: Any, message: str
) -> None:
    seedable(api, "CA", calculation_type)
    assert api.seed(user(entry("CA", calculation_type, valid))).status_code == 202
    response = api.seed(user(entry("CA", calculation_type, invalid)))
    assert response.status_code == 400
    assert response.json() == {"errors": [{"code": "BAD_REQUEST", "message": f"CA: {message}"}]}


def test_minimum_maximum_and_the_cuttoff_typo_are_accepted(
    api: Api, emulator: EmulatorServer
) -> None:
    seedable(api, "Low", "min")
    seedable(api, "High", "max")
    low = {"attribute_name": "Low", "calculation_type": "minimum", "cuttoff_date": CUTOFF}
    high = entry("High", "maximum", {"value": 9})
    response = api.seed(user({**low, "seed": {"value": 1}}, high))
    assert response.status_code == 202, response.text
    stored = emulator.seeds()["users"][0]["calculated_attributes"]
    assert stored["Low"] == {
        "calculation_type": "minimum",
        "cutoff_date": CUTOFF,
        "seed": {"value": 1},
    }
    assert stored["High"]["calculation_type"] == "maximum"


def test_no_matching_definition(api: Api) -> None:
    seedable(api, "LTV", "sum")
    seedable(api, "Unseeded", "sum", seeding=None)
    cases = [
        entry("Nope", "sum", {"value": 1}),
        entry("LTV", "count", {"value": 1}),
        {**entry("LTV", "sum", {"value": 1}), "cutoff_date": "2019-12-02"},
        entry("Unseeded", "sum", {"value": 1}),  # no seeding cutoff in the definition
    ]
    response = api.seed(user(*cases))
    assert response.status_code == 400
    assert messages(response) == [
        f"{name}: No matching calculated attribute definition found"
        for name in ("Nope", "LTV", "LTV", "Unseeded")
    ]


def test_a_rolling_window_ca_takes_seeds(api: Api, emulator: EmulatorServer) -> None:
    """The docs call seeding a `within` window "not supported" (its seeded values would
    never decrement), not refused: the API takes them."""
    rolling = {"type": "within", "within": 7, "within_unit": "days"}
    seedable(api, "Rolling", "sum", time_period=rolling)
    assert api.seed(user(entry("Rolling", "sum", {"value": 1}))).status_code == 202
    assert emulator.seeds()["users"][0]["calculated_attributes"]["Rolling"]["seed"] == {"value": 1}


def _propagating(api: Api, emulator: EmulatorServer) -> int:
    emulator.settings(propagation_delay=300)
    return seedable(api, "LTV", "sum")


def test_a_new_ca_is_unknown_to_seeding_for_the_propagation_delay(
    api: Api, emulator: EmulatorServer
) -> None:
    _propagating(api, emulator)
    seeds = user(entry("LTV", "sum", {"value": 1}))
    response = api.seed(seeds)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "code": "BAD_REQUEST",
                "message": "LTV: No matching calculated attribute definition found",
            }
        ]
    }
    emulator.advance_clock(299)
    assert api.seed(seeds).status_code == 400
    emulator.advance_clock(2)
    assert api.seed(seeds).status_code == 202


@pytest.mark.parametrize("write", ["update", "activate", "discard_draft"])
def test_a_changed_ca_is_unknown_to_seeding_again(
    api: Api, emulator: EmulatorServer, write: str
) -> None:
    ca_id = _propagating(api, emulator)
    if write == "discard_draft":
        api.activate(ca_id)
        api.update(ca_id, ca_body("LTV", seeding={"cutoff_date": CUTOFF}))
    emulator.advance_clock(301)
    seeds = user(entry("LTV", "sum", {"value": 1}))
    assert api.seed(seeds).status_code == 202
    if write == "update":
        api.update(ca_id, ca_body("LTV", calculation_type="sum", seeding={"cutoff_date": CUTOFF}))
    else:
        getattr(api, write)(ca_id)
    assert messages(api.seed(seeds)) == ["LTV: No matching calculated attribute definition found"]
    emulator.advance_clock(301)
    assert api.seed(seeds).status_code == 202


def test_propagation_can_answer_404_not_found(api: Api, emulator: EmulatorServer) -> None:
    """The CA guide calls it a NOT FOUND error: the other reading of the docs."""
    _propagating(api, emulator)
    emulator.settings(propagation_status=404)
    response = api.seed_bulk([user(entry("LTV", "sum", {"value": 1}))])
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {
                "code": "NOT_FOUND",
                "message": "LTV: No matching calculated attribute definition found",
            }
        ]
    }
    # A request with any other error is the plain 400 of the seeding page.
    mixed = user(entry("LTV", "sum", {"value": 1}), entry("Nope", "sum", {"value": 1}))
    assert api.seed(mixed).status_code == 400


def test_matching_uses_the_active_definition_else_the_draft(api: Api) -> None:
    ca_id = seedable(api, "LTV", "sum")
    assert api.seed(user(entry("LTV", "sum", {"value": 1}))).status_code == 202  # the draft
    api.activate(ca_id)
    api.update(ca_id, ca_body("LTV", calculation_type="count", seeding={"cutoff_date": CUTOFF}))
    # The active definition (sum) is what seeds match, not the newer draft (count).
    assert api.seed(user(entry("LTV", "sum", {"value": 1}))).status_code == 202
    assert api.seed(user(entry("LTV", "count", {"value": 1}))).status_code == 400


def test_seeds_match_cas_of_any_workspace(api: Api, emulator: EmulatorServer) -> None:
    other = Api(emulator, workspace=5)
    try:
        seedable(other, "Elsewhere", "sum")
    finally:
        other.close()
    assert api.seed(user(entry("Elsewhere", "sum", {"value": 1}))).status_code == 202


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"environment": "staging"}, "environment must be development or production"),
        ({"environment": None}, "environment must be development or production"),
        ({"mpid": None}, "mpid or identities is required"),
        ({"mpid": None, "identities": {}}, "mpid or identities is required"),
        ({"mpid": "12ab"}, "mpid must be a 64-bit integer"),
        ({"mpid": 2**63}, "mpid must be a 64-bit integer"),
        ({"mpid": None, "identities": {"fax": "1"}}, "Unknown identity type: fax"),
        ({"mpid": None, "identities": {"email": 5}}, "Identity email must be a string"),
        ({"calculated_attributes": None}, "calculated_attributes must hold a workspace array"),
        ({"calculated_attributes": {"workspace": [{"seed": {}}]}}, "attribute_name is required"),
        ({"user_attributes": {"tier": "gold"}}, "user_attributes must hold a workspace array"),
        (
            {"user_attributes": {"workspace": [{"attribute_value": "x"}]}},
            "User attribute attribute_name is required",
        ),
        (
            {"user_attributes": {"workspace": [{"attribute_name": "tier"}]}},
            "tier: attribute_value must be a string",
        ),
        # The seeding page: "attribute_value | string | Required"; its samples send "Free".
        (
            {"user_attributes": {"workspace": [{"attribute_name": "age", "attribute_value": 42}]}},
            "age: attribute_value must be a string",
        ),
        (
            {
                "user_attributes": {
                    "workspace": [{"attribute_name": "vip", "attribute_value": True}]
                }
            },
            "vip: attribute_value must be a string",
        ),
    ],
)
def test_user_level_errors(api: Api, fields: dict[str, Any], message: str) -> None:
    response = api.seed(user(**fields))
    assert response.status_code == 400
    assert messages(response) == [message]


def attributes(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"workspace": [{"attribute_name": n, "attribute_value": v} for n, v in pairs]}


LONG_NAME = "n" * 257
# The default service limits page, "Incoming Event Batches" (the seeding page's "Rate
# Limits" points to it): (user attributes at the limit, one over it, the message).
ATTRIBUTE_LIMITS = [
    (
        attributes(*[(f"a{i}", "x") for i in range(100)]),
        attributes(*[(f"a{i}", "x") for i in range(101)]),
        "A user may have at most 100 user attributes, not 101",
    ),
    (
        attributes(("n" * 256, "x")),
        attributes((LONG_NAME, "x")),
        f"{'n' * 60}...: user attribute name is longer than 256 characters",
    ),
    (
        attributes(("bio", "x" * 4096)),
        attributes(("bio", "x" * 4097)),
        "bio: user attribute value is longer than 4096 characters",
    ),
    # Characters are UTF-16 code units, as Java and JavaScript count them: an emoji is two.
    (
        attributes(("bio", "\U0001f600" * 2048)),
        attributes(("bio", "\U0001f600" * 2048 + "x")),
        "bio: user attribute value is longer than 4096 characters",
    ),
]


@pytest.mark.parametrize(("within", "over", "message"), ATTRIBUTE_LIMITS)
def test_user_attribute_limits(
    api: Api, emulator: EmulatorServer, within: dict[str, Any], over: dict[str, Any], message: str
) -> None:
    assert api.seed(user(user_attributes=within)).status_code == 202
    refused = api.seed(user(mpid=2, user_attributes=over))
    assert refused.status_code == 400
    assert messages(refused) == [message]
    assert LONG_NAME not in refused.text
    assert [u["mpid"] for u in emulator.seeds()["users"]] == [1]


def test_a_bulk_request_with_a_user_over_a_limit_stores_no_one(
    api: Api, emulator: EmulatorServer
) -> None:
    """The seeding page: "The whole request either succeed or fail"."""
    users = [
        user(user_attributes=attributes(("tier", "gold"))),
        user(mpid=2, user_attributes=attributes(("bio", "x" * 4097))),
    ]
    response = api.seed_bulk(users)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": "BAD_REQUEST",
            "message": "bio: user attribute value is longer than 4096 characters",
        }
    ]
    assert emulator.seeds() == {"count": 0, "users": []}


def test_calculation_type_and_cutoff_format(api: Api) -> None:
    seedable(api, "LTV", "sum")
    bad_type = entry("LTV", "median", {"value": 1})
    bad_cutoff = {**entry("LTV", "sum", {"value": 1}), "cutoff_date": "2019-12-01T00:00:00"}
    missing_cutoff = {
        k: v for k, v in entry("LTV", "sum", {"value": 1}).items() if k != "cutoff_date"
    }
    response = api.seed(user(bad_type, bad_cutoff, missing_cutoff))
    assert messages(response) == [
        "LTV: Invalid calculation type",
        "LTV: cutoff_date must be a date in yyyy-MM-dd format",
        "LTV: cutoff_date must be a date in yyyy-MM-dd format",
    ]


def test_every_documented_identity_type_is_accepted(api: Api, emulator: EmulatorServer) -> None:
    seedable(api, "LTV", "sum")
    user_types = ["customer_id", "email", "facebook", "twitter", "google", "microsoft", "yahoo"]
    user_types += ["other", *[f"other_id_{n}" for n in range(2, 11)], "mobile_number"]
    user_types += ["phone_number_2", "phone_number_3", "alias", "facebook_custom_audience_id"]
    device_types = ["android_id", "google_advertising_id", "ios_advertising_id", "ios_vendor_id"]
    device_types += ["roku_advertising_id", "roku_publisher_id", "fire_advertising_id"]
    device_types += ["microsoft_advertising_id", "microsoft_publisher_id"]
    users = [
        user(entry("LTV", "sum", {"value": 1}), mpid=None, identities={kind: f"id-{kind}"})
        for kind in user_types + device_types
    ]
    assert api.seed_bulk(users).status_code == 202
    assert emulator.seeds()["count"] == len(user_types) + len(device_types)


def test_bulk_is_all_or_nothing_and_reports_every_bad_user(
    api: Api, emulator: EmulatorServer
) -> None:
    seedable(api, "LTV", "sum")
    good = user(entry("LTV", "sum", {"value": 1}))
    users = [
        good,
        user(entry("LTV", "sum", {"value": "x"}), mpid=2),
        {**good, "mpid": 3},
        user(entry("Nope", "sum", {"value": 1}), mpid=4, environment="test"),
        "not a user",
    ]
    response = api.seed_bulk(users)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"code": "BAD_REQUEST", "message": "LTV: Seed value must be numeric"},
        {"code": "BAD_REQUEST", "message": "environment must be development or production"},
        {
            "code": "BAD_REQUEST",
            "message": "Nope: No matching calculated attribute definition found",
        },
        {"code": "BAD_REQUEST", "message": "Each user must be a JSON object"},
    ]
    assert emulator.seeds() == {"count": 0, "users": []}
    assert emulator.stats()["seed_users_accepted"] == 0
    not_a_list = api.seed_bulk(good)
    assert messages(not_a_list) == ["The request body must be a JSON array of users."]


def test_resent_seeds_overwrite(api: Api, emulator: EmulatorServer) -> None:
    seedable(api, "LTV", "sum")
    seedable(api, "Visits", "count")
    by_ids = {"customer_id": "c1", "email": "a@example.com"}
    first = [
        user(entry("LTV", "sum", {"value": 1}), entry("Visits", "count", {"value": 2}), mpid=7),
        user(entry("LTV", "sum", {"value": 5}), mpid=None, identities=by_ids),
    ]
    assert api.seed_bulk(first).status_code == 202
    again = [
        user(
            entry("LTV", "sum", {"value": 10}),
            mpid=7,
            environment="production",
            user_attributes={"workspace": [{"attribute_name": "tier", "attribute_value": "gold"}]},
        ),
        # Same identities in another order: the same user.
        user(
            entry("LTV", "sum", {"value": 6}), mpid=None, identities=dict(reversed(by_ids.items()))
        ),
    ]
    assert api.seed_bulk(again).status_code == 202
    seeds = emulator.seeds()
    assert seeds["count"] == 2
    by_mpid, by_identity = seeds["users"]
    assert by_mpid["mpid"] == 7
    assert by_mpid["environment"] == "production"
    assert by_mpid["calculated_attributes"]["LTV"]["seed"] == {"value": 10}
    assert by_mpid["calculated_attributes"]["Visits"]["seed"] == {"value": 2}  # untouched
    assert by_mpid["user_attributes"] == {"tier": "gold"}
    assert by_identity["mpid"] is None
    assert by_identity["calculated_attributes"]["LTV"]["seed"] == {"value": 6}
    assert emulator.stats()["seed_users_accepted"] == 4  # re-sends count


def test_seeds_are_discarded_with_their_ca(api: Api, emulator: EmulatorServer) -> None:
    ltv = seedable(api, "LTV", "sum")
    visits = seedable(api, "Visits", "count")
    kept = seedable(api, "Kept", "sum")
    seeds = [entry("LTV", "sum", {"value": 1}), entry("Visits", "count", {"value": 1})]
    assert api.seed(user(*seeds, entry("Kept", "sum", {"value": 1}))).status_code == 202

    api.delete(ltv)
    # A new cutoff in the definition in use (the draft: never activated) drops its seeds.
    api.update(
        visits, ca_body("Visits", calculation_type="count", seeding={"cutoff_date": "2020-01-01"})
    )
    # A description-only change keeps them.
    api.update(kept, {**ca_body("Kept", seeding={"cutoff_date": CUTOFF}), "description": "x"})
    assert list(emulator.seeds()["users"][0]["calculated_attributes"]) == ["Kept"]


def test_seeds_listing_pages_in_first_seen_order(api: Api, emulator: EmulatorServer) -> None:
    seedable(api, "LTV", "sum")
    users = [user(entry("LTV", "sum", {"value": n}), mpid=100 - n) for n in range(10)]
    assert api.seed_bulk(users).status_code == 202
    page = emulator.seeds(limit=3, offset=4)
    assert page["count"] == 10
    assert [u["mpid"] for u in page["users"]] == [96, 95, 94]
    everyone = emulator.seeds()["users"]
    assert [u["mpid"] for u in everyone] == [100 - n for n in range(10)]
