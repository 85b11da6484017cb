"""The stage pipeline (fsth_core.runtime.threads): stages in threads keep the order, hand an error to the
consumer, stop when closed, and leave a CPU to the other stages."""
import threading
import time

import pytest

from fsth_core.runtime.threads import Pipeline, generation_threads


def _stage_threads():
    return [t for t in threading.enumerate() if t.name.startswith("fsth-") and t.is_alive()]


def test_pipeline_keeps_order_and_raises_a_stage_error_in_the_consumer():
    with Pipeline() as pipe:
        squares = pipe.stage((i * i for i in range(50)), "square")
        plus = pipe.stage((v + 1 for v in squares), "plus")
        assert list(plus) == [i * i + 1 for i in range(50)]

    def broken():
        yield 1
        raise ValueError("stage failed")

    with pytest.raises(ValueError, match="stage failed"):
        with Pipeline() as pipe:
            list(pipe.stage((v for v in pipe.stage(broken(), "a")), "b"))
    assert not _stage_threads()
    assert list(Pipeline(enabled=False).stage(range(3))) == [0, 1, 2]  # disabled: the plain iterable


def test_closing_the_pipeline_stops_stages_blocked_on_full_and_empty_queues():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    release = threading.Event()

    def waiting():
        release.wait(30)  # a stage whose input does not come
        yield 0

    with Pipeline(join_timeout=1.0) as pipe:
        it = pipe.stage((v for v in pipe.stage(endless(), "source")), "middle")
        assert next(it) == 0 and next(it) == 1  # the stages now block on full queues
        pipe.stage((v for v in pipe.stage(waiting(), "slow")), "starved")  # this one on an empty queue
        t = time.perf_counter()
    assert time.perf_counter() - t < 5
    assert [t.name for t in _stage_threads()] == ["fsth-slow"]  # only the one still inside its own code
    release.set()
    time.sleep(0.3)
    assert not _stage_threads()


def test_generation_threads_leave_a_cpu_to_the_other_stages():
    assert generation_threads(True, cpus=2) == 1
    assert generation_threads(True, cpus=8) == 7
    assert generation_threads(True, cpus=1) == 1
    assert generation_threads(False, cpus=2) is None
