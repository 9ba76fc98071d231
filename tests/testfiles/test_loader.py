"""Loading test files: every problem of every file located and reported at once, events
from events files grouped by mpid/identity, timestamps as epoch ms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import manifest, testfiles
from reconciler.errors import CaTestFileError
from reconciler.evaluator.events import event_time
from reconciler.manifest.loader import discover
from reconciler.testfiles.batches import EventsFile, LoadedBatch
from reconciler.workspace import suites
from tests.testfiles.conftest import WriteTest


def _load(workspace: Path) -> list[testfiles.Suite]:
    definitions = {d.name: d.ca.canonical for d in manifest.load(workspace).cas}
    return testfiles.load(workspace, definitions)


def _errors(workspace: Path) -> list[str]:
    with pytest.raises(CaTestFileError) as caught:
        _load(workspace)
    return [str(issue) for issue in caught.value.issues]


GOOD = """\
as_of: 2024-03-01T00:00:00Z
users:
  alice:
    events:
      - event_type: custom_event
        data: {event_name: Search, custom_event_type: search,
               timestamp_unixtime_ms: 1706745600000, custom_attributes: {Term: shoes}}
expect:
  alice: {Last Term: shoes}
"""


def test_a_valid_file_loads(workspace: Path, write_test: WriteTest) -> None:
    write_test("a.test.yaml", GOOD)
    [suite] = _load(workspace)
    assert suite.file == str(workspace / "a.test.yaml")
    assert suite.as_of == 1709251200000
    [expectation] = suite.expectations
    assert (expectation.user, expectation.ca, expectation.expected) == (
        "alice",
        "Last Term",
        "shoes",
    )
    assert (expectation.line, expectation.column) == (9, 11)
    assert suite.users["alice"].events[0]["data"]["custom_attributes"] == {"Term": "shoes"}


BAD = """\
as_of: 2024-03-01T00:00:00Z
users:
  alice:
    events:
      - {event_type: custom_evnt, data: {timestamp_unixtime_ms: 1}}
      - event_type: custom_event
        data: {event_name: Search, timestamp_unixtime_ms: 1, custom_atributes: {}}
      - event_type: commerce_event
        data: {timestamp_unixtime_ms: 1}
    seeds:
      LTV: {value: lots}
      Sessions: {value: 3}
      LTW: {value: 1}
    events_file: missing.jsonl
  bob:
    evnts: []
expect:
  alice: {Last Trm: shoes}
  carol: {LTV: 1}
"""


def test_every_problem_is_located_at_once(workspace: Path, write_test: WriteTest) -> None:
    write_test("bad.test.yaml", BAD)
    where = str(workspace / "bad.test.yaml")
    assert _errors(workspace) == [
        f"{where}:5:22: users.alice.events[0].event_type: 'custom_evnt' is not valid; "
        "did you mean `custom_event`?",
        f"{where}:7:62: users.alice.events[1].data.custom_atributes: unknown field "
        "`custom_atributes`; did you mean `custom_attributes`?",
        f"{where}:9:15: users.alice.events[2].data: a commerce_event has exactly one of "
        "product_action, promotion_action and product_impressions",
        # A CA named as `seed` names it for the same problem in a seed file: quoted.
        f'{where}:11:20: users.alice.seeds.LTV.value: "LTV": Seed value must be numeric, '
        'not "lots"',
        f'{where}:12:7: users.alice.seeds.Sessions: "Sessions" has no seeding.cutoff_date: '
        "mParticle takes no seeds for it",
        f'{where}:13:7: users.alice.seeds.LTW: no CA named "LTW" in the manifests; '
        "did you mean `LTV`?",
        f"{where}:14:18: users.alice.events_file: no such file: missing.jsonl (relative to "
        "this test file)",
        f"{where}:16:5: users.bob.evnts: unknown field `evnts`; did you mean `events`?",
        f'{where}:18:11: expect.alice["Last Trm"]: no CA named "Last Trm" in the manifests; '
        "did you mean `Last Term`?",
        f"{where}:19:3: expect.carol: unknown user `carol`; declare it under `users:`",
    ]


def test_event_rules_of_the_json_reference(workspace: Path, write_test: WriteTest) -> None:
    write_test(
        "rules.test.yaml",
        "as_of: 2024-03-01\nusers:\n  alice:\n    events:\n"
        "      - {event_type: custom_event, data: {timestamp_unixtime_ms: 1}}\n"
        "      - event_type: commerce_event\n"
        "        data: {timestamp_unixtime_ms: 1}\n"
        "expect: {}\n",
    )
    where = str(workspace / "rules.test.yaml")
    assert _errors(workspace) == [
        f"{where}:5:42: users.alice.events[0].data.event_name: a custom_event needs an event_name",
        f"{where}:5:42: users.alice.events[0].data.custom_event_type: a custom_event needs a "
        "custom_event_type, one of: navigation, location, search, transaction, user_content, "
        "user_preference, social, other, media, attribution",
        f"{where}:7:15: users.alice.events[1].data: a commerce_event has exactly one of "
        "product_action, promotion_action and product_impressions",
    ]


def test_a_wrong_custom_event_type_is_named_with_its_suggestion(
    workspace: Path, write_test: WriteTest
) -> None:
    """One given but misspelt is not "needed": the message names it and the closest."""
    write_test(
        "types.test.yaml",
        "as_of: 2024-03-01\nusers:\n  alice:\n    events:\n"
        "      - {event_type: custom_event, data: {event_name: Buy,"
        " custom_event_type: transactions, timestamp_unixtime_ms: 1}}\n"
        "      - {event_type: custom_event, data: {event_name: Buy,"
        " custom_event_type: purchase, timestamp_unixtime_ms: 1}}\n"
        "expect: {}\n",
    )
    where = str(workspace / "types.test.yaml")
    assert _errors(workspace) == [
        f"{where}:5:79: users.alice.events[0].data.custom_event_type: 'transactions' is not "
        "a custom_event's custom_event_type; did you mean `transaction`?",
        f"{where}:6:79: users.alice.events[1].data.custom_event_type: 'purchase' is not a "
        "custom_event's custom_event_type; one of: navigation, location, search, transaction, "
        "user_content, user_preference, social, other, media, attribution",
    ]


def test_an_event_type_the_events_api_does_not_take_says_so(
    workspace: Path, write_test: WriteTest
) -> None:
    """A CA may count first_run events, but a test file cannot send one: the message says
    why, instead of listing the types a reader then searches for first_run in."""
    write_test(
        "runs.test.yaml",
        "as_of: 2024-03-01\nusers:\n  alice:\n    events:\n"
        "      - {event_type: first_run, data: {timestamp_unixtime_ms: 1}}\n"
        "      - {event_type: firstrun, data: {timestamp_unixtime_ms: 1}}\n"
        "expect: {}\n",
    )
    first, second = _errors(workspace)
    assert first.endswith(
        "users.alice.events[0].event_type: 'first_run' is an event type a CA can count, but "
        "the Events API does not take it, so a test file cannot hold one: a test of a CA on "
        "it can only expect the value of a user without such events"
    )
    assert "events[1].event_type: 'firstrun' is not valid; use one of: custom_event" in second


def test_seeds_for_a_rolling_window_are_refused(workspace: Path, write_test: WriteTest) -> None:
    data = json.loads((workspace / "cas.yaml").read_text())
    data["calculated_attributes"][1]["definition"]["seeding"] = {"cutoff_date": "2024-01-01"}
    (workspace / "cas.yaml").write_text(json.dumps(data))
    write_test(
        "s.test.yaml",
        "as_of: 2024-03-01\nusers:\n  a:\n    seeds: {Sessions: {value: 1}}\nexpect: {}\n",
    )
    assert _errors(workspace) == [
        f'{workspace / "s.test.yaml"}:4:13: users.a.seeds.Sessions: "Sessions" has a rolling '
        "`within` window, which cannot be seeded"
    ]


def test_yaml_and_top_level_mistakes(workspace: Path, write_test: WriteTest) -> None:
    write_test("syntax.test.yaml", "as_of: [unclosed\n")
    write_test("list.test.yaml", "- a\n")
    write_test("keys.test.yaml", "as_of: 2024-03-01\nuser: {}\nexpect: {}\nx-shared: 1\n")
    errors = _errors(workspace)
    # The suggestion says what is missing: no second error for `users`.
    keys = workspace / "keys.test.yaml"
    assert errors[0] == f"{keys}:2:1: user: unknown field `user`; did you mean `users`?"
    assert errors[1] == (
        f"{workspace / 'list.test.yaml'}:1:1: expected a mapping with `as_of`, `users` and `expect`"
    )
    assert errors[2].startswith(f"{workspace / 'syntax.test.yaml'}:1:8: invalid YAML")
    assert len(errors) == 3


def test_as_of_must_be_an_instant(workspace: Path, write_test: WriteTest) -> None:
    write_test("a.test.yaml", GOOD.replace("2024-03-01T00:00:00Z", "soon"))
    assert _errors(workspace) == [
        f"{workspace / 'a.test.yaml'}:1:8: as_of: 'soon' is not an ISO 8601 date-time; "
        "write e.g. 2024-03-01T00:00:00Z"
    ]


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("9223372036854775807", "9223372036854775807 is after the year 9999 in epoch ms"),
        ('"+10000-01-01"', "'+10000-01-01' is not an ISO 8601 date-time"),
    ],
)
def test_as_of_is_at_the_latest_in_the_year_9999(
    workspace: Path, write_test: WriteTest, as_of: str, message: str
) -> None:
    # An as_of past the year 9999 let an event of then count, whose timestamp no ISO 8601
    # date-time writes: the run ended in an OverflowError reported as a bug.
    write_test("a.test.yaml", GOOD.replace("2024-03-01T00:00:00Z", as_of))
    [error] = _errors(workspace)
    assert error.startswith(f"{workspace / 'a.test.yaml'}:1:8: as_of: {message}")


def test_an_event_time_in_microseconds_is_refused(workspace: Path, write_test: WriteTest) -> None:
    """As `as_of`: an event time past the year 9999 is no epoch ms (microseconds, say).
    Taken, the event was later than any `as_of` and silently counted for nothing."""
    write_test("a.test.yaml", GOOD.replace("1706745600000,", "1706745600000000,"))
    assert _errors(workspace) == [
        f"{workspace / 'a.test.yaml'}:7:39: users.alice.events[0].data.timestamp_unixtime_ms: "
        "1706745600000000 is after the year 9999 in epoch ms: microseconds?"
    ]
    write_test("a.test.yaml", GOOD.replace("1706745600000,", "253402300799999,"))
    assert len(_load(workspace)) == 1  # the last millisecond of 9999 is one


def test_event_times_may_be_written_as_timestamps(workspace: Path, write_test: WriteTest) -> None:
    write_test(
        "t.test.yaml",
        "as_of: 2024-03-01\nusers:\n  a:\n    events:\n"
        + "".join(
            "      - event_type: session_start\n        data:\n"
            f"          timestamp_unixtime_ms: {t}\n"
            for t in ("2024-02-01T00:00:00Z", '"2024-02-01T00:00:00Z"', "1706745600000")
        )
        + "expect: {a: {Sessions: 3}}\n",
    )
    [suite] = _load(workspace)
    times = {e["data"]["timestamp_unixtime_ms"] for e in suite.users["a"].events}
    assert times == {1706745600000}


def test_an_event_time_that_is_no_instant_says_iso_text_is_taken_too(
    workspace: Path, write_test: WriteTest
) -> None:
    """Inline events may write their time as ISO 8601 text: "expected a whole number" sent
    the reader to epoch ms only. An events file's line takes epoch ms only, and says so."""
    write_test(
        "t.test.yaml",
        "as_of: 2024-03-01\nusers:\n  a:\n    events:\n"
        "      - {event_type: session_start, data: {timestamp_unixtime_ms: yesterday}}\n"
        "  b:\n    events_file: b.jsonl\n"
        "expect: {a: {Sessions: 1}}\n",
    )
    batch = {"events": [{"event_type": "session_start", "data": {"timestamp_unixtime_ms": "x"}}]}
    (workspace / "b.jsonl").write_text(json.dumps(batch) + "\n")
    where = workspace / "t.test.yaml"
    errors = _errors(workspace)
    assert (
        f"{where}:5:67: users.a.events[0].data.timestamp_unixtime_ms: expected epoch ms or an "
        "ISO 8601 date-time such as 2024-03-01T00:00:00Z, got 'yesterday'"
    ) in errors
    assert any("b.jsonl:1" in e and "expected a whole number, got 'x'" in e for e in errors)


def test_instants_may_be_epoch_ms_and_its_digits(workspace: Path, write_test: WriteTest) -> None:
    # R1 and R6: as_of in epoch ms; an event's time as its digits, in the file or an events
    # file; the epoch itself written in ISO is time 0, not "no time".
    write_test("data/events.jsonl", _batch(1, "x").replace("1706745600000", '"1706745600000"'))
    write_test(
        "data/t.test.yaml",
        "as_of: 1709251200000\nusers:\n  a:\n    mpid: 1\n    events_file: events.jsonl\n"
        "    events:\n"
        "      - event_type: session_start\n"
        '        data: {timestamp_unixtime_ms: "1706745600000"}\n'
        "      - event_type: session_start\n"
        '        data: {timestamp_unixtime_ms: "1970-01-01T00:00:00Z"}\n'
        "expect: {a: {Sessions: 1}}\n",
    )
    [suite] = _load(workspace)
    assert suite.as_of == 1709251200000
    times = [event_time(event) for event in suite.users["a"].events]
    assert sorted(times, key=str) == [0, 1706745600000, 1706745600000]


def test_an_events_file_is_checked_even_when_the_test_file_has_errors(
    workspace: Path, write_test: WriteTest
) -> None:
    """Every problem at once: an events file's broken line is reported beside the test
    file's own mistakes, and a value that is none of the expected kinds gives one message,
    not one per kind it is not."""
    write_test("ev.jsonl", "not json\n")
    write_test(
        "a.test.yaml",
        "as_of: 2024-03-01\nusers:\n  u1: {events_file: ev.jsonl}\n"
        "expect:\n  u1: {Last Term: {a: 1}}\n",
    )
    assert _errors(workspace) == [
        f'{workspace / "a.test.yaml"}:5:19: expect.u1["Last Term"]: expected text, a number, '
        "true/false, a timestamp, a list of values or null, not a mapping",
        f"{workspace / 'ev.jsonl'}:1:1: invalid JSON: invalid literal, expected 'null'",
    ]


def _batch(mpid: int | None, term: str, **identities: str) -> str:
    event = {
        "event_type": "custom_event",
        "data": {
            "event_name": "Search",
            "custom_event_type": "search",
            "timestamp_unixtime_ms": 1706745600000,
            "custom_attributes": {"Term": term},
        },
    }
    body: dict[str, object] = {"events": [event]}
    if mpid is not None:
        body["mpid"] = mpid
    if identities:
        body["user_identities"] = identities
    return json.dumps(body)


def test_events_files_are_grouped_by_mpid_or_identity(
    workspace: Path, write_test: WriteTest
) -> None:
    lines = [_batch(1, "one"), _batch(2, "two"), _batch(None, "three", email="c@example.com")]
    write_test("data/events.jsonl", "\n".join(lines) + "\n\n")
    write_test(
        "data/g.test.yaml",
        "as_of: 2024-03-01\nusers:\n"
        "  a: {mpid: 1, events_file: events.jsonl}\n"
        "  b: {mpid: 2, events_file: events.jsonl}\n"
        "  c: {identities: {email: c@example.com}, events_file: events.jsonl}\n"
        "  everyone: {events_file: events.jsonl}\n"
        "expect: {a: {Last Term: one}, b: {Last Term: two}, c: {Last Term: three}}\n",
    )
    [suite] = _load(workspace)
    terms = {
        name: [e["data"]["custom_attributes"]["Term"] for e in user.events]
        for name, user in suite.users.items()
    }
    assert terms == {
        "a": ["one"],
        "b": ["two"],
        "c": ["three"],
        "everyone": ["one", "two", "three"],
    }


class _CountingBatches(list[LoadedBatch]):
    """A list of batches that counts how many of them were read by iterating it."""

    read = 0

    def __iter__(self) -> Iterator[LoadedBatch]:
        for batch in super().__iter__():
            self.read += 1
            yield batch


def test_the_users_of_a_shared_events_file_are_found_without_reading_it_per_user() -> None:
    # Each user of a shared events file used to scan every batch of it: 4,000 users of a
    # 4,000-batch file read 16 million batches (over 10 s). The batches are indexed once.
    count = 300
    batches = _CountingBatches(
        LoadedBatch(line, line, {"email": f"u{line}@example.com"}, []) for line in range(count)
    )
    batches.append(LoadedBatch(count, 7, {"email": "u8@example.com"}, []))
    loaded = EventsFile("events.jsonl", batches)
    chosen = {n: [b.line for b in loaded.of(n, None)] for n in range(count)}
    by_identity = loaded.of(None, {"email": "u8@example.com"})
    both = loaded.of(7, {"email": "u8@example.com", "customer_id": "nobody"})
    assert batches.read <= 2 * len(batches)
    assert chosen[3] == [3]
    assert chosen[7] == [7, count]
    assert [b.line for b in by_identity] == [8, count]
    assert [b.line for b in both] == [7, 8, count]  # file order, each batch once
    assert loaded.of(99_999, {"email": "none@example.com"}) == []
    assert [b.line for b in loaded.of(None, None)] == list(range(count + 1))


def test_events_file_problems_are_located_by_line(workspace: Path, write_test: WriteTest) -> None:
    write_test(
        "events.jsonl",
        _batch(1, "ok")
        + "\n{not json\n[1]\n"
        + json.dumps({"mpid": 1, "events": [{"event_type": "custom_event", "data": {}}]})
        + "\n",
    )
    write_test(
        "e.test.yaml",
        "as_of: 2024-03-01\nusers:\n  a: {mpid: 1, events_file: events.jsonl}\n"
        "  b: {mpid: 7, events_file: events.jsonl}\nexpect: {}\n",
    )
    where = workspace / "events.jsonl"
    broken = "events.jsonl has errors (listed with it): its events are incomplete"
    assert _errors(workspace) == [
        f"{workspace / 'e.test.yaml'}:3:29: users.a.events_file: {broken}",
        f"{workspace / 'e.test.yaml'}:4:29: users.b.events_file: {broken}",
        f"{workspace / 'e.test.yaml'}:4:29: users.b.events_file: no batch of events.jsonl "
        "names this user's mpid or identities",
        f"{where}:2:2: invalid JSON: unexpected character, expected a string key",
        f"{where}:3: each line is one Events API batch: a JSON object with `events`",
        f"{where}:4: events[0].data.timestamp_unixtime_ms: required field "
        "`timestamp_unixtime_ms` is missing",
    ]


def test_manifest_discovery_skips_test_files(workspace: Path, write_test: WriteTest) -> None:
    write_test("a.test.yaml", GOOD)
    write_test("sub/b.test.yml", GOOD)
    write_test(".hidden/c.test.yaml", GOOD)
    write_test("sub/more.yaml", '{"calculated_attributes": []}')
    assert [p.name for p in discover(workspace)] == ["cas.yaml", "more.yaml"]
    assert [p.name for p in testfiles.discover(workspace)] == ["a.test.yaml", "b.test.yml"]
    assert len(manifest.load(workspace).cas) == 3


def test_test_files_in_a_linked_folder_are_found_as_its_manifests_are(
    workspace: Path, tmp_path: Path
) -> None:
    """A symbolic link to a folder is a subfolder for manifests, and so for test files:
    `reconciler test` (and plan's value diffs) skipped the tests of `shared -> ...`."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "s.test.yaml").write_text(GOOD, encoding="utf-8")
    (workspace / "shared").symlink_to(shared)
    assert [p.name for p in testfiles.discover(workspace)] == ["s.test.yaml"]
    assert suites.present(workspace)


def test_a_test_file_behind_a_broken_link_is_an_error_not_skipped(workspace: Path) -> None:
    """As for a manifest: a link to nothing (a moved file) named `*.test.yaml` was left
    out without a word, and `reconciler test` passed with its expectations unchecked."""
    (workspace / "gone.test.yaml").symlink_to("moved.test.yaml")
    assert suites.present(workspace)
    with pytest.raises(CaTestFileError) as caught:
        testfiles.load(workspace, {}, {})
    assert [str(issue) for issue in caught.value.issues] == [
        f"{workspace / 'gone.test.yaml'}: cannot read: it is a symbolic link to "
        "moved.test.yaml, which cannot be read (No such file or directory)"
    ]


def test_a_user_may_be_declared_without_anything(workspace: Path, write_test: WriteTest) -> None:
    write_test("u.test.yaml", "as_of: 2024-03-01\nusers:\n  bob:\nexpect: {bob: {LTV: null}}\n")
    [suite] = _load(workspace)
    assert suite.users["bob"].events == ()


def test_users_that_are_not_a_mapping_give_one_error(
    workspace: Path, write_test: WriteTest
) -> None:
    write_test("u.test.yaml", "as_of: 2024-03-01\nusers: []\nexpect: {bob: {LTV: 1}}\n")
    assert _errors(workspace) == [
        f"{workspace / 'u.test.yaml'}:2:8: users: expected a mapping, got a list "
        "(an empty mapping is written {})"
    ]


RETYPED = """\
as_of: 2024-03-01T00:00:00Z
users:
  alice:
    events:
      - event_type: custom_event
        data:
          event_name: Search
          custom_event_type: search
          timestamp_unixtime_ms: 1706745600000
          custom_attributes:
            Term: 01234
            Size: 1.10
            Logged In: True
            At: 2024-05-10 10:00:00 +02:00
            Count: 5
            Flag: false
            Day: 2024-05-10
            Name: shoes
            Quoted: "007"
            Unset: null
      - event_type: commerce_event
        data:
          timestamp_unixtime_ms: 1706745600000
          product_action:
            action: purchase
            products: [{custom_attributes: {Code: 0x1F, Sku: 12}}]
expect:
  alice: {Last Term: "01234"}
"""


def test_a_custom_attribute_yaml_retypes_must_be_quoted(
    workspace: Path, write_test: WriteTest
) -> None:
    """Custom attribute values are text to mParticle: unquoted, `01234` was the number 1234
    and the test failed with `got 1234`, as if the evaluator had dropped the zero. As the
    manifests do for string operands, the loader asks to quote what YAML retypes; what it
    reads as written (`5`, `false`, `2024-05-10`, `shoes`) is taken."""
    write_test("a.test.yaml", RETYPED)
    where = f"{workspace / 'a.test.yaml'}"
    attributes = "users.alice.events[0].data.custom_attributes"
    assert _errors(workspace) == [
        f'{where}:11:19: {attributes}.Term: 01234 is read as the number 1234; quote it ("01234")'
        " to keep the text",
        f'{where}:12:19: {attributes}.Size: 1.10 is read as the number 1.1; quote it ("1.10") to'
        " keep the text",
        f'{where}:13:24: {attributes}["Logged In"]: True is read as the boolean true; quote it '
        '("True") to keep the text',
        f"{where}:14:17: {attributes}.At: 2024-05-10 10:00:00 +02:00 is read as the date and "
        'time 2024-05-10T08:00:00Z; quote it ("2024-05-10 10:00:00 +02:00") to keep the text',
        f"{where}:26:51: users.alice.events[1].data.product_action.products[0]"
        '.custom_attributes.Code: 0x1F is read as the number 31; quote it ("0x1F") to keep the '
        "text",
    ]
    quoted = RETYPED
    for written in ("01234", "1.10", "True", "2024-05-10 10:00:00 +02:00", "0x1F"):
        quoted = quoted.replace(f": {written}", f': "{written}"')
    write_test("a.test.yaml", quoted)
    [suite] = _load(workspace)
    first = suite.users["alice"].events[0]["data"]["custom_attributes"]
    assert (first["Term"], first["At"], first["Count"], first["Day"]) == (
        "01234",
        "2024-05-10 10:00:00 +02:00",
        5,
        "2024-05-10",
    )


def test_event_problems_are_reported_with_the_files_other_problems(
    workspace: Path, write_test: WriteTest
) -> None:
    """ "All at once" (README): an unknown key elsewhere in the file, or an event that does
    not load, once hid the event rules and the YAML retypes of the other events, so that
    fixing the first error revealed a second round."""
    write_test(
        "a.test.yaml",
        "as_of: 2024-03-01\nusers:\n  alice:\n    mpidd: 3\n    events:\n"
        "      - {event_type: custom_event, data: {event_name: Search, timestamp_unixtime_ms: 1,"
        " custom_attributes: {Term: 01234}}}\n"
        "      - {event_type: custom_event, data: {event_name: Search}}\n"
        "expect: {}\n",
    )
    where = str(workspace / "a.test.yaml")
    events = "users.alice.events"
    assert _errors(workspace) == [
        f"{where}:4:5: users.alice.mpidd: unknown field `mpidd`; did you mean `mpid`?",
        f"{where}:6:42: {events}[0].data.custom_event_type: a custom_event needs a "
        "custom_event_type, one of: navigation, location, search, transaction, user_content, "
        "user_preference, social, other, media, attribution",
        f"{where}:6:115: {events}[0].data.custom_attributes.Term: 01234 is read as the number "
        '1234; quote it ("01234") to keep the text',
        f"{where}:7:42: {events}[1].data.timestamp_unixtime_ms: required field "
        "`timestamp_unixtime_ms` is missing",
    ]


def test_an_events_file_saved_on_windows_reads_as_it_was_written(
    workspace: Path, write_test: WriteTest
) -> None:
    """A byte order mark and CRLF line ends (Notepad, PowerShell): the seed reader took
    such a file, the events file of a test was refused ("BOM is not supported")."""
    lines = [_batch(1, "one"), _batch(2, "two")]
    path = write_test("events.jsonl", "")
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    write_test(
        "w.test.yaml",
        "as_of: 2024-03-01\nusers:\n"
        "  a: {mpid: 1, events_file: events.jsonl}\n"
        "  b: {mpid: 2, events_file: events.jsonl}\n"
        "expect: {a: {Last Term: one}, b: {Last Term: two}}\n",
    )
    [suite] = _load(workspace)
    terms = {
        name: [e["data"]["custom_attributes"]["Term"] for e in user.events]
        for name, user in suite.users.items()
    }
    assert terms == {"a": ["one"], "b": ["two"]}
    path.write_bytes(b'{"events": 1}\r\n')
    without = _errors(workspace)
    path.write_bytes(b'\xef\xbb\xbf{"events": 1}\r\n')  # placed as without the mark
    assert _errors(workspace) == without
