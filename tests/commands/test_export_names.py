"""`reconciler export` names each file after its CA as a person would: Latin letters folded
to ASCII, letters of other scripts kept, one file per CA on any file system."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, RawApi, env_for


class Exported:
    """The CAs `names` created in the emulator's workspace and exported to `out`: their
    ids, and each file written, by name."""

    def __init__(self, tmp_path: Path, emulator: EmulatorServer, raw: RawApi, names: list[str]):
        self.ids = {name: raw.create(name, SESSIONS) for name in names}
        self.env = env_for(emulator.url)
        self.out = tmp_path / "exported"
        self.args = ("export", tmp_path, "--out", self.out, "--workspace-id", "1234")
        result = run_cli(*self.args, env=self.env)
        assert result.exit_code == 0, result.output
        self.written = self.files()

    def files(self) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in self.out.iterdir()}

    def converges(self) -> None:
        """The export plans empty, and an export over it writes the same bytes."""
        planned = run_cli("plan", self.out, "--detailed-exitcode", env=self.env)
        assert planned.exit_code == 0, planned.output
        again = run_cli(*self.args, "--force", env=self.env)
        assert again.exit_code == 0, again.output
        assert self.files() == self.written


def test_names_in_any_script_give_files_named_after_them_and_plan_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`Straße` was `strae.yaml`, `Москва` and `売上 合計` both `ca.yaml` (one of them
    `ca-<id>.yaml`). Names one file system would take for one file get the id: `STRASSE`
    and `Straße` (one stem), `МОСКВА` and `Москва` (one stem, ignoring case), `Σίσυφος` and
    `ΣΊΣΥΦΟΣ`. The export plans empty, and an export over it writes the same bytes."""
    names = ["Café spend", "Ümsatz", "Straße", "STRASSE", "Москва", "МОСКВА", "売上 合計"]
    names += ["Σίσυφος", "ΣΊΣΥΦΟΣ", "Łódź", "zero\u200bwidth"]
    exported = Exported(tmp_path, emulator, raw, names)
    ids, written = exported.ids, exported.written
    assert sorted(written) == sorted(
        [
            "reconciler.yaml",
            "cafe-spend.yaml",
            "umsatz.yaml",
            "strasse.yaml",  # STRASSE, first by name
            f"strasse-{ids['Straße']}.yaml",
            "москва.yaml",  # МОСКВА, first by name
            f"москва-{ids['Москва']}.yaml",
            "売上-合計.yaml",
            "σίσυφος.yaml",  # ΣΊΣΥΦΟΣ, first by name
            f"σίσυφος-{ids['Σίσυφος']}.yaml",
            "lodz.yaml",
            "zerowidth.yaml",
        ]
    )
    assert all(unicodedata.is_normalized("NFC", name) for name in written)
    assert "- name: Straße\n" in written[f"strasse-{ids['Straße']}.yaml"].decode()
    exported.converges()


def test_an_export_over_one_that_dropped_letters_renames_those_files(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """An export made by an earlier version named `Straße` `strae.yaml`: one over it
    with `--force` writes `strasse.yaml` and removes `strae.yaml`, so the CA is declared
    once, and the folder plans empty."""
    raw.create("Straße", SESSIONS)
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    args = ("export", tmp_path, "--out", out, "--workspace-id", "1234")
    assert run_cli(*args, env=env).exit_code == 0
    (out / "strasse.yaml").rename(out / "strae.yaml")  # as the earlier version wrote it
    result = run_cli(*args, "--force", env=env)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == ["reconciler.yaml", "strasse.yaml"]
    planned = run_cli("plan", out, "--detailed-exitcode", env=env)
    assert planned.exit_code == 0, planned.output


def test_names_that_fold_to_a_windows_device_name_get_the_id_and_plan_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`ＣＯＮ` and `ℂON` fold to `con`, `COM¹` to `com1`: Windows' console and serial port
    whatever the extension, so each gets its id, as `COM0` does (in Microsoft's list).
    Every file name is lowercase (`ℂON` was `Con-<id>.yaml`, `Brand™` `brandTM.yaml`). The
    export plans empty, and an export over it writes the same bytes."""
    names = ["ＣＯＮ", "ℂON", "COM¹", "COM0", "Brand™"]
    exported = Exported(tmp_path, emulator, raw, names)
    ids, written = exported.ids, exported.written
    assert sorted(written) == sorted(
        [
            "reconciler.yaml",
            f"con-{ids['ＣＯＮ']}.yaml",
            f"con-{ids['ℂON']}.yaml",
            f"com1-{ids['COM¹']}.yaml",
            f"com0-{ids['COM0']}.yaml",
            "brandtm.yaml",
        ]
    )
    exported.converges()
