"""The account and its member profiles."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from members.selectors import member_list


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
