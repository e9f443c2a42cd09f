"""Token authentication: DRF's, with the token and its account read in one query."""

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from members.selectors import ModelRows

_tokens = ModelRows(Token, "t")
_accounts = ModelRows(get_user_model(), "a")


@functools.cache
def _token_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {_tokens.columns()}, {_accounts.columns()} FROM {_tokens.table()} "
        f"JOIN {_accounts.table()} ON {quote('a')}.{quote('id')} = {quote('t')}.{quote('user_id')} "
        f"WHERE {quote('t')}.{quote('key')} = %s"
    )


def account_for_token(key: str):
    """(account, its Token) of an API token's key, in one query of plain SQL; None: no such
    token. DRF's own reads them through the ORM, 0.75-0.85 ms of CPU a request against
    0.2-0.25 ms (scripts/bench_reads.py)."""
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(connection.vendor), [key])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(_tokens.fields)
    token, account = _tokens.build(row[:width]), _accounts.build(row[width:])
    token.user = account
    return account, token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, answered as DRF's TokenAuthentication answers it."""

    def authenticate_credentials(self, key):
        # a key no token can have (PostgreSQL's text holds no NUL) is not asked of the database
        found = None if "\x00" in key else account_for_token(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        account, token = found
        if not account.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return account, token
