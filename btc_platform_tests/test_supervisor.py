"""`up`'s supervision on real processes: an unexpected exit is said with its cause and
restarted with growing backoff; one that keeps crashing is given up on; a running part is
left alone."""

from __future__ import annotations

import signal
import subprocess
import sys

from btc_platform.stack.supervisor import RestartPolicy, Supervised, Supervisor, exit_cause


class Worker:
    """A real child process that can be started again (what `Child.restart` does)."""

    def __init__(self, code: str) -> None:
        self.code, self.starts = code, 0
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.code])
        self.starts += 1

    def exited(self) -> int | None:
        return self.process.poll()


def test_an_exit_is_restarted_with_backoff_and_a_crash_loop_given_up() -> None:
    now = [0.0]
    crashing = Worker("import sys; sys.exit(3)")
    crashing.process.wait(30)
    part = Supervised("worker", crashing.exited, crashing.start, "logs/worker.log")
    supervisor = Supervisor([part], clock=lambda: now[0])
    assert supervisor.check() == [
        "worker exited unexpectedly (exit code 3); restarting in 2 s (see logs/worker.log)"
    ]
    now[0] = 1.0
    assert supervisor.check() == []  # not due yet
    now[0] = 2.0
    assert supervisor.check() == ["worker restarted (restart 1)"]
    assert crashing.starts == 2
    crashing.process.wait(30)  # it crashes again: the next delay doubles
    now[0] = 3.0
    assert supervisor.check()[0].endswith("restarting in 4 s (see logs/worker.log)")
    assert supervisor.summary() == "worker restarted 1x (last: exit code 3)"
    delays = []
    while not part.given_up:
        now[0] += 61
        events = supervisor.check()
        if events and "restarted" in events[0]:
            crashing.process.wait(30)
        delays += [e for e in events if "restarting in" in e or "given up" in e]
    assert delays[-1] == (
        "worker keeps crashing (6 exits in 10 min, last: exit code 3); given up, the rest "
        "goes on: see logs/worker.log"
    )
    assert supervisor.summary() == "worker given up (exit code 3)"
    starts = crashing.starts
    now[0] += 3_600
    assert supervisor.check() == [] and crashing.starts == starts  # given up stays given up


def test_a_running_part_is_left_alone_and_a_killed_one_says_by_what() -> None:
    running = Worker("import time; time.sleep(60)")
    try:
        part = Supervised("service", running.exited, running.start, "service.log")
        supervisor = Supervisor([part], clock=lambda: 0.0)
        assert supervisor.check() == [] and supervisor.summary() == ""
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(30)
        [event] = supervisor.check()
        assert event.startswith("service exited unexpectedly (killed by SIGKILL); restarting")
    finally:
        running.process.kill()
    assert exit_cause(-15) == "killed by SIGTERM" and exit_cause(0) == "exit code 0"


def test_exits_older_than_the_window_are_forgotten() -> None:
    spaced = RestartPolicy(max_restarts=2, window=100)
    assert [spaced.delay(t) for t in (0, 150, 300, 450)] == [2.0, 2.0, 2.0, 2.0]
    packed = RestartPolicy(max_restarts=2, window=100)
    assert [packed.delay(t) for t in (0, 10, 20)] == [2.0, 4.0, None]
