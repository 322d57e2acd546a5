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
        self.made = []

    def client(self, service, **kwargs):
        if service == "sts":
            return self.sts
        self.made.append((service, kwargs["region_name"]))
        return object()


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


def test_each_client_is_made_once_per_service_account_and_region_and_reused_by_later_calls():
    sts = FakeSts([timedelta(hours=1)])
    c = clients(sts)
    own = [c.client("ec2", "111111111111", "us-east-1") for _ in range(3)]
    assert own[0] is own[1] is own[2]
    assert c.client("ec2", "111111111111", "us-west-2") is not own[0]
    assert c.client("sns", "111111111111", "us-east-1") is not own[0]
    assert c._session.made == [("ec2", "us-east-1"), ("ec2", "us-west-2"), ("sns", "us-east-1")]
    peer = c.client("ec2", "222222222222", "us-east-1")
    assert c.client("ec2", "222222222222", "us-east-1") is peer and peer is not own[0]
    assert len(sts.calls) == 1


def test_a_client_of_the_accepter_role_is_made_again_with_the_re_assumed_credentials():
    sts = FakeSts([timedelta(minutes=5), timedelta(hours=1)])
    c = clients(sts)
    first = c.client("ec2", "222222222222", "us-east-1")
    second = c.client("ec2", "222222222222", "us-east-1")
    assert second is not first and len(sts.calls) == 2
    assert second._request_signer._credentials.access_key == "AK2"
    assert c.client("ec2", "222222222222", "us-east-1") is second and len(sts.calls) == 2
