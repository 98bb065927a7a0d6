"""Checksums that tell a real identifier from a number that only looks like one."""

from __future__ import annotations

import datetime as dt

# GB 11643: weights of the first 17 digits and the check character for each sum mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# First two digits of a resident ID: the province-level division (GB/T 2260).
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83 91".split()
)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    return dt.date(1880, 1, 1) <= born <= dt.date.today()


def id18_valid(number: str) -> bool:
    """An 18-character resident ID: province, a real birth date and the GB 11643 check digit."""
    if len(number) != 18 or not number[:17].isdigit() or number[:2] not in PROVINCES:
        return False
    if not _valid_date(int(number[6:10]), int(number[10:12]), int(number[12:14])):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == number[17].upper()


def id15_valid(number: str) -> bool:
    """A first-generation 15-digit ID has no check digit: province and birth date (19yy) only."""
    if len(number) != 15 or not number.isdigit() or number[:2] not in PROVINCES:
        return False
    return _valid_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def luhn_valid(number: str) -> bool:
    digits = [int(char) for char in number if char.isdigit()]
    if len(digits) < 12:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
