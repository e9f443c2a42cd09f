from django.apps import AppConfig


class HomepageConfig(AppConfig):
    name = "homepage"
    verbose_name = "Homepage"
