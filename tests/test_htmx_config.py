"""The layout's htmx configuration: form answers with errors (403/409/422) and error pages (404/429) are swapped in,
other errors are not (the browser tests in tests/e2e check the same in Chromium)."""

import html
import json
import re

import pytest


def _config(client) -> dict:
    page = client.get("/").get_data(as_text=True)
    raw = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page).group(1)
    return json.loads(html.unescape(raw))


def _first_rule(config, status: int) -> dict:
    # htmx 2 takes the first rule whose `code` regular expression matches the status.
    return next(r for r in config["responseHandling"] if re.search(r["code"], str(status)))


@pytest.mark.parametrize(("status", "swapped"), [
    (200, True), (204, False), (403, True), (409, True), (422, True),
    (404, True), (429, True),  # error pages: the server retargets them to the whole body
    (400, False), (413, False), (500, False),
])
def test_which_answers_htmx_swaps(client, status, swapped):
    assert _first_rule(_config(client), status)["swap"] is swapped


def test_htmx_stays_without_eval_and_inline_styles(client):
    config = _config(client)
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
