"""Online experiments: A/B tests and canary rollouts (staff only, docs/rollouts.md)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from rollouts.models import Experiment, Surface
from rollouts.selectors import experiment_get, experiment_list, live_metrics
from rollouts.services import experiment_create, experiment_start, experiment_stop
from rollouts.tasks import BrokerUnavailable, readouts_enqueue

from ..schema import VALIDATION_ERROR, ErrorOutput
from .validators import IdField, TimeField


@extend_schema_serializer(component_name="ExperimentArm")
class ArmOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    share = serializers.FloatField(help_text="A/B: its share of members; canary: the largest.")
    is_control = serializers.BooleanField()
    model_version = serializers.IntegerField(
        source="model_version_id", allow_null=True, help_text="Null: production's."
    )
    explorer = serializers.DictField(help_text="Its explorer policy; empty: production's.")


@extend_schema_serializer(component_name="ExperimentReadout")
class ReadoutOutput(serializers.Serializer):
    day = serializers.IntegerField(help_text="Simulated days since the start (0: the first).")
    arm = serializers.CharField(source="arm.name")
    share = serializers.FloatField()
    members = serializers.IntegerField()
    metrics = serializers.DictField(
        help_text="minutes_per_day (primary), plays_per_visit, retention, latency_ms: each "
        "{mean, low, high, n} over days 0..day, or null."
    )
    comparison = serializers.DictField(
        help_text="Against control, per metric: {diff, low, high, p_value, relative, cuped}, "
        "and on the primary and latency the always-valid {seq_low, seq_high, seq_p}."
    )
    srm_p = serializers.FloatField(allow_null=True)
    srm_mismatch = serializers.BooleanField()
    sequential_p = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="ExperimentDecision")
class DecisionOutput(serializers.Serializer):
    action = serializers.CharField(help_text="start, hold, advance, ship, rollback or stop.")
    reason = serializers.CharField()
    day = serializers.IntegerField(allow_null=True)
    share = serializers.FloatField(help_text="Canary share after the decision.")
    at = serializers.DateTimeField(help_text="Simulated time.")


@extend_schema_serializer(component_name="Experiment")
class ExperimentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    surface = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    canary_share = serializers.FloatField(help_text="Canary: each arm's share of members now.")
    source = serializers.CharField(help_text='"api", or "gate": started by the promotion gate.')
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True, help_text="Simulated time.")
    stopped_at = serializers.DateTimeField(allow_null=True, help_text="Simulated time.")
    arms = ArmOutput(many=True, source="arms.all")


@extend_schema_serializer(component_name="ExperimentDetail")
class ExperimentDetailOutput(ExperimentOutput):
    live = serializers.DictField(
        help_text="Per arm: members, day, and each metric {mean, low, high, n} (or null) over "
        "the traffic so far, the day in progress included."
    )
    readouts = ReadoutOutput(many=True, source="readouts.all")
    decisions = DecisionOutput(many=True, source="decisions.all")


def _detail(experiment: Experiment) -> dict:
    experiment.live = live_metrics(experiment)
    return ExperimentDetailOutput(experiment).data


def _not_found(experiment_id: int) -> Response:
    return Response(
        {"detail": f"No experiment {experiment_id}; GET /api/v1/experiments lists them."},
        status=status.HTTP_404_NOT_FOUND,
    )


BAD_STATE = OpenApiResponse(
    VALIDATION_ERROR,
    description="Not allowed now: the experiment is not a draft (start) or not running "
    "(stop), or another experiment runs on its surface (start).",
)


@extend_schema_serializer(component_name="ExperimentArmInput")
class ArmInput(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z0-9_-]{1,40}$", help_text="a-z, 0-9, _ or -.")
    share = serializers.FloatField(
        required=False, help_text="A/B: its share of members; the shares sum to 1."
    )
    is_control = serializers.BooleanField(required=False, default=False)
    model_version = IdField(
        required=False, allow_null=True, help_text="Model surface; null: production."
    )
    explorer = serializers.DictField(
        required=False,
        help_text="Explorer surfaces: {policy, rate, floor, positions, params}; empty: "
        "production's.",
    )


class ExperimentListApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema_serializer(component_name="ExperimentCreate")
    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        surface = serializers.ChoiceField(choices=Surface.values)
        kind = serializers.ChoiceField(choices=Experiment.Kind.values, default="ab")
        arms = ArmInput(many=True, min_length=1, max_length=10)
        start = serializers.BooleanField(
            required=False, default=False, help_text="Start it at once."
        )
        at = TimeField(
            required=False, help_text="Simulated start time (default: the latest page served)."
        )

    @extend_schema(responses=ExperimentOutput(many=True))
    def get(self, request):
        return Response(ExperimentOutput(experiment_list(), many=True).data)

    @extend_schema(
        request=Input,
        responses={201: ExperimentDetailOutput},
    )
    def post(self, request):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        experiment = experiment_create(
            name=data["name"],
            surface=data["surface"],
            kind=data["kind"],
            arms=[dict(arm) for arm in data["arms"]],
            created_by=request.user,
            start=data["start"],
            at=data.get("at"),
        )
        experiment = experiment_get(experiment_id=experiment.pk)
        return Response(_detail(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=ExperimentDetailOutput)
    def get(self, request, experiment_id: int):
        experiment = experiment_get(experiment_id=experiment_id)
        if experiment is None:
            return _not_found(experiment_id)
        return Response(_detail(experiment))


class ExperimentStartApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema_serializer(component_name="ExperimentStart")
    class Input(serializers.Serializer):
        at = TimeField(
            required=False, help_text="Simulated start time (default: the latest page served)."
        )

    @extend_schema(request=Input, responses={200: ExperimentDetailOutput, 400: BAD_STATE})
    def post(self, request, experiment_id: int):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        if experiment_get(experiment_id=experiment_id) is None:
            return _not_found(experiment_id)
        experiment_start(
            experiment_id=experiment_id, at=body.validated_data.get("at"), by=request.user
        )
        return Response(_detail(experiment_get(experiment_id=experiment_id)))


class ExperimentStopApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema_serializer(component_name="ExperimentStop")
    class Input(serializers.Serializer):
        at = TimeField(required=False, help_text="Simulated stop time (default: the clock).")
        reason = serializers.CharField(required=False, max_length=300, default="")

    @extend_schema(request=Input, responses={200: ExperimentDetailOutput, 400: BAD_STATE})
    def post(self, request, experiment_id: int):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        if experiment_get(experiment_id=experiment_id) is None:
            return _not_found(experiment_id)
        data = body.validated_data
        experiment_stop(
            experiment_id=experiment_id, at=data.get("at"), by=request.user, reason=data["reason"]
        )
        return Response(_detail(experiment_get(experiment_id=experiment_id)))


class ReadoutsQueuedOutput(serializers.Serializer):
    experiment = serializers.IntegerField()
    queued = serializers.BooleanField()


class ExperimentReadoutsApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None,
        responses={
            202: ReadoutsQueuedOutput,
            503: OpenApiResponse(
                ErrorOutput,
                description="The task broker (or the database) is down: nothing was queued.",
            ),
        },
        description="Queue the readouts of every whole simulated day not read out yet (and "
        "the canary's steps) for a worker; GET the experiment to see them.",
    )
    def post(self, request, experiment_id: int):
        if experiment_get(experiment_id=experiment_id) is None:
            return _not_found(experiment_id)
        try:
            readouts_enqueue(experiment_id=experiment_id)
        except BrokerUnavailable as exc:
            return Response(
                {"detail": f"{exc} Nothing was queued; try again when it is up."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(
            {"experiment": experiment_id, "queued": True}, status=status.HTTP_202_ACCEPTED
        )


__all__ = [
    "ExperimentDetailApi",
    "ExperimentListApi",
    "ExperimentReadoutsApi",
    "ExperimentStartApi",
    "ExperimentStopApi",
]
