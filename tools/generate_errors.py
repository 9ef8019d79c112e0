"""Regenerate the error classes of slack_rtm.py from Slack's method references.

    python tools/generate_errors.py [path/to/corpus/reference]

Reads every rtm.start / rtm.connect reference (the newest description of a
code wins, the dated scrapes before the current ones; apps.connections.open's
references are read first, so that a code both document keeps the RTM
methods' wording), adds the codes
SLACK.md lists that no reference describes, and rewrites the block between
the BEGIN GENERATED / END GENERATED markers of slack_rtm.py.  Each code goes
under the category base that SLACK.md's table gives it.
"""

import json
import pathlib
import re
import sys
import textwrap
from typing import Dict, List

HERE = pathlib.Path(__file__).resolve().parent
MODULE = HERE.parent / "slack_rtm.py"
DEFAULT_REFERENCE = HERE.parent / "corpus" / "reference"

# Read in this order; a later file's description replaces an earlier one.
SOURCES: List[str] = [
    "slack-api-ref/apps.connections.open_current.json",
    "slack-api-ref/docs.slack.dev_apps.connections.open.json",
    "slackhq-slack-api-docs/rtm.start.json",
    "slack-api-ref/rtm.start_2017-03-08.json",
    "slack-api-ref/rtm.start_2022-01-05.json",
    "slack-api-ref/rtm.connect_current.json",
    "slack-api-ref/rtm.start_current.json",
    "slack-api-ref/docs.slack.dev_rtm.connect.json",
    "slack-api-ref/docs.slack.dev_rtm.start.json",
]

# SLACK.md: "How slack_rtm groups them".
CATEGORIES: Dict[str, str] = {
    "AuthError": "not_authed invalid_auth account_inactive token_revoked token_expired no_permission "
                 "missing_scope not_allowed_token_type access_denied accesslimited ekm_access_denied "
                 "enterprise_is_restricted team_is_restricted two_factor_setup_required is_bot "
                 "missing_args forbidden_team link_disabled",
    "RequestFormatError": "invalid_arg_name invalid_array_arg invalid_charset invalid_form_data "
                          "invalid_post_type missing_post_type invalid_json json_not_object invalid_arguments "
                          "insecure_request",
    "RetryableError": "ratelimited migration_in_progress service_unavailable internal_error fatal_error "
                      "request_timeout team_added_to_org org_login_required",
    "DeprecatedError": "method_deprecated deprecated_endpoint rtm_connect_required unknown_method upgrade_required "
                       "legacy_custom_bots_deprecated",
}

# Codes SLACK.md lists that no reference describes: one line each, ours.
MISSING: Dict[str, str] = {
    "invalid_json": "The method was called with a JSON body that could not be parsed.",
    "json_not_object": "The method was called with a JSON body that is not an object.",
    "upgrade_required": "The client or API version used is no longer supported; an upgrade is required.",
    # Not a method's code: the reason of a Socket Mode ``disconnect`` (SLACK.md).
    "link_disabled": "Socket Mode was turned off in the app's settings (a Socket Mode disconnect with "
                     "reason link_disabled): permanent until a person turns it on again, so the session "
                     "ends without opening another connection.",
    # Seen in the wild, in no reference (SLACK.md, "Who still uses RTM").
    "team_is_restricted": "The workspace (an Enterprise Grid's) refuses this method to this token: a session "
                          "token is refused even client.counts on some grids.",
    "legacy_custom_bots_deprecated": "A legacy custom bot's token: legacy custom bots stopped working on "
                                     "2025-03-31 (rtm.start answers this since 2025-04-04).",
}

# Extra lines in a class body.
EXTRA: Dict[str, List[str]] = {
    "ratelimited": ["#: Seconds to wait, from the Retry-After header (None when it was absent).",
                    "retry_after: Optional[float] = None"],
    # The code alone does not say what to do: the message does.
    "legacy_custom_bots_deprecated": [
        "def __str__(self) -> str:",
        "    return (f\"{super().__str__()} (legacy custom bots stopped working on 2025-03-31: make a Slack \"",
        "            \"app and use its token)\")"],
}


def class_name(code: str) -> str:
    return "RateLimited" if code == "ratelimited" else "".join(p.capitalize() for p in code.split("_"))


def clean(text: str) -> str:
    # Reference text is Markdown: keep the words, drop link targets and backticks.
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(text.replace("`", "").split())


def descriptions(reference: pathlib.Path) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for name in SOURCES:
        errors = json.loads((reference / name).read_text(encoding="utf-8")).get("errors") or {}
        for code, desc in errors.items():
            if isinstance(desc, dict):
                desc = desc.get("desc")
            if isinstance(desc, str) and desc.strip():
                found[code] = clean(desc)
    for code, desc in MISSING.items():
        found.setdefault(code, desc)
    return found


def render(reference: pathlib.Path) -> str:
    desc = descriptions(reference)
    lines: List[str] = []
    for base, codes in CATEGORIES.items():
        for code in codes.split():
            doc = textwrap.wrap(desc[code], 92)
            doc = [doc[0]] + ["    " + d for d in doc[1:]]
            doc[0] = '    """' + doc[0]
            doc[-1] += '"""'
            lines += ["", "", f'class {class_name(code)}({base}, code="{code}"):', *doc]
            if code in EXTRA:
                lines += [""] + ["    " + line for line in EXTRA[code]]
    return "\n".join(lines[2:])


def main(argv: List[str]) -> None:
    reference = pathlib.Path(argv[1]) if len(argv) > 1 else DEFAULT_REFERENCE
    source = MODULE.read_text(encoding="utf-8")
    begin = source.index("# BEGIN GENERATED")
    begin = source.index("\n", begin) + 1
    end = source.index("# END GENERATED")
    MODULE.write_text(source[:begin] + render(reference) + "\n" + source[end:], encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv)
