"""The training thread tuner (app/core/training/threads.py)."""

from app.core.training.threads import ThreadTuner


def test_thread_tuner_follows_the_load():
    Tuner = ThreadTuner
    tuner = Tuner(high=4)
    tuner.record(4, 5.0)  # warm-up: untimed
    plan = []
    for t in (0.9, 1.1, 0.3, 0.2):  # one thread is faster: a busy CPU
        n = tuner.threads()
        plan.append(n)
        tuner.record(n, t)
    assert plan == [4, 4, 1, 1] and tuner.choice == 1 and tuner.threads() == 1
    tuner.record(1, 0.25, full_batch=False)  # a short last batch is not timed
    for _ in range(Tuner._SLOW_STEPS):  # the load changes: steps take 3x longer
        tuner.record(1, 0.75)
    assert tuner.threads() == 4  # probing again
    for t in (0.1, 0.1, 0.7, 0.8):
        tuner.record(tuner.threads(), t)
    assert tuner.choice == 4 and tuner.probes == 2
    for _ in range(Tuner._MAX_REPROBE_STEPS):  # steady: a periodic re-probe comes
        tuner.record(4, 0.1)
    assert tuner._plan
    assert not Tuner(high=1).active
