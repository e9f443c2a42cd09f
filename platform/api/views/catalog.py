"""The catalogue: titles and search."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import title_list, title_search
from members.selectors import member_get_for_account

from ..serializers import TitleOutput


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    results = TitleOutput(many=True)


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
