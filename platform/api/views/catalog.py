"""The catalogue: titles and search."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import title_list, title_search
from members.selectors import member_get_for_account
from modeling.selectors import SIMILAR_FALLBACK, title_similar

from ..schema import NOT_FOUND
from ..serializers import TitleOutput
from .validators import CountField, IdField


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    results = TitleOutput(many=True)


class TitlePagination(PageNumberPagination):
    """Pages of titles. A `page_size` that is not 1 to 500 is a 400, and a `page` that is not
    a page of the list (past the end, not a number, or blank) a 404: DRF would quietly serve
    its defaults instead, which the schema does not allow."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= self.max_page_size):
            raise ValidationError(
                {"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(value)

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param, 1)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=100)
        return parameters


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


class SimilarTitleOutput(serializers.Serializer):
    similarity = serializers.FloatField(
        allow_null=True,
        help_text="Cosine similarity of the title embeddings; null from the fallback.",
    )
    title = TitleOutput()


class VersionRefOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()


class TitleSimilarApi(APIView):
    """More like this: the titles nearest to one title by the production version's stored
    title embeddings (cosine similarity), or, when there are none for it, the titles that
    share most of its genres, then the most played (`source` says which, `reason` why)."""

    class Input(serializers.Serializer):
        k = CountField(required=False, min_value=1, max_value=50, default=12)
        member = IdField(
            required=False,
            help_text="A profile of this account: kids titles only for a kids profile.",
        )

    @extend_schema_serializer(component_name="SimilarTitles")
    class Output(serializers.Serializer):
        title = serializers.IntegerField(help_text="The title they are like.")
        source = serializers.ChoiceField(choices=["embeddings", SIMILAR_FALLBACK])
        model_version = VersionRefOutput(allow_null=True, source="version")
        reason = serializers.CharField(help_text="Why the fallback answered; empty otherwise.")
        results = SimilarTitleOutput(many=True)

    @extend_schema(parameters=[Input], responses=Output)
    def get(self, request, title_id: int):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        title = title_list().filter(pk=title_id).first()
        if title is None:
            raise NotFound(f"No title {title_id} in the catalogue.")
        member = None
        if "member" in params.validated_data:
            member = member_get_for_account(
                member_id=params.validated_data["member"], account=request.user
            )
        similar = title_similar(
            title=title, k=params.validated_data["k"], kids_only=bool(member and member.is_kids)
        )
        return Response(
            self.Output(
                {
                    "title": title.pk,
                    "source": similar.source,
                    "version": similar.version,
                    "reason": similar.reason,
                    "results": [{"title": t, "similarity": s} for t, s in similar.results],
                }
            ).data
        )


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
