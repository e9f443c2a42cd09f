"""The lab's own records: runs of simulated traffic that staff start and stop.

What the lab *shows* (model versions, loop health, click-through) is read from the other
apps' tables; only the traffic runs are the lab's, because someone has to remember that a
run was asked for, how far it got and whether it should stop.
"""

from django.db import models


class TrafficRun(models.Model):
    """Simulated members driven against the platform by the simulator's HTTP client, run by
    the `lab.tasks.traffic` Celery task on a queue of its own."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        STOPPING = "stopping"
        STOPPED = "stopped"
        FINISHED = "finished"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.STOPPING)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    members = models.PositiveIntegerField(help_text="The simulated world's first N members.")
    rate = models.FloatField(help_text="Target homepage visits per second.")
    duration_s = models.PositiveIntegerField(help_text="The run stops by itself after this long.")
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last progress report of the task running it."
    )
    activity_scale = models.FloatField(
        null=True,
        blank=True,
        help_text="The client's --activity-scale now (the controller's output).",
    )
    restarts = models.PositiveSmallIntegerField(
        default=0, help_text="Times the client was restarted with a corrected activity scale."
    )
    visits = models.PositiveIntegerField(default=0, help_text="Visits the client reported.")
    plays = models.PositiveIntegerField(default=0, help_text="Plays the client reported.")
    measured_rate = models.FloatField(
        null=True,
        blank=True,
        help_text="Visits per second the client achieves, after its first round (which "
        "catches up the minute before it started).",
    )
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True, help_text="The client's last lines of output.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"traffic run {self.pk} ({self.status})"
