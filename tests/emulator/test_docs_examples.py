"""Every JSON example of the two API pages, re-assembled from the extracted text, is
accepted, and every documented response shape comes back with its documented fields."""

from __future__ import annotations

from typing import Any

from tests.emulator.api import Api, definition
from tests.support.emulator import EmulatorServer

# Platform API page, "Create a new calculated attribute" (-d body).
CREATE_EXAMPLE: dict[str, Any] = {
    "name": "New Calculated Attribute",
    "draft_definition": {
        "recipe_type": "event",
        "datapoint": {
            "type": "event",
            "event_name": "Add To Cart",
            "attribute_name": None,
            "event_type": "commerce_event",
            "custom_event_type": "add_to_cart",
            "attribute_category": "product_attribute",
            "use_product_quantity": True,
        },
        "conditions": [],
        "calculation_type": "count",
        "time_period": {
            "type": "since",
            "date": "2020-01-24T00:00:00",
            "within": None,
            "within_unit": None,
        },
        "seeding": {"cutoff_date": "2020-01-26T00:00:00"},
    },
}

# Platform API page, "Update a calculated attribute" (-d body).
UPDATE_EXAMPLE: dict[str, Any] = {
    "name": "New Name",
    "draft_definition": {
        "recipe_type": "event",
        "datapoint": {
            "type": "event",
            "event_name": "Add To Cart",
            "attribute_name": None,
            "event_type": "commerce_event",
            "custom_event_type": "add_to_cart",
        },
        "conditions": [],
        "calculation_type": "count",
        "time_period": {
            "type": "since",
            "date": "2020-01-24T00:00:00",
            "within": None,
            "within_unit": None,
        },
    },
}

# Platform API page, "Get all calculated attributes": the one CA of the list example.
LIST_EXAMPLE_ITEM: dict[str, Any] = {
    "id": 5,
    "name": "ca1",
    "description": "Calculated attribute description.",
    "created_by": "",
    "created_on": "2019-09-10T15:34:44.69",
    "last_modified_on": "2019-12-06T15:04:22.043",
    "last_modified_by": "",
    "active_definition": definition(),
    "draft_definition": definition(conditions=None, seeding=None),
    "audience_count": 1,
    "activated_on": "2020-02-18T19:24:50.426Z",
    "activated_by": "",
}

# Platform API page, "Get a calculated attribute": the keys of the single GET example.
GET_EXAMPLE_KEYS = [
    "id",
    "name",
    "description",
    "created_by",
    "created_on",
    "last_modified_on",
    "last_modified_by",
    "active_definition",
    "draft_definition",
    "audience_count",
    "activated_on",
    "activated_by",
]
GET_DEFINITION_KEYS = [
    "recipe_type",
    "data_point",
    "conditions",
    "calculation_type",
    "time_period",
    "seeding",
]
DATA_POINT_KEYS = [
    "type",
    "event_name",
    "attribute_name",
    "event_type",
    "custom_event_type",
    "attribute_category",
    "use_product_quantity",
]
CONDITION_KEYS = [
    "type",
    "operator",
    "attribute_name",
    "value",
    "values",
    "min_value",
    "max_value",
]
AUDIT_KEYS = {"id", "created_by", "created_on", "last_modified_on", "last_modified_by"}
AUDIT_KEYS |= {"activated_on", "activated_by"}

SEED_CUTOFF = "2019-12-01"
# Seeding API page, "Sample Requests" → "Single User Updates".
SINGLE_SEED_EXAMPLE: dict[str, Any] = {
    "environment": "development",
    "identities": {
        "customer_id": "123xyz",
        "google_advertising_id": "82416a37-84d7-417f-84f3-a5b5c6a9c570",
    },
    "user_attributes": {"workspace": [{"attribute_name": "User Tier", "attribute_value": "Free"}]},
    "calculated_attributes": {
        "workspace": [
            {
                "attribute_name": "LTV",
                "calculation_type": "sum",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": 100.5},
            },
            {
                # The extraction lost this list's items.
                "attribute_name": "Product Interests",
                "calculation_type": "unique_list",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"list": []},
            },
            {
                "attribute_name": "Unique product view count",
                "calculation_type": "unique_values_count",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"list": ["air jordan"]},
            },
            {
                "attribute_name": "Average Session Length",
                "calculation_type": "average",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"key_value_pairs": {"sum": 299.2, "count": 20}},
            },
            {
                "attribute_name": "Last seen value",
                "calculation_type": "last_occurrence",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": "some value"},
            },
            {
                "attribute_name": "First seen value",
                "calculation_type": "first_occurrence",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": "some value"},
            },
            {
                "attribute_name": "Last seen time",
                "calculation_type": "last_occurrence_timestamp",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": 1582589378000},
            },
            {
                "attribute_name": "First seen time",
                "calculation_type": "first_occurrence_timestamp",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": 1582589378000},
            },
            {
                "attribute_name": "Min value",
                "calculation_type": "min",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": 123},
            },
            {
                "attribute_name": "Max value",
                "calculation_type": "max",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"value": 123},
            },
            {
                "attribute_name": "Favorite Item",
                "calculation_type": "most_frequent",
                "cutoff_date": SEED_CUTOFF,
                "seed": {"key_value_pairs": {"ice cream": 10, "vegen": 5, "steak": 2}},
            },
        ]
    },
}
# Seeding API page, "Sample Requests" → "Bulk Updates".
BULK_SEED_EXAMPLE: list[dict[str, Any]] = [
    {
        "environment": "development",
        "identities": {
            "customer_id": "123xyz",
            "google_advertising_id": "82416a37-84d7-417f-84f3-a5b5c6a9c570",
        },
        "user_attributes": {
            "workspace": [{"attribute_name": "User Tier", "attribute_value": "Free"}]
        },
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "LTV",
                    "calculation_type": "sum",
                    "cutoff_date": SEED_CUTOFF,
                    "seed": {"value": 100.5},
                },
                {
                    "attribute_name": "Average Session Length",
                    "calculation_type": "average",
                    "cutoff_date": SEED_CUTOFF,
                    "seed": {"key_value_pairs": {"sum": 299.2, "count": 20}},
                },
            ]
        },
    },
    {
        "environment": "development",
        "identities": {"customer_id": "abc234"},
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "LTV",
                    "calculation_type": "sum",
                    "cutoff_date": SEED_CUTOFF,
                    "seed": {"value": 80},
                }
            ]
        },
    },
]


def _create_seed_targets(api: Api) -> None:
    """The CAs the seeding samples name, each with the samples' type and cutoff."""
    for entry in SINGLE_SEED_EXAMPLE["calculated_attributes"]["workspace"]:
        body = {
            "name": entry["attribute_name"],
            "draft_definition": definition(
                calculation_type=entry["calculation_type"],
                seeding={"cutoff_date": entry["cutoff_date"]},
            ),
        }
        api.create_ok(body)


def test_create_example_is_accepted_and_read_back(api: Api) -> None:
    ca_id = api.create_ok(CREATE_EXAMPLE)
    got = api.get(ca_id).json()
    draft = got["draft_definition"]
    sent = CREATE_EXAMPLE["draft_definition"]
    assert draft["data_point"] == sent["datapoint"]
    assert draft["conditions"] is None  # empty conditions come back as null
    assert draft["time_period"] == sent["time_period"]
    assert draft["seeding"] == sent["seeding"]
    assert got["name"] == CREATE_EXAMPLE["name"]
    assert got["active_definition"] is None


def test_update_example_is_accepted(api: Api) -> None:
    ca_id = api.create_ok(CREATE_EXAMPLE)
    response = api.update(ca_id, UPDATE_EXAMPLE)
    assert response.status_code == 204
    assert response.content == b""
    got = api.get(ca_id).json()
    assert got["name"] == "New Name"
    point = got["draft_definition"]["data_point"]
    assert point["custom_event_type"] == "add_to_cart"
    assert point["attribute_category"] is None  # only defaulted when attribute_name is set
    assert point["use_product_quantity"] is False  # the server default
    assert got["draft_definition"]["seeding"] is None


def test_list_example_shape_is_reproduced(api: Api, emulator: EmulatorServer) -> None:
    body = {
        "name": "ca1",
        "description": "Calculated attribute description.",
        "draft_definition": definition(),
    }
    ca_id = api.create_ok(body)
    assert api.activate(ca_id).status_code == 204
    draft = {**body, "draft_definition": definition(conditions=None, seeding=None)}
    assert api.update(ca_id, draft).status_code == 204
    emulator.set_audience_count(ca_id, 1)

    listed = api.list().json()
    assert isinstance(listed, list)
    assert len(listed) == 1
    item = listed[0]
    assert list(item) == list(LIST_EXAMPLE_ITEM)
    assert {k: v for k, v in item.items() if k not in AUDIT_KEYS} == {
        k: v for k, v in LIST_EXAMPLE_ITEM.items() if k not in AUDIT_KEYS
    }
    assert item["id"] == ca_id
    assert isinstance(item["created_on"], str)
    assert not item["created_on"].endswith("Z")  # as the list example shows
    assert item["activated_on"].endswith("Z")


def test_single_get_shape_matches_the_get_example(api: Api) -> None:
    ca_id = api.create_ok({"name": "ca1", "draft_definition": definition()})
    api.activate(ca_id)
    api.update(ca_id, {"name": "ca1", "draft_definition": definition()})
    got = api.get(ca_id).json()
    assert list(got) == GET_EXAMPLE_KEYS
    for key in ("active_definition", "draft_definition"):
        assert list(got[key]) == GET_DEFINITION_KEYS
        assert list(got[key]["data_point"]) == DATA_POINT_KEYS
        assert list(got[key]["time_period"]) == ["type", "date", "within", "within_unit"]
        assert list(got[key]["conditions"][0]) == CONDITION_KEYS
    assert got["created_on"].endswith("Z")
    assert got["description"] == ""


def test_activation_and_calculation_shapes(api: Api) -> None:
    ca_id = api.create_ok(CREATE_EXAMPLE)
    assert api.activate(ca_id).status_code == 204
    activation = api.activation(ca_id).json()
    assert list(activation) == [
        "calculated_attribute_id",
        "is_active",
        "activated_on",
        "activated_by",
    ]
    assert activation["calculated_attribute_id"] == ca_id
    assert activation["is_active"] is True
    calculation = api.calculation(ca_id).json()
    assert list(calculation) == [
        "id",
        "name",
        "revision_id",
        "is_calculated",
        "calculation_percent_complete",
        "estimated_completion_time",
    ]
    assert calculation["id"] == ca_id
    assert calculation["name"] == CREATE_EXAMPLE["name"]


def test_head_answers_are_empty(api: Api) -> None:
    assert api.head("ca1").status_code == 404
    api.create_ok({"name": "ca1", "draft_definition": definition()})
    response = api.head("ca1")
    assert response.status_code == 204
    assert response.content == b""


def test_single_seed_example_is_accepted(api: Api, emulator: EmulatorServer) -> None:
    _create_seed_targets(api)
    response = api.seed(SINGLE_SEED_EXAMPLE)
    assert response.status_code == 202, response.text
    seeds = emulator.seeds()
    assert seeds["count"] == 1
    user = seeds["users"][0]
    assert user["identities"] == SINGLE_SEED_EXAMPLE["identities"]
    assert user["environment"] == "development"
    assert user["user_attributes"] == {"User Tier": "Free"}
    assert user["calculated_attributes"]["Favorite Item"] == {
        "calculation_type": "most_frequent",
        "cutoff_date": SEED_CUTOFF,
        "seed": {"key_value_pairs": {"ice cream": 10, "vegen": 5, "steak": 2}},
    }
    assert len(user["calculated_attributes"]) == 11


def test_bulk_seed_example_is_accepted(api: Api, emulator: EmulatorServer) -> None:
    _create_seed_targets(api)
    response = api.seed_bulk(BULK_SEED_EXAMPLE)
    assert response.status_code == 202, response.text
    users = emulator.seeds()["users"]
    assert [u["identities"] for u in users] == [u["identities"] for u in BULK_SEED_EXAMPLE]
    assert users[1]["calculated_attributes"]["LTV"]["seed"] == {"value": 80}
    assert emulator.stats()["seed_users_accepted"] == 2


def test_seed_error_body_has_the_documented_shape(api: Api) -> None:
    api.create_ok(
        {"name": "LTV", "draft_definition": definition(seeding={"cutoff_date": SEED_CUTOFF})}
    )
    user = {
        "environment": "development",
        "mpid": 7346244611012968789,  # the overall-structure example's MPID
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "test sum",
                    "calculation_type": "sum",
                    "cutoff_date": SEED_CUTOFF,
                    "seed": {"value": 1},
                },
                {
                    "attribute_name": "LTV",
                    "calculation_type": "sum",
                    "cutoff_date": SEED_CUTOFF,
                    "seed": {"value": "lots"},
                },
            ]
        },
    }
    response = api.seed(user)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "code": "BAD_REQUEST",
                "message": "test sum: No matching calculated attribute definition found",
            },
            {"code": "BAD_REQUEST", "message": "LTV: Seed value must be numeric"},
        ]
    }


# Seeding API page, the fragments: "Example identities objects", the calculated attributes
# object, the seed object and the user attributes object.
IDENTITIES_EXAMPLES: list[dict[str, str]] = [
    {
        "email": "",  # the extraction lost the address
        "other_id_4": "user_example4",
        "ios_advertising_id": "016a9968-abea-d0b1-b0d8-4d3e4ed0c57a",
    },
    {"google_advertising_id": "33ef01aa-401f-0f4e-29ce-bd142e68233a", "customer_id": "1234"},
]
CALCULATED_ATTRIBUTES_EXAMPLE: dict[str, Any] = {
    "workspace": [
        {
            "attribute_name": "LTV",
            "calculation_type": "sum",
            "cutoff_date": "2019-12-01",
            "seed": {"value": "100"},
        }
    ]
}
USER_ATTRIBUTES_EXAMPLE: dict[str, Any] = {
    "workspace": [{"attribute_name": "User Tier", "attribute_value": "Free"}]
}


def test_seeding_fragments_are_accepted(api: Api, emulator: EmulatorServer) -> None:
    api.create_ok(
        {"name": "LTV", "draft_definition": definition(seeding={"cutoff_date": SEED_CUTOFF})}
    )
    users: list[dict[str, Any]] = [
        {
            "environment": "development",
            "identities": identities,
            "calculated_attributes": CALCULATED_ATTRIBUTES_EXAMPLE,
            "user_attributes": USER_ATTRIBUTES_EXAMPLE,
        }
        for identities in IDENTITIES_EXAMPLES
    ]
    users.append({**users[0], "mpid": 7346244611012968789, "identities": {}})
    assert api.seed_bulk(users).status_code == 202
    stored = emulator.seeds()["users"]
    assert [user["identities"] for user in stored] == [*IDENTITIES_EXAMPLES, {}]
    assert stored[2]["mpid"] == 7346244611012968789
    assert all(user["calculated_attributes"]["LTV"]["seed"] == {"value": "100"} for user in stored)
