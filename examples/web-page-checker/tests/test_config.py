"""What config the checker refuses, and how: ConfigError naming each bad key, as the
platform's API reports it (422), before anything runs."""

from __future__ import annotations

import pytest
from web_page_checker import WebPageCheckerWorkload

from haymaker.errors import ConfigError
from haymaker_testing import StepRunner, run_workload

GOOD = "https://example.com/"


async def refused(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        await run_workload(WebPageCheckerWorkload, config)
    return caught.value


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/file", "is not an http:// or https:// URL"),
        ("example.com/page", "is not an http:// or https:// URL"),
        ("http://", "has no host"),
        ("https://exa mple.com/", "contains white space"),
        ("https://example.com/" + "a" * 200, "is longer than 200 characters"),
        (GOOD, "is listed twice"),
    ],
)
async def test_a_bad_url_is_refused_by_its_position(url, problem):
    error = await refused({"urls": [GOOD, url]})

    assert error.errors == [{"key": "urls.1", "message": f"{url!r} {problem}"}]
    assert error.detail == f"invalid config for web-page-checker: urls.1: {url!r} {problem}"
    assert error.status == 422


async def test_every_bad_url_is_named():
    error = await refused({"urls": ["ftp://a.example/", GOOD, "mailto:me@example.com"]})

    assert [e["key"] for e in error.errors] == ["urls.0", "urls.2"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("batch_size", 0),
        ("batch_size", 51),
        ("rounds", 0),
        ("timeout_seconds", 0),
        ("interval_seconds", -1),
        ("expect_status", 99),
        ("urls", []),
        ("urls", [f"https://example.com/{n}" for n in range(51)]),
        ("no_such_key", 1),
    ],
)
async def test_the_schema_refuses_out_of_range_values(key, value):
    error = await refused({"urls": [GOOD], key: value})

    assert [e["key"] for e in error.errors] == [key]


async def test_urls_are_required():
    error = await refused({})

    assert [e["key"] for e in error.errors] == ["urls"]


def test_urls_may_be_one_comma_separated_string_and_the_rest_has_defaults():
    runner = StepRunner(
        WebPageCheckerWorkload, {"urls": "https://a.example/, https://b.example/x?q=1"}
    )

    assert runner.config == {
        "urls": ["https://a.example/", "https://b.example/x?q=1"],
        "expect_status": 200,
        "contains": "",
        "timeout_seconds": 10.0,
        "follow_redirects": True,
        "batch_size": 10,
        "rounds": 1,
        "interval_seconds": 300,
        "fail_on_error": False,
    }
