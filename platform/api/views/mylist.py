"""A member's My List: the titles they saved, which the homepage shows as a row."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from members.selectors import member_get_for_account, my_list_entries
from members.services import NotOnMyList, my_list_add, my_list_remove

from ..serializers import TitleOutput


@extend_schema_serializer(component_name="MyListEntry")
class MyListEntryOutput(serializers.Serializer):
    added_at = serializers.DateTimeField()
    title = TitleOutput()


class MemberMyListApi(APIView):
    """Read the list (GET) or add a title to it (POST)."""

    @extend_schema_serializer(component_name="MyListAddRequest")
    class Input(serializers.Serializer):
        title = serializers.IntegerField(min_value=1)

    @extend_schema_serializer(component_name="MyList")
    class Output(serializers.Serializer):
        member = serializers.IntegerField()
        entries = MyListEntryOutput(many=True)

    @extend_schema(responses=Output)
    def get(self, request, member_id: int):
        member = member_get_for_account(member_id=member_id, account=request.user)
        entries = my_list_entries(member=member)
        return Response(self.Output({"member": member.pk, "entries": entries}).data)

    @extend_schema(request=Input, responses={200: MyListEntryOutput, 201: MyListEntryOutput})
    def post(self, request, member_id: int):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        member = member_get_for_account(member_id=member_id, account=request.user)
        entry, created = my_list_add(member=member, title_id=payload.validated_data["title"])
        return Response(
            MyListEntryOutput(entry).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MemberMyListItemApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, member_id: int, title_id: int):
        member = member_get_for_account(member_id=member_id, account=request.user)
        try:
            my_list_remove(member=member, title_id=title_id)
        except NotOnMyList as exc:
            raise NotFound(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
