from django.apps import AppConfig


class ExplorationConfig(AppConfig):
    name = "exploration"
    verbose_name = "Exploration"
