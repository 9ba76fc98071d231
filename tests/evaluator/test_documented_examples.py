"""The evaluator on the documented examples, one row per case, each citing its rule in
docs/semantics.md (numeric strings, tie-break, the 100 cap, window expiry, product quantity,
first/last product, seeds, rendering). The condition operators have their own table in
test_conditions.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.evaluator import evaluate
from reconciler.models.vocabulary import CALCULATION_TYPES
from tests.evaluator.events import (
    AS_OF,
    Json,
    at,
    commerce,
    condition,
    custom,
    definition,
    product,
    screen,
    session,
)


@dataclass(frozen=True)
class Row:
    rule: str
    title: str
    definition: Json
    events: list[Json]
    expected: str
    seed: Json | None = None
    as_of: Any = field(default=AS_OF)


def _terms(*terms: str | None) -> list[Json]:
    """Search events one hour apart on day 1, each with a Term."""
    return [custom(when=at(1, i), Term=term) for i, term in enumerate(terms)]


def _amounts(*amounts: object) -> list[Json]:
    return [custom(when=at(1 + i), Amount=amount) for i, amount in enumerate(amounts)]


def _buy(when: int, *products: Json, **fields: Any) -> Json:
    return commerce("purchase", when, list(products), **fields)


def _promotion(when: int, action: str, *names: str) -> Json:
    promotions = [{"name": name} for name in names]
    data = {
        "timestamp_unixtime_ms": when,
        "promotion_action": {"action": action, "promotions": promotions},
    }
    return {"event_type": "commerce_event", "data": data}


def _carrying_products(when: int, *products: Json) -> Json:
    """A Search custom event whose data holds a product action (no commerce event)."""
    event = custom(when=when)
    event["data"]["product_action"] = {"action": "purchase", "products": list(products)}
    return event


def _carrying_promotions(when: int, *names: str) -> Json:
    """A Search custom event whose data holds a promotion action (no commerce event)."""
    event = custom(when=when)
    promotions = [{"name": name} for name in names]
    event["data"]["promotion_action"] = {"action": "view", "promotions": promotions}
    return event


def _both(when: int, items: str, promotion: str, *products: Json) -> Json:
    """A commerce event whose data holds a promotion action beside `items`: a purchase's
    product action, or product impressions. The JSON reference says no commerce event
    has both."""
    data: Json = {
        "timestamp_unixtime_ms": when,
        "promotion_action": {"action": "view", "promotions": [{"name": promotion}]},
    }
    if items == "impressions":
        data["product_impressions"] = [{"products": list(products)}]
    else:
        data["product_action"] = {"action": "purchase", "products": list(products)}
    return {"event_type": "commerce_event", "data": data}


UNTIMED = {
    "event_type": "custom_event",
    "data": {"event_name": "Search", "custom_event_type": "search"},
}
OVERRIDDEN_SCREEN = {
    "event_type": "screen_view",
    "data": {
        "screen_name": "Home",
        "timestamp_unixtime_ms": at(1),
        "custom_attributes": {"Screen Name": "Override"},
    },
}
SUM = definition("sum", attribute="Amount")
TERM: dict[str, Any] = {"attribute": "Term"}
PRICE: dict[str, Any] = {"event_type": "commerce_event", "name": "Purchase", "kind": "purchase"}
PRODUCT_PRICE = {**PRICE, "attribute": "Price", "category": "product_attribute"}
SCREENS: dict[str, Any] = {"event_type": "screen_view", "name": None, "kind": None}
SEEDED = "2024-01-01T00:00:00"
CAP_VALUES = [f"v{n:03d}" for n in range(100)]

# fmt: off
ROWS = [
    # -- time ------------------------------------------------------------------------------
    Row("R1", "first value follows event time, not file order",
        definition("first_occurrence", **TERM),
        [custom(when=at(5), Term="late"), custom(when=at(2), Term="early")], "early"),
    Row("R1", "an event without a timestamp is left out",
        definition("count"), [custom(), UNTIMED], "1"),
    Row("R2", "events after as_of do not count yet",
        definition("count"), [custom(when=at(1)), custom(when=at(61))], "1"),
    Row("R3", "since: events before the date do not count",
        definition("count", since="2024-01-03"),
        [custom(when=at(1)), custom(when=at(2)), custom(when=at(3))], "2"),
    Row("R3", "within 7 days: 6 days ago counts, 8 days ago does not",
        definition("count", within=(7, "days")),
        [custom(when=at(52)), custom(when=at(54))], "1"),
    Row("R3", "within 2 weeks: exactly 14 days back counts, a minute earlier does not",
        definition("count", within=(2, "weeks")),
        [custom(when=at(46) - 60_000), custom(when=at(46)), custom(when=at(47))], "2"),
    Row("R3", "within expiry: a count returns to zero once its window has passed",
        definition("count", within=(30, "days")), [custom(when=at(10))], "0"),
    Row("R3", "within expiry: a sum returns to no value",
        definition("sum", attribute="Amount", within=(30, "days")),
        [custom(when=at(10), Amount=5)], "-"),
    Row("R4", "the cutoff drops earlier events even without a seed",
        definition("count", cutoff="2024-01-10T00:00:00"),
        [custom(when=at(5)), custom(when=at(8)), custom(when=at(9, 1))], "1"),
    Row("R4", "an event exactly at the cutoff counts",
        definition("count", cutoff="2024-01-10T00:00:00"), [custom(when=at(9))], "1"),
    # -- conversions -----------------------------------------------------------------------
    Row("R5", 'numeric strings are converted: "34.32" sums as 34.32',
        SUM, _amounts("34.32", 10), "44.32"),
    Row("R5", "non-numeric values are ignored by sum",
        SUM, _amounts("abc", True, "12", None, "1,000"), "12"),
    Row("R5", "decimal arithmetic: 0.1 + 0.2 is 0.3",
        SUM, _amounts(0.1, "0.2"), "0.3"),
    Row("R5", "sums are exact to 60 digits, past the 28 of Python's default context",
        SUM, _amounts("12345678901234567890123456789", "0.5"),
        "12345678901234567890123456789.5"),
    Row("R5", "numbers are ASCII: full-width or Arabic-Indic digits and a no-break space are text",
        SUM, _amounts("１２", "٣", "\u00a05", " 7 "), "7"),
    Row("R5", "min over numeric strings and numbers",
        definition("min", attribute="Amount"), _amounts("10", "9.5", 11, "x"), "9.5"),
    Row("R5", "max over numeric strings and numbers",
        definition("max", attribute="Amount"), _amounts("10", "9.5", 11, " 12 "), "12"),
    Row("R6", "a date-only since is midnight UTC",
        definition("count", since="2024-01-02"),
        [custom(when=at(0, 23)), custom(when=at(1))], "1"),
    # -- selection -------------------------------------------------------------------------
    Row("R7", "a custom event needs the data point's name (case-sensitive) and type",
        definition("count"),
        [custom(), custom("search"), custom(kind="navigation"), custom(when=at(2))], "2"),
    Row("R7", "a screen view's name is its screen_name",
        definition("count", event_type="screen_view", name="Home", kind=None),
        [screen("Home"), screen("Cart"), screen("Home", at(2))], "2"),
    Row("R7", "a screen view data point without a name selects every screen",
        definition("unique_list", **SCREENS, attribute="Screen Name"),
        [screen("Home"), screen("Cart")], '"Cart","Home"'),
    Row("R7", "session events carry no name: the data point's name is not compared",
        definition("count", event_type="session_start", name="Session", kind=None),
        [session(at(1)), session(at(2))], "2"),
    Row("R8", "a commerce event is selected by its product action",
        definition("count", **PRICE),
        [_buy(at(1)), commerce("refund", at(2)), commerce("add_to_cart", at(3))], "1"),
    Row("R8", "without custom_event_type the event name names the action",
        definition("count", event_type="commerce_event", name="Add To Cart", kind=None),
        [commerce("add_to_cart", at(1)), _buy(at(2))], "1"),
    Row("R8", "a promotion click is promotion_click, a view is not",
        definition("count", event_type="commerce_event", name=None, kind="promotion_click"),
        [_promotion(at(1), "click", "p1"), _promotion(at(2), "view", "p1")], "1"),
    Row("R8", "remove_from_wish_list (Events API) is remove_from_wishlist (Platform)",
        definition("count", event_type="commerce_event", name=None,
                   kind="remove_from_wishlist"),
        [commerce("remove_from_wish_list", at(1))], "1"),
    Row("R9", "an attribute name finds a product action field: Total Amount",
        definition("sum", **PRICE, attribute="Total Amount"),
        [_buy(at(1), total_amount="19.99"), _buy(at(2), total_amount=5)], "24.99"),
    Row("R9", "custom attributes come before fields of the same name",
        definition("last_occurrence", **SCREENS, attribute="Screen Name"),
        [OVERRIDDEN_SCREEN], "Override"),
    Row("R9", "a product attribute without the product_ prefix: Product Id is id",
        definition("unique_list", **PRICE, attribute="Product Id",
                   category="product_attribute"),
        [_buy(at(1), product(id="sku-2"), product(id="sku-1"))], '"sku-1","sku-2"'),
    # -- products and quantity -------------------------------------------------------------
    Row("R10", "average uses the product quantity when averaging price",
        definition("average", **PRODUCT_PRICE, quantity=True),
        [_buy(at(1), product(price=10, quantity=3), product(price="20", quantity="1"))],
        "12.5"),
    Row("R10", "without use_product_quantity each product counts once",
        definition("average", **PRODUCT_PRICE),
        [_buy(at(1), product(price=10, quantity=3), product(price=20, quantity=1))], "15"),
    Row("R10", "sum ignores the quantity (the flag applies to average and most frequent)",
        definition("sum", **PRODUCT_PRICE, quantity=True),
        [_buy(at(1), product(price=10, quantity=3), product(price=20))], "30"),
    Row("R10", "most frequent counts a product quantity times for non-numeric fields",
        definition("most_frequent", **PRICE, attribute="Brand",
                   category="product_attribute", quantity=True),
        [_buy(at(1), product(brand="Acme", quantity=5))]
        + [_buy(at(2 + i), product(brand="Bolt", quantity=1)) for i in range(3)], "Acme"),
    Row("R10", "most frequent counts each product once for a numeric field such as price",
        definition("most_frequent", **PRODUCT_PRICE, quantity=True),
        [_buy(at(1), product(price=10, quantity=5), product(price=20), product(price=20))],
        "20"),
    Row("R10", "first value picks the first product of the first event",
        definition("first_occurrence", **PRICE, attribute="Name",
                   category="product_attribute"),
        [_buy(at(2), product(name="c")), _buy(at(1), product(name="a"), product(name="b"))],
        "a"),
    Row("R10", "last value picks the last product of the last event",
        definition("last_occurrence", **PRICE, attribute="Name",
                   category="product_attribute"),
        [_buy(at(1), product(name="a")), _buy(at(2), product(name="b"), product(name="c"))],
        "c"),
    Row("R10", "count counts events, not products",
        definition("count", **PRICE, attribute="Name", category="product_attribute"),
        [_buy(at(1), product(name="a"), product(name="b"))], "1"),
    Row("R10", "promotion attributes come from each promotion",
        definition("unique_list", event_type="commerce_event", name=None,
                   kind="promotion_view", attribute="Promotion Name",
                   category="promotion_attribute"),
        [_promotion(at(1), "view", "spring", "autumn")], '"autumn","spring"'),
    Row("R10", "a custom event carries no products, whatever its data holds",
        definition("unique_list", attribute="Brand", category="product_attribute"),
        [_carrying_products(at(1), product(brand="Acme"))], "-"),
    Row("R10", "nor does it carry promotions: a count finds no event",
        definition("count", attribute="Promotion Name", category="promotion_attribute"),
        [_carrying_promotions(at(1), "spring")], "0"),
    Row("R10", "a purchase carrying a promotion action is product-based: no promotions",
        definition("unique_list", **PRICE, attribute="Promotion Name",
                   category="promotion_attribute"),
        [_both(at(1), "purchase", "spring", product(brand="Acme"))], "-"),
    Row("R10", "its products are read as a purchase's",
        definition("unique_list", **PRICE, attribute="Brand", category="product_attribute"),
        [_both(at(1), "purchase", "spring", product(brand="Acme"))], '"Acme"'),
    Row("R10", "a promotion view carrying impressions is promotion-based: no products",
        definition("count", event_type="commerce_event", name=None, kind="promotion_view",
                   attribute="Brand", category="product_attribute"),
        [_both(at(1), "impressions", "spring", product(brand="Acme"))], "0"),
    Row("R10", "selected by event type alone, each event keeps to its own kind",
        definition("unique_list", event_type="commerce_event", name=None, kind=None,
                   attribute="Promotion Name", category="promotion_attribute"),
        [_both(at(1), "purchase", "spring"), _promotion(at(2), "click", "autumn")],
        '"autumn"'),
    Row("R11", "a null attribute is no value",
        definition("first_occurrence", **TERM), [custom(when=at(1), Term=None),
                                                   custom(when=at(2), Term="x")], "x"),
    Row("R11", "the empty text is a value",
        definition("first_occurrence", **TERM), _terms("", "x"), ""),
    Row("R11", "a unique list holds the empty text",
        definition("unique_list", **TERM), _terms("", "x"), '"","x"'),
    Row("R11", "the empty text is no number",
        definition("sum", attribute="Amount"), _amounts(""), "-"),
    Row("R12", "a condition on a product attribute holds if one product meets it (Sock)",
        definition("count", **PRICE,
                   conditions=[condition("string", "contains", "Product Name", value="Sock")]),
        [_buy(at(1), product(name="Red Sock"), product(name="Hat")),
         _buy(at(2), product(name="Hat"))], "1"),
    Row("R12", "product values come only from products that meet the conditions",
        definition("sum", **PRODUCT_PRICE,
                   conditions=[condition("string", "equals", "Brand", value="Acme")]),
        [_buy(at(1), product(price=10, brand="Acme"), product(price=99, brand="Bolt"))],
        "10"),
    Row("R12", "product conditions fall back to the event's attribute",
        definition("sum", **PRODUCT_PRICE,
                   conditions=[condition("number", "equals", "Checkout Step", value="22")]),
        [_buy(at(1), product(price=10), checkout_step=22),
         _buy(at(2), product(price=5), checkout_step=21)], "10"),
    Row("R12", "conditions are a conjunction",
        definition("count", conditions=[condition("string", "contains", value="sho"),
                                         condition("string", "not_contains", value="x")]),
        _terms("shoes", "shox", "hat"), "1"),
    # -- seeds -----------------------------------------------------------------------------
    Row("R18", "count: the seed adds to the events from the cutoff on",
        definition("count", cutoff="2024-01-10T00:00:00"),
        [custom(when=at(5)), custom(when=at(10)), custom(when=at(11))], "7",
        seed={"value": "5"}),
    Row("R18", "sum: seed 100.5 plus 30",
        definition("sum", attribute="Amount", cutoff=SEEDED),
        _amounts(30), "130.5", seed={"value": 100.5}),
    Row("R18", "min: the seed competes with the events",
        definition("min", attribute="Amount", cutoff=SEEDED),
        _amounts(7, 9), "3", seed={"value": 3}),
    Row("R18", "max: the seed competes with the events",
        definition("max", attribute="Amount", cutoff=SEEDED),
        _amounts(7, 9), "9", seed={"value": 3}),
    Row("R18", "average: seed sum 299.2 / count 20 with one event of 10.8",
        definition("average", attribute="Amount", cutoff=SEEDED),
        _amounts("10.8"), "14.761905", seed={"key_value_pairs": {"sum": 299.2, "count": 20}}),
    Row("R18", "first value: the seed is older than any event",
        definition("first_occurrence", **TERM, cutoff=SEEDED),
        _terms("new"), "some value", seed={"value": "some value"}),
    Row("R18", "last value: the last event wins over the seed",
        definition("last_occurrence", **TERM, cutoff=SEEDED),
        _terms("new"), "new", seed={"value": "some value"}),
    Row("R18", "last value: the seed when no event came after the cutoff",
        definition("last_occurrence", **TERM, cutoff=SEEDED),
        [], "some value", seed={"value": "some value"}),
    Row("R18", "first timestamp: the seed's epoch ms",
        definition("first_occurrence_timestamp", cutoff=SEEDED),
        [custom(when=at(3))], "2020-02-25T00:09:38.000Z", seed={"value": 1582589378000}),
    Row("R18", "last timestamp: the last event wins over the seed",
        definition("last_occurrence_timestamp", cutoff=SEEDED),
        [custom(when=at(3))], "2024-01-04T00:00:00.000Z", seed={"value": "1582589378000"}),
    Row("R18", "unique list: the seed list and the events' values",
        definition("unique_list", **TERM, cutoff=SEEDED),
        _terms("pets", "garden"), '"garden","kitchen","pets","travel"',
        seed={"list": ["travel", "pets", "kitchen"]}),
    Row("R18", "unique values count: the seed list and the events' values",
        definition("unique_values_count", **TERM, cutoff=SEEDED),
        _terms("cup", "shoe"), "4", seed={"list": ["air jordan", "cup", "microwave"]}),
    Row("R18", "most frequent: events add to the seed's counts",
        definition("most_frequent", **TERM, cutoff=SEEDED),
        _terms(*["steak"] * 9), "steak",
        seed={"key_value_pairs": {"ice cream": 10, "vegen": 5, "steak": 2}}),
    Row("R18", "most frequent: the seed's leader stays ahead",
        definition("most_frequent", **TERM, cutoff=SEEDED),
        _terms(*["steak"] * 7), "ice cream",
        seed={"key_value_pairs": {"ice cream": 10, "vegen": 5, "steak": 2}}),
    Row("R18", "a rolling window cannot be seeded: the seed is not applied",
        definition("count", within=(30, "days"), cutoff=SEEDED),
        [custom(when=at(50))], "1", seed={"value": 40}),
    Row("R18", "a definition without a cutoff takes no seed",
        definition("count"), [custom()], "1", seed={"value": 40}),
    # -- caps, ties, results ---------------------------------------------------------------
    Row("R19", "unique values count has no cap",
        definition("unique_values_count", **TERM), _terms(*CAP_VALUES, "zzz", "aaa"), "102"),
    Row("R19", "unique list drops values after the first 100",
        definition("unique_list", **TERM), _terms(*CAP_VALUES, "aaa"),
        ",".join(f'"{v}"' for v in CAP_VALUES)),
    Row("R19", "most frequent ignores a new value after 100, however often it comes",
        definition("most_frequent", **TERM), _terms(*CAP_VALUES, *["zzz"] * 5), "v000"),
    Row("R19", "most frequent keeps counting the first 100",
        definition("most_frequent", **TERM), _terms(*CAP_VALUES, "v050", "v050"), "v050"),
    Row("R19", "values differing in case are distinct",
        definition("unique_values_count", **TERM), _terms("Hat", "hat", "hat"), "2"),
    Row("R19", "a number and its text differently written are distinct",
        definition("unique_list", **TERM), _terms("1", "1.0", "1"), '"1","1.0"'),
    Row("R20", "a tie goes to the alphabetically first value",
        definition("most_frequent", **TERM), _terms("comedy", "action", "comedy", "action"),
        "action"),
    Row("R20", "alphabetical is code point order: uppercase first",
        definition("most_frequent", **TERM), _terms("b", "B"), "B"),
    Row("R21", "no usable value shows -",
        definition("average", attribute="Amount"), _amounts("n/a"), "-"),
    Row("R21", "count and unique values count show 0",
        definition("unique_values_count", **TERM), [], "0"),
    Row("R22", "a number past 4,300 digits has an exponent, and takes no time to write",
        SUM, _amounts("1e100000000", "1e-100000000"), "1e+100000000"),
    Row("R22", "a whole number has no decimal point: 100 + 30 = 130",
        SUM, _amounts("100.0", 30), "130"),
    Row("R22", "numbers are their JSON text, booleans true/false",
        definition("unique_list", attribute="Flag"),
        [custom(when=at(1), Flag=True), custom(when=at(2), Flag=2.5),
         custom(when=at(3), Flag=7)], '"2.5","7","true"'),
    Row("R23", "average is rounded to 6 decimal places",
        definition("average", attribute="Amount"), _amounts(10, 20, 20), "16.666667"),
    Row("R24", "timestamps are ISO 8601 UTC with milliseconds",
        definition("last_occurrence_timestamp"), [custom(when=at(3, 9.5) + 123)],
        "2024-01-04T09:30:00.123Z"),
    Row("R25", "unique list: alphabetical, each value a JSON string",
        definition("unique_list", **TERM), _terms("Item 3", "Item 1", 'Item "2"', "Item 1"),
        '"Item \\"2\\"","Item 1","Item 3"'),
]
# fmt: on


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.rule}: {row.title}" for row in ROWS])
def test_documented_example(row: Row) -> None:
    assert evaluate(row.definition, row.events, row.seed, row.as_of) == row.expected


def test_every_calculation_type_has_a_row() -> None:
    types = {row.definition["calculation_type"] for row in ROWS}
    assert types == set(CALCULATION_TYPES)  # every type the manifests may name


def test_minimum_and_maximum_are_min_and_max() -> None:
    """The seeding page's spellings of the types evaluate like the definition's."""
    events = _amounts(4, 2, 8)
    for spelling, same in (("minimum", "min"), ("maximum", "max")):
        assert evaluate(definition(spelling, attribute="Amount"), events, None, AS_OF) == (
            evaluate(definition(same, attribute="Amount"), events, None, AS_OF)
        )


def test_data_point_may_be_spelt_data_point() -> None:
    spelt = definition("count")
    spelt["data_point"] = spelt.pop("datapoint")
    assert evaluate(spelt, [custom()], None, AS_OF) == "1"


def test_within_written_as_text_is_read_as_a_number() -> None:
    """R3: some API answers write `within` as text."""
    ca = definition("count", within=(7, "days"))
    ca["time_period"]["within"] = "7"
    assert evaluate(ca, [custom(when=at(52)), custom(when=at(54))], None, AS_OF) == "1"
