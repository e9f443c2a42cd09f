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

from modeling.selectors import model_version_list, retrain_run_get
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
        rows = []
        for version in model_version_list():
            decision = getattr(version, "decision", None)
            rows.append(
                {
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
                    }
                    if decision
                    else None,
                }
            )
        return Response(self.Output(rows, many=True).data)


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
