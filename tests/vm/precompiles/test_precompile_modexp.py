from hyperion.vm.precompiles import PrecompileError, modexp

import pytest


def _input(base: int, exponent: int, modulus: int, sizes=(32, 32, 32)) -> bytes:
    b, e, m = sizes
    header = b.to_bytes(32, "big") + e.to_bytes(32, "big") + m.to_bytes(32, "big")
    return header + base.to_bytes(b, "big") + exponent.to_bytes(e, "big") + modulus.to_bytes(m, "big")


def test_eip198_fermat_example():
    # EIP-198 example: 3^(p-1) mod p == 1 for p = 2^256 - 2^32 - 977.
    p = 2**256 - 2**32 - 977
    data = _input(3, p - 1, p)
    assert modexp.run(data) == (1).to_bytes(32, "big")
    # EIP-2565: words = 4 -> complexity 16; iterations = 255 -> 16*255/3 = 1360
    assert modexp.gas(data) == 1360


def test_minimum_gas_is_200():
    assert modexp.gas(_input(2, 3, 5, (1, 1, 1))) == 200
    assert modexp.run(_input(2, 3, 5, (1, 1, 1))) == b"\x03"


def test_zero_modulus_returns_zeros_of_mod_length():
    assert modexp.run(_input(2, 3, 0, (1, 1, 4))) == bytes(4)


def test_empty_modulus_length_returns_empty():
    assert modexp.run(_input(2, 3, 0, (1, 1, 0))) == b""
    assert modexp.run(b"") == b""


def test_short_input_is_zero_padded_on_the_right():
    # base_len=1, exp_len=1, mod_len=1 and body "\x02\x03" -> modulus byte is 0x00
    header = (1).to_bytes(32, "big") * 3
    assert modexp.run(header + b"\x02\x03") == b"\x00"
    # with the modulus present: 2^3 % 5
    assert modexp.run(header + b"\x02\x03\x05") == b"\x03"
    # a truncated header reads as zero-padded too: 95 bytes ending in 0x01
    # declare mod_len = 0x0100; the absent modulus reads as 0 -> 256 zero bytes
    assert modexp.run(header[:94] + b"\x01") == bytes(256)


def test_huge_declared_lengths_are_priced_without_allocation():
    huge = 2**255
    header = huge.to_bytes(32, "big") + (1).to_bytes(32, "big") + huge.to_bytes(32, "big")
    assert modexp.gas(header) > 2**400
    with pytest.raises(PrecompileError):
        modexp.run(header)


def test_huge_exponent_length_with_empty_modulus_is_cheap_and_empty():
    header = bytes(32) + (2**64).to_bytes(32, "big") + bytes(32)
    assert modexp.gas(header) == 200
    assert modexp.run(header) == b""


def test_long_exponent_gas_uses_first_32_bytes():
    # exp_len = 40: iterations = 8 * (40 - 32) + bitlen(head) - 1
    exponent = (1 << 319) | 5  # head's top bit set -> bitlen(head) = 256
    data = _input(7, exponent, 13, (1, 40, 1))
    assert modexp.gas(data) == max(200, 1 * (8 * 8 + 255) // 3)
    assert modexp.run(data) == pow(7, exponent, 13).to_bytes(1, "big")


# -- the price per fork: EIP-198 (Byzantium), EIP-7883 with EIP-7823's bounds (Osaka)


def test_eip198_price_of_the_fermat_example():
    # 3^(p-1) mod p, 32-byte operands: complexity 32^2, adjusted exponent length 255 -> 1024 * 255 // 20
    p = 2**256 - 2**32 - 977
    assert modexp.gas_eip198(_input(3, p - 1, p)) == 13056


def test_eip198_complexity_tiers_and_no_minimum():
    assert modexp.gas_eip198(_input(2, 3, 5, (1, 1, 1))) == 0  # 1 * 1 // 20
    assert modexp.gas_eip198(_input(0, 2, 0, (100, 1, 100))) == (100 * 100 // 4 + 96 * 100 - 3072) // 20
    assert modexp.gas_eip198(_input(0, 2, 0, (2000, 1, 0))) == (2000 * 2000 // 16 + 480 * 2000 - 199680) // 20


def test_eip7883_price():
    # operands of at most 32 bytes: complexity 16, minimum 500
    assert modexp.gas_eip7883(_input(2, 3, 5, (1, 1, 1))) == 500
    p = 2**256 - 2**32 - 977
    assert modexp.gas_eip7883(_input(3, p - 1, p)) == max(500, 16 * 255)
    # 64-byte modulus: 2 * words^2 = 128; exponent of 40 bytes: 16 * 8 + 255
    exponent = (1 << 319) | 5
    data = _input(7, exponent, 13, (1, 40, 64))
    assert modexp.gas_eip7883(data) == 128 * (16 * 8 + 255)


def test_eip7823_bounds_fail_the_call():
    assert modexp.gas_eip7883(_input(1, 1, 1, (1024, 1, 1024))) > 0
    for sizes in ((1025, 1, 1), (1, 1025, 1), (1, 1, 1025)):
        with pytest.raises(PrecompileError, match="1024"):
            modexp.gas_eip7883(_input(1, 1, 1, sizes))
    huge = (2**255).to_bytes(32, "big")
    with pytest.raises(PrecompileError):
        modexp.gas_eip7883(huge + bytes(64))
