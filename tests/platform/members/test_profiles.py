"""Renaming and deleting profiles, and each profile's My List."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from events.models import Interaction
from members.models import MAX_MY_LIST, Member, MyListEntry
from members.selectors import MemberNotFound, member_get_for_account, my_list_title_ids
from members.services import (
    NotOnMyList,
    demo_account_ensure,
    member_create,
    member_delete,
    member_rename,
    my_list_add,
    my_list_remove,
)
from tests.factories import AccountFactory, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def test_rename_keeps_names_unique_within_the_account():
    ann = MemberFactory(name="Ann")
    MemberFactory(account=ann.account, name="Ben")
    assert member_rename(member=ann, name="  Anna ").name == "Anna"
    with pytest.raises(ValidationError, match="already has a profile named 'Ben'"):
        member_rename(member=ann, name="Ben")
    with pytest.raises(ValidationError, match="needs a name"):
        member_rename(member=ann, name="   ")
    with pytest.raises(ValidationError, match="at most 60 characters"):
        member_rename(member=ann, name="x" * 61)
    assert Member.objects.get(pk=ann.pk).name == "Anna"


def test_a_profile_without_facts_is_deleted_outright():
    ann = MemberFactory(name="Ann")
    MemberFactory(account=ann.account, name="Ben")
    member_delete(member=ann)
    assert not Member.objects.filter(pk=ann.pk).exists()


def test_a_profile_the_fact_log_refers_to_leaves_its_account_and_keeps_its_facts():
    ann = MemberFactory(name="Ann")
    MemberFactory(account=ann.account, name="Ben")
    title = TitleFactory()
    Interaction.objects.create(
        event_id=uuid.uuid4(), type="play", member=ann, title=title, watched_seconds=60,
        occurred_at=timezone.now(),
    )  # fmt: skip
    my_list_add(member=ann, title_id=title.pk)
    account = ann.account
    member_delete(member=ann)
    gone = Member.objects.get(pk=ann.pk)
    assert gone.account is None and gone.deleted_at is not None and "Ann" not in gone.name
    assert Interaction.objects.filter(member_id=ann.pk).count() == 1  # the log is append-only
    assert not MyListEntry.objects.filter(member_id=ann.pk).exists()
    with pytest.raises(MemberNotFound):
        member_get_for_account(member_id=ann.pk, account=account)
    # The name is free again, and the account has room for a fifth profile again.
    assert member_create(account=account, name="Ann").pk != ann.pk


def test_an_account_keeps_at_least_one_profile():
    ann = MemberFactory(name="Ann")
    with pytest.raises(ValidationError, match="only profile"):
        member_delete(member=ann)
    assert Member.objects.filter(pk=ann.pk, account=ann.account).exists()


def test_my_list_adds_once_removes_and_keeps_kids_titles_for_kids():
    kid = MemberFactory(is_kids=True)
    cartoon = TitleFactory(maturity_rating="all")
    horror = TitleFactory(maturity_rating="18+")
    entry, created = my_list_add(member=kid, title_id=cartoon.pk)
    assert created and entry.title == cartoon
    assert my_list_add(member=kid, title_id=cartoon.pk) == (entry, False)
    with pytest.raises(ValidationError, match="not for a kids profile"):
        my_list_add(member=kid, title_id=horror.pk)
    with pytest.raises(ValidationError, match="Unknown title id 999999"):
        my_list_add(member=kid, title_id=999999)
    future = TitleFactory(maturity_rating="all", added_at=timezone.now() + timedelta(days=3))
    with pytest.raises(ValidationError, match="Unknown title id"):
        my_list_add(member=kid, title_id=future.pk)
    assert my_list_title_ids(member_id=kid.pk, at=timezone.now()) == [cartoon.pk]
    my_list_remove(member=kid, title_id=cartoon.pk)
    with pytest.raises(NotOnMyList):
        my_list_remove(member=kid, title_id=cartoon.pk)
    assert my_list_title_ids(member_id=kid.pk, at=timezone.now()) == []


def test_my_list_is_newest_first_and_bounded(settings):
    member = MemberFactory()
    titles = TitleFactory.create_batch(3)
    for title in titles:
        my_list_add(member=member, title_id=title.pk)
    assert my_list_title_ids(member_id=member.pk, at=timezone.now()) == [
        t.pk for t in reversed(titles)
    ]
    MyListEntry.objects.bulk_create(
        MyListEntry(member=member, title=t) for t in TitleFactory.create_batch(MAX_MY_LIST - 3)
    )
    with pytest.raises(ValidationError, match=f"at most {MAX_MY_LIST}"):
        my_list_add(member=member, title_id=TitleFactory().pk)


def test_the_demo_account_is_made_staff_when_a_world_brought_it():
    fresh = demo_account_ensure(username="demo", password="pw-demo-1", profiles=[("Ann", False)])
    assert fresh.is_staff and [m.name for m in fresh.members.all()] == ["Ann"]
    brought = AccountFactory(username="household", password="world-pw")
    MemberFactory(account=brought, name="Quinn")
    made = demo_account_ensure(username="household", password="world-pw", profiles=[("X", 0)])
    assert made.is_staff and [m.name for m in made.members.all()] == ["Quinn"]
    with pytest.raises(ValidationError, match="another password"):
        demo_account_ensure(username="household", password="other", profiles=[])
