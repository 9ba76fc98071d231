"""Every JSON example of the two API pages, as mParticle's original doc sources print them
(`originals/*.json`), is a fixture: the request examples are accepted (the smallest repair
where the original is not valid JSON; the original itself gets a clear 400), and every
response example's shape comes back from the emulator, key for key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reconciler.emulator.validation import CUSTOM_EVENT_TYPES
from tests.conftest import StartEmulator
from tests.emulator.api import Api, definition, messages
from tests.support.emulator import EmulatorServer

ORIGINALS = Path(__file__).parent / "originals"


def example(name: str) -> Any:
    return orjson.loads((ORIGINALS / name).read_bytes())


def printed(name: str) -> bytes:
    return (ORIGINALS / name).read_bytes()


def keys(value: dict[str, Any]) -> list[str]:
    return list(value)


#: The CA of the seeding samples: each `attribute_name` with its type and cutoff.
def _create_seed_targets(api: Api, sample: dict[str, Any]) -> None:
    for entry in sample["calculated_attributes"]["workspace"]:
        body = {
            "name": entry["attribute_name"],
            "draft_definition": definition(
                calculation_type=entry["calculation_type"],
                seeding={"cutoff_date": entry["cutoff_date"]},
            ),
        }
        api.create_ok(body)


def test_create_example_is_accepted_and_read_back(api: Api) -> None:
    sent = example("create_request.json")
    ca_id = api.create_ok(sent)
    got = api.get(ca_id).json()
    draft = got["draft_definition"]
    assert draft["data_point"] == sent["draft_definition"]["datapoint"]
    assert draft["conditions"] is None  # empty conditions come back as null
    assert draft["time_period"] == sent["draft_definition"]["time_period"]
    assert draft["seeding"] == sent["draft_definition"]["seeding"]
    assert got["name"] == sent["name"] == "New Calculated Attribute"
    assert got["active_definition"] is None


def test_update_example_is_accepted(api: Api) -> None:
    ca_id = api.create_ok(example("create_request.json"))
    response = api.update(ca_id, example("update_request.json"))
    assert response.status_code == 204
    assert response.content == b""
    got = api.get(ca_id).json()
    assert got["name"] == "New Name"
    point = got["draft_definition"]["data_point"]
    assert point["custom_event_type"] == "add_to_cart"
    assert point["attribute_category"] is None  # only defaulted when attribute_name is set
    assert point["use_product_quantity"] is False  # the server default
    assert got["draft_definition"]["seeding"] is None


AUDIT_KEYS = {"id", "created_by", "created_on", "last_modified_on", "last_modified_by"}
AUDIT_KEYS |= {"activated_on", "activated_by"}


def test_list_example_is_reproduced(api: Api, emulator: EmulatorServer) -> None:
    [item_example] = example("list_response.json")
    body = {
        "name": item_example["name"],
        "description": item_example["description"],
        "draft_definition": item_example["active_definition"],
    }
    ca_id = api.create_ok(body)
    assert api.activate(ca_id).status_code == 204
    draft = {**body, "draft_definition": item_example["draft_definition"]}
    assert api.update(ca_id, draft).status_code == 204
    emulator.set_audience_count(ca_id, item_example["audience_count"])

    listed = api.list().json()
    assert isinstance(listed, list)
    [item] = listed
    assert keys(item) == keys(item_example)
    assert {k: v for k, v in item.items() if k not in AUDIT_KEYS} == {
        k: v for k, v in item_example.items() if k not in AUDIT_KEYS
    }
    assert item["id"] == ca_id
    assert not item["created_on"].endswith("Z")  # as the list example shows
    assert item["activated_on"].endswith("Z")


def _same_shape(got: Any, documented: Any, where: str = "") -> list[str]:
    """Where `got` lacks a key of the documented example, or holds another JSON type."""
    if isinstance(documented, dict):
        if not isinstance(got, dict):
            return [f"{where or '.'}: not an object"]
        found = [f"{where}.{key}: missing" for key in documented if key not in got]
        for key, value in documented.items():
            if key in got and value is not None and got[key] is not None:
                found += _same_shape(got[key], value, f"{where}.{key}")
        return found
    if isinstance(documented, list):
        if not isinstance(got, list):
            return [f"{where}: not an array"]
        return [p for item in got for p in _same_shape(item, documented[0], f"{where}[]")]
    if type(got) is not type(documented):
        return [f"{where}: {type(got).__name__}, documented {type(documented).__name__}"]
    return []


def test_single_get_has_the_get_examples_shape(api: Api) -> None:
    documented = example("get_response_repaired.json")
    ca_id = api.create_ok({"name": "ca1", "draft_definition": definition()})
    api.activate(ca_id)
    api.update(ca_id, {"name": "ca1", "draft_definition": definition()})
    got = api.get(ca_id).json()
    assert keys(got) == keys(documented)
    assert _same_shape(got, documented) == []
    for key in ("active_definition", "draft_definition"):
        # The example leaves out the data point's optional keys and `seeding`; the
        # emulator always shows them, in the create example's order.
        assert keys(got[key]) == [*keys(documented[key]), "seeding"]
        point = got[key]["data_point"]
        assert keys(point)[:5] == keys(documented[key]["data_point"])
        assert keys(got[key]["conditions"][0]) == keys(documented[key]["conditions"][0])
        assert keys(got[key]["time_period"]) == keys(documented[key]["time_period"])
    assert got["created_on"].endswith("Z")


def test_get_example_data_point_is_one_the_emulator_holds(api: Api) -> None:
    """The GET example's data point (`event_type` and `custom_event_type` "unknown") is what
    the UI can hold: the emulator takes it and shows it back unchanged."""
    documented = example("get_response_repaired.json")["active_definition"]["data_point"]
    body = {
        "name": "from the GET example",
        "draft_definition": definition(datapoint=documented, calculation_type="count"),
    }
    ca_id = api.create_ok(body)
    shown = api.get(ca_id).json()["draft_definition"]["data_point"]
    assert {key: shown[key] for key in documented} == documented


def test_get_example_as_printed_is_not_json_and_is_refused_clearly(api: Api) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(printed("get_response_AS_PRINTED.json"))
    response = api.http.post(
        api.path(),
        content=printed("get_response_AS_PRINTED.json"),
        headers={**api.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    [said] = messages(response)
    assert said.startswith("The request JSON was malformed: ")
    assert "line 18" in said  # the first `"conditions"`: no comma before it


def test_activation_and_calculation_examples_shapes(api: Api) -> None:
    ca_id = api.create_ok(example("create_request.json"))
    assert api.activate(ca_id).status_code == 204
    activation = api.activation(ca_id).json()
    documented = example("activation_response.json")
    assert keys(activation) == keys(documented)
    assert _same_shape(activation, documented) == []
    assert activation["calculated_attribute_id"] == ca_id
    assert activation["is_active"] is True
    calculation = api.calculation(ca_id).json()
    documented = example("calculation_response.json")
    assert keys(calculation) == keys(documented)
    assert _same_shape(calculation, documented) == []
    assert calculation["id"] == ca_id
    assert calculation["name"] == "New Calculated Attribute"


def test_token_example_is_accepted(start_emulator: StartEmulator) -> None:
    sent = example("token_request.json")
    server = start_emulator(client_id=sent["client_id"], client_secret=sent["client_secret"])
    response = httpx.post(f"{server.url}/oauth/token", json=sent, timeout=30)
    assert response.status_code == 200
    documented = example("token_response.json")
    assert keys(response.json()) == keys(documented)
    assert _same_shape(response.json(), documented) == []
    assert response.json()["token_type"] == "Bearer"


def test_head_answers_are_empty(api: Api) -> None:
    assert api.head("ca1").status_code == 404
    api.create_ok({"name": "ca1", "draft_definition": definition()})
    response = api.head("ca1")
    assert response.status_code == 204
    assert response.content == b""


def test_single_seed_example_is_accepted(api: Api, emulator: EmulatorServer) -> None:
    sample = example("seed_single_request_repaired.json")
    _create_seed_targets(api, sample)
    response = api.seed(sample)
    assert response.status_code == 202, response.text
    seeds = emulator.seeds()
    assert seeds["count"] == 1
    user = seeds["users"][0]
    assert user["identities"] == sample["identities"]
    assert user["environment"] == "development"
    assert user["user_attributes"] == {"User Tier": "Free"}
    stored = user["calculated_attributes"]
    assert len(stored) == len(sample["calculated_attributes"]["workspace"]) == 11
    assert stored["Product Interests"]["seed"] == {"list": ["travel", "pets", "kitchen"]}
    assert stored["Unique product view count"]["seed"] == {
        "list": ["air jordan", "cup", "microwave"]
    }
    assert stored["Favorite Item"] == {
        "calculation_type": "most_frequent",
        "cutoff_date": "2019-12-01",
        "seed": {"key_value_pairs": {"ice cream": 10, "vegen": 5, "steak": 2}},
    }


def test_bulk_seed_example_is_accepted(api: Api, emulator: EmulatorServer) -> None:
    sample = example("seed_bulk_request_repaired.json")
    _create_seed_targets(api, sample[0])
    response = api.seed_bulk(sample)
    assert response.status_code == 202, response.text
    users = emulator.seeds()["users"]
    assert [u["identities"] for u in users] == [u["identities"] for u in sample]
    assert users[1]["calculated_attributes"]["LTV"]["seed"] == {"value": 80}
    assert emulator.stats()["seed_users_accepted"] == 2


def test_the_seed_samples_urls_with_their_trailing_slash_are_answered_in_place(
    api: Api, emulator: EmulatorServer
) -> None:
    """The seeding page posts to `.../v2/calculatedattributes/` and
    `.../v2/bulkcalculatedattributes/`: the routes, not a redirect; a Platform path with a
    slash too."""
    single = example("seed_single_request_repaired.json")
    _create_seed_targets(api, single)
    answer = api.http.post("/v2/calculatedattributes/", json=single, headers=api.seed_headers)
    assert answer.status_code == 202, answer.text
    bulk = example("seed_bulk_request_repaired.json")
    answer = api.http.post("/v2/bulkcalculatedattributes/", json=bulk, headers=api.seed_headers)
    assert answer.status_code == 202, answer.text
    assert emulator.stats()["seed_users_accepted"] == 3
    listed = api.http.get(api.path("/"), headers=api.headers)
    assert listed.status_code == 200
    assert isinstance(listed.json(), list)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("seed_single_request_AS_PRINTED.json", "/v2/calculatedattributes"),
        ("seed_bulk_request_AS_PRINTED.json", "/v2/bulkcalculatedattributes"),
    ],
)
def test_seed_examples_as_printed_are_refused_as_invalid_json(
    api: Api, emulator: EmulatorServer, name: str, path: str
) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(printed(name))
    response = api.http.post(path, content=printed(name), headers=api.seed_headers)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "BAD_REQUEST"
    assert error["message"].startswith("The request JSON was malformed: ")
    assert "trailing comma" in error["message"]
    assert emulator.seeds()["count"] == 0


def test_seed_error_example_is_reproduced(api: Api) -> None:
    documented = example("seed_error_response.json")
    api.create_ok(
        {"name": "LTV", "draft_definition": definition(seeding={"cutoff_date": "2019-12-01"})}
    )
    user = {
        "environment": "development",
        "mpid": 7346244611012968789,  # the overall-structure example's MPID
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "test sum",
                    "calculation_type": "sum",
                    "cutoff_date": "2019-12-01",
                    "seed": {"value": 1},
                },
                {
                    "attribute_name": "LTV",
                    "calculation_type": "sum",
                    "cutoff_date": "2019-12-01",
                    "seed": {"value": "lots"},
                },
            ]
        },
    }
    response = api.seed(user)
    assert response.status_code == 400
    assert response.json() == documented


def test_bulk_seed_errors_have_the_error_examples_keys_and_nothing_more(api: Api) -> None:
    """The seeding page's error body is the same for both paths: `code` and `message`
    ("CA name: error message"), nothing that says which user of a bulk request failed."""
    [documented, _] = example("seed_error_response.json")["errors"]
    ca = {"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2019-12-01"}
    good = {
        "environment": "development",
        "mpid": 1,
        "calculated_attributes": {"workspace": [{**ca, "seed": {"value": 1}}]},
    }
    bad = {**good, "mpid": 2, "calculated_attributes": {"workspace": [{**ca, "seed": {}}]}}
    api.create_ok(
        {"name": "LTV", "draft_definition": definition(seeding={"cutoff_date": "2019-12-01"})}
    )
    response = api.seed_bulk([good, bad])
    assert response.status_code == 400
    assert keys(response.json()) == ["errors"]
    errors = response.json()["errors"]
    assert errors
    assert all(keys(error) == keys(documented) for error in errors), errors
    assert all(error["message"].startswith("LTV: ") for error in errors)


def _schema_2020() -> dict[str, Any]:
    """The 2020 request schema, with the smallest repair (its one trailing comma)."""
    text = printed("create_request_schema_2020_AS_PRINTED.json")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    repaired = text.replace(b'"type": "bool",\n', b'"type": "bool"\n')
    schema: dict[str, Any] = orjson.loads(repaired)
    return schema


def _enum(schema: dict[str, Any], *path: str) -> list[str]:
    node = schema["properties"]["draft_definition"]
    for key in path:
        node = node["properties"][key]
    return [value for value in node["enum"] if value is not None]


def test_the_2020_schemas_data_point_enums_are_accepted(api: Api) -> None:
    schema = _schema_2020()
    point = definition()["datapoint"]
    family = {"custom_event": "navigation", "commerce_event": "purchase"}
    for event_type in _enum(schema, "data_point", "event_type"):
        changed = {**point, "event_type": event_type, "custom_event_type": family.get(event_type)}
        body = {"name": f"event {event_type}", "draft_definition": definition(datapoint=changed)}
        assert api.create(body).status_code == 201, event_type
    for custom_type in _enum(schema, "data_point", "custom_event_type"):
        commerce = custom_type in CUSTOM_EVENT_TYPES["commerce_event"]
        event_type = "commerce_event" if commerce else "custom_event"
        changed = {**point, "event_type": event_type, "custom_event_type": custom_type}
        body = {"name": f"custom {custom_type}", "draft_definition": definition(datapoint=changed)}
        response = api.create(body)
        assert response.status_code == 201, (custom_type, response.text)
    for point_type in _enum(schema, "data_point", "type"):
        changed = {**point, "type": point_type}
        body = {"name": f"type {point_type}", "draft_definition": definition(datapoint=changed)}
        assert api.create(body).status_code == 201, point_type


def test_the_2020_schemas_calculation_types_are_accepted_and_all_is_not(api: Api) -> None:
    schema = _schema_2020()
    # The schema nests calculation_type and time_period inside data_point (as printed).
    for calculation_type in _enum(schema, "data_point", "calculation_type"):
        body = {
            "name": f"calc {calculation_type}",
            "draft_definition": definition(calculation_type=calculation_type),
        }
        assert api.create(body).status_code == 201, calculation_type
    # The schema lists `all`; the validation table refuses it, and the table wins.
    assert "all" in _enum(schema, "data_point", "time_period", "type")
    refused = api.create(
        {"name": "all", "draft_definition": definition(time_period={"type": "all"}, seeding=None)}
    )
    assert messages(refused) == ["Field 'time_period.type' = 'all' is not supported."]
