"""Throughput tuning is scoped: a Dagster run process is left as the drain found it; a
serving process keeps what it built out of collections without keeping garbage."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from btc_platform.runtime import (
    YOUNG_GENERATION_THRESHOLD,
    freeze_long_lived_objects,
    pipelined_throughput,
)


def test_pipelined_throughput_restores_the_interpreter_settings_even_after_an_error() -> None:
    before = (sys.getswitchinterval(), gc.get_threshold())
    with pytest.raises(RuntimeError), pipelined_throughput(0.0002):
        assert sys.getswitchinterval() == pytest.approx(0.0002)
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1][1:])
        raise RuntimeError("the drain failed")
    assert (sys.getswitchinterval(), gc.get_threshold()) == before


class Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_frozen_objects_skip_collections_and_the_next_freeze_frees_their_cycles() -> None:
    kept = Node()
    alive = weakref.ref(kept)
    try:
        freeze_long_lived_objects()
        assert gc.get_freeze_count() > 0
        del kept
        gc.collect()
        assert alive() is not None  # frozen: a full collection does not even look at it
        freeze_long_lived_objects()
        assert alive() is None  # the cycle it left is collected before freezing again
    finally:
        gc.unfreeze()
