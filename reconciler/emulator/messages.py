"""The Platform API's documented error messages, byte for byte as the original doc sources
print them (ASCII quotes; the text extraction had typographic ones and lost the retention
message's `'time_period.date'`), plus the few the emulator needs where the docs list none."""

from __future__ import annotations

# Create (and update: "in addition to the validation errors from Create").
NAME_REQUIRED = "Field 'name' is required."
NAME_UNIQUE = "Field 'name' must be unique."
DEFINITION_REQUIRED = "Field 'draft_definition' is required."
TIME_PERIOD_ALL = "Field 'time_period.type' = 'all' is not supported."
RETENTION_DATE = "'time_period.date' must be on or after the earliest date available of {date}"
RETENTION_WITHIN = (
    "The within time period cannot exceed your configured retention period of {N} days "
    "for Calculated Attributes"
)
RECIPE_TYPE = "Invalid recipe type"
CALCULATION_TYPE = "Invalid calculation type"
TIME_PERIOD = "Invalid time period specification"
TIME_PERIOD_TYPE = "Invalid 'type' time period specification"
TIME_PERIOD_WITHIN = "Invalid 'within' time period specification"
TIME_PERIOD_WITHIN_UNIT = "Invalid 'within_unit' time period specification"
CUSTOM_EVENT_NAME = "Invalid data point custom event name"
CUSTOM_EVENT_TYPE = "Invalid data point custom event type"
CONDITION = "Invalid condition definition"
CONDITION_TYPE = "Invalid condition definition type"
STRING_OPERATOR = "Invalid string condition operator"
CONDITION_ATTRIBUTE = "Condition attribute name must be specified"
STRING_IN_LIST = "In-list condition values must be specified"
STRING_VALUE = "String condition value must be specified"
NUMBER_OPERATOR = "Invalid numeric condition operator"
NUMBER_IN_LIST = "Invalid numeric in-list condition values"
NUMBER_MIN = "Invalid numeric condition minimum value"
NUMBER_MAX = "Invalid numeric condition maximum value"
NUMBER_VALUE = "Invalid numeric condition value"
BOOLEAN_OPERATOR = "Invalid boolean condition operator"
BOOLEAN_VALUE = "Invalid boolean condition value"
DATE_OPERATOR = "Invalid date condition operator"
DATE_IN_LIST = "Invalid datetime in-list condition values"
DATE_MIN = "Invalid date condition minimum value"
DATE_MAX = "Invalid date condition maximum value"
DATE_VALUE = "Invalid date condition value"
VALUE_MUST_BE_EMPTY = "Condition value must be empty"
VALUES_MUST_BE_EMPTY = "Condition values must be empty"
MIN_MUST_BE_EMPTY = "Condition minimum value must be empty"
MAX_MUST_BE_EMPTY = "Condition maximum value must be empty"

# Update.
NAME_READ_ONLY = (
    "Calculated attribute name cannot be changed once the calculated attribute has been activated."
)

# Activation.
ACTIVE_LIMIT = "You have reached the account limit on active calculated attributes."
NO_DRAFT = "No draft definition was found to activate."

#: Every message of the Platform API page's tables, in their order (tests compare them with
#: the originals); the retention ones carry the page's placeholders `{date}` and `{N}`.
DOCUMENTED = (
    NAME_REQUIRED,
    NAME_UNIQUE,
    DEFINITION_REQUIRED,
    TIME_PERIOD_ALL,
    RETENTION_DATE,
    RETENTION_WITHIN,
    RECIPE_TYPE,
    CALCULATION_TYPE,
    TIME_PERIOD,
    TIME_PERIOD_TYPE,
    TIME_PERIOD_WITHIN,
    TIME_PERIOD_WITHIN_UNIT,
    CUSTOM_EVENT_NAME,
    CUSTOM_EVENT_TYPE,
    CONDITION,
    CONDITION_TYPE,
    STRING_OPERATOR,
    CONDITION_ATTRIBUTE,
    STRING_IN_LIST,
    STRING_VALUE,
    NUMBER_OPERATOR,
    NUMBER_IN_LIST,
    NUMBER_MIN,
    NUMBER_MAX,
    NUMBER_VALUE,
    BOOLEAN_OPERATOR,
    BOOLEAN_VALUE,
    DATE_OPERATOR,
    DATE_IN_LIST,
    DATE_MIN,
    DATE_MAX,
    DATE_VALUE,
    VALUE_MUST_BE_EMPTY,
    VALUES_MUST_BE_EMPTY,
    MIN_MUST_BE_EMPTY,
    MAX_MUST_BE_EMPTY,
    NAME_READ_ONLY,
    ACTIVE_LIMIT,
    NO_DRAFT,
)

# Not documented: the docs list no message for these required or typed fields, so the
# emulator words them after the documented ones.
DATA_POINT = "Invalid data point specification"
DATA_POINT_TYPE = "Invalid data point type"
DATA_POINT_EVENT_TYPE = "Invalid data point event type"
DATA_POINT_EVENT_NAME = "Invalid data point event name"
DATA_POINT_ATTRIBUTE_NAME = "Invalid data point attribute name"
DATA_POINT_ATTRIBUTE_CATEGORY = "Invalid data point attribute category"
DATA_POINT_PRODUCT_QUANTITY = "Invalid data point use product quantity"
SEEDING = "Invalid seeding specification"
DESCRIPTION = "Field 'description' must be a string."
BODY_NOT_OBJECT = "The request body must be a JSON object."
#: The v1 status table's 400 ("JSON Syntax is invalid"), saying where the parser stopped.
MALFORMED_JSON = "The request JSON was malformed: {error}"
NOT_FOUND = "Calculated Attribute does not exist."
WORKSPACE_NOT_FOUND = "Workspace does not exist."
