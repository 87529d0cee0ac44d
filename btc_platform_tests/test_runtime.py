"""Throughput tuning is scoped: a Dagster run process is left as the drain found it."""

from __future__ import annotations

import gc
import sys

import pytest

from btc_platform.runtime import YOUNG_GENERATION_THRESHOLD, pipelined_throughput


def test_pipelined_throughput_restores_the_interpreter_settings_even_after_an_error() -> None:
    before = (sys.getswitchinterval(), gc.get_threshold())
    with pytest.raises(RuntimeError), pipelined_throughput(0.0002):
        assert sys.getswitchinterval() == pytest.approx(0.0002)
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1][1:])
        raise RuntimeError("the drain failed")
    assert (sys.getswitchinterval(), gc.get_threshold()) == before
