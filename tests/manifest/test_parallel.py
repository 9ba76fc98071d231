"""Parsing many manifest files in worker processes: a first load gives exactly what a serial
one gives (CAs, where each is written, each environment's variant, warnings, every error
located), its cache serves the next load, and nothing depends on the workers surviving."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import loader, parallel

SETTINGS = """\
environments:
  dev: {workspace_id: 1}
  prod: {workspace_id: 3}
"""
#: CAs of several kinds: an override per environment, a CA of one environment only, a
#: seeding date (kept as a date through the cache) and a warning (the date condition).
CAS = """\
calculated_attributes:
  - name: Sessions {n}
    description: all sessions
    overrides:
      prod:
        active: false
        definition:
          time_period: {{within: 90}}
      dev:
        definition:
          seeding: {{cutoff_date: 2024-01-01}}
    definition:
      calculation_type: count
      datapoint: {{event_type: session_start}}
      time_period: {{type: within, within: 30, within_unit: days}}
  - name: Rolling {n}
    environments: [dev]
    definition:
      calculation_type: count
      datapoint: {{event_type: session_start}}
      conditions:
        - {{type: date, operator: after, attribute_name: Joined, value: 2024-01-01}}
      time_period: {{type: within, within: 7, within_unit: days}}
"""
ENVIRONMENTS = (None, "dev", "prod")


def directory(folder: Path, files: int = 6, per_file: int = 4) -> Path:
    folder.mkdir()
    (folder / "reconciler.yaml").write_text(SETTINGS)
    for number in range(files):
        text = "".join(
            CAS.format(n=number * per_file + k).split("\n", 1)[1] for k in range(per_file)
        )
        (folder / f"cas-{number:02d}.yaml").write_text("calculated_attributes:\n" + text)
    return folder


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers for any amount of YAML, and the number of jobs they were handed."""
    monkeypatch.setattr(parallel, "FORKED_FROM", 0)
    monkeypatch.setattr(parallel, "SPAWNED_FROM", 0)
    handed: list[int] = []
    real = parallel.mapped

    def counted(work: Callable[[Any], Any], jobs: Sequence[Any], workers: int) -> Iterator[Any]:
        handed.append(len(jobs))
        return real(work, jobs, workers)

    monkeypatch.setattr(parallel, "mapped", counted)
    return handed


def load(folder: Path, monkeypatch: pytest.MonkeyPatch, workers: int, cache: Path | None) -> Any:
    with monkeypatch.context() as patched:
        patched.setenv("RECONCILER_WORKERS", str(workers))
        patched.setenv("RECONCILER_CACHE_DIR", str(cache) if cache else "")
        return loader.load(folder)


def seen(loaded: loader.Manifests) -> list[Any]:
    """Everything a command reads of loaded manifests, in each environment."""
    found: list[Any] = [loaded.files, loaded.warnings]
    for environment in ENVIRONMENTS:
        for desired in loaded.for_environment(environment):
            ca = desired.ca
            found.append((desired.file, desired.line, desired.column, desired.environments))
            found.append((ca.name, ca.description, ca.active, ca.renamed_from, ca.protect))
            found.append((ca.canonical, ca.definition, desired.mentions))
    return found


def test_a_first_load_in_workers_gives_what_a_serial_load_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_workers: list[int]
) -> None:
    folder = directory(tmp_path / "m")
    serial = seen(load(folder, monkeypatch, 1, tmp_path / "serial-cache"))
    assert in_workers == []
    assert seen(load(folder, monkeypatch, 2, tmp_path / "cache")) == serial
    assert in_workers == [6]
    # The entries written from what the workers found serve the next load as they are.
    assert seen(load(folder, monkeypatch, 2, tmp_path / "cache")) == serial
    assert in_workers == [6]
    assert seen(load(folder, monkeypatch, 2, None)) == serial  # no cache at all
    assert in_workers == [6, 6]
    assert any(warning.line for warning in load(folder, monkeypatch, 1, None).warnings)


def test_every_error_is_reported_as_a_serial_load_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_workers: list[int]
) -> None:
    folder = directory(tmp_path / "m")
    (folder / "cas-01.yaml").write_text("calculated_attributes: [a: b: c]\n")
    text = (folder / "cas-03.yaml").read_text()
    (folder / "cas-03.yaml").write_text(text.replace("within: 7", "within: -7", 1))
    (folder / "cas-05.yaml").write_text(CAS.format(n=0))  # names of cas-00.yaml again
    errors = []
    for workers in (1, 2):
        with pytest.raises(ManifestError) as caught:
            load(folder, monkeypatch, workers, tmp_path / f"cache-{workers}")
        errors.append(caught.value.issues)
    assert errors[0] == errors[1]
    assert in_workers == [6]
    assert {issue.file.rsplit("/", 1)[1] for issue in errors[0]} == {
        "cas-01.yaml",
        "cas-03.yaml",
        "cas-05.yaml",
    }
    assert all(issue.line for issue in errors[0])


def pid_of(job: int) -> tuple[int, int]:
    return job, os.getpid()


def test_work_is_done_by_other_processes_and_comes_back_in_order() -> None:
    results = list(parallel.mapped(pid_of, list(range(40)), 2))
    assert [job for job, _ in results] == list(range(40))
    assert os.getpid() not in {pid for _, pid in results}


def signal_handlers(job: int) -> tuple[object, object]:
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_workers_leave_ctrl_c_and_sigterm_to_the_command() -> None:
    """Ctrl-C reaches every process of the group (and a CI runner's SIGTERM may): only the
    command's own handles it; SIGTERM ends a worker silently, with no traceback of the
    command's handler. The pool must be able to end its workers with SIGTERM: Python 3.12+
    does so when one dies (a worker that ignored it hung the load for good, on the test
    below)."""
    command = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    workers = list(parallel.mapped(signal_handlers, [1, 2], 2))
    assert workers == [(signal.SIG_IGN, signal.SIG_DFL)] * 2
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == command


def dies_in_a_worker(job: tuple[int, int]) -> tuple[int, int]:
    number, parent = job
    if number == 3 and os.getpid() != parent:
        os._exit(1)  # a worker killed (out of memory, a signal) in the middle of a job
    return number, os.getpid()


def test_jobs_a_dead_worker_left_are_done_here() -> None:
    results = list(parallel.mapped(dies_in_a_worker, [(n, os.getpid()) for n in range(8)], 2))
    assert [job for job, _ in results] == list(range(8))
    assert dict(results)[3] == os.getpid()


def test_workers_only_for_enough_yaml_and_when_allowed() -> None:
    enough = parallel.SPAWNED_FROM  # enough however workers start
    assert parallel.worth(enough, 10, 4) == 4
    assert parallel.worth(enough, 3, 4) == 3  # no more workers than files
    assert parallel.worth(enough, 10, 1) == 0  # RECONCILER_WORKERS=1
    assert parallel.worth(enough, 1, 4) == 0
    assert parallel.worth(parallel.FORKED_FROM - 1, 10, 4) == 0
    assert parallel.worth(enough, 100, 64) == parallel.MAX_WORKERS
    cores = min(parallel.available_cores(), parallel.MAX_WORKERS)
    assert parallel.worth(enough, 100, None) == (cores if cores > 1 else 0)


def test_a_process_running_threads_starts_its_workers_afresh() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert parallel._context().get_start_method() == "spawn"
    finally:
        release.set()
        thread.join()
