"""The Events API JSON that test files hold, as strict models: batches (an events file's
lines) and their events, with the fields the JSON reference documents. A typo in a field
name is an error with a suggestion, not an attribute silently missing from every event.

Part of test-file loading (the `manifest` step for `*.test.yaml`); the evaluator reads the
same JSON as plain dicts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from reconciler.evaluator.values import ISO_PATTERN, LAST_MILLIS
from reconciler.manifest.diagnostics import suggest
from reconciler.models.vocabulary import (
    CUSTOM_EVENT_TYPES,
    DEVICE_IDENTITY_TYPES,
    EVENT_TYPES,
    USER_IDENTITY_TYPES,
)

#: The event types of the Events API (JSON reference, `events`).
EventType = Literal[
    "custom_event",
    "commerce_event",
    "session_start",
    "session_end",
    "screen_view",
    "uninstall",
    "crash_report",
    "opt_out",
    "push_registration",
    "application_state_transition",
    "push_message",
    "network_performance",
    "breadcrumb",
]
#: Event types a CA may count (the Platform API lists them) that the Events API does not
#: take: a test file cannot send one, and is told so instead of being shown the list.
_NOT_SENDABLE = frozenset(EVENT_TYPES) - frozenset(get_args(EventType))


def _sendable(value: object) -> object:
    if isinstance(value, str) and value in _NOT_SENDABLE:
        raise ValueError(
            f"{value!r} is an event type a CA can count, but the Events API does not take "
            "it, so a test file cannot hold one: a test of a CA on it can only expect the "
            "value of a user without such events"
        )
    return value


#: The product actions of the JSON reference, and the Platform's commerce types (which
#: spell one of them `remove_from_wishlist`).
ProductActionName = Literal[
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "checkout_option",
    "click",
    "view_detail",
    "purchase",
    "refund",
    "add_to_wishlist",
    "remove_from_wish_list",
    "remove_from_wishlist",
]
_CUSTOM = frozenset(CUSTOM_EVENT_TYPES)

Scalar = StrictStr | StrictInt | float | StrictBool
Number = StrictInt | float | StrictStr
Epoch = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]


def _digits(value: object) -> object:
    """Epoch ms written as its digits, which the evaluator reads as the number (R1)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _in_milliseconds(value: int) -> int:
    """An event time that ISO 8601 can write (as `as_of`): one past the year 9999 is not
    epoch ms, and the event, later than any `as_of`, would silently count for nothing."""
    if value > LAST_MILLIS:
        raise ValueError(f"{value} is after the year 9999 in epoch ms: microseconds?")
    return value


#: An event's time: epoch ms, or its digits as text (R1); a test file may also write a
#: YAML timestamp or ISO text, which loading turns into epoch ms (the schema lets editors
#: accept each).
EventTime = Annotated[
    Epoch,
    BeforeValidator(_digits),
    AfterValidator(_in_milliseconds),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": LAST_MILLIS},
                {"type": "string", "pattern": "^[0-9]+$"},
                {"type": "string", "pattern": ISO_PATTERN},
            ]
        }
    ),
]
Mpid = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
#: Custom attributes are key-value pairs of single values (null = not set).
Attributes = dict[StrictStr, Scalar | None]
IDENTITY_TYPES = (*USER_IDENTITY_TYPES, *DEVICE_IDENTITY_TYPES)


def _identities(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if name not in IDENTITY_TYPES:
            hint = suggest(name, IDENTITY_TYPES)
            advice = f"did you mean `{hint}`?" if hint else "see the Events API's user_identities"
            raise ValueError(f"unknown identity type `{name}`; {advice}")
    return value


#: User and device identities by type (the Events API's `user_identities`).
Identities = Annotated[dict[StrictStr, StrictStr], AfterValidator(_identities)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Product(_Strict):
    id: Scalar | None = None
    name: Scalar | None = None
    brand: Scalar | None = None
    category: Scalar | None = None
    variant: Scalar | None = None
    position: Scalar | None = None
    price: Number | None = None
    quantity: Number | None = None
    coupon_code: Scalar | None = None
    added_to_cart_time_ms: Number | None = None
    total_product_amount: Number | None = None
    custom_attributes: Attributes | None = None


class ProductAction(_Strict):
    action: ProductActionName
    checkout_step: Number | None = None
    checkout_options: Scalar | None = None
    product_action_list: Scalar | None = None
    product_list_source: Scalar | None = None
    transaction_id: Scalar | None = None
    affiliation: Scalar | None = None
    total_amount: Number | None = None
    tax_amount: Number | None = None
    shipping_amount: Number | None = None
    coupon_code: Scalar | None = None
    products: list[Product] | None = None


class Promotion(_Strict):
    id: Scalar | None = None
    name: Scalar | None = None
    creative: Scalar | None = None
    position: Scalar | None = None


class PromotionAction(_Strict):
    action: Literal["view", "click"]
    promotions: list[Promotion] | None = None


class ProductImpression(_Strict):
    product_impression_list: Scalar | None = None
    products: list[Product] | None = None


class ShoppingCart(_Strict):
    products: list[Product] | None = None


class EventData(_Strict):
    """The `data` node: the common properties and those of every event type."""

    timestamp_unixtime_ms: EventTime
    event_id: Any = None
    event_num: Any = None
    source_message_id: Any = None
    session_id: Any = None
    session_uuid: Any = None
    location: dict[str, Any] | None = None
    device_current_state: dict[str, Any] | None = None
    custom_attributes: Attributes | None = None
    custom_flags: dict[str, Any] | None = None
    # custom_event
    event_name: StrictStr | None = None
    custom_event_type: StrictStr | None = None
    # commerce_event
    product_action: ProductAction | None = None
    promotion_action: PromotionAction | None = None
    product_impressions: list[ProductImpression] | None = None
    shopping_cart: ShoppingCart | None = None
    currency_code: StrictStr | None = None
    is_non_interactive: StrictBool | None = None
    # screen_view (and commerce_event)
    screen_name: StrictStr | None = None
    # session_end, crash_report, opt_out, push, application state, network, breadcrumb
    session_duration_ms: Any = None
    class_name: Any = None
    breadcrumbs: Any = None
    severity: Any = None
    message: Any = None
    stack_trace: Any = None
    exception_handled: Any = None
    topmost_context: Any = None
    pl_crash_report_file_base64: Any = None
    ios_image_base_address: Any = None
    ios_image_size: Any = None
    session_number: Any = None
    is_opted_out: Any = None
    register_: Any = Field(default=None, validation_alias="register")
    registration_token: Any = None
    is_first_run: Any = None
    is_upgrade: Any = None
    successfully_closed: Any = None
    push_notification_payload: Any = None
    application_transition_type: Any = None
    launch_referral: Any = None
    push_message_token: Any = None
    push_message_type: Any = None
    network: Any = None
    application_state: Any = None
    action_identifier: Any = None
    push_message_behavior: Any = None
    http_verb: Any = None
    url: Any = None
    time_elapsed: Any = None
    bytes_in: Any = None
    bytes_out: Any = None
    response_code: Any = None
    data: Any = None
    label: Any = None


class Event(_Strict):
    """One event of a batch's `events` array: `{"event_type": ..., "data": {...}}`."""

    event_type: Annotated[EventType, BeforeValidator(_sendable)]
    data: EventData

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        """The JSON reference's rules by event type: (path, message) for each broken one."""
        found: list[tuple[tuple[str, ...], str]] = []
        data = self.data
        if self.event_type == "custom_event":
            if data.event_name is None:
                found.append((("data", "event_name"), "a custom_event needs an event_name"))
            if data.custom_event_type not in _CUSTOM:
                found.append((("data", "custom_event_type"), _custom_type(data.custom_event_type)))
        if self.event_type == "commerce_event":
            kinds = [
                name
                for name in ("product_action", "promotion_action", "product_impressions")
                if getattr(data, name) is not None
            ]
            if len(kinds) != 1:
                found.append(
                    (
                        ("data",),
                        "a commerce_event has exactly one of product_action, promotion_action "
                        "and product_impressions",
                    )
                )
        return found


def _custom_type(given: str | None) -> str:
    """What is wrong with a custom_event's `custom_event_type`: missing, or not one of the
    list (a typo gets its suggestion, as an unknown field does)."""
    choices = ", ".join(CUSTOM_EVENT_TYPES)
    if given is None:
        return f"a custom_event needs a custom_event_type, one of: {choices}"
    hint = suggest(given, CUSTOM_EVENT_TYPES)
    advice = f"did you mean `{hint}`?" if hint else f"one of: {choices}"
    return f"{given!r} is not a custom_event's custom_event_type; {advice}"


class Batch(_Strict):
    """One line of an events file: the body of `POST /v2/events`."""

    events: list[Event] = Field(default_factory=list)
    mpid: Mpid | None = None
    user_identities: Identities | None = None
    environment: Literal["production", "development"] | None = None
    timestamp_unixtime_ms: Epoch | None = None
    source_request_id: Any = None
    device_info: Any = None
    application_info: Any = None
    user_attributes: Any = None
    deleted_user_attributes: Any = None
    partner_identities: Any = None
    integration_attributes: Any = None
    schema_version: Any = None
    context: Any = None
    consent_state: Any = None
    ip: Any = None
