"""What a long phase prints, with a clock the test moves: lines in logs, a bar on a terminal."""

import io

import pytest

from tfft import progress
from tfft.progress import CLEAR, Progress, Tracked


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def phase(clock, tty=False, **kw):
    stream = io.StringIO()
    return Progress(kw.pop("label", "Tokenizing train"), stream=stream, tty=tty, clock=clock, heartbeat=False,
                    **kw), stream


def at(clock, seconds, bar, n=0):
    clock.now = 100.0 + seconds
    bar.update(n)


def test_a_log_gets_a_line_at_most_every_15_s_with_done_total_rate_and_eta_then_the_phase_time():
    clock = Clock()
    bar, out = phase(clock, total=3000, unit="examples")
    with bar:
        for seconds, n in ((1, 100), (5, 300), (14.9, 300), (15, 500), (20, 300), (29.9, 500), (30, 200)):
            at(clock, seconds, bar, n)
        at(clock, 40, bar, 800)
    assert out.getvalue().splitlines() == [
        "Tokenizing train: 1,200/3,000 examples (40%) in 15 s, 80 examples/s, ETA 22 s",
        "Tokenizing train: 2,200/3,000 examples (73%) in 30 s, 73 examples/s, ETA 11 s",
        "Tokenizing train: 3,000 examples in 40 s (75 examples/s)",
    ]


def test_a_phase_under_two_seconds_prints_nothing_and_a_longer_one_its_time():
    clock = Clock()
    short, out = phase(clock, total=10, unit="examples")
    with short:
        at(clock, 1.5, short, 10)
    assert out.getvalue() == ""
    longer, out = phase(clock, total=10, unit="examples")
    clock.now = 100.0
    with longer:
        at(clock, 2.5, longer, 10)
    assert out.getvalue() == "Tokenizing train: 10 examples in 2.5 s (4.0 examples/s)\n"


def test_a_phase_stuck_in_one_call_shows_its_time_and_what_it_is_doing():
    clock = Clock()
    bar, out = phase(clock, label="Exporting", reports=True)
    with bar:
        progress.note("writing the SavedModel")
        clock.now = 116.0
        bar.tick()  # what the heartbeat thread does every second
        clock.now = 190.0
    assert out.getvalue().splitlines() == ["Exporting: 16 s, writing the SavedModel", "Exporting: done in 1 min 30 s"]


def test_a_terminal_gets_one_bar_redrawn_in_place_and_replaced_by_the_final_line():
    clock = Clock()
    bar, out = phase(clock, tty=True, total=8, unit="steps", quiet=0, label="Epoch 1/3")
    with bar:
        at(clock, 0.5, bar, 2)
        at(clock, 0.6, bar, 2)  # within the refresh interval: not redrawn
        at(clock, 1.0, bar, 2)
        bar.close(result="loss 0.6931")
    draws = out.getvalue().split(CLEAR)[1:]
    assert draws == ["Epoch 1/3 [#####...............] 2/8 steps (25%)  0.5 s  4.0 steps/s  ETA 1.5 s",
                     "Epoch 1/3 [###############.....] 6/8 steps (75%)  1.0 s  6.0 steps/s  ETA 0.3 s",
                     "Epoch 1/3: 6/8 steps in 1.0 s (6.0 steps/s) - loss 0.6931\n"]


def test_an_inner_phase_or_a_line_starts_on_a_line_of_its_own_and_a_failed_bar_stays():
    clock = Clock()
    outer, out = phase(clock, tty=True, total=4, unit="steps", quiet=0, label="Epoch 1/1")
    with pytest.raises(RuntimeError), outer:
        at(clock, 1, outer, 1)
        inner = Progress("Scoring validation", total=2, unit="sequences", stream=out, tty=True, clock=clock,
                         heartbeat=False)
        with inner:
            at(clock, 4, inner, 2)
        at(clock, 5, outer, 1)
        progress.say("note: a line of its own", stream=out)
        at(clock, 6, outer, 1)
        raise RuntimeError("stopped")
    text = out.getvalue()
    assert text.endswith("Epoch 1/1 [###############.....] 3/4 steps (75%)  6.0 s  0.5 steps/s  ETA 2.0 s\n")
    assert f"{CLEAR}Scoring validation: 2 sequences in 3.0 s (0.7 sequences/s)\n" in text
    assert f"{CLEAR}note: a line of its own\n" in text
    assert "Epoch 1/1:" not in text  # no end line for a phase that failed


def test_reports_reach_only_an_innermost_phase_that_takes_them():
    clock = Clock()
    progress.advance(5)  # no phase open: nothing happens
    taking, _ = phase(clock, total=10, unit="examples", reports=True)
    with taking:
        progress.advance(3)
        other, _ = phase(clock, label="Scoring test")
        with other:
            progress.advance(4)
            progress.note("ignored")
        progress.advance(2)
    assert taking.done == 5 and other.done == 0 and other.note == ""


def test_tracked_counts_each_item_once_it_is_used_and_passes_attributes_through():
    clock = Clock()
    bar, _ = phase(clock, total=6, unit="sequences")
    batches = [[1, 2], [3, 4, 5], [6]]

    class Batches(list):
        element_spec = "spec"

    tracked = Tracked(Batches(batches), bar, size=len)
    seen = []
    with bar:
        for batch in tracked:
            seen.append((batch, bar.done))
    assert seen == [([1, 2], 0), ([3, 4, 5], 2), ([6], 5)] and bar.done == 6
    assert tracked.element_spec == "spec"


@pytest.mark.parametrize("seconds,text", [(3.14, "3.1 s"), (42.4, "42 s"), (245, "4 min 05 s"),
                                          (3725, "1 h 02 min")])
def test_durations_read_as_a_person_would_say_them(seconds, text):
    assert progress.duration(seconds) == text
