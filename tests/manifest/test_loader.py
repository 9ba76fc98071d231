"""Loading a manifest directory: discovery, cross-file rules, warnings, settings file."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler import manifest
from reconciler.errors import ManifestError

CA = """calculated_attributes:
  - name: {name}
    definition:
      calculation_type: count
      datapoint: {{event_type: session_start}}
      time_period: {{type: within, within: 7, within_unit: days}}
"""


def workspace(tmp_path: Path, files: dict[str, str], settings: str = "workspace_id: 1\n") -> Path:
    (tmp_path / "reconciler.yaml").write_text(settings)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def errors_of(directory: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        manifest.load(directory)
    return [str(issue).replace(f"{directory}/", "") for issue in caught.value.issues]


def test_files_are_read_in_path_order_including_subfolders(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        {
            "b.yml": CA.format(name="B"),
            "a/z.yaml": CA.format(name="AZ"),
            "a.yaml": CA.format(name="A"),
            ".hidden/x.yaml": CA.format(name="Hidden"),
            ".reconciler/cache.yaml": "not: [a manifest",
            "notes.txt": "ignored",
        },
    )
    loaded = manifest.load(root)
    assert [c.name for c in loaded.cas] == ["A", "AZ", "B"]
    assert loaded.settings.workspace_id == 1


def test_duplicate_names_across_files_name_both_places(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"one.yaml": CA.format(name="X"), "two.yaml": CA.format(name="X")})
    assert errors_of(root) == [
        'two.yaml:2:5: name: duplicate CA name "X": also defined at one.yaml:2; '
        "names are unique per workspace"
    ]


def test_duplicate_names_are_found_even_in_invalid_cas(tmp_path: Path) -> None:
    invalid = CA.format(name="X").replace("count", "counts")
    root = workspace(tmp_path, {"one.yaml": CA.format(name="X"), "two.yaml": invalid})
    found = errors_of(root)
    assert any("duplicate CA name" in line for line in found)
    assert any("'counts' is not valid; did you mean `count`?" in line for line in found)


def test_renamed_from_must_not_name_a_declared_ca(tmp_path: Path) -> None:
    renamed = CA.format(name="New").replace(
        "  - name: New\n", "  - name: New\n    renamed_from: Old\n"
    )
    root = workspace(tmp_path, {"a.yaml": renamed, "b.yaml": CA.format(name="Old")})
    assert errors_of(root) == [
        'a.yaml:2:5: renamed_from: "Old" is still declared at b.yaml:2; a CA cannot be renamed '
        "and kept: remove one. To give the old name to a new CA, apply the rename first "
        '(without "Old"), then remove renamed_from and declare "Old" again'
    ]


def test_two_cas_cannot_claim_one_old_name(tmp_path: Path) -> None:
    first = CA.format(name="A").replace("  - name: A\n", "  - name: A\n    renamed_from: Old\n")
    second = CA.format(name="B").replace("  - name: B\n", "  - name: B\n    renamed_from: Old\n")
    root = workspace(tmp_path, {"a.yaml": first, "b.yaml": second})
    assert errors_of(root) == [
        'b.yaml:2:5: renamed_from: "Old" is also the renamed_from of "A" at a.yaml:2'
    ]


def test_empty_files_and_empty_lists_are_fine(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"empty.yaml": "", "none.yaml": "calculated_attributes: []\n"})
    assert manifest.load(root).cas == ()


def test_a_list_at_the_top_is_explained(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"a.yaml": "- name: x\n"})
    assert errors_of(root) == [
        "a.yaml:1:1: expected a mapping with `calculated_attributes:` at the top, got a list"
    ]


def test_a_duplicate_key_hides_no_other_error_of_its_file(tmp_path: Path) -> None:
    """All errors at once (SPEC §2): a duplicate key is reported beside the file's other
    problems, relative to its CA and naming it as they are; a top level or a CA that is no
    mapping says what it is, and a key that is no text too."""
    a = (
        "calculated_attributes:\n"
        "  - name: A\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_startt}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
        "  - name: B\n"
        "    description: one\n"
        "    description: two\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
    )
    files = {"a.yaml": a, "b.yaml": '"text"\n', "c.yaml": "calculated_attributes: [1]\n[a]: b\n"}
    assert errors_of(workspace(tmp_path, files)) == [
        "a.yaml:5:31: definition.datapoint.event_type: 'session_startt' is not valid; did you "
        'mean `session_start`? (CA "A")',
        'a.yaml:9:5: description: duplicate key `description` (first at line 8); keep one (CA "B")',
        "b.yaml:1:1: expected a mapping with `calculated_attributes:` at the top, got text",
        "c.yaml:1:25: calculated_attributes[0]: expected a mapping, got 1",
        "c.yaml:2:1: keys must be text, not a list",
    ]


def test_yaml_anchors_share_definitions(tmp_path: Path) -> None:
    text = """x-base: &base
  calculation_type: count
  datapoint: {event_type: session_start}
  time_period: {type: within, within: 7, within_unit: days}
calculated_attributes:
  - name: A
    definition: *base
  - name: B
    definition:
      <<: *base
      time_period: {type: within, within: 14, within_unit: days}
"""
    loaded = manifest.load(workspace(tmp_path, {"a.yaml": text}))
    by_name = {c.name: c.ca.definition.canonical for c in loaded.cas}
    assert by_name["A"]["time_period"] == {
        "type": "within",
        "date": None,
        "within": 7,
        "within_unit": "days",
    }
    assert by_name["B"]["time_period"] is not None
    assert by_name["B"]["time_period"]["within"] == 14
    assert by_name["A"]["datapoint"] == by_name["B"]["datapoint"]


def test_errors_in_shared_anchors_point_at_the_anchor(tmp_path: Path) -> None:
    text = """x-base: &base
  calculation_type: count
  datapoint: {event_type: sesion_start}
  time_period: {type: within, within: 7, within_unit: days}
calculated_attributes:
  - name: A
    definition: *base
"""
    assert errors_of(workspace(tmp_path, {"a.yaml": text})) == [
        "a.yaml:3:27: definition.datapoint.event_type: 'sesion_start' is not valid; "
        'did you mean `session_start`? (CA "A")'
    ]


def test_settings_file_is_required(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CA.format(name="A"))
    found = errors_of(tmp_path)
    assert found[0].startswith("reconciler.yaml: not found")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        manifest.load(tmp_path / "nope")
    assert "no such directory" in str(caught.value)


def test_run_inside_a_manifest_directory_the_default_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reconciler plan` run inside the manifest folder (or below it) said only
    "manifests: no such directory", though the folder wanted was the one it ran in."""
    (tmp_path / "repo" / "cas").mkdir(parents=True)
    root = workspace(tmp_path / "repo" / "cas", {"a.yaml": CA.format(name="A")})
    monkeypatch.chdir(root)
    [issue] = errors_of(Path("manifests"))
    assert issue == (
        "manifests: no such directory; the current directory is a manifest directory "
        "itself (it holds the reconciler.yaml): name it as `.`"
    )
    (root / "team" / "eu").mkdir(parents=True)
    monkeypatch.chdir(root / "team" / "eu")
    [issue] = errors_of(Path("manifests"))
    assert issue == (
        "manifests: no such directory; the current directory is inside the manifest "
        "directory ../.. (it holds the reconciler.yaml): name that directory instead"
    )
    with pytest.raises(ManifestError) as caught:  # team/eu named as if it were one
        manifest.load(Path("."))
    [issue] = [str(issue) for issue in caught.value.issues]
    assert issue == (
        "reconciler.yaml: not found: is . a manifest directory? It needs a reconciler.yaml "
        "(at least `workspace_id: <id>`); it is inside the manifest directory ../.., which "
        "holds one: name that instead"
    )
    monkeypatch.chdir(root)
    [issue] = errors_of(Path("team"))
    assert issue.endswith(
        "; it is inside the current directory, a manifest directory: name it as `.`"
    )
    monkeypatch.chdir(tmp_path)  # nothing around it: no guess
    assert errors_of(Path("manifests")) == ["manifests: no such directory"]
    (tmp_path / "empty").mkdir()
    [issue] = errors_of(tmp_path / "empty")
    assert issue.endswith("(at least `workspace_id: <id>`)"), issue


def test_a_file_given_for_the_directory_is_called_a_file(tmp_path: Path) -> None:
    """`reconciler validate manifests/commerce.yaml` said "no such directory" of a file
    that is plainly there."""
    (tmp_path / "a.yaml").write_text(CA.format(name="A"))
    with pytest.raises(ManifestError) as caught:
        manifest.load(tmp_path / "a.yaml")
    [issue] = caught.value.issues
    assert issue.message == (
        "a file, not a directory: commands read a whole manifest directory, the folder "
        f"with the reconciler.yaml (such as {tmp_path})"
    )


def test_a_settings_file_that_is_no_file_is_not_called_missing(tmp_path: Path) -> None:
    """A folder named reconciler.yaml, or a link to nothing, was "not found: is DIR a
    manifest directory?", of a name plainly there; each now says what it is."""
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A")})
    (root / "reconciler.yaml").unlink()
    (root / "reconciler.yaml").mkdir()
    assert errors_of(root) == [
        "reconciler.yaml: not a file (a folder, a pipe or a device): the settings are a YAML file"
    ]
    (root / "reconciler.yaml").rmdir()
    (root / "reconciler.yaml").symlink_to("gone.yaml")
    assert errors_of(root) == [
        "reconciler.yaml: cannot read: it is a symbolic link to gone.yaml, which cannot be "
        "read (No such file or directory)"
    ]


def test_a_manifest_behind_a_broken_link_is_an_error_not_skipped(tmp_path: Path) -> None:
    """Skipped, a link to nothing (a moved file, a checkout without its submodule) would
    make its CAs look deleted: plan would call them unmanaged and prune delete them."""
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A")})
    (root / "shared.yaml").symlink_to(root / "elsewhere" / "shared.yaml")
    (root / "loop.yaml").symlink_to(root / "loop.yaml")
    assert errors_of(root) == [
        "loop.yaml: cannot read: it is a symbolic link to loop.yaml, which cannot be read "
        "(Too many levels of symbolic links)",
        "shared.yaml: cannot read: it is a symbolic link to elsewhere/shared.yaml, which "
        "cannot be read (No such file or directory)",
    ]
    (root / ".reconcilerignore").write_text("shared.yaml\nloop.yaml\n")
    assert [ca.name for ca in manifest.load(root).cas] == ["A"]


def test_a_folder_link_that_leads_nowhere_is_an_error_not_skipped(tmp_path: Path) -> None:
    """A linked folder is read as a subfolder, but once its target moved (or a CI checkout
    lacks the sibling it links to) the link was left out without a word, its name not
    being a YAML file's: the CAs read through it the day before looked deleted."""
    common, root = tmp_path / "common", tmp_path / "root"
    common.mkdir()
    root.mkdir()
    (common / "b.yaml").write_text(CA.format(name="B"))
    workspace(root, {"a.yaml": CA.format(name="A")})
    (root / "shared").symlink_to("../common")
    assert [ca.name for ca in manifest.load(root).cas] == ["A", "B"]
    common.rename(tmp_path / "moved")
    assert errors_of(root) == [
        "shared: cannot read: it is a symbolic link to ../common, which cannot be read (No "
        "such file or directory); if it led to a folder, that folder's CAs would look "
        "deleted: restore it, remove the link, or name it in .reconcilerignore"
    ]
    (root / ".reconcilerignore").write_text("shared/\n")
    assert [ca.name for ca in manifest.load(root).cas] == ["A"]


def test_a_linked_folder_is_read_as_a_subfolder_and_a_link_loop_is_named(
    tmp_path: Path,
) -> None:
    """`Path.rglob` skipped a symbolic link to a folder without a word (a linked file was
    read): the CAs of `shared -> ../common` looked deleted, and prune deleted them. A link
    back to a folder holding it (`up -> ..`) is an error naming it, not endless reading."""
    common, root = tmp_path / "common", tmp_path / "root"
    common.mkdir()
    root.mkdir()
    (common / "b.yaml").write_text(CA.format(name="B"))
    workspace(root, {"a.yaml": CA.format(name="A")})
    (root / "shared").symlink_to(common)
    assert [ca.name for ca in manifest.load(root).cas] == ["A", "B"]
    assert [path.name for path in manifest.discover(root)] == ["a.yaml", "b.yaml"]
    (root / "up").symlink_to("..")
    message = (
        "up: is a symbolic link to .., a folder it is already inside: its files would be "
        "read again and again; remove the link, or name it in .reconcilerignore"
    )
    assert errors_of(root) == [message]
    (root / ".reconcilerignore").write_text("up\n")
    assert [ca.name for ca in manifest.load(root).cas] == ["A", "B"]


def test_two_links_that_lead_into_each_other_are_named_not_read_forty_times(
    tmp_path: Path,
) -> None:
    """`x/a/y -> ../b` beside `x/b/z -> ../a`, outside the manifest directory and reached
    through `shared -> ../x/a`: neither link leads to a folder holding it, so the first
    check let the walk go round (shared/y/z/y/z/...) until the system refused the path,
    forty links on, reading one.yaml again at every turn."""
    (tmp_path / "root").mkdir()
    root = workspace(tmp_path / "root", {"a.yaml": CA.format(name="A")})
    outside = tmp_path / "x"
    (outside / "a").mkdir(parents=True)
    (outside / "b").mkdir()
    (outside / "a" / "one.yaml").write_text(CA.format(name="B"))
    (outside / "a" / "y").symlink_to("../b")
    (outside / "b" / "z").symlink_to("../a")
    (root / "shared").symlink_to("../x/a")
    assert errors_of(root) == [
        "shared/y/z: is a symbolic link to ../a, a folder it is already inside: its files "
        "would be read again and again; remove the link, or name it in .reconcilerignore"
    ]


def test_a_link_to_a_folder_the_walk_reads_in_place_is_not_read_twice(tmp_path: Path) -> None:
    """`current -> v2` (or two folders linked to each other) inside the manifest
    directory: followed like any link, every CA of v2 was declared twice ("duplicate CA
    name"), where the old walk skipped the link. It is read in its own place, once; a
    link to a folder the walk leaves out (ignored, hidden) is how its files are read."""
    root = workspace(tmp_path, {"v2/a.yaml": CA.format(name="A"), "b/b.yaml": CA.format(name="B")})
    (root / "current").symlink_to("v2")
    (root / "b" / "back").symlink_to("../v2")
    (root / "v2" / "next").symlink_to("../b")
    assert [path.name for path in manifest.discover(root)] == ["b.yaml", "a.yaml"]
    assert sorted(ca.name for ca in manifest.load(root).cas) == ["A", "B"]
    (root / "b" / "back").unlink()
    (root / ".reconcilerignore").write_text("v2/\n")  # read through current/ only
    assert [str(p.relative_to(root)) for p in manifest.discover(root)] == [
        "b/b.yaml",
        "current/a.yaml",
    ]


def test_folders_that_cannot_be_walked_are_named_in_path_order(tmp_path: Path) -> None:
    """As the files are read: the walk took the last folder first, so `c` came before
    `b/up`, and `b/up` before `a/up`, ahead of the errors of the files, in path order."""
    root = workspace(tmp_path, {"a/a.yaml": CA.format(name="A"), "z.yaml": "x: [\n"})
    (root / "b").mkdir()
    for link in ("a/up", "b/up", "c"):
        (root / link).symlink_to(root)
    errors = errors_of(root)
    assert [error.split(":")[0] for error in errors] == ["a/up", "b/up", "c", "z.yaml"]


def test_a_folder_that_cannot_be_read_is_an_error_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Path.rglob` swallows the PermissionError of a folder this user may not read
    (`chmod 000`, another user's): its CAs looked deleted. Root reads any folder, so the
    refusal a non-root user meets is made here."""
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A"), "locked/b.yaml": "x"})
    scandir = os.scandir

    def refusing(path: Path) -> Any:
        if Path(path).name == "locked":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    assert errors_of(root) == ["locked: cannot read this folder: Permission denied"]
    (root / ".reconcilerignore").write_text("locked/\n")
    assert [ca.name for ca in manifest.load(root).cas] == ["A"]


def test_an_ignore_file_that_is_a_pipe_is_an_error_not_a_wait(tmp_path: Path) -> None:
    """Reading a pipe named `.reconcilerignore` waited for a writer for ever: validate,
    plan and test hung without a word. (Here a writer comes, for the old code to end.)"""
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A")})
    pipe = root / ".reconcilerignore"
    os.mkfifo(pipe)

    def feed() -> None:
        with pipe.open("w") as writer:
            writer.write("a.yaml\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        assert errors_of(root) == [
            ".reconcilerignore: cannot read: not a file (a pipe, a socket or a device)"
        ]
    finally:
        reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # the writer's open returns
        writer.join(5)
        os.close(reader)
    assert not writer.is_alive()


def test_an_ignore_file_that_hides_every_manifest_is_warned_about(tmp_path: Path) -> None:
    """`***` or `*.yaml` in .reconcilerignore leaves no CA declared: every live CA would be
    unmanaged, and with prune deleted. Valid, but never silent."""
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A"), "sub/b.yml": CA.format(name="B")})
    (root / ".reconcilerignore").write_text("*.yaml\n*.yml\n")
    loaded = manifest.load(root)
    assert loaded.cas == ()
    assert [str(issue) for issue in loaded.warnings] == [
        f"{root / '.reconcilerignore'}: hides every manifest file (2 of them, such as a.yaml): "
        "no CA is declared, so every live CA is unmanaged, and with prune the plan deletes "
        "them all"
    ]
    (root / ".reconcilerignore").write_text("sub/\n")
    assert manifest.load(root).warnings == ()
    # A nested export's settings file, ignored with the rest, is no manifest it counts.
    (root / "sub" / "reconciler.yaml").write_text("workspace_id: 2\n")
    (root / ".reconcilerignore").write_text("*.yaml\n*.yml\n")
    [warning] = manifest.load(root).warnings
    assert "(2 of them, such as a.yaml)" in str(warning)


def test_a_condition_type_that_is_no_text_is_a_located_error(tmp_path: Path) -> None:
    """The quoting check read a condition's rules by its type: a list there (the fuzz test
    found `type: []`) was "unexpected TypeError: unhashable type", exit 3."""
    condition = (
        "      conditions:\n"
        "        - {type: number, operator: equals, attribute_name: A, value: 0.5}\n"
        "        - {type: [], operator: empty, attribute_name: B}\n"
    )
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A") + condition})
    assert errors_of(root) == [
        "a.yaml:9:18: definition.conditions[1].type: a list is not valid; use one of: "
        'string, number, boolean, date (CA "A")'
    ]


def test_input_quoted_in_an_error_cannot_drive_the_terminal(tmp_path: Path) -> None:
    # An escape sequence (recolour, retitle), a bidi override and a line separator in a key.
    key = "\x1b[31mred\x1b]0;title\x07\u202e\u2028x"
    text = CA.format(name="A") + f'    "{key.encode("unicode_escape").decode()}": 1\n'
    (issue,) = errors_of(workspace(tmp_path, {"cas.yaml": text}))
    assert issue.isprintable()
    assert "\\x1b[31mred\\x1b]0;title\\x07\\u202e\\u2028x" in issue


def test_reconcilerignore_takes_gitignore_patterns(tmp_path: Path) -> None:
    """YAML that is no manifest (a CI config, Helm values, drafts) is named in
    `.reconcilerignore` as in `.gitignore`: directories, globs, anchoring, negation."""
    root = workspace(
        tmp_path,
        {
            ".reconcilerignore": (
                "# not manifests\nci/\n*.values.yaml\n!kept.values.yaml\n/top.yaml\n"
            ),
            "ci/pipeline.yaml": "stages: [build]\n",
            "helm/app.values.yaml": "replicas: 3\n",
            "kept.values.yaml": CA.format(name="Kept"),
            "top.yaml": "not: [a manifest",
            "nested/top.yaml": CA.format(name="Nested"),
            "cas.yaml": CA.format(name="Sessions"),
        },
    )
    loaded = manifest.load(root)
    assert [c.name for c in loaded.cas] == ["Sessions", "Kept", "Nested"]


def test_an_invalid_ignore_pattern_is_a_located_error(tmp_path: Path) -> None:
    root = workspace(tmp_path, {".reconcilerignore": "ci/\n!\n", "cas.yaml": CA.format(name="A")})
    assert errors_of(root) == [".reconcilerignore:2:1: invalid gitignore pattern '!'"]
    (root / ".reconcilerignore").write_bytes(b"ci/\n\xff\xfe drafts/\n")
    assert errors_of(root) == [".reconcilerignore:2:1: is not UTF-8 text"]


def test_ignored_test_files_are_not_tests(tmp_path: Path) -> None:
    from reconciler.testfiles.loader import discover
    from reconciler.workspace.suites import present

    root = workspace(
        tmp_path, {".reconcilerignore": "vendor/\n", "vendor/x.test.yaml": "users: {}\n"}
    )
    assert discover(root) == []
    assert not present(root)
    (root / "own.test.yaml").write_text("users: {}\n")
    assert discover(root) == [root / "own.test.yaml"]
    assert present(root)


@pytest.mark.parametrize("pattern", ["([a-z", "a{3,1}"])
def test_a_pattern_the_evaluator_cannot_read_is_warned_about(tmp_path: Path, pattern: str) -> None:
    """`reconciler test` treats a pattern that does not compile (a typo) as matching
    nothing (R14): a test of it would pass or fail for that reason alone. Java's `\\p{L}`
    compiles: the `regex` library reads it as Java does."""
    condition = (
        "      conditions:\n"
        f'        - {{type: string, operator: pattern, attribute_name: Term, value: "{pattern}"}}\n'
    )
    root = workspace(tmp_path, {"a.yaml": CA.format(name="A") + condition})
    [warning] = [str(issue).replace(f"{root}/", "") for issue in manifest.load(root).warnings]
    written = pattern.replace("\\\\", "\\")
    assert warning.startswith(f"a.yaml:8:74: definition.conditions[0].value: pattern `{written}` ")
    assert "is not a regular expression `reconciler test` can read (" in warning
    assert warning.endswith('): there it matches nothing (CA "A")')
    for readable in ("^a.*z$", "\\\\p{L}+"):
        (root / "a.yaml").write_text(CA.format(name="A") + condition.replace(pattern, readable))
        assert manifest.load(root).warnings == ()


def test_an_ignore_file_saved_on_windows_ignores_its_first_pattern_too(tmp_path: Path) -> None:
    """Notepad and PowerShell's `Out-File -Encoding utf8` start a file with a byte order
    mark, and end lines with CRLF. The mark made the first pattern `\\ufeffdrafts/`, which
    matched nothing: the drafts it names were read as manifests, to be created (Git
    itself skips the mark in `.gitignore`)."""
    root = workspace(
        tmp_path,
        {"drafts/wip.yaml": CA.format(name="Draft"), "cas.yaml": CA.format(name="Sessions")},
    )
    (root / ".reconcilerignore").write_bytes(b"\xef\xbb\xbfdrafts/\r\n*.values.yaml\r\n")
    assert [c.name for c in manifest.load(root).cas] == ["Sessions"]


#: A name mParticle accepts: a `"`, a line break and a right-to-left override in it.
TRICKY = 'Evil "x" \n\u202eboN'
#: That name as the plan's change lines write it: quoted, `"` escaped, the rest escaped.
TRICKY_QUOTED = '"Evil \\"x\\" \\n\\u202eboN"'


def test_a_duplicate_name_is_quoted_as_the_plan_quotes_it(tmp_path: Path) -> None:
    """A `"` in a name read as the end of it, and a line break or U+202E in it reached the
    terminal raw: a duplicate name's error names it as the plan does, on one line."""
    written = '"Evil \\"x\\" \\n\\u202eboN"'  # the YAML for TRICKY
    root = workspace(
        tmp_path, {"one.yaml": CA.format(name=written), "two.yaml": CA.format(name=written)}
    )
    with pytest.raises(ManifestError) as caught:
        manifest.load(root)
    assert caught.value.issues[0].message.startswith(f"duplicate CA name {TRICKY_QUOTED}: ")
    assert f"two.yaml:2:5: name: duplicate CA name {TRICKY_QUOTED}: also" in str(caught.value)
    assert "\u202e" not in str(caught.value)
    assert 'duplicate CA name "Evil "x"' not in str(caught.value)


def test_a_name_longer_than_mparticle_keeps_is_warned_about(tmp_path: Path) -> None:
    """The default service limits: event names, event attribute names and user attribute
    names are 256 characters at most ("For S2S data, names exceeding the limit will be
    truncated"; the SDKs drop them): a CA selecting by a longer one matches nothing."""
    long = "n" * 257
    text = (
        "calculated_attributes:\n"
        "  - name: A\n"
        "    definition:\n"
        "      calculation_type: sum\n"
        f"      datapoint: {{event_type: custom_event, custom_event_type: other, "
        f"event_name: {long}, attribute_name: {long}}}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
        "      conditions:\n"
        f"        - {{type: string, operator: exists, attribute_name: {long}}}\n"
    )
    root = workspace(tmp_path, {"a.yaml": text})
    warnings = [str(issue).replace(f"{root}/", "") for issue in manifest.load(root).warnings]
    fields = [w.split(": ")[1] for w in warnings]
    assert fields == [
        "definition.datapoint.event_name",
        "definition.datapoint.attribute_name",
        "definition.conditions[0].attribute_name",
    ], warnings
    assert all("is 257 characters; mParticle keeps" in w for w in warnings)
    assert "event names to 256" in warnings[0]
    assert warnings[0].endswith('the CA would match nothing (CA "A")')
    (root / "a.yaml").write_text(text.replace(long, "n" * 256))
    assert manifest.load(root).warnings == ()


def test_a_settings_file_in_a_sub_folder_is_one_error_saying_what_it_is(tmp_path: Path) -> None:
    """An export placed inside a manifest folder (`export --out DIR/team`): its
    reconciler.yaml was read as a manifest, an "unknown top-level key" for each setting,
    which said nothing of the cause. Named in .reconcilerignore, it is left alone."""
    root = workspace(
        tmp_path,
        {
            "a.yaml": CA.format(name="A"),
            "team/reconciler.yaml": "workspace_id: 2\nprune: false\n",
            "team/b.yaml": CA.format(name="B"),
        },
    )
    assert errors_of(root) == [
        "team/reconciler.yaml: a settings file below the manifest directory: "
        "team looks like a manifest directory of its own (an export?); plan it on "
        "its own, move it out, or name it in .reconcilerignore"
    ]
    (root / ".reconcilerignore").write_text("team/reconciler.yaml\n")
    assert [ca.name for ca in manifest.load(root).cas] == ["A", "B"]


def test_one_bad_condition_hides_none_of_the_others_problems(tmp_path: Path) -> None:
    """All errors at once (SPEC §2): a misspelt operator in one condition made the whole
    list invalid, so the other conditions' rules (a missing `max_value`, an in_list written
    with `value`, a boolean that is no boolean) showed only on the next run."""
    text = """calculated_attributes:
  - name: A
    definition:
      calculation_type: count
      datapoint: {event_type: session_start}
      conditions:
        - {type: number, operator: greater_then, attribute_name: a, value: "1"}
        - {type: string, operator: in_list, attribute_name: c, value: x}
        - {type: date, operator: between_dates, attribute_name: d, min_value: 2024-01-01}
        - {type: boolean, operator: equals, attribute_name: e, value: maybe}
        - not a condition
      time_period: {type: since, date: 2024-01-01}
"""
    assert errors_of(workspace(tmp_path, {"a.yaml": text})) == [
        "a.yaml:7:36: definition.conditions[0].operator: 'greater_then' is not valid; did you "
        'mean `greater_than`? (CA "A")',
        "a.yaml:8:11: definition.conditions[1].values: In-list condition values must be "
        'specified: in_list needs a non-empty `values` (CA "A")',
        "a.yaml:9:11: definition.conditions[2].max_value: Invalid date condition maximum "
        'value: `between_dates` needs `max_value` (CA "A")',
        "a.yaml:10:71: definition.conditions[3].value: Invalid boolean condition value: "
        "expected true or false, got 'maybe' (CA \"A\")",
        "a.yaml:11:11: definition.conditions[4]: expected a mapping, got 'not a condition' "
        '(CA "A")',
    ]


def test_a_partly_built_datapoint_shows_its_other_mistakes_too(tmp_path: Path) -> None:
    """A data point with one invalid field skipped its rules (a `custom_event` without
    `event_name`, a `custom_event_type` of another event type), and one without
    `event_type` said only that it was missing; an override that left a data point partly
    built was as silent. Each says what to write, in the same run."""
    week = "time_period: {type: within, within: 7, within_unit: days}"
    cas = [
        ("A", "{event_type: custom_event, attribute_category: bogus}"),
        ("B", "{event_type: commerce_event, custom_event_type: search, use_product_quantity: 1}"),
        ("C", "{type: evnt, event_type: session_start, custom_event_type: purchase}"),
        ("D", "{event_name: Purchase, attribute_category: bogus}"),
        ("E", "{event_type: custom, custom_event_type: purchase}"),
        ("F", "{}"),
    ]
    text = "calculated_attributes:\n" + "".join(
        f"  - name: {name}\n    definition:\n      calculation_type: count\n"
        f"      datapoint: {point}\n      {week}\n"
        for name, point in cas
    )
    text += (
        "  - name: G\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: custom_event, event_name: Search}\n"
        f"      {week}\n"
        "    overrides:\n"
        "      prod: {definition: {datapoint: {event_name: null, attribute_category: bogus}}}\n"
        "      dev: {definition: {datapoint: {event_type: null, custom_event_type: search}}}\n"
    )
    settings = "workspace_id: 1\nenvironments: {dev: {}, prod: {}}\n"
    category = "'bogus' is not valid; use one of: event_attribute, product_attribute, "
    category += "promotion_attribute"
    custom_name = "Invalid data point custom event name: `event_name` is required when "
    custom_name += "event_type is custom_event"
    assert errors_of(workspace(tmp_path, {"a.yaml": text}, settings)) == [
        f'a.yaml:5:18: definition.datapoint.event_name: {custom_name} (CA "A")',
        f'a.yaml:5:65: definition.datapoint.attribute_category: {category} (CA "A")',
        "a.yaml:10:66: definition.datapoint.custom_event_type: Invalid data point custom event "
        "type: `search` is not a commerce_event type; use one of add_to_cart, remove_from_cart, "
        "checkout, checkout_option, click, view_detail, purchase, refund, promotion_view, "
        'promotion_click, add_to_wishlist, remove_from_wishlist, impression (CA "B")',
        "a.yaml:10:96: definition.datapoint.use_product_quantity: expected true or false, got 1 "
        '(CA "B")',
        "a.yaml:15:25: definition.datapoint.type: 'evnt' is not valid; did you mean `event`? "
        '(CA "C")',
        "a.yaml:15:77: definition.datapoint.custom_event_type: Invalid data point custom event "
        "type: custom_event_type is only allowed when event_type is custom_event or "
        'commerce_event, not session_start (CA "C")',
        "a.yaml:20:18: definition.datapoint.event_type: required field `event_type` is missing; "
        'write the type of the event "Purchase": `event_type: custom_event` for an app event, '
        "else its Events API type (commerce_event with a custom_event_type, screen_view for a "
        'screen\'s name, ...) (CA "D")',
        f'a.yaml:20:61: definition.datapoint.attribute_category: {category} (CA "D")',
        "a.yaml:25:31: definition.datapoint.event_type: 'custom' is not valid; `purchase` is a "
        'commerce_event type: write `event_type: commerce_event` (CA "E")',
        "a.yaml:30:18: definition.datapoint.event_type: required field `event_type` is missing; "
        "write the type of the event it reads: `event_type: custom_event` with the app event's "
        "`event_name`, `commerce_event` with a `custom_event_type` (purchase, add_to_cart, ...), "
        'or another Events API type (session_start, screen_view, ...) (CA "F")',
        f"a.yaml:38:51: overrides.prod.definition.datapoint.event_name: {custom_name} (CA "
        '"G" in environment prod)',
        f"a.yaml:38:77: overrides.prod.definition.datapoint.attribute_category: {category} (CA "
        '"G" in environment prod)',
        "a.yaml:39:50: overrides.dev.definition.datapoint.event_type: required field "
        "`event_type` is missing; `search` is a custom_event type: write `event_type: "
        'custom_event` (CA "G" in environment dev)',
    ]


def test_an_invalid_condition_shows_its_other_mistakes_too(tmp_path: Path) -> None:
    """A misspelt operator hid the operands the condition's type cannot read (the `abc`
    of a number condition) until it was fixed. What the operator decides (whether it takes
    `value` at all) is not said while it is unknown, nor anything while the type is."""
    text = """calculated_attributes:
  - name: A
    definition:
      calculation_type: count
      datapoint: {event_type: session_start}
      conditions:
        - {type: number, operator: greater_then, attribute_name: a, value: abc}
        - {type: number, operator: betwen, attribute_name: b, min_value: x, values: [1, y]}
        - {type: numbr, operator: equals, attribute_name: c, value: abc}
        - {type: date, operator: equls, attribute_name: d}
      time_period: {type: since, date: 2024-01-01}
"""
    assert errors_of(workspace(tmp_path, {"a.yaml": text})) == [
        "a.yaml:7:36: definition.conditions[0].operator: 'greater_then' is not valid; did you "
        'mean `greater_than`? (CA "A")',
        "a.yaml:7:76: definition.conditions[0].value: Invalid numeric condition value: 'abc' "
        'is not a number (CA "A")',
        "a.yaml:8:36: definition.conditions[1].operator: 'betwen' is not valid; did you mean "
        '`between`? (CA "A")',
        "a.yaml:8:74: definition.conditions[1].min_value: Invalid numeric condition minimum "
        "value: 'x' is not a number (CA \"A\")",
        "a.yaml:8:89: definition.conditions[1].values[1]: Invalid numeric in-list condition "
        "values: 'y' is not a number (CA \"A\")",
        "a.yaml:9:18: definition.conditions[2].type: 'numbr' is not valid; did you mean "
        '`number`? (CA "A")',
        "a.yaml:10:34: definition.conditions[3].operator: 'equls' is not valid; did you mean "
        '`equals`? (CA "A")',
    ]
