from django.contrib import admin

from .models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "account", "is_kids", "created_at"]
    list_filter = ["is_kids"]
    search_fields = ["name", "account__username"]
