from django.contrib import admin

from .models import Genre, Title


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Title)
class TitleAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "kind", "maturity_rating", "release_date", "added_at"]
    list_filter = ["kind", "maturity_rating", "genres"]
    search_fields = ["name", "external_id", "synopsis"]
