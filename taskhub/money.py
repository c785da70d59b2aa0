"""Money is Decimal with a currency; this is the one place amounts are rounded."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")


def quantize(amount: Decimal | int | str) -> Decimal:
    """Round an amount of money to cents, half up, the way a statement shows it."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def quantize_rate(amount: Decimal | int | str) -> Decimal:
    """Round a pay rate to four places (per-task rates can be fractions of a cent)."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    return Decimal(amount).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def money_text(amount) -> str:
    """An amount as people read it: at least two decimals, up to four for rates (0.085 -> 0.085,
    16 -> 16.00), with thousands separators. The `money` template filter writes the same."""
    text = f"{amount:,.4f}".rstrip("0")
    if text.endswith("."):
        return text + "00"
    if len(text.split(".")[-1]) == 1:
        return text + "0"
    return text
