"""Clients per account: the stack's own credentials, or the accepter role, re-assumed before it expires."""

from datetime import UTC, datetime, timedelta

import pytest

from peering.aws.clients import Clients
from peering.config import Settings
from peering.errors import AwsCallFailed


class FakeSts:
    def __init__(self, lifetimes):
        self.lifetimes = list(lifetimes)
        self.calls = []

    def assume_role(self, **kwargs):
        self.calls.append(kwargs)
        expiry = datetime.now(UTC) + self.lifetimes.pop(0)
        return {"Credentials": {"AccessKeyId": f"AK{len(self.calls)}", "SecretAccessKey": "s", "SessionToken": "t",
                                "Expiration": expiry}}


class FakeSession:
    def __init__(self, sts):
        self.sts = sts

    def client(self, service, **kwargs):
        assert service == "sts"
        return self.sts


def clients(sts, **settings):
    base = {"stack_account_id": "111111111111", "accepter_role_name": "Accepter", "accepter_role_external_id": "xid-1",
            "allowed_accepter_accounts": ("222222222222",)}
    return Clients(Settings(**{**base, **settings}), session=FakeSession(sts))


def test_own_account_uses_the_functions_credentials_without_assuming():
    sts = FakeSts([])
    c = clients(sts)
    assert c._session_for("111111111111") is c._session and sts.calls == []


def test_peer_account_assumes_the_role_with_the_external_id_once_while_fresh():
    sts = FakeSts([timedelta(hours=1)])
    c = clients(sts)
    first = c._session_for("222222222222")
    assert c._session_for("222222222222") is first
    assert sts.calls == [{"RoleArn": "arn:aws:iam::222222222222:role/peering-autopilot/Accepter",
                          "RoleSessionName": "peering-autopilot", "ExternalId": "xid-1"}]


def test_role_is_assumed_again_shortly_before_its_credentials_expire():
    sts = FakeSts([timedelta(minutes=5), timedelta(hours=1)])
    c = clients(sts)
    first = c._session_for("222222222222")
    second = c._session_for("222222222222")
    assert second is not first and len(sts.calls) == 2


def test_without_a_role_a_peer_account_is_refused_in_one_sentence():
    c = clients(FakeSts([]), accepter_role_name=None)
    with pytest.raises(AwsCallFailed, match=r"^The peer VPC belongs to account 222222222222 and no AccepterRoleName"):
        c._session_for("222222222222")


def test_an_account_outside_the_allow_lists_is_never_assumed_into():
    sts = FakeSts([timedelta(hours=1)])
    c = clients(sts)
    with pytest.raises(AwsCallFailed, match=r"^Account 333333333333 is in neither AllowedRequesterAccounts nor "):
        c._session_for("333333333333")
    assert sts.calls == []
