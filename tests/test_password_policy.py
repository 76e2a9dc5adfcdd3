"""The password policy (issue 6 item 9, SPEC D7) on `postern user add` and
`postern user passwd`: each refusal names the rule and its config key."""

from __future__ import annotations

import pytest

from harness import ALICE, ALICE_PASSWORD

CAROL = "carol@example.org"


@pytest.fixture
def data(make_server):
    return make_server(start=False)


def add(server, address: str, password: str):
    return server.cli("user", "add", address, "--password-stdin", input=password + "\n", check=False)


@pytest.mark.parametrize(
    "password, rule",
    [
        ("Short-1a", "too short: at least 10 characters required (auth.password_min_length)"),
        ("longbutsimpleonly", "too simple: it mixes 1 of the classes lower case, upper case, digit and other; at least 3 required (auth.password_classes)"),
        ("Carol-Sings-42", "contains the user name `carol` (auth.password_forbid_names)"),
        ("My-EXAMPLE-Pass-4", "contains the domain name `example` (auth.password_forbid_names)"),
    ],
)
def test_user_add_refuses_weak_passwords(data, password, rule):
    p = add(data, CAROL, password)
    assert p.returncode != 0
    assert rule in p.stderr, p.stderr
    assert password not in p.stderr + p.stdout, "the refused password is echoed"
    assert CAROL not in data.cli("user", "list").stdout


def test_user_passwd_refuses_and_keeps_the_old_password(data):
    p = data.cli("user", "passwd", ALICE, "--password-stdin", input="alice-Is-Me-1\n", check=False)
    assert p.returncode != 0 and "auth.password_forbid_names" in p.stderr, p.stderr
    data.start()
    with data.submission(ALICE, ALICE_PASSWORD):
        pass


def test_the_policy_is_configurable(data):
    data.config_set("auth.password_min_length", "4")
    data.config_set("auth.password_classes", "1")
    data.config_set("auth.password_forbid_names", "false")
    assert add(data, CAROL, "carol").returncode == 0
    p = data.cli("config", "set", "auth.password_classes", "5", check=False)
    assert p.returncode != 0 and "auth.password_classes" in p.stderr
