"""Every msgspec Struct krakenwire puts on or takes off the wire survives encode -> decode."""

import inspect
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenwire import _messages as m
from krakenwire.protocol import METHODS

# Prices and quantities are finite decimals on the wire (JSON numbers).
st.register_type_strategy(Decimal, st.decimals(allow_nan=False, allow_infinity=False, places=8))
# Raw fields hold JSON kept undecoded (e.g. warnings): any list of strings, compactly encoded.
st.register_type_strategy(
    msgspec.Raw,
    st.lists(st.text(max_size=20), max_size=5).map(lambda v: msgspec.Raw(msgspec.json.encode(v))),
)

STRUCTS = [
    obj
    for name, obj in vars(m).items()
    if inspect.isclass(obj)
    and issubclass(obj, msgspec.Struct)
    and obj.__module__ == m.__name__
    and not name.startswith("_")
    and name != "Reply"  # Raw fields: covered by the literal-bytes tests
]


def _fields_strategy(cls):
    return st.builds(cls, **{f.name: st.from_type(f.type) for f in msgspec.structs.fields(cls)})


for _cls in STRUCTS:  # nested Structs (params inside requests) are built field by field too
    st.register_type_strategy(_cls, st.deferred(lambda c=_cls: _fields_strategy(c)))


def test_every_request_method_is_covered():
    methods = {c.__struct_config__.tag for c in STRUCTS if c.__struct_config__.tag}
    assert set(METHODS) <= methods  # the table is the one list of methods
    # Every method the registry knows is sent as one of the Structs round-tripped here.
    assert {spec.request for spec in METHODS.values()} <= set(STRUCTS)
    assert {spec.request.__struct_config__.tag for spec in METHODS.values()} == set(METHODS)


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda c: c.__name__)
def test_struct_round_trips(cls):
    @settings(max_examples=40)
    @given(_fields_strategy(cls))
    def check(value):
        data = m.ENCODER.encode(value)
        assert msgspec.json.decode(data, type=cls) == value

    check()
