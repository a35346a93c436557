"""Settings read from the environment reject bad values with a clear error."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str


def test_booleans(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", False)


def test_numbers_and_their_minimum(monkeypatch):
    assert env_int("UNSET_NUMBER", 7) == 7
    monkeypatch.setenv("N", "x")
    with pytest.raises(ImproperlyConfigured, match="N='x' is not an integer"):
        env_int("N", 1)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 1, minimum=1)
    monkeypatch.setenv("F", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_float("F", 1.0)


def test_lists(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , ,b.example")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_an_empty_string_means_unset(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "")
    assert env_str("DATABASE_URL", "sqlite:///x") == "sqlite:///x"
