"""The fact log: posting events, and reading a member's viewing activity."""

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import Interaction
from events.selectors import play_list
from events.services import NEEDS_PAGE, NEEDS_QUERY, NEEDS_WATCHED, events_ingest
from members.selectors import member_get_for_account

from ..schema import VALIDATION_ERROR
from ..serializers import TitleOutput
from .validators import (
    MAX_BATCH,
    CountField,
    IdField,
    StrictUUIDField,
    TimeField,
    device_field,
)


@extend_schema_serializer(component_name="Play")
class PlayOutput(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.CharField()
    watched_seconds = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    title = TitleOutput()


class MemberPlayListApi(APIView):
    class Input(serializers.Serializer):
        limit = CountField(required=False, min_value=1, max_value=1000, default=100)

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


class EventInput(serializers.Serializer):
    """One event, any type. The fields a type requires (EVENT_NEEDS) are checked by the
    service, which reports them by index and field with the rest of the batch's errors."""

    event_id = StrictUUIDField(help_text="Client-generated; a repeated id is stored once.")
    type = serializers.ChoiceField(choices=Interaction.Type.choices)
    member = IdField(help_text="A member profile of the authenticated account.")
    title = IdField(help_text="An existing title id.")
    occurred_at = TimeField(
        required=False,
        help_text="Default now; not before the title entered the catalogue, at most 5 minutes "
        "ahead of the server.",
    )
    page_id = StrictUUIDField(
        required=False, allow_null=True, help_text="A page served to this member."
    )
    row_key = serializers.CharField(required=False, allow_blank=True, max_length=40)
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=999)
    watched_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=24 * 3600,
        help_text="At most the title's runtime (a movie, or one episode of a series).",
    )
    query = serializers.CharField(required=False, allow_blank=True, max_length=200)
    device = device_field(
        help_text="The device it happened on: one of tv, phone, tablet, desktop; left out: "
        "the device of the page named by page_id (unknown without a page)."
    )


EVENT_NEEDS = {
    kind: [
        field
        for field, kinds in (
            ("page_id", NEEDS_PAGE),
            ("watched_seconds", NEEDS_WATCHED),
            ("query", NEEDS_QUERY),
        )
        if kind in kinds
    ]
    for kind in Interaction.Type.values
}
"""Event type -> the fields it requires beyond the common ones (the service's rule)."""


def _typed_event(kinds: list[str], needs: list[str]) -> type[serializers.Serializer]:
    """The schema of the event types `kinds`: EventInput with `type` one of them and the
    fields they need required and non-null. For the OpenAPI schema only."""
    fields = dict(EventInput().get_fields())
    fields["type"] = serializers.ChoiceField(choices=kinds)
    for name in needs:
        field = fields[name]  # rebuilt from its own arguments: DRF copies fields that way
        kwargs = {**field._kwargs, "required": True, "allow_null": False}
        if isinstance(field, serializers.CharField):
            kwargs.update(allow_blank=False, min_length=1)
        fields[name] = type(field)(*field._args, **kwargs)
    name = "Or".join(kind.title().replace("_", "") for kind in kinds) + "Event"
    return extend_schema_serializer(component_name=name)(
        type(name, (serializers.Serializer,), fields)
    )


def _event_schemas() -> dict[str, type[serializers.Serializer]]:
    by_needs: dict[tuple[str, ...], list[str]] = {}
    for kind, needs in EVENT_NEEDS.items():
        by_needs.setdefault(tuple(needs), []).append(kind)
    schemas = {}
    for needs, kinds in by_needs.items():
        typed = _typed_event(kinds, list(needs))
        schemas.update(dict.fromkeys(kinds, typed))
    return schemas


class EventBatchSchema(serializers.Serializer):
    """The request body as the schema states it: each event by its type."""

    events = serializers.ListField(
        child=PolymorphicProxySerializer(
            component_name="Event",
            serializers=_event_schemas(),
            resource_type_field_name="type",
            many=False,
        ),
        min_length=1,
        max_length=MAX_BATCH,
    )


class EventCreateApi(APIView):
    class Input(serializers.Serializer):
        events = serializers.ListField(
            child=EventInput(), min_length=1, max_length=MAX_BATCH, allow_empty=False
        )

    @extend_schema_serializer(component_name="EventBatchResult")
    class Output(serializers.Serializer):
        stored = serializers.IntegerField()
        duplicates = serializers.IntegerField()

    @extend_schema(
        request=EventBatchSchema,
        responses={
            201: Output,
            409: OpenApiResponse(
                VALIDATION_ERROR,
                description="An event id this account already used for a different event; "
                "nothing of the batch was stored.",
            ),
        },
    )
    def post(self, request):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        stored, duplicates = events_ingest(
            account=request.user, events=payload.validated_data["events"]
        )
        return Response(
            {"stored": stored, "duplicates": duplicates}, status=status.HTTP_201_CREATED
        )
