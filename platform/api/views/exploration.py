"""The explorer's configuration and updates (staff only)."""

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

from exploration.models import Use
from exploration.selectors import explorer_config_get, explorer_config_list, update_run_get
from exploration.services import UpdateNotQueued, explorer_config_set, update_request

from ..schema import ErrorOutput


@extend_schema_serializer(component_name="ExplorerConfig")
class ExplorerConfigOutput(serializers.Serializer):
    use = serializers.CharField()
    enabled = serializers.BooleanField()
    policy = serializers.CharField(help_text="Blank for a use never configured.")
    rate = serializers.FloatField(help_text="Exploration rate in [0, 1] (the policy's epsilon).")
    floor = serializers.FloatField()
    positions = serializers.IntegerField(help_text="Slots only: explored Top Picks positions.")
    params = serializers.DictField()
    updated_at = serializers.DateTimeField(allow_null=True)


class ExplorerConfigListApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=ExplorerConfigOutput(many=True))
    def get(self, request):
        return Response(ExplorerConfigOutput(explorer_config_list(), many=True).data)


class ExplorerConfigDetailApi(APIView):
    permission_classes = [IsAdminUser]

    class Input(serializers.Serializer):
        enabled = serializers.BooleanField()
        policy = serializers.CharField(
            max_length=40,
            help_text="epsilon_greedy, softmax, linucb, linucb_hybrid, thompson, ...",
        )
        rate = serializers.FloatField(help_text="In [0, 1].")
        floor = serializers.FloatField(required=False, default=0.0)
        positions = serializers.IntegerField(required=False, default=2, min_value=0, max_value=20)
        params = serializers.DictField(required=False, default=dict)

    def _not_found(self, use: str) -> Response:
        return Response(
            {"detail": f"No explorer use {use!r}; one of {', '.join(Use.values)}."},
            status=status.HTTP_404_NOT_FOUND,
        )

    @extend_schema(responses=ExplorerConfigOutput)
    def get(self, request, use: str):
        config = explorer_config_get(use=use)
        if config is None:
            return self._not_found(use)
        return Response(ExplorerConfigOutput(config).data)

    @extend_schema(request=Input, responses=ExplorerConfigOutput)
    def put(self, request, use: str):
        if explorer_config_get(use=use) is None:
            return self._not_found(use)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        config = explorer_config_set(use=use, **body.validated_data)
        return Response(ExplorerConfigOutput(config).data)


@extend_schema_serializer(component_name="ExplorationState")
class ExplorationStateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    use = serializers.CharField()
    version = serializers.IntegerField()
    policy = serializers.CharField()
    counted = serializers.IntegerField()
    watermark = serializers.IntegerField()


@extend_schema_serializer(component_name="ExplorationUpdateRun")
class UpdateRunOutput(serializers.Serializer):
    run_id = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    trigger = serializers.CharField()
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    counts = serializers.DictField(
        help_text="Per use: watermark_before, watermark_after (impression ids), counted, and "
        "for a use that learned: rewarded, state, version, from_version."
    )
    states = ExplorationStateOutput(
        many=True, source="states.all", help_text="The states this run saved, newest first."
    )


class ExplorationUpdateApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None,
        responses={
            202: UpdateRunOutput,
            503: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="ExplorationUpdateUnavailable",
                    serializers=[UpdateRunOutput, ErrorOutput],
                    resource_type_field_name=None,
                ),
                description="The task broker is down: the run is recorded as failed, with why "
                "(or the database is, and nothing could be recorded: an Error).",
            ),
        },
    )
    def post(self, request):
        try:
            run = update_request(trigger="api")
        except UpdateNotQueued as exc:
            return Response(
                UpdateRunOutput(exc.run).data, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        return Response(UpdateRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class ExplorationUpdateDetailApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=UpdateRunOutput)
    def get(self, request, run_id: int):
        run = update_run_get(run_id=run_id)
        if run is None:
            return Response(
                {"detail": f"No exploration update run {run_id}."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(UpdateRunOutput(run).data)
