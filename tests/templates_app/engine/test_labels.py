"""The version-resolution rule and label names, as pure functions (no database)."""

from __future__ import annotations

import pytest

from templates_app.engine.errors import CachetError, NotFoundError
from templates_app.engine.labels import (
    DEFAULT_LABEL,
    LABEL_MAX_LENGTH,
    LATEST,
    label_name_problem,
    label_to_look_up,
    resolve_version,
)

VERSIONS = {1: "v1", 2: "v2", 3: "v3"}


def resolve(version=None, label=None, *, labels=None, versions=VERSIONS, asked=None):
    labels = {"production": "v2", "staging": "v3"} if labels is None else labels
    asked = [] if asked is None else asked

    def by_number(number):
        asked.append(("number", number))
        return versions.get(number)

    def by_label(name):
        asked.append(("label", name))
        return labels.get(name)

    def latest():
        asked.append(("latest",))
        return versions[max(versions)] if versions else None

    return resolve_version(
        slug="doc-qa",
        version=version,
        label=label,
        by_number=by_number,
        by_label=by_label,
        latest=latest,
    )


@pytest.mark.parametrize(
    ("version", "label", "labels", "expected"),
    [
        (1, None, None, ("v1", None)),
        (None, "staging", None, ("v3", "staging")),
        (None, LATEST, None, ("v3", LATEST)),
        (None, None, None, ("v2", DEFAULT_LABEL)),  # production wins over latest
        (None, None, {}, ("v3", LATEST)),  # no production: the newest version
    ],
)
def test_the_rule_picks_version_label_production_then_latest(version, label, labels, expected):
    assert resolve(version, label, labels=labels) == expected


def test_version_and_label_together_are_refused():
    with pytest.raises(CachetError, match="either 'version' or 'label'"):
        resolve(1, "staging")


@pytest.mark.parametrize(
    ("version", "label", "versions", "message"),
    [
        (9, None, VERSIONS, "template 'doc-qa' has no version 9"),
        (None, "canary", VERSIONS, "template 'doc-qa' has no label 'canary'"),
        (None, "", VERSIONS, "template 'doc-qa' has no label ''"),  # empty is a label too
        (None, None, {}, "template 'doc-qa' has no versions yet"),
        (None, LATEST, {}, "template 'doc-qa' has no versions yet"),
    ],
)
def test_what_is_missing_is_named(version, label, versions, message):
    with pytest.raises(NotFoundError) as caught:
        resolve(version, label, labels={} if not versions else None, versions=versions)
    assert caught.value.message == message


def test_only_the_lookups_the_rule_needs_are_asked():
    asked: list[tuple] = []
    resolve(2, asked=asked)
    assert asked == [("number", 2)]

    asked.clear()
    resolve(None, LATEST, asked=asked)
    assert asked == [("latest",)]

    asked.clear()
    resolve(asked=asked)
    assert asked == [("label", DEFAULT_LABEL)]


def test_latest_is_no_stored_label_and_neither_means_production():
    assert label_to_look_up(LATEST) is None
    assert label_to_look_up(None) == DEFAULT_LABEL
    assert label_to_look_up("staging") == "staging"


@pytest.mark.parametrize("name", ["production", "canary-2", "team_a", "v2"])
def test_good_label_names_pass(name):
    assert label_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (LATEST, "always means the newest version"),
        ("Prod", "not a valid label name"),
        ("a--b", "not a valid label name"),
        ("-a", "not a valid label name"),
        ("a" * (LABEL_MAX_LENGTH + 1), f"up to {LABEL_MAX_LENGTH}"),
        ("", "not a valid label name"),
    ],
)
def test_bad_label_names_are_explained(name, fragment):
    assert fragment in label_name_problem(name)
