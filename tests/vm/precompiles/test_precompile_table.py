from hyperion.vm.forks import CANCUN, PRAGUE, SHANGHAI
from hyperion.vm.precompiles import Precompile, precompile_address, precompiles_for


def test_shanghai_has_the_nine_classic_precompiles():
    table = precompiles_for(SHANGHAI)
    assert sorted(int.from_bytes(a, "big") for a in table) == list(range(1, 10))
    assert all(len(address) == 20 and isinstance(p, Precompile) for address, p in table.items())


def test_cancun_adds_point_evaluation():
    table = precompiles_for(CANCUN)
    assert table[precompile_address(0x0A)].name == "POINT_EVALUATION"
    assert precompile_address(0x0B) not in table


def test_prague_adds_bls_at_final_addresses():
    table = precompiles_for(PRAGUE)
    names = {int.from_bytes(a, "big"): p.name for a, p in table.items()}
    assert names[0x0B] == "BLS12_G1ADD"
    assert names[0x0C] == "BLS12_G1MSM"
    assert names[0x0D] == "BLS12_G2ADD"
    assert names[0x0E] == "BLS12_G2MSM"
    assert names[0x0F] == "BLS12_PAIRING_CHECK"
    assert names[0x10] == "BLS12_MAP_FP_TO_G1"
    assert names[0x11] == "BLS12_MAP_FP2_TO_G2"
    assert max(names) == 0x11


def test_returned_table_is_a_private_copy():
    table = precompiles_for(PRAGUE)
    table.clear()
    assert len(precompiles_for(PRAGUE)) == 17
