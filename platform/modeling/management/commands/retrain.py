"""Retrain now, in this process (the worker runs the same service from modeling.tasks), and
store the embeddings of a version it promotes (the worker's retrain task queues that)."""

from django.core.management.base import BaseCommand, CommandError

from modeling.embeddings import embeddings_store
from modeling.models import RetrainRun
from modeling.services import retrain_execute, retrain_run_create


class Command(BaseCommand):
    help = "Train candidates on the fact log as of now, gate them, and report the decision."

    def handle(self, *args, **options):
        run = retrain_run_create(trigger="command")
        self.stdout.write(f"retrain run {run.pk}: training candidates on the fact log ...")
        run = retrain_execute(run_id=run.pk)
        for version in run.candidates.prefetch_related("decisions").order_by("id"):
            decision = version.decision
            self.stdout.write(
                f"  v{version.pk} {version.kind:<10} ndcg@10={version.metrics.get('ndcg@10', 0):.4f} "
                f"{'PROMOTED' if decision.promoted else 'kept out'}: {decision.reason}"
            )
        if run.status != RetrainRun.Status.SUCCEEDED:
            raise CommandError(f"retrain run {run.pk} failed: {run.error}")
        if run.promoted_id is None:
            self.stdout.write("production unchanged")
            return
        self.stdout.write(f"production: v{run.promoted_id}")
        stored = embeddings_store(version_id=run.promoted_id)  # the worker queues it instead
        self.stdout.write(f"embeddings of v{run.promoted_id}: {stored.note} ({stored.dim} dims)")
