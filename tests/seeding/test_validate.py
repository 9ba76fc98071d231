"""Validating users against the manifests and the seeding page's format table: one case per
rule, the spellings the docs disagree on, and what the accepted user looks like."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from reconciler import manifest
from reconciler.errors import format_path
from reconciler.models.vocabulary import CALCULATION_TYPES
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.shapes import SEED_FIELD
from reconciler.seeding.validate import UserValidator
from tests.support.seeds import MANIFESTS

Json = dict[str, Any]
CATALOGUE = Catalogue.from_manifests(manifest.load(MANIFESTS))

#: A valid seed of each calculation type, and the seedable CA of the test manifests with it.
VALID_SEEDS: dict[str, tuple[str, Json]] = {
    "count": ("Orders", {"value": 12}),
    "sum": ("LTV", {"value": 100.5}),
    "min": ("Smallest Order", {"value": "3.25"}),
    "max": ("Largest Order", {"value": 123}),
    "average": ("Average Order Value", {"key_value_pairs": {"sum": 299.2, "count": 20}}),
    "first_occurrence_timestamp": ("First Seen", {"value": 1582589378000}),
    "last_occurrence_timestamp": ("Last Seen", {"value": "1582589378000"}),
    "first_occurrence": ("First Search Term", {"value": "some value"}),
    "last_occurrence": ("Last Search Term", {"value": 42}),
    "unique_list": ("Screens Visited", {"list": ["home", "cart"]}),
    "unique_values_count": ("Products Viewed", {"list": []}),
    "most_frequent": ("Favorite Category", {"key_value_pairs": {"ice cream": 10, "steak": "2"}}),
}


def body(**seed_entry: Any) -> Json:
    """A valid user with one LTV seed; keyword arguments replace fields of the seed entry."""
    entry: Json = {"attribute_name": "LTV", "seed": {"value": 100.5}}
    entry.update(seed_entry)
    return {
        "environment": "development",
        "mpid": 7346244611012968789,
        "calculated_attributes": {"workspace": [entry]},
    }


def check(raw: object, environment: str | None = None) -> tuple[Json | None, list[tuple[str, str]]]:
    user, problems = UserValidator(CATALOGUE, environment).check(raw)
    return user, [(format_path(p.path), p.message) for p in problems]


def test_the_format_table_covers_every_calculation_type() -> None:
    assert set(SEED_FIELD) == set(CALCULATION_TYPES) == set(VALID_SEEDS)


@pytest.mark.parametrize("calculation_type", sorted(VALID_SEEDS))
def test_each_calculation_type_takes_its_seed_shape(calculation_type: str) -> None:
    name, seed = VALID_SEEDS[calculation_type]
    target = CATALOGUE.get(name)
    assert target is not None
    assert target.calculation_type == calculation_type
    user, problems = check(body(attribute_name=name, seed=seed))
    assert problems == []
    assert user is not None
    assert user["calculated_attributes"]["workspace"] == [
        {
            "attribute_name": name,
            "calculation_type": calculation_type,
            "cutoff_date": target.cutoff_text,
            "seed": seed,
        }
    ]


def test_the_accepted_user_is_sent_in_the_documented_spellings() -> None:
    raw = {
        "mpid": "-42",
        "identities": {"customer_id": "c1"},
        "environment": "production",
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "Largest Order",
                    "calculation_type": "maximum",
                    "cuttoff_date": "2024-01-01T00:00:00",
                    "seed": {"value": 9},
                }
            ]
        },
        "user_attributes": {"workspace": [{"attribute_name": "Tier", "attribute_value": "Free"}]},
    }
    user, problems = check(raw)
    assert problems == []
    assert user == {
        "environment": "production",
        "mpid": -42,
        "identities": {"customer_id": "c1"},
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "Largest Order",
                    "calculation_type": "max",
                    "cutoff_date": "2024-01-01",
                    "seed": {"value": 9},
                }
            ]
        },
        "user_attributes": {"workspace": [{"attribute_name": "Tier", "attribute_value": "Free"}]},
    }


def test_identities_alone_find_the_user_and_the_flag_gives_the_environment() -> None:
    raw = body()
    del raw["mpid"], raw["environment"]
    raw["identities"] = {"email": "a@example.com", "ios_advertising_id": "016a9968"}
    user, problems = check(raw, environment="development")
    assert problems == []
    assert user is not None
    assert user["environment"] == "development"
    assert "mpid" not in user


def test_every_problem_of_a_user_is_reported_at_once() -> None:
    raw = body(attribute_name="LVT")
    raw["environment"] = "staging"
    raw["mpid"] = 1.5
    _, problems = check(raw)
    assert [path for path, _ in problems] == [
        "environment",
        "mpid",
        "calculated_attributes.workspace[0].attribute_name",
    ]


def _set(path: str, value: Any) -> Callable[[Json], None]:
    """A mutation: set a dotted path (list indexes as numbers) of the user to `value`."""

    def apply(user: Json) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = user
        for part in parents:
            node = node[part]
        node[last] = value

    return apply


def _drop(path: str) -> Callable[[Json], None]:
    def apply(user: Json) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = user
        for part in parents:
            node = node[part]
        del node[last]

    return apply


SEED = "calculated_attributes.workspace.0"
W0 = "calculated_attributes.workspace[0]"

#: (id, mutations of the valid `body()`, the problem's path, words of its message)
RULES: list[tuple[str, list[Callable[[Json], None]], str, str]] = [
    ("unknown-field", [_set("calculated_attribute", {})], "calculated_attribute",
     "did you mean `calculated_attributes`?"),
    ("environment-missing", [_drop("environment")], "environment",
     "required: development or production"),
    ("environment-unknown", [_set("environment", "prod")], "environment",
     'must be development or production, not "prod"'),
    ("mpid-not-integer", [_set("mpid", 12.5)], "mpid", "must be an integer"),
    ("mpid-boolean", [_set("mpid", True)], "mpid", "must be an integer"),
    ("mpid-out-of-range", [_set("mpid", 2**63)], "mpid", "out of range for a 64-bit MPID"),
    ("no-mpid-no-identities", [_drop("mpid")], "mpid", "needs `mpid` or a non-empty `identities`"),
    ("identities-empty", [_drop("mpid"), _set("identities", {})], "mpid", "non-empty `identities`"),
    ("identities-not-mapping", [_set("identities", ["a"])], "identities", "must be a mapping"),
    ("identity-type-unknown", [_set("identities", {"emial": "x"})], "identities.emial",
     "did you mean `email`?"),
    ("identity-not-string", [_set("identities", {"customer_id": 5})], "identities.customer_id",
     "must be a string"),
    ("identity-empty", [_set("identities", {"email": ""})], "identities.email", "is empty"),
    ("calculated-attributes-not-mapping", [_set("calculated_attributes", [])],
     "calculated_attributes", "must be a mapping with a `workspace` list"),
    ("workspace-not-list", [_set("calculated_attributes", {"workspace": {}})],
     "calculated_attributes.workspace", "must be a list"),
    ("entry-not-mapping", [_set(SEED, "LTV")], W0, "must be a mapping"),
    ("entry-field-unknown", [_set(f"{SEED}.cutoff", "2019-10-02")], f"{W0}.cutoff",
     "did you mean `cutoff_date`?"),
    ("attribute-name-missing", [_drop(f"{SEED}.attribute_name")], f"{W0}.attribute_name",
     "required"),
    ("ca-not-in-manifests", [_set(f"{SEED}.attribute_name", "LVT")], f"{W0}.attribute_name",
     '"LVT": no CA of this name in the manifests; did you mean "LTV"?'),
    ("calculation-type-differs", [_set(f"{SEED}.calculation_type", "count")],
     f"{W0}.calculation_type", '"LTV": calculation_type is count but the manifest'),
    ("calculation-type-unknown", [_set(f"{SEED}.calculation_type", "summ")],
     f"{W0}.calculation_type", 'unknown calculation type "summ"; did you mean `sum`?'),
    ("cutoff-not-a-date", [_set(f"{SEED}.cutoff_date", "02/10/2019")], f"{W0}.cutoff_date",
     "cutoff date must be a date (yyyy-MM-dd)"),
    ("cutoff-with-a-time", [_set(f"{SEED}.cutoff_date", "2019-10-02T12:00:00")],
     f"{W0}.cutoff_date", "must be a date"),
    ("cutoff-differs", [_set(f"{SEED}.cutoff_date", "2019-10-03")], f"{W0}.cutoff_date",
     "cutoff date is 2019-10-03 but the manifest"),
    ("cutoff-spellings-disagree",
     [_set(f"{SEED}.cutoff_date", "2019-10-02"), _set(f"{SEED}.cuttoff_date", "2019-10-03")],
     f"{W0}.cuttoff_date", "disagree"),
    ("ca-without-manifest-cutoff",
     [_set(SEED, {"attribute_name": "Wishlist Adds", "seed": {"value": 2}})],
     f"{W0}.attribute_name", '"Wishlist Adds" can take no seeds: its manifest ('),
    ("seed-missing", [_drop(f"{SEED}.seed")], f"{W0}.seed", "seed required: sum takes seed.value"),
    ("seed-not-mapping", [_set(f"{SEED}.seed", 5)], f"{W0}.seed", "must be a mapping"),
    ("seed-field-unknown", [_set(f"{SEED}.seed", {"value": 5, "valeu": 5})], f"{W0}.seed.valeu",
     "did you mean `value`?"),
    ("seed-field-of-another-type", [_set(f"{SEED}.seed", {"value": 1, "list": ["a"]})],
     f"{W0}.seed.list", "sum takes seed.value, not seed.list"),
    ("seed-only-field-misspelt", [_set(f"{SEED}.seed", {"valeu": 5})], f"{W0}.seed.valeu",
     "did you mean `value`?"),
    ("seed-only-field-of-another-type", [_set(f"{SEED}.seed", {"list": ["a"]})],
     f"{W0}.seed.list", "sum takes seed.value, not seed.list"),
    ("seed-value-missing", [_set(f"{SEED}.seed", {"value": None})], f"{W0}.seed.value",
     "sum needs seed.value"),
    ("sum-not-numeric", [_set(f"{SEED}.seed.value", "100,5")], f"{W0}.seed.value",
     '"LTV": Seed value must be numeric, not "100,5"'),
    ("numeric-not-boolean", [_set(f"{SEED}.seed.value", True)], f"{W0}.seed.value",
     "Seed value must be numeric"),
    ("min-not-numeric", [_set(SEED, {"attribute_name": "Smallest Order", "seed": {"value": "x"}})],
     f"{W0}.seed.value", '"Smallest Order": Seed value must be numeric'),
    ("count-not-whole", [_set(SEED, {"attribute_name": "Orders", "seed": {"value": 2.5}})],
     f"{W0}.seed.value", "a count must be a whole number >= 0"),
    ("count-negative", [_set(SEED, {"attribute_name": "Orders", "seed": {"value": -1}})],
     f"{W0}.seed.value", "a count must be a whole number >= 0"),
    ("timestamp-not-numeric",
     [_set(SEED, {"attribute_name": "First Seen", "seed": {"value": "2020-02-25"}})],
     f"{W0}.seed.value", "Seed value must be numeric: UNIX epoch milliseconds"),
    ("timestamp-not-whole",
     [_set(SEED, {"attribute_name": "First Seen", "seed": {"value": 1582589378000.5}})],
     f"{W0}.seed.value", "whole epoch milliseconds"),
    ("timestamp-in-seconds",
     [_set(SEED, {"attribute_name": "Last Seen", "seed": {"value": 1582589378}})],
     f"{W0}.seed.value", "before 1973 in epoch milliseconds: seconds?"),
    ("timestamp-in-microseconds",
     [_set(SEED, {"attribute_name": "Last Seen", "seed": {"value": 1582589378000000}})],
     f"{W0}.seed.value", "after 2100 in epoch milliseconds: microseconds?"),
    ("occurrence-not-text",
     [_set(SEED, {"attribute_name": "First Search Term", "seed": {"value": {"a": 1}}})],
     f"{W0}.seed.value", "seed value must be text or a number"),
    ("list-not-array",
     [_set(SEED, {"attribute_name": "Screens Visited", "seed": {"list": "home"}})],
     f"{W0}.seed.list", "seed list must be an array of strings"),
    ("list-items-not-strings",
     [_set(SEED, {"attribute_name": "Products Viewed", "seed": {"list": ["a", 7]}})],
     f"{W0}.seed.list[1]", "list items must be strings, not 7"),
    ("average-not-mapping",
     [_set(SEED, {"attribute_name": "Average Order Value", "seed": {"key_value_pairs": [1]}})],
     f"{W0}.seed.key_value_pairs", "average takes key_value_pairs with sum and count"),
    ("average-sum-not-numeric",
     [_set(SEED, {"attribute_name": "Average Order Value",
                  "seed": {"key_value_pairs": {"sum": "x", "count": 2}}})],
     f"{W0}.seed.key_value_pairs.sum", "Seed value must be numeric"),
    ("average-sum-missing",
     [_set(SEED, {"attribute_name": "Average Order Value",
                  "seed": {"key_value_pairs": {"count": 2}}})],
     f"{W0}.seed.key_value_pairs.sum", "average needs sum"),
    ("average-count-zero",
     [_set(SEED, {"attribute_name": "Average Order Value",
                  "seed": {"key_value_pairs": {"sum": 1, "count": 0}}})],
     f"{W0}.seed.key_value_pairs.count", "count must be a positive integer, not 0"),
    ("average-count-fraction",
     [_set(SEED, {"attribute_name": "Average Order Value",
                  "seed": {"key_value_pairs": {"sum": 1, "count": 1.5}}})],
     f"{W0}.seed.key_value_pairs.count", "count must be a positive integer"),
    ("average-key-unknown",
     [_set(SEED, {"attribute_name": "Average Order Value",
                  "seed": {"key_value_pairs": {"sum": 1, "count": 1, "cnt": 2}}})],
     f"{W0}.seed.key_value_pairs.cnt", "unknown average key `cnt`"),
    ("most-frequent-not-mapping",
     [_set(SEED, {"attribute_name": "Favorite Category", "seed": {"key_value_pairs": ["a"]}})],
     f"{W0}.seed.key_value_pairs", "most_frequent takes key_value_pairs"),
    ("most-frequent-count-not-numeric",
     [_set(SEED, {"attribute_name": "Favorite Category",
                  "seed": {"key_value_pairs": {"ice cream": "many"}}})],
     f'{W0}.seed.key_value_pairs["ice cream"]', "Seed value must be numeric"),
    ("seeded-twice",
     [_set("calculated_attributes.workspace",
           [{"attribute_name": "LTV", "seed": {"value": 1}},
            {"attribute_name": "LTV", "seed": {"value": 2}}])],
     "calculated_attributes.workspace[1].attribute_name", '"LTV": seeded twice for this user'),
    ("user-attributes-not-mapping", [_set("user_attributes", [])], "user_attributes",
     "must be a mapping"),
    ("user-attribute-name-missing",
     [_set("user_attributes", {"workspace": [{"attribute_value": "x"}]})],
     "user_attributes.workspace[0].attribute_name", "required"),
    ("user-attribute-value-not-scalar",
     [_set("user_attributes", {"workspace": [{"attribute_name": "Tier", "attribute_value": []}]})],
     "user_attributes.workspace[0].attribute_value", "must be text"),
    ("user-attribute-set-twice",
     [_set("user_attributes", {"workspace": [{"attribute_name": "T", "attribute_value": "a"},
                                             {"attribute_name": "T", "attribute_value": "b"}]})],
     "user_attributes.workspace[1].attribute_name", "set twice"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutations", "path", "words"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_each_rule_names_the_field_and_says_what_is_wrong(
    mutations: list[Callable[[Json], None]], path: str, words: str
) -> None:
    raw = copy.deepcopy(body())
    for mutate in mutations:
        mutate(raw)
    user, problems = check(raw)
    assert user is None
    assert problems[0][0] == path
    assert words in problems[0][1]
    # A wrong seed field also leaves the right one missing; nothing else is reported.
    assert problems[1:] in ([], [(f"{W0}.seed.value", '"LTV": sum needs seed.value')]), problems


def test_a_user_with_nothing_to_seed_is_valid_and_has_nothing_to_send() -> None:
    """It was refused as "nothing to seed", and one such row refused the whole file."""
    raw = copy.deepcopy(body())
    _set("calculated_attributes.workspace", [])(raw)
    assert check(raw) == (None, [])


def test_a_record_that_is_not_an_object_is_invalid() -> None:
    assert check([1, 2]) == (
        None,
        [
            (
                "",
                "each line must be a JSON object: one user in the body shape of "
                "POST /v2/calculatedattributes",
            )
        ],
    )


def test_the_flag_and_the_record_must_agree_on_the_environment() -> None:
    _, problems = check(body(), environment="production")
    assert problems == [
        (
            "environment",
            "is development but --environment production was given: a seed file is never "
            "redirected silently; fix the file or the flag",
        )
    ]


def test_a_cutoff_supplied_for_a_ca_declared_without_one_does_not_make_it_seedable() -> None:
    """It was sent as given, and the preflight then refused the CA: applied, the manifest
    leaves the CA without a cutoff in the workspace, and mParticle seeds none such. The
    problem is the CA's, the same for every user, so the caller can say it once."""
    validator = UserValidator(CATALOGUE)
    raw = body(attribute_name="Wishlist Adds", cutoff_date="2025-02-01", seed={"value": "x"})
    user, problems = validator.check(raw)
    assert user is None
    assert [format_path(p.path) for p in problems] == [f"{W0}.attribute_name", f"{W0}.seed.value"]
    assert validator.refusals == {problems[0].message: "Wishlist Adds"}
    assert validator.used == set()


def test_the_validator_remembers_which_cas_the_file_seeds() -> None:
    validator = UserValidator(CATALOGUE)
    validator.check(body(attribute_name="Sessions Last 30 Days", cutoff_date="2024-01-01"))
    validator.check(body())
    assert validator.used == {"Sessions Last 30 Days", "LTV"}
    warnings = [CATALOGUE.get(name).warning() for name in sorted(validator.used)]  # type: ignore[union-attr]
    assert warnings[0] is None
    assert warnings[1] is not None
    assert "rolling `within` time period" in warnings[1]


def test_more_than_100_distinct_values_are_counted_for_a_warning() -> None:
    """mParticle keeps the first 100 values of a unique list or most frequent CA."""
    validator = UserValidator(CATALOGUE)
    many = [f"v{n}" for n in range(101)]
    _, problems = validator.check(body(attribute_name="Screens Visited", seed={"list": many}))
    assert problems == []
    # 100 distinct values (a repeat does not count twice): no more than mParticle keeps.
    validator.check(body(attribute_name="Screens Visited", seed={"list": [*many[:100], "v0"]}))
    counts = {f"c{n}": 1 for n in range(150)}
    validator.check(body(attribute_name="Favorite Category", seed={"key_value_pairs": counts}))
    # unique_values_count takes its list to count it: no cap documented.
    validator.check(body(attribute_name="Products Viewed", seed={"list": many}))
    assert validator.overfull == {"Screens Visited": 1, "Favorite Category": 1}


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        ("Orders", {"value": 5.0}),
        ("First Seen", {"value": 1582589378000.0}),
        ("Average Order Value", {"key_value_pairs": {"sum": 10, "count": 20.0}}),
    ],
)
def test_a_whole_number_written_with_a_zero_fraction_is_whole(name: str, seed: Json) -> None:
    """`5.0` is how a spreadsheet or pandas writes a count: JSON has one number type, and
    the emulator takes it. It was refused as 'a count must be a whole number >= 0, not 5.0'.
    It is sent as written."""
    user, problems = check(body(attribute_name=name, seed=seed))
    assert problems == []
    assert user is not None
    assert user["calculated_attributes"]["workspace"][0]["seed"] == seed


def test_an_mpid_with_a_zero_fraction_stays_refused() -> None:
    """A float MPID has lost digits already (7346244611012968789.0 reads as ...8704)."""
    raw = body()
    raw["mpid"] = 7346244611012968789.0
    user, problems = check(raw)
    assert user is None
    [(path, message)] = problems
    assert path == "mpid"
    assert message.startswith("must be an integer (the user's MPID), not 7.3462446110129")


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("Gold", "Gold"),
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
        (2**70, str(2**70)),
    ],
)
def test_a_user_attribute_value_is_sent_as_text(written: object, sent: str) -> None:
    """The seeding page's User Attributes table: "attribute_value | string | Required | The
    value of the user attribute." A number or boolean of a JSONL record goes as its text."""
    raw = body()
    raw["user_attributes"] = {"workspace": [{"attribute_name": "Tier", "attribute_value": written}]}
    user, problems = check(raw)
    assert problems == []
    assert user is not None
    assert user["user_attributes"] == {
        "workspace": [{"attribute_name": "Tier", "attribute_value": sent}]
    }


def _with_attributes(*pairs: tuple[str, object]) -> Json:
    raw = body()
    raw["user_attributes"] = {
        "workspace": [{"attribute_name": name, "attribute_value": value} for name, value in pairs]
    }
    return raw


# The default service limits page, "Incoming Event Batches", to which the seeding page's
# "Rate Limits" points: (user attributes at the limit, one over it, the field, the message).
ATTRIBUTE_LIMITS = [
    (
        [(f"a{i}", "x") for i in range(100)],
        [(f"a{i}", "x") for i in range(101)],
        "user_attributes.workspace",
        "101 user attributes; mParticle takes at most 100 per user",
    ),
    (
        [("n" * 256, "x")],
        [("n" * 257, "x")],
        "user_attributes.workspace[0].attribute_name",
        f'"{"n" * 60}"...: the name is 257 characters long; mParticle takes user attribute '
        "names of at most 256 characters",
    ),
    (
        [("Bio", "x" * 4096)],
        [("Bio", "x" * 4097)],
        "user_attributes.workspace[0].attribute_value",
        '"Bio": the value is 4,097 characters long; mParticle takes user attribute values of '
        "at most 4,096 characters",
    ),
    # Characters counted as UTF-16 code units (Java's and JavaScript's length): an emoji is 2.
    (
        [("Bio", "\U0001f600" * 2048)],
        [("Bio", "\U0001f600" * 2048 + "x")],
        "user_attributes.workspace[0].attribute_value",
        '"Bio": the value is 4,097 characters long (UTF-16 code units',
    ),
    # A number is sent as its text, and its text is what the limit counts.
    (
        [("Big", 10**4095)],
        [("Big", 10**4096)],
        "user_attributes.workspace[0].attribute_value",
        '"Big": the value is 4,097 characters long',
    ),
]


@pytest.mark.parametrize(("within", "over", "field", "message"), ATTRIBUTE_LIMITS)
def test_user_attributes_within_mparticles_limits(
    within: list[tuple[str, object]], over: list[tuple[str, object]], field: str, message: str
) -> None:
    user, problems = check(_with_attributes(*within))
    assert problems == []
    assert user is not None
    assert len(user["user_attributes"]["workspace"]) == len(within)
    user, problems = check(_with_attributes(*over))
    assert user is None
    assert [path for path, _ in problems] == [field]
    assert problems[0][1].startswith(message)
    assert len(problems[0][1]) < 300  # the name or value is never quoted whole


def test_a_long_attribute_name_is_cut_short_in_every_message() -> None:
    name = "n" * 5000
    _, problems = check(_with_attributes((name, "a"), (name, "b")))
    assert [path for path, _ in problems] == [
        "user_attributes.workspace[0].attribute_name",
        "user_attributes.workspace[1].attribute_name",
    ]
    assert problems[1][1] == f'"{"n" * 60}"...: set twice for this user'
    assert all(len(message) < 300 for _, message in problems)
