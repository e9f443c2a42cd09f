"""API v1: one view per operation, each calling one service or selector."""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import title_list, title_search
from events.models import Interaction
from events.selectors import play_list
from events.services import events_ingest
from homepage.services import homepage_build
from members.selectors import member_get_for_account, member_list
from modeling.selectors import model_version_list, retrain_run_get
from modeling.services import RetrainNotQueued, retrain_request

from .serializers import TitleOutput

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 500


def not_in_future(value):
    if value > timezone.now() + MAX_CLOCK_SKEW:
        raise serializers.ValidationError(
            f"{value.isoformat()} is in the future; times may run at most 5 minutes ahead of the server."
        )
    return value


@extend_schema_serializer(component_name="MemberProfile")
class MemberProfileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_kids = serializers.BooleanField()


class MeApi(APIView):
    @extend_schema_serializer(component_name="Me")
    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        is_staff = serializers.BooleanField()
        members = MemberProfileOutput(many=True)

    @extend_schema(responses=Output)
    def get(self, request):
        user = request.user
        return Response(
            self.Output(
                {
                    "id": user.pk,
                    "username": user.username,
                    "is_staff": user.is_staff,
                    "members": member_list(account=user),
                }
            ).data
        )


class HomepageItemOutput(serializers.Serializer):
    position = serializers.IntegerField()
    propensity = serializers.FloatField()
    score = serializers.FloatField(allow_null=True)
    title = TitleOutput()


class HomepageRowOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    explanation = serializers.CharField()
    policy = serializers.CharField()
    items = HomepageItemOutput(many=True)


class HomepageOutput(serializers.Serializer):
    page_id = serializers.UUIDField()
    member = serializers.IntegerField()
    served_at = serializers.DateTimeField()
    model_version = serializers.DictField(allow_null=True, help_text='{"id": int, "kind": str}')
    fallback = serializers.BooleanField()
    fallback_reason = serializers.CharField(allow_null=True)
    rows = HomepageRowOutput(many=True)


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    results = TitleOutput(many=True)


class MemberHomepageApi(APIView):
    class Input(serializers.Serializer):
        at = serializers.DateTimeField(required=False, validators=[not_in_future])

    @extend_schema(
        parameters=[OpenApiParameter("at", str, description="page clock, ISO 8601; default now")],
        responses=HomepageOutput,
    )
    def get(self, request, member_id: int):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        member = member_get_for_account(member_id=member_id, account=request.user)
        at = params.validated_data.get("at") or timezone.now()
        page = homepage_build(member=member, at=at)
        version = page.ranking.version
        payload = {
            "page_id": page.page.page_id,
            "member": member.pk,
            "served_at": at,
            "model_version": {"id": version.pk, "kind": version.kind} if version else None,
            "fallback": page.ranking.fallback,
            "fallback_reason": page.ranking.fallback_reason or None,
            "rows": [
                {
                    "key": row.key,
                    "title": row.title,
                    "explanation": row.explanation,
                    "policy": row.policy,
                    "items": [
                        {
                            "position": position,
                            "propensity": slot.propensity,
                            "score": slot.score,
                            "title": slot.title,
                        }
                        for position, slot in enumerate(row.slots)
                    ],
                }
                for row in page.rows
            ],
        }
        return Response(HomepageOutput(payload).data)


@extend_schema_serializer(component_name="Play")
class PlayOutput(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.CharField()
    watched_seconds = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    title = TitleOutput()


class MemberPlayListApi(APIView):
    class Input(serializers.Serializer):
        limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)

    @extend_schema_serializer(component_name="ViewingActivity")
    class Output(serializers.Serializer):
        member = serializers.IntegerField()
        plays = PlayOutput(many=True)

    @extend_schema(parameters=[Input], responses=Output)
    def get(self, request, member_id: int):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        member = member_get_for_account(member_id=member_id, account=request.user)
        plays = play_list(member_id=member.pk, limit=params.validated_data["limit"])
        return Response(self.Output({"member": member.pk, "plays": plays}).data)


class EventCreateApi(APIView):
    class EventInput(serializers.Serializer):
        event_id = serializers.UUIDField()
        type = serializers.ChoiceField(choices=Interaction.Type.choices)
        member = serializers.IntegerField(min_value=1)
        title = serializers.IntegerField(min_value=1)
        occurred_at = serializers.DateTimeField(required=False, validators=[not_in_future])
        page_id = serializers.UUIDField(required=False, allow_null=True)
        row_key = serializers.CharField(required=False, allow_blank=True, max_length=40)
        position = serializers.IntegerField(
            required=False, allow_null=True, min_value=0, max_value=999
        )
        watched_seconds = serializers.IntegerField(
            required=False, allow_null=True, min_value=0, max_value=24 * 3600
        )
        query = serializers.CharField(required=False, allow_blank=True, max_length=200)

    class Input(serializers.Serializer):
        events = serializers.ListField(min_length=1, max_length=MAX_BATCH)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["events"].child = EventCreateApi.EventInput()
            self.fields["events"].child.bind(field_name="", parent=self.fields["events"])

    @extend_schema_serializer(component_name="EventBatchResult")
    class Output(serializers.Serializer):
        stored = serializers.IntegerField()
        duplicates = serializers.IntegerField()

    @extend_schema(request=Input, responses={201: Output})
    def post(self, request):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        stored, duplicates = events_ingest(
            account=request.user, events=payload.validated_data["events"]
        )
        return Response(
            {"stored": stored, "duplicates": duplicates}, status=status.HTTP_201_CREATED
        )


class TitlePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class TitleListApi(APIView):
    @extend_schema(responses=TitleOutput(many=True))
    def get(self, request):
        paginator = TitlePagination()
        page = paginator.paginate_queryset(title_list(), request, view=self)
        return paginator.get_paginated_response(TitleOutput(page, many=True).data)


class TitleDetailApi(APIView):
    @extend_schema(responses=TitleOutput)
    def get(self, request, title_id: int):
        title = get_object_or_404(title_list(), pk=title_id)
        return Response(TitleOutput(title).data)


class TitleSearchApi(APIView):
    class Input(serializers.Serializer):
        q = serializers.CharField(min_length=1, max_length=200)
        member = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(parameters=[Input], responses=SearchOutput)
    def get(self, request):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        member = None
        if "member" in params.validated_data:
            member = member_get_for_account(
                member_id=params.validated_data["member"], account=request.user
            )
        results = title_search(query=params.validated_data["q"], member=member)
        return Response(
            {"query": params.validated_data["q"], "results": TitleOutput(results, many=True).data}
        )


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
    error = serializers.CharField()
    candidates = serializers.SerializerMethodField()
    promoted = serializers.IntegerField(source="promoted_id", allow_null=True)

    def get_candidates(self, run) -> list[int]:
        return sorted(version.pk for version in run.candidates.all())


class ModelRetrainApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={202: RetrainRunOutput, 503: RetrainRunOutput})
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
