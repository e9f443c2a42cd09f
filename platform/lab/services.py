"""Writes of the lab: start and stop simulated traffic, and run it (the Celery task's body).

One traffic run at a time holds the slot. Starting records the run and queues the task on the
lab's own queue (a long run must never hold up a retrain); stopping only marks the run, and
the task, which checks the mark every second, stops the client. Progress lives on the run, so
the lab can show it from any web process.
"""

import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from kombu.exceptions import OperationalError

from . import traffic as plan
from .models import TrafficRun
from .selectors import traffic_is_stale, traffic_run_active, visits_per_member_day

logger = logging.getLogger(__name__)

MAX_RATE = 50.0
"""Visits per second a run may ask for; beyond that the web server, not the loop, is tested."""
MAX_DURATION_S = 3 * 3600
LOG_LINES = 12
STOP_GRACE_S = 20.0


class TrafficNotQueued(Exception):
    """The broker could not take the run's task; `run` is recorded as failed."""

    def __init__(self, run: TrafficRun):
        super().__init__(run.error)
        self.run = run


def _world_size(world: Path) -> int:
    path = world / "members.json"
    if not path.is_file():
        raise ValidationError(
            {
                "members": f"No simulated world at {world} (members.json missing): the lab drives "
                "the world the platform was seeded from; set HOMEPAGE_LAB_WORLD_DIR."
            }
        )
    try:
        accounts = json.loads(path.read_text())["accounts"]
        return sum(len(a["members"]) for a in accounts)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError({"members": f"{path} is not a world's members file: {exc}"}) from None


def traffic_start(*, members: int, rate: float, duration_s: int, requested_by=None) -> TrafficRun:
    """Record a run of the world's first `members` members at `rate` visits per second for at
    most `duration_s` seconds, and queue it. Refused while another run holds the slot."""
    size = _world_size(Path(settings.LAB_WORLD_DIR))
    errors = {}
    if not 1 <= members <= size:
        errors["members"] = f"Choose 1 to {size} members (the simulated world has {size})."
    if not 0 < rate <= MAX_RATE:
        errors["rate"] = f"Choose a rate above 0 and at most {MAX_RATE:g} visits per second."
    if not 1 <= duration_s <= MAX_DURATION_S:
        errors["duration_s"] = f"Choose a duration of 1 to {MAX_DURATION_S} seconds."
    if errors:
        raise ValidationError(errors)
    active = traffic_run_active()
    if active is not None:
        raise ValidationError(
            f"Traffic run {active.pk} is {active.status}; stop it before starting another."
        )
    run = TrafficRun.objects.create(
        members=members, rate=rate, duration_s=duration_s, requested_by=requested_by
    )
    from .tasks import traffic  # the tasks module imports this one

    try:
        traffic.apply_async(args=[run.pk], queue=settings.LAB_TRAFFIC_QUEUE, retry=False)
    except OperationalError as exc:
        _finish(run.pk, TrafficRun.Status.FAILED, error=f"The task broker is unreachable ({exc}).")
        run.refresh_from_db()
        raise TrafficNotQueued(run) from exc
    return run


def traffic_stop(*, run_id: int) -> TrafficRun:
    """Ask a run to stop. A queued run stops at once; a running one is marked and its task
    stops the client within a second or two; one whose worker died is closed as stopped."""
    run = TrafficRun.objects.filter(pk=run_id).first()
    if run is None:
        raise TrafficRun.DoesNotExist(f"No traffic run {run_id}.")
    if run.status == TrafficRun.Status.QUEUED or traffic_is_stale(run):
        note = "" if run.status == TrafficRun.Status.QUEUED else "its worker stopped reporting"
        _finish(run.pk, TrafficRun.Status.STOPPED, error=note, only_if=TrafficRun.ACTIVE)
    elif run.status == TrafficRun.Status.RUNNING:
        TrafficRun.objects.filter(pk=run.pk, status=TrafficRun.Status.RUNNING).update(
            status=TrafficRun.Status.STOPPING
        )
    elif run.status != TrafficRun.Status.STOPPING:
        raise ValidationError(f"Traffic run {run.pk} is {run.status} already.")
    run.refresh_from_db()
    return run


def _finish(run_id: int, status: str, *, error: str = "", only_if=None) -> None:
    runs = TrafficRun.objects.filter(pk=run_id)
    if only_if is not None:
        runs = runs.filter(status__in=only_if)
    runs.update(status=status, error=error[:2000], finished_at=timezone.now())


class _Client:
    """The simulator's client as a child process, its output read line by line by a thread."""

    def __init__(self, argv: list[str]):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        paths = [str(settings.ROOT_DIR), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        self.process = subprocess.Popen(
            argv,
            cwd=settings.ROOT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        """Ctrl-C, as a person would: the client finishes its round and prints its summary."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _Meter:
    """The rate the client achieves: visits of its rounds after the first (which catches up
    the minute before the client started), per second since that first round ended."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.visits = 0

    def add(self, report: plan.Round) -> None:
        if report.index == 0:
            self.since, self.visits = time.monotonic(), 0
        else:
            self.visits += report.visits

    @property
    def elapsed(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since

    def rate(self) -> float | None:
        return self.visits / self.elapsed if self.elapsed >= plan.PAUSE_S * 2 else None

    def ready(self) -> bool:
        """Enough seen to judge the scale by (or long enough that nothing is a verdict)."""
        return self.elapsed >= plan.MEASURE_S and (
            self.visits >= plan.MIN_VISITS_TO_MEASURE or self.elapsed >= 3 * plan.MEASURE_S
        )


def traffic_execute(*, run_id: int, poll_s: float = 1.0) -> TrafficRun:
    """Run a queued run to its end: start the client, report its progress on the run every
    `poll_s` seconds, correct its activity scale toward the target rate, and stop it when the
    run is stopped or its duration is up. A run that is no longer queued (stopped before a
    worker took it, or delivered twice) is left as it is."""
    started = timezone.now()
    if not TrafficRun.objects.filter(pk=run_id, status=TrafficRun.Status.QUEUED).update(
        status=TrafficRun.Status.RUNNING, started_at=started, heartbeat_at=started
    ):
        return TrafficRun.objects.get(pk=run_id)
    run = TrafficRun.objects.get(pk=run_id)
    scale = plan.initial_scale(
        rate=run.rate,
        members=run.members,
        visits_per_member_day=visits_per_member_day(at=started),
    )
    tail: deque[str] = deque(maxlen=LOG_LINES)
    progress = {"visits": 0, "plays": 0, "restarts": 0, "measured_rate": None}
    client = None
    try:
        client, meter, settled = _launch(run, scale, 0), _Meter(), False
        deadline = time.monotonic() + run.duration_s

        def consume(lines: list[str]) -> None:
            for line in lines:
                tail.append(line)
                if (report := plan.round_report(line)) is not None:
                    progress["visits"] += report.visits
                    progress["plays"] += report.plays
                    meter.add(report)
            progress["measured_rate"] = meter.rate()

        while True:
            consume(client.drain())
            status = TrafficRun.objects.values_list("status", flat=True).get(pk=run_id)
            if status == TrafficRun.Status.STOPPING or time.monotonic() >= deadline:
                client.stop()
                consume(client.drain())  # the round it finished, and its summary
                final = (
                    TrafficRun.Status.STOPPED
                    if status == TrafficRun.Status.STOPPING
                    else TrafficRun.Status.FINISHED
                )
                break
            if client.process.poll() is not None:
                tail.extend(client.drain())
                raise RuntimeError(
                    f"the simulator client exited with status {client.process.returncode}"
                )
            if not settled and progress["restarts"] < plan.MAX_RESTARTS and meter.ready():
                better = plan.corrected_scale(
                    scale=scale, target=run.rate, measured=meter.visits / meter.elapsed
                )
                settled = better is None  # on target: leave it running
                if better is not None:
                    client.stop()
                    consume(client.drain())
                    scale, progress["restarts"] = better, progress["restarts"] + 1
                    client, meter = _launch(run, scale, progress["restarts"]), _Meter()
            TrafficRun.objects.filter(pk=run_id).update(
                heartbeat_at=timezone.now(),
                activity_scale=scale,
                log_tail="\n".join(tail),
                **progress,
            )
            time.sleep(poll_s)
    except Exception as exc:
        logger.exception("Traffic run %s failed", run_id)
        if client is not None:
            client.stop()
        final, error = TrafficRun.Status.FAILED, f"{exc}"
    else:
        error = ""
    TrafficRun.objects.filter(pk=run_id).update(
        status=final,
        error=error[:2000],
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        activity_scale=scale,
        log_tail="\n".join(tail),
        **progress,
    )
    return TrafficRun.objects.get(pk=run_id)


def _launch(run: TrafficRun, scale: float, restarts: int) -> _Client:
    argv = plan.client_argv(
        base_url=settings.LAB_BASE_URL,
        world=Path(settings.LAB_WORLD_DIR),
        members=run.members,
        activity_scale=scale,
        seed=run.pk * 10 + restarts,  # each (re)start draws visits of its own
    )
    logger.info("Traffic run %s: %s", run.pk, " ".join(argv))
    return _Client(argv)
