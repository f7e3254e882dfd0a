"""What a run says about its plan: steps left after a resume, the bar's total under a time budget,
and the warning for many epochs of a small text."""

from textgen.train.progress import Plan, StepBar, estimate_lines
from textgen.train.state import RunState


def _plan(**over):
    values = dict(total_steps=0, time_budget_s=0.0, steps_per_epoch=1000, train_tokens=4_096_000,
                  tokens_per_step=4096, chars_per_token=1.0, eval_interval=250, eval_tokens=50_000)  # fmt: skip
    return Plan(**{**values, **over})


def test_a_resumed_run_counts_the_steps_it_has_left():
    (line,) = estimate_lines(_plan(total_steps=5000), RunState(step=3000), s_per_step=0.2, patience=5)
    assert "more: 2,000 steps, to step 5,000 (5.00 epochs)" in line, line
    timed = _plan(time_budget_s=600)  # 100 of its 600 training seconds left, at 0.2 s a step
    (line,) = estimate_lines(timed, RunState(step=2500, elapsed=500), s_per_step=0.2, patience=5)
    assert "~500 steps, to step ~3,000 (~3.00 epochs)" in line, line


def test_the_bar_counts_steps_and_aims_at_the_step_a_time_budget_reaches():
    timed = _plan(time_budget_s=600)
    bar = StepBar(timed, step=100, enabled=True)
    assert bar.bar.total is None and bar.bar.unit == "step"
    bar.estimate(RunState(step=100, elapsed=20), s_per_step=0.2)
    assert bar.bar.total == 100 + 2900
    bar.update(3001)  # past the estimate: the bar stays a bar
    assert bar.bar.total == 3001 and bar.bar.n == 3001
    both = StepBar(_plan(total_steps=400, time_budget_s=600), step=0, enabled=True)
    assert both.bar.total == 400
    both.estimate(RunState(step=10, elapsed=598), s_per_step=0.2)
    assert both.bar.total == 20  # the time budget ends the run first


def test_many_epochs_of_a_small_text_are_warned_about():
    small = _plan(total_steps=0, time_budget_s=1800, steps_per_epoch=8, train_tokens=35_000)
    lines = estimate_lines(small, RunState(step=10, elapsed=2), s_per_step=0.2, patience=5)
    assert len(lines) == 2 and lines[1].startswith(
        "warning: the plan is ~1,125 epochs of a small text (35,000"
    )
    assert "after 5 evaluations without a better one" in lines[1]
    off = estimate_lines(small, RunState(step=10, elapsed=2), s_per_step=0.2, patience=0)
    assert "--patience 0: nothing stops the run early" in off[1]
    assert len(estimate_lines(_plan(total_steps=5000), RunState(step=10), 0.2, 5)) == 1  # 5 epochs
