"""Composing YAML text into a Document: libyaml (through PyYAML's binding: its parser and
composer run in C) composes the nodes, with plain scalars resolved by the YAML 1.2 rules;
we build the data ourselves, so that every duplicate key is reported, alias expansion is
bounded and recursion is caught. Scalars other than text are read as ruamel's YAML 1.2
constructor reads them (decimal integers, bools, null and dates directly, the rest by that
constructor, imported when first needed). Composing with ruamel's own binding of libyaml
cost twice as much per node (docs/performance.md).

Imported by `document` when a file is parsed or a position asked for: a plan whose
manifests all come from the cache imports no YAML library.
"""

from __future__ import annotations

import operator
import re
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from reconciler.errors import DataPath, Issue, format_path
from reconciler.manifest.document import MAX_DEPTH, Document, Mark, Position, SourceError
from reconciler.manifest.syntax import syntax_issue

#: Nodes of the data once aliases are expanded; a "billion laughs" file hits this at once.
MAX_EXPANDED_NODES = 5_000_000

MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"


def _is_text(node: Node) -> bool:
    return type(node) is ScalarNode and (node.tag is _PLAIN_TEXT or node.tag == STR_TAG)


_Keys = tuple[dict[str, tuple[Node, Node]], list[Node]]
#: Each mapping asked for a key: its own text keys (the first written of a duplicate) and
#: what its `<<` keys merge, in order; read once, so that finding every user of a test file
#: with thousands does not read the mapping again for each.
_KEYS: WeakKeyDictionary[MappingNode, _Keys] = WeakKeyDictionary()


def _keys_of(node: MappingNode) -> _Keys:
    own: dict[str, tuple[Node, Node]] = {}
    sources: list[Node] = []
    for key_node, value_node in node.value:
        if _is_text(key_node):
            own.setdefault(key_node.value, (key_node, value_node))
        elif key_node.tag == MERGE_TAG:
            sources += value_node.value if isinstance(value_node, SequenceNode) else [value_node]
    return own, sources


def child(node: Node, part: str | int, merges: int) -> tuple[Node | None, Node] | None:
    """(key node, value node) of `part` in a mapping (its own keys first, the first written
    of a duplicate; then what `<<` merges, in order), or (None, item) of a sequence."""
    if isinstance(node, SequenceNode):
        if isinstance(part, int) and 0 <= part < len(node.value):
            return None, node.value[part]
        return None
    if not isinstance(node, MappingNode) or not isinstance(part, str):
        return None
    keys = _KEYS.get(node)
    if keys is None:
        keys = _KEYS[node] = _keys_of(node)
    own, sources = keys
    if part in own:
        return own[part]
    if merges > 0:
        for source in sources:
            found = child(source, part, merges - 1)
            if found is not None:
                return found
    return None


class _Unreadable(Exception):
    """A typed scalar the constructor cannot read (an unknown or unsafe tag): the problem."""


class _Abort(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


def _position(node: Node) -> Position:
    mark = node.start_mark
    return Position(mark.line + 1, mark.column + 1)


#: The YAML 1.2 core schema's rules for plain scalars, as ruamel.yaml reads YAML 1.2 (it
#: also takes `_` in numbers, and dates): (tag suffix, pattern, first characters).
_YAML_1_2: tuple[tuple[str, str, str], ...] = (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (
        "float",
        r"""[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
          | [-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
          | [-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
          | [-+]?\.(?:inf|Inf|INF)
          | \.(?:nan|NaN|NAN)""",
        "-+0123456789.",
    ),
    (
        "int",
        r"[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?[0-9_]+ | [-+]?0x[0-9a-fA-F_]+",
        "-+0123456789",
    ),
    ("merge", r"<<", "<"),
    ("null", r"~ | null|Null|NULL | ", "~nN"),
    (
        "timestamp",
        r"""[0-9]{4}-[0-9]{2}-[0-9]{2}
          | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}
            (?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?""",
        "0123456789",
    ),
    ("value", r"=", "="),
    ("yaml", r"!|&|\*", "!&*"),
)


def _rules_of_yaml_1_2() -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    """First character of a plain scalar -> the (tag, pattern) rules that may match it."""
    rules: dict[str, list[tuple[str, re.Pattern[str]]]] = {"": [(NULL_TAG, re.compile(""))]}
    for suffix, pattern, firsts in _YAML_1_2:
        compiled = re.compile(rf"^(?:{pattern})$", re.X)
        for first in firsts:
            rules.setdefault(first, []).append((f"tag:yaml.org,2002:{suffix}", compiled))
    return {first: tuple(found) for first, found in rules.items()}


_RULES = _rules_of_yaml_1_2()
#: Plain scalars already resolved (short ones: a manifest repeats `event`, `number`,
#: `greater_than`... in every CA), each to its tag.
_RESOLVED: dict[str, str] = {}
_REMEMBERED_LENGTH = 64
_REMEMBERED_VALUES = 100_000


def resolve_plain(value: str) -> str:
    """The tag of a plain scalar by the YAML 1.2 rules: text unless it reads as a number,
    bool, null, date..."""
    tag = _RESOLVED.get(value)
    if tag is not None:
        return tag
    tag = STR_TAG
    for candidate, pattern in _RULES.get(value[:1], ()):
        if pattern.match(value):
            tag = candidate
            break
    if len(value) <= _REMEMBERED_LENGTH and len(_RESOLVED) < _REMEMBERED_VALUES:
        _RESOLVED[value] = tag
    return tag


_Base: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


class Yaml12:
    """A PyYAML loader's resolution: plain scalars by the YAML 1.2 rules, whatever a
    `%YAML` line says. The composer asks for a tag once per node: text and collections
    get theirs at once (no path resolvers are registered, so descending and ascending
    the node path does nothing: `operator.is_` and `tuple` ignore what they are given)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if not implicit[0]:
                return STR_TAG
            return _RESOLVED.get(value) or resolve_plain(value)  # called for every scalar
        return MAP_TAG if kind is MappingNode else SEQ_TAG

    # The composer calls these two around every node, for path resolvers, of which there
    # are none: builtins that take the same arguments and ignore them cost less than a
    # method (two million calls in a first load of 10,000 CAs; docs/performance.md).
    descend_resolver: Any = staticmethod(operator.is_)
    ascend_resolver: Any = staticmethod(tuple)


class _Loader(Yaml12, _Base):  # type: ignore[valid-type,misc]
    """libyaml's parser and composer (PyYAML's binding; its Python ones where libyaml is
    not installed)."""


#: The tag of text the resolver gives (this one object): the builder's short path.
_PLAIN_TEXT = STR_TAG
#: Scalars of these tags read to values nothing can change: each (tag, text) is read once.
_IMMUTABLE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null", "timestamp")
)
_CONSTRUCTED: dict[tuple[str, str], Any] = {}
INT_TAG = "tag:yaml.org,2002:int"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_DECIMAL = re.compile(r"[-+]?[0-9]+\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: Bools and null, by tag and text, as YAML 1.2 reads them.
_SIMPLE: dict[str, dict[str, Any]] = {
    "tag:yaml.org,2002:bool": {
        **dict.fromkeys(("true", "True", "TRUE"), True),
        **dict.fromkeys(("false", "False", "FALSE"), False),
    },
    NULL_TAG: dict.fromkeys(("~", "null", "Null", "NULL", ""), None),
}


class _Builder:
    """Turns a composed node tree into plain data, recording positions and duplicate keys.

    A container reached again through an alias yields the value already built (shared,
    not copied), so building is linear; the expanded size is summed per node and bounded.
    Scalars, most of the nodes, take a short path: no alias bookkeeping (building one
    twice costs what looking it up would) and no depth check (they have no children);
    their container reads them in line, and text keys that are not duplicates too. This
    runs for each of the million nodes of a first load of 10,000 CAs (docs/performance.md).
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self._constructor: Any = None
        self.document = Document(file, None)
        self.issues: list[Issue] = []
        self.built: dict[int, tuple[Any, int, int]] = {}  # value, size, height
        self.active: set[int] = set()

    def located(self, node: Node, message: str, path: DataPath) -> Issue:
        where = _position(node)
        return Issue(self.file, where.line, where.column, format_path(path), message)

    def build(self, node: Node, path: DataPath, depth: int = 0) -> tuple[Any, int, int]:
        """The value of `node`, its expanded size in nodes, and its height."""
        if type(node) is ScalarNode:
            if depth > MAX_DEPTH:
                self.check_depth(node, path, depth)
            return self.scalar(node, path), 1, 0
        ident = id(node)
        found = self.built.get(ident)
        if found is not None:
            value, size, height = found
            self.check_depth(node, path, depth + height)
            return value, size, height
        if ident in self.active:
            raise _Abort(
                self.located(node, "recursive YAML alias (an anchor contains itself)", path)
            )
        if depth > MAX_DEPTH:
            self.check_depth(node, path, depth)
        self.active.add(ident)
        try:
            if type(node) is MappingNode:  # most containers: no dispatch
                value, size, height = self.mapping(node, path, depth)
            else:
                value, size, height = self.construct(node, path, depth)
        finally:
            self.active.discard(ident)
        if size > MAX_EXPANDED_NODES:
            raise _Abort(
                self.located(
                    node,
                    f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(an alias bomb?); refusing to load",
                    path,
                )
            )
        self.built[ident] = (value, size, height)
        return value, size, height

    def check_depth(self, node: Node, path: DataPath, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _Abort(self.located(node, f"nesting deeper than {MAX_DEPTH} levels", path))

    def construct(self, node: Node, path: DataPath, depth: int) -> tuple[Any, int, int]:
        if isinstance(node, ScalarNode):  # a subclass of one; the plain ones never get here
            return self.scalar(node, path), 1, 0
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            size, height = 1, 0
            plain = depth < MAX_DEPTH
            for index, child in enumerate(node.value):
                if plain and type(child) is ScalarNode:  # the short path: no build()
                    tag = child.tag
                    items.append(
                        child.value if tag is _PLAIN_TEXT else self.scalar(child, (*path, index))
                    )
                    size += 1
                    height = height or 1
                    continue
                value, child_size, child_height = self.build(child, (*path, index), depth + 1)
                items.append(value)
                size += child_size
                height = max(height, child_height + 1)
            return items, size, height
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        raise _Abort(self.located(node, f"unsupported YAML node {type(node).__name__}", path))

    def mapping(self, node: MappingNode, path: DataPath, depth: int) -> tuple[Any, int, int]:
        merged: dict[str, Any] = {}
        explicit: dict[str, Any] = {}
        first_seen: dict[str, Mark] = {}
        size, height = 1, 0
        plain = depth < MAX_DEPTH
        for key_node, value_node in node.value:
            tag = key_node.tag
            if tag is _PLAIN_TEXT and type(key_node) is ScalarNode:
                key = key_node.value  # text: the short path, unless written before
                if key in first_seen:
                    self.issues.append(self.duplicate(key_node, key, path, first_seen[key]))
                    continue
                first_seen[key] = key_node.start_mark
            elif tag == MERGE_TAG:
                merged_size, merged_height = self.merge(value_node, path, depth, merged)
                size += merged_size
                height = max(height, merged_height)
                continue
            else:
                key = self.key(key_node, path, first_seen)
                if key is None:
                    continue
            if plain and type(value_node) is ScalarNode:  # the short path: no build()
                tag = value_node.tag
                explicit[key] = (
                    value_node.value
                    if tag is _PLAIN_TEXT
                    else self.scalar(value_node, (*path, key))
                )
                size += 1
                height = height or 1
                continue
            value, child_size, child_height = self.build(value_node, (*path, key), depth + 1)
            explicit[key] = value
            size += child_size
            height = max(height, child_height + 1)
        return ({**merged, **explicit} if merged else explicit), size, height

    def key(self, node: Node, path: DataPath, first_seen: dict[str, Mark]) -> str | None:
        """A mapping key, or None (reported) when it is not text or is written twice."""
        if type(node) is ScalarNode and node.tag is _PLAIN_TEXT:
            key = node.value
        else:
            key = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if not isinstance(key, str):
            if isinstance(node, ScalarNode):
                message = f"keys must be text; quote {node.value!r}"
            else:
                kind = "a list" if isinstance(node, SequenceNode) else "a mapping"
                message = f"keys must be text, not {kind}"
            self.issues.append(self.located(node, message, path))
            return None
        earlier = first_seen.get(key)
        if earlier is not None:
            self.issues.append(self.duplicate(node, key, path, earlier))
            return None
        first_seen[key] = node.start_mark
        return key

    def duplicate(self, node: Node, key: str, path: DataPath, earlier: Mark) -> Issue:
        message = f"duplicate key `{key}` (first at line {earlier.line + 1}); keep one"
        return self.located(node, message, (*path, key))

    def merge(
        self, node: Node, path: DataPath, depth: int, merged: dict[str, Any]
    ) -> tuple[int, int]:
        """`<<: *anchor` (or a list of them): their keys join `merged` unless already there."""
        size, height = 0, 0
        for source in node.value if isinstance(node, SequenceNode) else [node]:
            value, source_size, source_height = self.build(source, path, depth)
            if not isinstance(value, dict):
                self.issues.append(self.located(source, "`<<` merges mappings only", path))
                continue
            for name, item in value.items():
                if name not in merged:
                    merged[name] = item
            size += source_size
            height = max(height, source_height)
        return size, height

    def scalar(self, node: ScalarNode, path: DataPath) -> Any:
        tag = node.tag
        if tag is _PLAIN_TEXT or tag == STR_TAG:
            return node.value  # most scalars: skip the constructor's bookkeeping
        remembered = (tag, node.value)
        if remembered in _CONSTRUCTED:
            return _CONSTRUCTED[remembered]
        try:
            value = self.typed_scalar(node)
        except (ValueError, OverflowError):
            # Looks like a timestamp but is not a real date (2024-13-45): keep the text so
            # the field's own rule reports it.
            return str(node.value)
        except _Unreadable as exc:
            raise _Abort(self.located(node, f"cannot read value: {exc}", path)) from None
        if tag in _IMMUTABLE_TAGS and len(_CONSTRUCTED) < _REMEMBERED_VALUES:
            _CONSTRUCTED[remembered] = value
        return value

    def typed_scalar(self, node: ScalarNode) -> Any:
        """A scalar of another type than text, as ruamel's YAML 1.2 constructor reads it:
        the forms manifests write (decimal integers, bools, null, dates) directly, the
        others (other numbers, times; an unknown or unsafe tag raises) by that constructor."""
        tag, text = node.tag, node.value
        simple = _SIMPLE.get(tag)
        if simple is not None and text in simple:
            return simple[text]
        if tag == INT_TAG and _DECIMAL.match(text):
            return int(text)
        if tag == TIMESTAMP_TAG and _DATE.match(text):
            return date.fromisoformat(text)  # ValueError for a day no calendar has
        if self._constructor is None:
            from ruamel.yaml import YAML

            self._constructor = YAML(typ="safe", pure=True).constructor
        from ruamel.yaml.error import YAMLError as RuamelError
        from ruamel.yaml.nodes import ScalarNode as RuamelScalar

        copy = RuamelScalar(tag, text, node.start_mark, node.end_mark, node.style)
        try:
            return self._constructor.construct_object(copy, deep=True)
        except RuamelError as exc:
            raise _Unreadable(getattr(exc, "problem", None) or str(exc).splitlines()[0]) from None


def _reader_issue(file: str, text: str, exc: ReaderError) -> Issue:
    """A character YAML does not allow (NUL, other control characters): the reader gives
    only its offset in the text, from which the line and column follow."""
    position = min(max(int(exc.position), 0), len(text))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = exc.character
    shown = f"#x{character:04x}" if isinstance(character, int) else repr(character)
    return Issue(
        file, line, column, "", f"invalid YAML: character {shown} is not allowed ({exc.reason})"
    )


def compose(text: str, file: str) -> Document:
    """Compose and build YAML text (not too deeply nested: `document.parse_yaml` checked);
    raises SourceError with every problem found."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except MarkedYAMLError as exc:
        raise SourceError([syntax_issue(file, exc, text)]) from None
    except ReaderError as exc:
        raise SourceError([_reader_issue(file, text, exc)]) from None
    except YAMLError as exc:
        raise SourceError([Issue(file, None, None, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise SourceError([Issue(file, None, None, "", "YAML nested too deeply")]) from None
    finally:
        loader.dispose()
    builder = _Builder(file)
    built = True
    if node is not None:
        try:
            builder.document.data = builder.build(node, ())[0]
        except _Abort as exc:
            builder.issues.append(exc.issue)
            built = False
        except RecursionError:
            builder.issues.append(Issue(file, None, None, "", "YAML nested too deeply"))
            built = False
    builder.document.root = node
    if builder.issues:
        raise SourceError(builder.issues, builder.document if built else None)
    return builder.document
