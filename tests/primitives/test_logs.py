"""Log records: the VM's constructor builds the same NamedTuple as the class."""

from hyperion.primitives.logs import Log, logs_hash, new_log


def test_new_log_is_a_log_built_without_namedtuples_python_new():
    fields = (b"\x05" * 20, (b"\x06" * 32, b"\x07" * 32), b"data")
    log = new_log(fields)
    assert type(log) is Log and log == Log(*fields)
    assert (log.address, log.topics, log.data) == fields
    assert log.to_rlp() == Log(*fields).to_rlp() and logs_hash([log]) == logs_hash([Log(*fields)])
