"""The catalogue: titles and search."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import title_list, title_search
from members.selectors import member_get_for_account

from ..schema import NOT_FOUND
from ..serializers import TitleOutput
from .validators import IdField


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    results = TitleOutput(many=True)


class TitlePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class TitleListApi(generics.ListAPIView):
    """The catalogue, a page at a time (`count`, `next`, `previous`, `results`)."""

    serializer_class = TitleOutput
    pagination_class = TitlePagination

    def get_queryset(self):
        return title_list()


class TitleDetailApi(APIView):
    @extend_schema(responses=TitleOutput)
    def get(self, request, title_id: int):
        title = get_object_or_404(title_list(), pk=title_id)
        return Response(TitleOutput(title).data)


class TitleSearchApi(APIView):
    class Input(serializers.Serializer):
        q = serializers.CharField(min_length=1, max_length=200)
        member = IdField(required=False, help_text="A profile of this account: search as it.")

    @extend_schema(parameters=[Input], responses={200: SearchOutput, 404: NOT_FOUND})
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
