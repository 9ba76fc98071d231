"""The API's vocabulary, copied from the Platform API page and NOTES.md: enums and rule tables.

Models, the planner and the seeding validator read these tables; nothing else restates them.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

CalculationType = Literal[
    "count",
    "first_occurrence_timestamp",
    "last_occurrence_timestamp",
    "first_occurrence",
    "last_occurrence",
    "sum",
    "min",
    "max",
    "average",
    "unique_list",
    "unique_values_count",
    "most_frequent",
]
CALCULATION_TYPES: tuple[str, ...] = get_args(CalculationType)

#: Spellings of the seeding page's table, read as the definition's names.
CALCULATION_TYPE_SYNONYMS = {"minimum": "min", "maximum": "max"}

#: Aggregations over an attribute's value: they need `datapoint.attribute_name` (SPEC §2).
NEEDS_ATTRIBUTE: frozenset[str] = frozenset(
    {
        "sum",
        "min",
        "max",
        "average",
        "first_occurrence",
        "last_occurrence",
        "unique_list",
        "unique_values_count",
        "most_frequent",
    }
)

ConditionType = Literal["string", "number", "boolean", "date"]
CONDITION_TYPES: tuple[str, ...] = get_args(ConditionType)

Operator = Literal[
    "exists",
    "not_exists",
    "empty",
    "in_list",
    "contains",
    "not_contains",
    "pattern",
    "equals",
    "not_equals",
    "greater_than",
    "greater_or_equal",
    "less_than",
    "less_than_or_equal",
    "before",
    "after",
    "between",
    "between_dates",
]
OPERATORS: tuple[str, ...] = get_args(Operator)

OperandShape = Literal["none", "single", "list", "range"]


class OperatorRule(NamedTuple):
    """What an operator takes (none, `value`, `values`, or `min_value`+`max_value`) and the
    condition types it applies to."""

    shape: OperandShape
    types: frozenset[str]


_ALL = frozenset(CONDITION_TYPES)
_STRING = frozenset({"string"})
_NUMBER = frozenset({"number"})
_DATE = frozenset({"date"})

#: The one operator table: the Platform API page's "Operator - Type Support Map", with the
#: operands each operator requires (every other operand field must be empty).
OPERATOR_RULES: dict[str, OperatorRule] = {
    "exists": OperatorRule("none", _ALL),
    "not_exists": OperatorRule("none", _ALL),
    "empty": OperatorRule("none", _ALL),
    "in_list": OperatorRule("list", frozenset({"string", "number"})),
    "contains": OperatorRule("single", _STRING),
    "not_contains": OperatorRule("single", _STRING),
    "pattern": OperatorRule("single", _STRING),
    "equals": OperatorRule("single", _ALL),
    "not_equals": OperatorRule("single", frozenset({"string", "number"})),
    "greater_than": OperatorRule("single", _NUMBER),
    "greater_or_equal": OperatorRule("single", _NUMBER),
    "less_than": OperatorRule("single", _NUMBER),
    "less_than_or_equal": OperatorRule("single", _NUMBER),
    "before": OperatorRule("single", _DATE),
    "after": OperatorRule("single", _DATE),
    "between": OperatorRule("range", _NUMBER),
    "between_dates": OperatorRule("range", _DATE),
}
#: Which of value / values / min_value+max_value an operator takes (from OPERATOR_RULES).
OPERAND_SHAPE: dict[str, OperandShape] = {op: rule.shape for op, rule in OPERATOR_RULES.items()}
#: The operators of each condition type (from OPERATOR_RULES).
OPERATOR_SUPPORT: dict[str, frozenset[str]] = {
    kind: frozenset(op for op, rule in OPERATOR_RULES.items() if kind in rule.types)
    for kind in CONDITION_TYPES
}

EventType = Literal[
    "custom_event",
    "commerce_event",
    "session_start",
    "session_end",
    "screen_view",
    "uninstall",
    "crash_report",
    "opt_out",
    "first_run",
    "pre_attribution",
    "push_registration",
    "application_state_transition",
    "push_message",
    "network_performance",
    "breadcrumb",
    "profile",
    "push_reaction",
    "user_attribute_change",
    "user_identity_change",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

CUSTOM_EVENT_TYPES: tuple[str, ...] = (
    "navigation",
    "location",
    "search",
    "transaction",
    "user_content",
    "user_preference",
    "social",
    "other",
    "media",
    "attribution",
)
COMMERCE_EVENT_TYPES: tuple[str, ...] = (
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "checkout_option",
    "click",
    "view_detail",
    "purchase",
    "refund",
    "promotion_view",
    "promotion_click",
    "add_to_wishlist",
    "remove_from_wishlist",
    "impression",
)
#: The one event type that carries products and promotions (Events API, commerce_event).
COMMERCE_EVENT = "commerce_event"
#: The commerce custom_event_types of a promotion-based commerce event: it has promotions
#: and no products; the others (product actions, impression) have products and no
#: promotions (Events API JSON reference, commerce_event's "3 core variations").
PROMOTION_EVENT_TYPES: tuple[str, ...] = ("promotion_view", "promotion_click")
#: custom_event_type values allowed per event_type (only these two event types take one).
CUSTOM_EVENT_TYPES_BY_EVENT: dict[str, tuple[str, ...]] = {
    "custom_event": CUSTOM_EVENT_TYPES,
    "commerce_event": COMMERCE_EVENT_TYPES,
}

#: Values outside the documented enums that the UI can hold: the request schema the CA page
#: carried in 2020 listed them, and its GET example shows `event_type: unknown` and
#: `custom_event_type: unknown`. A manifest may use them (export writes them) with a warning.
LegacyEventType = Literal["unknown", "validation_result"]
LEGACY_EVENT_TYPES: tuple[str, ...] = get_args(LegacyEventType)
AnyEventType = Literal[EventType, LegacyEventType]
#: The "no custom type" of the 2020 schema: it goes with any event type.
UNKNOWN_CUSTOM_EVENT_TYPE = "unknown"
LEGACY_CUSTOM_EVENT_TYPES_BY_EVENT: dict[str, tuple[str, ...]] = {
    "custom_event": ("consent_granted", "consent_denied"),
}
#: Every `custom_event_type` a manifest may write, whatever its event type (editors complete
#: these; which one goes with which event type is `validate`'s to check).
ANY_CUSTOM_EVENT_TYPE: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *(kind for kinds in CUSTOM_EVENT_TYPES_BY_EVENT.values() for kind in kinds),
            *(kind for kinds in LEGACY_CUSTOM_EVENT_TYPES_BY_EVENT.values() for kind in kinds),
            UNKNOWN_CUSTOM_EVENT_TYPE,
        ]
    )
)

DatapointType = Literal["event", "event_attribute", "user_attribute"]
AttributeCategory = Literal["event_attribute", "product_attribute", "promotion_attribute"]
DEFAULT_ATTRIBUTE_CATEGORY = "event_attribute"
#: use_product_quantity only applies to these categories (Platform API page).
QUANTITY_CATEGORIES: frozenset[str] = frozenset({"product_attribute", "promotion_attribute"})

TimePeriodType = Literal["since", "within", "all"]
WithinUnit = Literal["days", "weeks"]

USER_IDENTITY_TYPES: tuple[str, ...] = (
    "customer_id",
    "email",
    "facebook",
    "twitter",
    "google",
    "microsoft",
    "yahoo",
    "other",
    *(f"other_id_{n}" for n in range(2, 11)),
    "mobile_number",
    "phone_number_2",
    "phone_number_3",
    "alias",
    "facebook_custom_audience_id",
)
DEVICE_IDENTITY_TYPES: tuple[str, ...] = (
    "android_id",
    "google_advertising_id",
    "ios_advertising_id",
    "ios_vendor_id",
    "roku_advertising_id",
    "roku_publisher_id",
    "fire_advertising_id",
    "microsoft_advertising_id",
    "microsoft_publisher_id",
)
IDENTITY_TYPES: frozenset[str] = frozenset(USER_IDENTITY_TYPES + DEVICE_IDENTITY_TYPES)

Environment = Literal["development", "production"]
