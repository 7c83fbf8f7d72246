"""Every city in its own terms: search by any gazetteer name in any script, the answer's language
(?lang= and Accept-Language), the scale (?scale=, default per country), the share image in each
language, and the national forecast derived from the US one. On real forecasts of the sample
(India 2019, Beijing 2015) through the real pipeline."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from include.catalog import SNAPSHOT_LATEST, snapshot
from include.serving import i18n
from include.serving.app import create_app
from include.serving.service import ForecastService, NameIndex
from include.serving.store import LocalStore
from include.text import search_key

DAY_BEIJING, DAY_INDIA = dt.date(2015, 1, 11), dt.date(2019, 1, 11)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, lake_cache):
    from tests.sample_lakes import two_country_serving_lake

    # test_api's lake (a week of history: no answer here depends on its length), built once a session
    return two_country_serving_lake(tmp_path_factory.mktemp("lang") / "lake", 7, DAY_BEIJING, DAY_INDIA, cache=lake_cache)


class Dated(LocalStore):
    """The lake as the API sees it on another day: ``latest`` is that day's published snapshot."""

    def __init__(self, root, day):
        super().__init__(root)
        self.day = day

    def get(self, key):
        return super().get(snapshot(self.day) if key == SNAPSHOT_LATEST else key)


@pytest.fixture(scope="module")
def india(lake):
    return TestClient(create_app(ForecastService(LocalStore(lake.root))))


@pytest.fixture(scope="module")
def beijing(lake):
    return TestClient(create_app(ForecastService(Dated(lake.root, DAY_BEIJING))))


# -- search keys and the gazetteer's names --------------------------------------------------------

def test_search_key_is_case_and_accent_insensitive_in_every_script():
    assert search_key("São Paulo") == search_key("sao paulo") == search_key("SAO  PAULO") == "sao paulo"
    assert search_key("Pékin") == search_key("PEKIN") == "pekin"
    assert search_key("Saint-Étienne") == "saint etienne"
    assert search_key("北京") == "北京" and search_key("मुंबई") == "मुंबई"  # marks of other scripts stay
    assert search_key("मुंबई") != search_key("मुबई")
    assert search_key("Ｔｏｋｙｏ") == "tokyo"  # full-width letters (NFKC)


def test_gazetteer_names_in_every_script_and_the_simplified_chinese_name():
    from include.etl.cities import city_names

    names = city_names([1816670, 1850147, 1275339, 3448439])  # Beijing, Tokyo, Mumbai, São Paulo
    assert names[1816670]["zh-Hans"] == "北京" and names[1850147]["zh-Hans"] == "东京"  # not 東京 (Japanese)
    assert names[1275339]["zh-Hans"] == "孟买" and names[3448439]["zh-Hans"] == "圣保罗"
    assert {"peking", "pekin", "北京"} <= set(names[1816670]["keys"])
    assert {"bombay", "मुंबई", "孟买"} <= set(names[1275339]["keys"])
    index = NameIndex([{"city_id": 3448439, "city": "São Paulo", "country": "BR"}], {"3448439": names[3448439]})
    for query in ("São Paulo", "sao paulo", "SÃO PAULO", "圣保罗", "Сан-Паулу", "3448439"):
        assert index.find(query)["city_id"] == 3448439, query
    assert [c["city_id"] for c in index.prefix("sao p", 5)] == [3448439]
    assert index.name(index.find("sampa"), "zh-Hans") == "圣保罗" and index.name(index.find("sampa"), "es") == "São Paulo"


# -- language negotiation -------------------------------------------------------------------------

@pytest.mark.parametrize("lang, header, expected", [
    (None, None, "en"), (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"), (None, "es-MX", "es"),
    (None, "fr-FR,es;q=0.5,en;q=0.4", "es"), (None, "en;q=0.2, zh;q=0.9", "zh-Hans"),
    (None, "zh-TW,es;q=0.5", "es"),  # Traditional Chinese is not offered: the next language
    (None, "de, *;q=0.1", "en"), (None, "zh;q=0, es", "es"), (None, "zh-Hans-CN", "zh-Hans"),
    ("es", "zh-CN", "es"), ("zh", "es", "zh-Hans"), ("xx", "zh-CN", "zh-Hans"), (None, ";;,q=", "en"),
])
def test_negotiation(lang, header, expected):
    assert i18n.negotiate(lang, header) == expected


def test_catalogue_is_complete_and_marks_what_is_official():
    for scale, langs in i18n.SCALE_TEXTS.items():
        assert set(langs) == set(i18n.LANGUAGES)
        for lang, rows in langs.items():
            assert len(rows) == 6 and all(len(r) == 5 and r[0] for r in rows), (scale, lang)
            assert (scale, lang) in i18n.SOURCES
    assert set(i18n.UI["en"]) == set(i18n.UI["zh-Hans"]) == set(i18n.UI["es"])
    official = {k for k, v in i18n.SOURCES.items() if v["official"]}
    assert official == {("us", "en"), ("cn", "zh-Hans"), ("in", "en")}
    assert all("non-official" in v["source"] for k, v in i18n.SOURCES.items() if k not in official)
    assert [r[0] for r in i18n.SCALE_TEXTS["cn"]["zh-Hans"]] == ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
    assert [r[0] for r in i18n.SCALE_TEXTS["us"]["es"]] == [
        "Buena", "Moderada", "Dañina a la salud para grupos sensibles", "Dañina a la salud", "Muy dañina a la salud",
        "Peligrosa"]
    assert [r[0] for r in i18n.SCALE_TEXTS["in"]["en"]] == ["Good", "Satisfactory", "Moderate", "Poor", "Very Poor",
                                                          "Severe"]
    assert i18n.level_text("cn", 152, "zh-Hans")["general"].startswith("儿童、老年人及心脏病")
    assert i18n.level_text("in", 401, "en")["effects"].startswith("Affects healthy people")


# -- the API ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Mumbai", "mumbai", "Bombay", "BOMBAY", "मुंबई", "मुम्बई", "孟买", "孟買", "Мумбаи", "ممبئی"])
def test_forecast_by_any_name_in_any_script(india, name):
    r = india.get(f"/v1/forecast/{name}")
    assert r.status_code == 200, r.text
    assert r.json()["city_id"] == 1275339 and r.json()["gazetteer_name"] == "Mumbai"


def test_other_alternate_names_and_suggestions(india):
    assert india.get("/v1/forecast/Calcutta").json()["gazetteer_name"] == "Kolkata"
    assert india.get("/v1/forecast/Madras").json()["gazetteer_name"] == "Chennai"
    assert india.get("/v1/forecast/Bangalore").json()["gazetteer_name"] == "Bengaluru"
    miss = india.get("/v1/forecast/Bombey", params={"lang": "zh"})
    assert miss.status_code == 404 and "孟买" in miss.json()["suggestions"]  # suggestions in the answer's language
    assert [c["gazetteer_name"] for c in india.get("/v1/cities", params={"prefix": "bom"}).json()] == ["Mumbai"]
    assert [c["gazetteer_name"] for c in india.get("/v1/cities", params={"prefix": "孟"}).json()] == ["Mumbai"]
    zh = india.get("/v1/cities", params={"prefix": "calc"}, headers={"Accept-Language": "zh-CN"}).json()
    assert [(c["city"], c["gazetteer_name"]) for c in zh] == [("加尔各答", "Kolkata")]


def test_language_from_accept_language_and_lang_overrides(india):
    zh = india.get("/v1/forecast/Delhi", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.headers["vary"] == "Accept-Language"
    zh = zh.json()
    assert zh["lang"] == "zh-Hans" and zh["city"] == "德里" and zh["scale_label"] == "印度 AQI"
    assert zh["category"] == i18n.level_text("in", zh["aqi"], "zh-Hans")["name"] and not zh["health"]["official"]
    es = india.get("/v1/forecast/Delhi", params={"lang": "es"}, headers={"Accept-Language": "zh-CN"}).json()
    assert es["lang"] == "es" and es["city"] == "Delhi" and es["scale_label"] == "AQI India"
    en = india.get("/v1/forecast/Delhi").json()
    assert en["lang"] == "en" and en["health"]["official"] and en["health"]["source"].startswith("CPCB")
    us_es = india.get("/v1/forecast/Delhi", params={"lang": "es", "scale": "us"}).json()
    assert us_es["category"] in [r[0] for r in i18n.SCALE_TEXTS["us"]["es"]] and us_es["health"]["general"]


def test_scale_defaults_to_the_country_and_both_values_are_carried(india, beijing, lake):
    fc = lake.read_partition("forecasts/city_daily", DAY_INDIA).set_index("city")
    delhi = india.get("/v1/forecast/Delhi").json()
    assert delhi["scale"] == "in" and set(delhi["scales"]) == {"us", "in"}
    assert delhi["aqi"] == fc.loc["Delhi", "national_pred"] and delhi["scales"]["us"]["aqi"] == fc.loc["Delhi", "aqi_pred"]
    assert delhi["category"] == fc.loc["Delhi", "national_category"]  # the ETL's and the API's categories agree
    assert [h["aqi"] for h in delhi["history"]][-1] == fc.loc["Delhi", "national_today"]
    us = india.get("/v1/forecast/Delhi", params={"scale": "us"}).json()
    assert us["scale"] == "us" and us["aqi"] == fc.loc["Delhi", "aqi_pred"]
    assert india.get("/v1/forecast/Delhi", params={"scale": "cn"}).status_code == 400
    assert india.get("/v1/forecast/Delhi", params={"scale": "eu"}).status_code == 422
    bj = beijing.get("/v1/forecast/北京", headers={"Accept-Language": "zh-CN"}).json()
    assert bj["scale"] == "cn" and bj["city"] == "北京" and bj["health"]["official"]
    assert bj["category"] in ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
    assert bj["health"]["effects"] and bj["health"]["general"] and bj["health"]["source"] == "HJ 633-2012 表2"
    for name in ("Pékin", "Peking", "pekin", "Beijing", "北京市"):
        assert beijing.get(f"/v1/forecast/{name}").json()["city_id"] == 1816670, name


def test_the_name_index_is_built_once_per_snapshot(lake):
    class Spy(LocalStore):
        gets: list[str] = []

        def get(self, key):
            self.gets.append(key)
            return super().get(key)

    spy = Spy(lake.root)
    client = TestClient(create_app(ForecastService(spy, ttl_s=0)))  # re-checks the snapshot on every request
    for name in ("Bombay", "मुंबई", "Calcutta", "孟买", "Delhi") * 4:
        assert client.get(f"/v1/forecast/{name}").status_code == 200
    names = [k for k in spy.gets if k.startswith("serving/names/")]
    assert len(names) == 1  # read once: the snapshot did not change


def test_without_the_names_document_the_gazetteer_names_still_work(lake, tmp_path):
    import shutil

    shutil.copytree(lake.path("serving"), tmp_path / "serving")
    for doc in (tmp_path / "serving" / "names").iterdir():
        doc.unlink()
    client = TestClient(create_app(ForecastService(LocalStore(tmp_path))))
    assert client.get("/v1/forecast/Mumbai").status_code == 200
    assert client.get("/v1/forecast/Bombay").status_code == 404


def test_openapi_documents_lang_and_scale(india):
    doc = india.get("/openapi.json").json()
    for path in ("/v1/forecast/{city}", "/v1/forecast/{city}/image", "/v1/cities"):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert {"lang", "accept-language"} <= set(params), path
        if path != "/v1/cities":
            schema = json.dumps(params["scale"]["schema"])
            assert all(f'"{s}"' in schema for s in ("us", "cn", "in"))


def test_the_page_is_served_in_the_asked_language(india):
    zh = india.get("/", headers={"Accept-Language": "zh-CN"})
    assert zh.headers["content-language"] == "zh-Hans" and '<html lang="zh-Hans">' in zh.text
    assert "查看预报" in zh.text  # the catalogue the script reads
    es = india.get("/?lang=es", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="es">' in es.text and "Ver pronóstico" in es.text


# -- the share image in each language -------------------------------------------------------------

@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_character_the_image_draws_has_a_glyph(lang):
    from fontTools.ttLib import TTFont

    from include.serving import image as share

    bold, regular = share.TEXT_FONTS[lang]
    drawn = {ch for ch in i18n.all_texts(lang) if not ch.isspace()}
    for path in {bold, regular}:
        cmap = TTFont(path).getBestCmap()
        missing = sorted(ch for ch in drawn if ord(ch) not in cmap and ch not in "×₂₃")  # pollutant/caption glyphs:
        assert not missing, (lang, path.name, missing)                                   # page only, or Latin font
        sample = sorted(drawn)[:: max(1, len(drawn) // 40)]
        assert all(share.has_glyph(path, ch) for ch in sample if ord(ch) in cmap)  # rendered, not the .notdef box


@pytest.mark.parametrize("lang, scale, words", [
    ("en", "us", "AIR QUALITY FORECAST"), ("zh-Hans", "cn", "空气质量预报"), ("es", "us", "PRONÓSTICO"),
    ("zh-Hans", "in", "空气质量预报"), ("es", "in", "PRONÓSTICO"),
])
def test_the_image_renders_in_each_language(india, beijing, lang, scale, words):
    client, city = (beijing, "Beijing") if scale == "cn" else (india, "Delhi")
    r = client.get(f"/v1/forecast/{city}/image", params={"lang": lang, "scale": scale})
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (1080, 1080)
    assert words in i18n.all_texts(lang)
    other = client.get(f"/v1/forecast/{city}/image", params={"lang": "en" if lang != "en" else "es", "scale": scale})
    header = [Image.open(io.BytesIO(x.content)).convert("RGB").crop((0, 0, 1080, 260)).tobytes() for x in (r, other)]
    assert header[0] != header[1]  # the words differ, not only the numbers


# -- the national forecast ----------------------------------------------------------------------

def test_us_aqi_maps_back_to_its_concentration():
    import numpy as np

    from include.etl import aqi as epa
    from include.forecast.predict import us_to_concentration

    for pol in ("pm25", "pm10"):
        values = np.arange(0, 501)
        back = epa.sub_index(pol, us_to_concentration(pol, values))[0]
        assert np.abs(back - values).max() <= 1, pol


def test_national_forecast_from_the_us_model(lake):
    import numpy as np

    from include.forecast.predict import national_forecast
    from include.etl.scales import scale

    f = lake.read_partition("features/city_daily", DAY_INDIA)
    f = f[f["aqi"].notna()].reset_index(drop=True)
    pred = f["aqi"].to_numpy(dtype=float) + 20  # a model saying "a little worse tomorrow"
    out = national_forecast(f, pred, pred - 10, pred + 10, persistence=False)
    pm = f["dominant_pollutant"].isin(["pm25", "pm10"]).to_numpy()
    assert pm.any() and (out.loc[pm, "national_method"] == "from-us").all()
    assert (out.loc[~pm & out["national_scale"].notna().to_numpy(), "national_method"] == "persistence").all()
    i = int(np.flatnonzero(pm)[0])
    pol = f.loc[i, "dominant_pollutant"]
    from include.forecast.predict import us_to_concentration

    expected = scale("in").sub_index(pol, us_to_concentration(pol, [pred[i]]))[0][0]
    assert out.loc[i, "national_pred"] == expected and out.loc[i, "national_scale"] == "in"
    assert out.loc[i, "national_lower"] <= out.loc[i, "national_pred"] <= out.loc[i, "national_upper"]


def test_a_snapshot_with_a_broken_national_value_is_rejected(lake):
    from include.serving.service import BadSnapshot, parse_snapshot

    snap = json.loads(open(lake.path("serving/latest.json"), "rb").read())
    assert parse_snapshot(json.dumps(snap).encode())["cities"]
    for broken in ({"scale": "eu", "aqi_pred": 100}, {"scale": "in", "aqi_pred": "high"},
                   {"scale": "in", "aqi_pred": 100.5}, {"scale": "in", "aqi_pred": 100, "history": "x"}, [1]):
        bad = json.loads(json.dumps(snap))
        bad["cities"][0]["national"] = broken
        with pytest.raises(BadSnapshot, match="national"):
            parse_snapshot(json.dumps(bad).encode())
