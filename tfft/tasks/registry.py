"""Task registry: a name -> Task mapping with errors that list what exists.

It imports no task: :class:`tfft.config.Config` looks tasks up here for their defaults and
checks, and the task modules import the config, so the registry stands below both. The
built-in tasks are registered by ``tfft/tasks/__init__.py``, which Python runs before this
module whenever it is imported.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol

from tfft.errors import TfftError


class Task(Protocol):
    """What the registry and the config need of a task (:class:`tfft.tasks.base.Task` is one)."""

    name: str
    #: Config values for fields the user left unset.
    defaults: Mapping[str, Any]
    #: The head reads one vector per text (classification, multi-label): pooling, MLP heads
    #: and cached features apply.
    sentence_level: bool

    def check(self, cfg: Any) -> None:
        """Raises ``TfftError`` for a config this task cannot run."""


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
