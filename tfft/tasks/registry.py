"""Task registry: a name -> Task mapping with errors that list what exists.

It imports no task: :class:`tfft.config.Config` looks tasks up here for their defaults and
checks, and the task modules import the config, so the registry stands below both. The
built-in tasks are registered by ``tfft/tasks/__init__.py``, which Python runs before this
module whenever it is imported. A task class is imported when its task is first asked for
(:func:`lazy_exports`), so the config can import the families' option groups without them.
"""

from __future__ import annotations

import importlib
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


def lazy_exports(exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` (PEP 562) that imports each name from its module on
    first use: ``tfft.tasks.qa.QuestionAnsweringTask`` still works, but importing
    ``tfft.tasks.qa.options`` (the config does) loads no task code.

    Args:
        exports: Public name -> the module that defines it, e.g.
            ``{"Seq2SeqTask": "tfft.tasks.seq2seq.task"}``.
    """
    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module has no attribute '{name}' (it has {', '.join(sorted(exports))})")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
