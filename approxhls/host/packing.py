"""Fixed-point codes packed into AXI-Stream words, exactly as the overlay's stream wrapper does.

Each element is its type's code (two's complement for signed types) in a field of ``field_bits``; fields
fill a word from its least significant bits; a sample starts on a new word. Words are little-endian
unsigned integers of ``word_bits`` (a multiple of 8, at most 64).
"""

from __future__ import annotations

import numpy as np

from approxhls.fixedpoint import FixedType


def words_per_sample(elements: int, field_bits: int, word_bits: int) -> int:
    per_word = word_bits // field_bits
    return -(-elements // per_word)


def _dtype(word_bits: int):
    return {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[word_bits]


def encode(x: np.ndarray, t: FixedType, field_bits: int, word_bits: int) -> np.ndarray:
    """(n, elements) real values on the type's grid -> (n, words) packed words."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    n, elements = x.shape
    codes = t.to_codes(x).astype(np.int64) & ((1 << field_bits) - 1)
    per_word = word_bits // field_bits
    wps = words_per_sample(elements, field_bits, word_bits)
    padded = np.zeros((n, wps * per_word), dtype=np.uint64)
    padded[:, :elements] = codes.astype(np.uint64)
    fields = padded.reshape(n, wps, per_word)
    shifts = (np.arange(per_word, dtype=np.uint64) * np.uint64(field_bits))
    words = np.bitwise_or.reduce(fields << shifts, axis=2)
    return words.astype(_dtype(word_bits))


def decode(words: np.ndarray, t: FixedType, field_bits: int, word_bits: int, elements: int) -> np.ndarray:
    """(n, words) packed words -> (n, elements) real values."""
    w = np.asarray(words).astype(np.uint64).reshape(len(words), -1)
    per_word = word_bits // field_bits
    shifts = (np.arange(per_word, dtype=np.uint64) * np.uint64(field_bits))
    mask = np.uint64((1 << field_bits) - 1) if field_bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    fields = ((w[:, :, None] >> shifts) & mask).reshape(len(w), -1)[:, :elements].astype(np.int64)
    if t.signed:
        sign = np.int64(1) << np.int64(field_bits - 1)
        fields = np.where(fields & sign, fields - (np.int64(1) << np.int64(field_bits)), fields)
    return t.from_codes(fields)
