"""Task registry: a name -> Task mapping with errors that list what exists."""

from __future__ import annotations

from typing import Callable

from tfft.errors import TfftError
from tfft.tasks.base import Task

_TASKS: dict[str, Callable[[], Task]] = {}


def register(name: str, factory: Callable[[], Task]) -> None:
    """Registers a task factory under ``name``.

    Raises:
        ValueError: ``name`` is already registered (two tasks cannot share a name).
    """
    if name in _TASKS:
        raise ValueError(f"Task '{name}' is already registered; pick another name.")
    _TASKS[name] = factory


def names() -> list[str]:
    """Registered task names, sorted."""
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The task registered as ``name``.

    Raises:
        TfftError: no such task; the message lists the known ones.
    """
    if name not in _TASKS:
        raise TfftError(f"Unknown task '{name}'. Known tasks: {', '.join(names())}. Pass one with --task=<name>.")
    return _TASKS[name]()
