"""Serializers shared by several API views (each view nests its own Input/Output)."""

from rest_framework import serializers

from catalog.models import Title


class TitleOutput(serializers.ModelSerializer):
    genres = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Title
        fields = [
            "id",
            "external_id",
            "name",
            "kind",
            "genres",
            "maturity_rating",
            "runtime_minutes",
            "release_date",
            "added_at",
            "synopsis",
        ]
