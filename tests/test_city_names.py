"""City names and prefixes the API accepts: every name the gazetteer gives a city, in any script,
and every prefix of one; what it refuses still gets a readable 422."""
from __future__ import annotations

import pytest

from include.serving.service import BadCityName, check_name


@pytest.mark.parametrize("name", ["Homyel'", "N'", "N'Djamena", "Xi’an", "St. John's", "São Paulo", "मुंबई", "北京",
                                  "Frankfurt (Oder)", "Aix-en-Provence", "Ho Chi Minh City", "Da"])
def test_real_names_and_their_prefixes_are_accepted(name):
    assert check_name(name) == name


def test_every_gazetteer_city_name_and_two_letter_prefix_is_accepted():
    """The world history's 520 cities (113 countries) found "Homyel'" and "N'Djamena": check them all."""
    from include.etl.cities import gazetteer

    names = gazetteer()["city"].dropna().astype(str)
    refused = [n for n in names for x in (n, n[:2]) if len(x.strip()) == len(x) and _refuses(x)]
    assert refused == []


def _refuses(name: str) -> bool:
    try:
        check_name(name)
    except BadCityName:
        return True
    return False


@pytest.mark.parametrize("name", ["-Paris", "Paris;", "a|b", "x" * 81, "\u200bParis", "<script>"])
def test_other_text_is_refused(name):
    with pytest.raises(BadCityName):
        check_name(name)
