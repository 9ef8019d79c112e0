"""Rewrite the error table of README.rst from slack_rtm.ERRORS.

    python tools/readme_errors.py

The table sits between the ``.. BEGIN ERRORS`` and ``.. END ERRORS``
comments; a test checks that it matches, so it cannot drift from the code.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import slack_rtm  # noqa: E402

CATEGORIES = (slack_rtm.AuthError, slack_rtm.RequestFormatError, slack_rtm.RetryableError,
              slack_rtm.DeprecatedError)


def render():
    rows = ["code", "class", "category", "retryable", "what Slack says"]
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 20 20 16 8 36", ""]
    lines += ["   * - " + rows[0]] + ["     - " + r for r in rows[1:]]
    for code, cls in sorted(slack_rtm.ERRORS.items()):
        category = next(base.__name__ for base in CATEGORIES if issubclass(cls, base))
        doc = " ".join(cls.__doc__.split())
        cells = [f"``{code}``", f"``{cls.__name__}``", category, "yes" if cls.retryable else "no", doc]
        lines += ["   * - " + cells[0]] + ["     - " + c for c in cells[1:]]
    return "\n".join(lines) + "\n"


def rewrite(text):
    begin = text.index(".. BEGIN ERRORS")
    begin = text.index("\n", begin) + 1
    end = text.index(".. END ERRORS")
    return text[:begin] + "\n" + render() + "\n" + text[end:]


if __name__ == "__main__":
    path = ROOT / "README.rst"
    path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
