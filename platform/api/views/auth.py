"""Signing in: a username and password for an API token, with brute force throttled."""

import hashlib

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView


class LoginFailureThrottle(SimpleRateThrottle):
    """Counts failed sign-ins only, so members who type their password right are never slowed
    down, while guessing stops at the rate: past it every attempt is answered 429 until the
    window has passed, the right password included (else a 200 among the 429s would give the
    password away). Subclasses say what is counted: a client address, or a username."""

    def allow_request(self, request, view):
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        return len(self.history) < self.num_requests

    def record_failure(self, request, view) -> None:
        self.allow_request(request, view)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class AddressLoginFailures(LoginFailureThrottle):
    scope = "login_failures_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UsernameLoginFailures(LoginFailureThrottle):
    """Guesses at one account spread over many addresses."""

    scope = "login_failures_username"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        username = str(data.get("username", ""))[:150].strip().lower()
        ident = hashlib.sha256(username.encode()).hexdigest()  # any text, as a safe cache key
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenCreateApi(APIView):
    """Exchange a username and password for the account's API token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, AddressLoginFailures, UsernameLoginFailures]

    @extend_schema_serializer(component_name="Credentials")
    class Input(serializers.Serializer):
        username = serializers.CharField(min_length=1, max_length=150)
        password = serializers.CharField(min_length=1, max_length=128, trim_whitespace=False)

    @extend_schema_serializer(component_name="AuthToken")
    class Output(serializers.Serializer):
        token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")

    @extend_schema(request=Input, responses=Output)
    def post(self, request):
        credentials = self.Input(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request=request, **credentials.validated_data)
        if user is None:
            for throttle in self.get_throttles():
                if isinstance(throttle, LoginFailureThrottle):
                    throttle.record_failure(request, self)
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.Output({"token": token.key}).data)
