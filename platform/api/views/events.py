"""The fact log: posting events, and reading a member's viewing activity."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import Interaction
from events.selectors import play_list
from events.services import events_ingest
from members.selectors import member_get_for_account

from ..serializers import TitleOutput
from .validators import MAX_BATCH, not_in_future


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
