"""The model registry and retraining (retraining is staff only)."""

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from modeling.selectors import model_version_get, model_version_list, retrain_run_get
from modeling.services import RetrainNotQueued, retrain_request

from ..schema import ErrorOutput


class ModelListApi(APIView):
    @extend_schema_serializer(component_name="ModelVersion")
    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        created_at = serializers.DateTimeField()
        trained_as_of = serializers.DateTimeField()
        n_train_events = serializers.IntegerField()
        metrics = serializers.DictField()
        is_production = serializers.BooleanField()
        decision = serializers.DictField(allow_null=True)

    @extend_schema(responses=Output(many=True))
    def get(self, request):
        rows = [version_row(version) for version in model_version_list()]
        return Response(self.Output(rows, many=True).data)


def _figure(value, low, high, ess) -> dict | None:
    return None if value is None else {"value": value, "ci95": [low, high], "ess": ess}


def ope_row(decision) -> dict:
    """The gate's off-policy evaluation of a decision (docs/ope.md#in-the-promotion-gate)."""
    d = decision
    return {
        "estimator": "dr",
        "impressions": d.ope_impressions,
        "candidate": _figure(
            d.ope_candidate_value, d.ope_candidate_low, d.ope_candidate_high, d.ope_candidate_ess
        ),
        "production": _figure(
            d.ope_baseline_value, d.ope_baseline_low, d.ope_baseline_high, d.ope_baseline_ess
        ),
        "note": d.ope_note,
    }


def version_row(version) -> dict:
    decision = getattr(version, "decision", None)
    return {
        "id": version.pk,
        "kind": version.kind,
        "created_at": version.created_at,
        "trained_as_of": version.trained_as_of,
        "n_train_events": version.n_train_events,
        "metrics": version.metrics,
        "is_production": version.is_production,
        "decision": {
            "promoted": decision.promoted,
            "reason": decision.reason,
            "baseline": decision.baseline_id,
            "decided_at": decision.decided_at,
            "metric": decision.metric,
            "candidate_value": decision.candidate_value,
            "baseline_value": decision.baseline_value,
            "ope": ope_row(decision),
        }
        if decision
        else None,
    }


class OPEFigureOutput(serializers.Serializer):
    value = serializers.FloatField()
    ci95 = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        help_text="95% bootstrap interval.",
    )
    ess = serializers.FloatField(help_text="Effective sample size of the weights (slots).")


class OPEOutput(serializers.Serializer):
    estimator = serializers.CharField()
    impressions = serializers.IntegerField(help_text="Explored impressions read.")
    candidate = OPEFigureOutput(allow_null=True)
    production = OPEFigureOutput(allow_null=True)
    note = serializers.CharField(help_text="How the check judged, or why it was skipped.")


class DecisionOutput(serializers.Serializer):
    promoted = serializers.BooleanField()
    reason = serializers.CharField()
    baseline = serializers.IntegerField(allow_null=True)
    decided_at = serializers.DateTimeField()
    metric = serializers.CharField()
    candidate_value = serializers.FloatField(allow_null=True)
    baseline_value = serializers.FloatField(allow_null=True)
    ope = OPEOutput()


class ModelDetailApi(APIView):
    @extend_schema_serializer(component_name="ModelVersionDetail")
    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        created_at = serializers.DateTimeField()
        trained_as_of = serializers.DateTimeField()
        n_train_events = serializers.IntegerField()
        metrics = serializers.DictField()
        is_production = serializers.BooleanField()
        decision = DecisionOutput(allow_null=True)

    @extend_schema(responses={200: Output, 404: ErrorOutput})
    def get(self, request, version_id: int):
        version = model_version_get(version_id=version_id)
        if version is None:
            return Response(
                {"detail": f"No model version {version_id}."}, status=status.HTTP_404_NOT_FOUND
            )
        return Response(self.Output(version_row(version)).data)


class RetrainRunOutput(serializers.Serializer):
    run_id = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    trigger = serializers.CharField()
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField(help_text="Times a worker started it.")
    error = serializers.CharField()
    candidates = serializers.SerializerMethodField()
    promoted = serializers.IntegerField(source="promoted_id", allow_null=True)

    def get_candidates(self, run) -> list[int]:
        return sorted(version.pk for version in run.candidates.all())


class ModelRetrainApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None,
        responses={
            202: RetrainRunOutput,
            503: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="RetrainUnavailable",
                    serializers=[RetrainRunOutput, ErrorOutput],
                    resource_type_field_name=None,
                ),
                description="The task broker is down: the run is recorded as failed, with why "
                "(or the database is, and nothing could be recorded: an Error).",
            ),
        },
    )
    def post(self, request):
        try:
            run = retrain_request(trigger="api", requested_by=request.user)
        except RetrainNotQueued as exc:
            return Response(
                RetrainRunOutput(exc.run).data, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        return Response(RetrainRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RetrainRunDetailApi(APIView):
    @extend_schema(responses=RetrainRunOutput)
    def get(self, request, run_id: int):
        run = retrain_run_get(run_id=run_id)
        if run is None:
            return Response(
                {"detail": f"No retrain run {run_id}."}, status=status.HTTP_404_NOT_FOUND
            )
        return Response(RetrainRunOutput(run).data)
