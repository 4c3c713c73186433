"""What a student may type: the strategy fields, the firm name and the join code, checked one by one.

Every field of the student page is a text box, parsed here, so that any
input (text in a number box, 1e308, a 5,000-character name, HTML) gets one
message to show next to that field instead of reaching the model. The
ranges are the game's, inside the schema's: a class plays on one laptop.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

MAX_NAME = 20
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9 _-]*$")
MAX_TEXT = 40  # longer input in a number box is refused before parsing


@dataclass(frozen=True)
class Field:
    """One strategy field: the firm parameter, its label and the allowed range."""

    key: str
    label: str
    low: float
    high: float
    integer: bool = False
    help: str = ""

    def describe(self) -> str:
        return f"{_fmt(self.low)} to {_fmt(self.high)}" + (" (a whole number)" if self.integer else "")


def _fmt(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def strategy_fields(budget: float, cost_ad: float) -> tuple[Field, ...]:
    """The fields a student sets, in page order; ads are capped at what the whole budget buys."""
    max_ads = int(budget / cost_ad) if cost_ad > 0 else 100_000
    return (
        Field("posts_per_day", "Posts per day", 0.0, 20.0, help="each post costs money; followers tire of many"),
        Field("promo_share", "Promo share", 0.0, 1.0, help="share of posts that advertise (the rest are useful)"),
        Field("quality", "Quality of useful posts", 0.0, 1.0, help="how good the useful posts are"),
        Field("reply_rate", "Reply rate", 0.0, 1.0, help="share of comments you answer (each reply costs)"),
        Field("delete_critics", "Delete critics", 0.0, 1.0, help="share of unanswered critical comments deleted"),
        Field("ads_per_day", "Ads per day", 0, float(min(max_ads, 10_000_000)), integer=True,
              help="ad impressions bought each day"),
    )


def parse_number(text: Any, field: Field) -> tuple[float | int | None, str | None]:
    """(value, None) if ``text`` is a number in the field's range, else (None, message)."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        return None, f"enter a number from {field.describe()}"
    if len(raw) > MAX_TEXT:
        return None, f"too long: enter a number from {field.describe()}"
    percent = raw.endswith("%")
    body = raw[:-1].strip() if percent else raw
    body = body.replace(",", ".") if body.count(",") == 1 and "." not in body else body.replace(",", "")
    try:
        value = float(body)
    except ValueError:
        return None, f"not a number: enter a number from {field.describe()}"
    if percent:
        value /= 100.0
    if not math.isfinite(value):
        return None, f"not a finite number: enter a number from {field.describe()}"
    if not field.low <= value <= field.high:
        return None, f"must be from {field.describe()}"
    if field.integer:
        if not float(value).is_integer():
            return None, f"must be a whole number from {_fmt(field.low)} to {_fmt(field.high)}"
        return int(value), None
    return value, None


def parse_strategy(texts: dict[str, Any], fields: tuple[Field, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, errors): every field parsed; ``errors`` maps a field key to its message."""
    values, errors = {}, {}
    for field in fields:
        value, error = parse_number(texts.get(field.key), field)
        if error:
            errors[field.key] = error
        else:
            values[field.key] = value
    return values, errors


def check_name(text: Any) -> tuple[str | None, str | None]:
    """(name, None) for an acceptable firm name, else (None, message). Spaces at the ends are dropped."""
    name = str(text if text is not None else "").strip()
    if not name:
        return None, "enter a name for your firm"
    if len(name) > MAX_NAME:
        return None, f"at most {MAX_NAME} characters (got {len(name):,})"
    if not NAME_PATTERN.match(name):
        return None, "use letters, digits, spaces, - and _ only, starting with a letter"
    return name, None


def model_name(name: str) -> str:
    """The firm's identifier inside the model (a valid scenario firm name)."""
    return re.sub(r"[ -]+", "_", name)


def show(value: Any, field: Field) -> str:
    """A strategy value as the form shows it."""
    return str(int(value)) if field.integer else f"{float(value):g}"
