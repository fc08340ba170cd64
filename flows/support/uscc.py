"""Unified social credit codes (统一社会信用代码, GB 32100-2015): check character and validation.

Every fact row is keyed by a USCC, and a mistyped code must be caught at load rather than silently
becoming an unknown firm, so the check character is verified everywhere a code enters the warehouse.
Layout: 1 registration authority, 2 entity type, 3-8 registration division code (GB/T 2260),
9-17 organisation code, 18 check character.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def uscc_check_char(code17: str) -> str:
    """The 18th character for the first 17: 31 − (Σ value × weight mod 31), where 31 maps to 0."""
    if len(code17) != 17:
        raise ValueError(f"need 17 characters, got {len(code17)}: {code17!r}")
    total = 0
    for ch, w in zip(code17.upper(), WEIGHTS, strict=False):
        if ch not in _VALUE:
            raise ValueError(f"character {ch!r} is not allowed in a USCC: {code17!r}")
        total += _VALUE[ch] * w
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: object) -> bool:
    """True when code is an 18-character USCC over the allowed alphabet with the right check character."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    code = code.upper()
    if any(ch not in _VALUE for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def check_chars(codes17: np.ndarray) -> np.ndarray:
    """Vectorised check characters for an (n, 17) array of alphabet indices; returns (n,) indices.

    The generator makes hundreds of thousands of codes at province and nation scale, so it cannot
    loop per code.
    """
    total = (codes17.astype(np.int64) * np.asarray(WEIGHTS, dtype=np.int64)).sum(axis=1)
    return (31 - total % 31) % 31
