"""The lab: what the loop is learning and how it behaves, for staff only.

Every endpoint reads one selector of `lab.selectors` (or calls one service of
`lab.services`); the numbers are computed there, not here."""

from datetime import datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from exploration.models import Use
from lab.explorer import explorer_panel
from lab.models import TrafficRun
from lab.neighbours import member_neighbours
from lab.selectors import (
    WINDOWS,
    click_through,
    loop_health,
    model_timeline,
    retrain_progress,
    traffic_is_stale,
    traffic_run_list,
)
from lab.services import TrafficNotQueued, traffic_start, traffic_stop

from .catalog import VersionRefOutput
from .exploration import ExplorerConfigOutput
from .homepage import GateDecisionOutput
from .validators import CountField, QueryChoiceField


class LabApi(APIView):
    permission_classes = [IsAdminUser]


class WindowInput(serializers.Serializer):
    window = QueryChoiceField(
        choices=list(WINDOWS),
        default="24h",
        help_text="How far back to look: 1h (minute buckets), 24h (hours), 7d or 30d (days).",
    )


def window_of(request) -> tuple[str, datetime]:
    """The request's validated `window` and the moment it ends: now (400 for a bad window)."""
    params = WindowInput(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data["window"], timezone.now()


@extend_schema_serializer(component_name="LabModelVersion")
class LabModelOutput(serializers.Serializer):
    id = serializers.IntegerField(source="version.pk")
    kind = serializers.CharField(source="version.kind")
    created_at = serializers.DateTimeField(source="version.created_at")
    trained_as_of = serializers.DateTimeField(source="version.trained_as_of")
    n_train_events = serializers.IntegerField(source="version.n_train_events")
    metrics = serializers.DictField(source="version.metrics")
    ope = serializers.DictField(
        allow_null=True, help_text="Off-policy estimates with intervals, once recorded."
    )
    decision = GateDecisionOutput(allow_null=True)
    served_from = serializers.DateTimeField(allow_null=True)
    served_until = serializers.DateTimeField(allow_null=True)
    is_production = serializers.BooleanField()


class LabModelListApi(LabApi):
    @extend_schema_serializer(component_name="LabModels")
    class Output(serializers.Serializer):
        production = serializers.IntegerField(allow_null=True)
        versions = LabModelOutput(many=True)
        experiments = serializers.DictField(
            help_text="available, note (what runs now), and experiments: the newest, each "
            "with its canary share per day and its primary metric per arm per day."
        )

    @extend_schema(responses=Output)
    def get(self, request):
        return Response(self.Output(model_timeline()).data)


@extend_schema_serializer(component_name="LabHealthPoint")
class HealthPointOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    pages = serializers.IntegerField()
    members = serializers.IntegerField()
    impressions = serializers.IntegerField()
    coverage = serializers.FloatField(allow_null=True)
    exposure_gini = serializers.FloatField(allow_null=True)
    homogenization = serializers.FloatField(allow_null=True)
    exploration_rate = serializers.FloatField(allow_null=True)
    plays_per_visit = serializers.FloatField(allow_null=True)
    minutes_per_member = serializers.FloatField(allow_null=True)


class LabHealthApi(LabApi):
    @extend_schema_serializer(component_name="LabHealth")
    class Output(serializers.Serializer):
        window = serializers.CharField()
        bucket = serializers.CharField()
        end = serializers.DateTimeField()
        points = HealthPointOutput(many=True)

    @extend_schema(parameters=[WindowInput], responses=Output)
    def get(self, request):
        window, end = window_of(request)
        points = loop_health(end=end, window=window)
        return Response(
            self.Output(
                {"window": window, "bucket": WINDOWS[window][1], "end": end, "points": points}
            ).data
        )


class ClickRateOutput(serializers.Serializer):
    key = serializers.CharField()
    impressions = serializers.IntegerField()
    plays = serializers.IntegerField()
    ctr = serializers.FloatField(allow_null=True)


class LabClickThroughApi(LabApi):
    @extend_schema_serializer(component_name="LabClickThrough")
    class Output(serializers.Serializer):
        window = serializers.CharField()
        by_position = ClickRateOutput(many=True)
        by_row = ClickRateOutput(many=True)

    @extend_schema(parameters=[WindowInput], responses=Output)
    def get(self, request):
        window, end = window_of(request)
        clicks = click_through(end=end, window=window)
        return Response(
            self.Output(
                {"window": window, "by_position": clicks.by_position, "by_row": clicks.by_row}
            ).data
        )


class LabRetrainDetailApi(LabApi):
    @extend_schema_serializer(component_name="LabRetrain")
    class Output(serializers.Serializer):
        run_id = serializers.IntegerField(source="run.pk")
        status = serializers.CharField(source="run.status")
        requested_at = serializers.DateTimeField(source="run.requested_at")
        started_at = serializers.DateTimeField(source="run.started_at", allow_null=True)
        finished_at = serializers.DateTimeField(source="run.finished_at", allow_null=True)
        error = serializers.CharField(source="run.error")
        promoted = serializers.IntegerField(source="run.promoted_id", allow_null=True)
        expected = serializers.IntegerField(help_text="Candidates this retrain fits.")
        decisions = GateDecisionOutput(many=True, help_text="The gate's verdicts so far.")

    @extend_schema(responses=Output)
    def get(self, request, run_id: int):
        progress = retrain_progress(run_id=run_id)
        if progress is None:
            raise NotFound(f"No retrain run {run_id}.")
        return Response(self.Output(progress).data)


@extend_schema_serializer(component_name="TrafficRun")
class TrafficRunOutput(serializers.ModelSerializer):
    stale = serializers.SerializerMethodField()

    class Meta:
        model = TrafficRun
        fields = [
            "id", "status", "members", "rate", "duration_s", "requested_at", "started_at",
            "finished_at", "heartbeat_at", "activity_scale", "restarts", "visits", "plays",
            "measured_rate", "stale", "error", "log_tail",
        ]  # fmt: skip

    def get_stale(self, run) -> bool:
        return traffic_is_stale(run)


class LabTrafficApi(LabApi):
    """Recent traffic runs (GET), or start one (POST)."""

    @extend_schema_serializer(component_name="TrafficRunRequest")
    class Input(serializers.Serializer):
        members = serializers.IntegerField(min_value=1, help_text="The world's first N members.")
        rate = serializers.FloatField(min_value=0.001, help_text="Visits per second.")
        duration_s = serializers.IntegerField(
            min_value=1, default=600, help_text="Stop by itself after this many seconds."
        )

    @extend_schema(responses=TrafficRunOutput(many=True))
    def get(self, request):
        return Response(TrafficRunOutput(traffic_run_list(), many=True).data)

    @extend_schema(request=Input, responses={202: TrafficRunOutput, 503: TrafficRunOutput})
    def post(self, request):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            run = traffic_start(**payload.validated_data, requested_by=request.user)
        except TrafficNotQueued as exc:
            return Response(
                TrafficRunOutput(exc.run).data, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        return Response(TrafficRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class LabTrafficStopApi(LabApi):
    @extend_schema(request=None, responses=TrafficRunOutput)
    def post(self, request, run_id: int):
        try:
            run = traffic_stop(run_id=run_id)
        except TrafficRun.DoesNotExist as exc:
            raise NotFound(str(exc)) from None
        return Response(TrafficRunOutput(run).data)


class NeighbourOutput(serializers.Serializer):
    member_id = serializers.IntegerField()
    name = serializers.CharField()
    similarity = serializers.FloatField(help_text="Cosine similarity of the member embeddings.")
    shared_titles = serializers.IntegerField(help_text="Titles both have played.")
    jaccard = serializers.FloatField(help_text="Shared titles / titles either has played.")


class LabMemberSimilarApi(LabApi):
    """The similar-members check: a member's nearest members by the production version's
    stored member embeddings, and how much their histories overlap, beside the overlap with
    random members (neighbours that overlap no more than random ones mean the embeddings
    say little)."""

    class Input(serializers.Serializer):
        k = CountField(required=False, min_value=1, max_value=50, default=10)

    @extend_schema_serializer(component_name="LabMemberNeighbours")
    class Output(serializers.Serializer):
        member_id = serializers.IntegerField()
        model_version = VersionRefOutput(allow_null=True, source="version")
        reason = serializers.CharField(help_text="Why there are no neighbours; empty otherwise.")
        played = serializers.IntegerField(help_text="Titles this member has played.")
        neighbours = NeighbourOutput(many=True)
        neighbour_jaccard = serializers.FloatField(allow_null=True)
        random_jaccard = serializers.FloatField(allow_null=True)
        random_sample = serializers.IntegerField(help_text="Random members behind random_jaccard.")

    @extend_schema(parameters=[Input], responses=Output)
    def get(self, request, member_id: int):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        check = member_neighbours(member_id=member_id, k=params.validated_data["k"])
        if check is None:
            raise NotFound(f"No member {member_id}.")
        return Response(self.Output(check).data)


# --- the explorer panel -----------------------------------------------------------------------


@extend_schema_serializer(component_name="LabExplorerState")
class ExplorerStateOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    version = serializers.IntegerField()
    policy = serializers.CharField()
    created_at = serializers.DateTimeField()
    counted = serializers.IntegerField(help_text="Feedback rows it learned from.")
    watermark = serializers.IntegerField(help_text="Last impression id it counted.")


@extend_schema_serializer(component_name="LabExplorerRun")
class ExplorerRunOutput(serializers.Serializer):
    run_id = serializers.IntegerField(source="run.pk")
    status = serializers.CharField(source="run.status")
    trigger = serializers.CharField(source="run.trigger")
    requested_at = serializers.DateTimeField(source="run.requested_at")
    finished_at = serializers.DateTimeField(source="run.finished_at", allow_null=True)
    error = serializers.CharField(source="run.error")
    counts = serializers.DictField(
        help_text="This use's counts in the run: watermark_before, watermark_after, counted, "
        "and for a use that learned: rewarded, state, version, from_version ({} if the run "
        "did not reach it)."
    )


@extend_schema_serializer(component_name="LabExplorerUse")
class ExplorerUseOutput(serializers.Serializer):
    use = serializers.ChoiceField(source="config.use", choices=Use.values)
    config = ExplorerConfigOutput()
    state = ExplorerStateOutput(allow_null=True, help_text="The newest state; null: none yet.")
    runs = ExplorerRunOutput(many=True, help_text="The latest update runs, newest first.")


@extend_schema_serializer(component_name="LabExplorerSlotPoint")
class ExplorerSlotPointOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    impressions = serializers.IntegerField()
    explored = serializers.IntegerField()
    explored_share = serializers.FloatField(allow_null=True)
    explored_mean_propensity = serializers.FloatField(allow_null=True)
    explored_plays = serializers.IntegerField()
    deterministic_plays = serializers.IntegerField()
    explored_ctr = serializers.FloatField(allow_null=True, help_text="Plays per explored slot.")
    deterministic_ctr = serializers.FloatField(
        allow_null=True, help_text="Plays per deterministic slot."
    )


@extend_schema_serializer(component_name="LabExplorerRowOrderPoint")
class ExplorerRowOrderPointOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    pages = serializers.IntegerField()
    explored_pages = serializers.IntegerField()
    explored_share = serializers.FloatField(allow_null=True)
    mean_probability = serializers.FloatField(allow_null=True)


class VariantShareOutput(serializers.Serializer):
    variant = serializers.IntegerField()
    shown = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)
    plays = serializers.IntegerField()
    play_rate = serializers.FloatField(allow_null=True)


@extend_schema_serializer(component_name="LabExplorerArtworkPoint")
class ExplorerArtworkPointOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    impressions = serializers.IntegerField(help_text="Impressions with a drawn variant.")
    variants = VariantShareOutput(many=True)


class LabExplorerApi(LabApi):
    """The explorer panel: per use its config, newest state and update runs, and over the
    window what the explorer did (lab.explorer)."""

    @extend_schema_serializer(component_name="LabExplorer")
    class Output(serializers.Serializer):
        window = serializers.CharField()
        bucket = serializers.CharField()
        end = serializers.DateTimeField()
        uses = ExplorerUseOutput(many=True)
        slots = ExplorerSlotPointOutput(many=True)
        row_order = ExplorerRowOrderPointOutput(many=True)
        artwork = ExplorerArtworkPointOutput(many=True)

    @extend_schema(parameters=[WindowInput], responses=Output)
    def get(self, request):
        window, end = window_of(request)
        panel = explorer_panel(end=end, window=window)
        return Response(
            self.Output(
                {
                    "window": window,
                    "bucket": WINDOWS[window][1],
                    "end": end,
                    "uses": panel.uses,
                    "slots": panel.slots,
                    "row_order": panel.row_order,
                    "artwork": panel.artwork,
                }
            ).data
        )
