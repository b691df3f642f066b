"""A tiny user package for the real-world corpus: the kind of classes a project pickles
with its models (enums, dataclasses, namedtuples, a config object, a torch module).
Nothing here does I/O or runs commands."""

from __future__ import annotations

import dataclasses
import enum
from collections import namedtuple
from typing import NamedTuple


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3


class Flags(enum.IntFlag):
    READ = 1
    WRITE = 2


class Stage(str, enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


@dataclasses.dataclass
class TrainConfig:
    lr: float = 0.01
    epochs: int = 3
    tags: list = dataclasses.field(default_factory=list)
    stage: Stage = Stage.TRAIN


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


Pair = namedtuple("Pair", ["left", "right"])


class Span(NamedTuple):
    start: int
    end: int


class Vocab:
    """A plain class with __getstate__/__setstate__, as tokenizers often have."""

    def __init__(self, words=()):
        self.index = {w: i for i, w in enumerate(words)}

    def __getstate__(self):
        return {"words": sorted(self.index, key=self.index.get)}

    def __setstate__(self, state):
        self.index = {w: i for i, w in enumerate(state["words"])}


def double(x):
    return x * 2
