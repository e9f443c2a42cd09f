"""Creating, renaming and deleting an account's member profiles."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from members.models import Member
from members.selectors import member_get_for_account
from members.services import member_create, member_delete, member_rename

from ..schema import VALIDATION_ERROR
from .members import MemberProfileOutput
from .validators import TextField

NAME_LENGTH = Member._meta.get_field("name").max_length


class MemberCreateApi(APIView):
    @extend_schema_serializer(component_name="MemberCreateRequest")
    class Input(serializers.Serializer):
        name = TextField(max_length=NAME_LENGTH)
        is_kids = serializers.BooleanField(default=False)

    @extend_schema(request=Input, responses={201: MemberProfileOutput})
    def post(self, request):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        member = member_create(account=request.user, **payload.validated_data)
        return Response(MemberProfileOutput(member).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    """Rename (PATCH) or delete (DELETE) one profile of the signed-in account."""

    @extend_schema_serializer(component_name="MemberRenameRequest")
    class RenameInput(serializers.Serializer):
        name = TextField(max_length=NAME_LENGTH)

    @extend_schema(request=RenameInput, responses=MemberProfileOutput)
    def patch(self, request, member_id: int):
        payload = self.RenameInput(data=request.data)
        payload.is_valid(raise_exception=True)
        member = member_get_for_account(member_id=member_id, account=request.user)
        member = member_rename(member=member, name=payload.validated_data["name"])
        return Response(MemberProfileOutput(member).data)

    @extend_schema(
        request=None,
        responses={
            204: None,
            400: OpenApiResponse(VALIDATION_ERROR, description="This profile cannot be deleted."),
        },
    )
    def delete(self, request, member_id: int):
        member = member_get_for_account(member_id=member_id, account=request.user)
        member_delete(member=member)
        return Response(status=status.HTTP_204_NO_CONTENT)
