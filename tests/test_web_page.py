"""The web page in a real browser: Debian's headless Chromium, driven by Selenium, against the API on
loopback (uvicorn in a thread) over a test lake of real forecasts. The browser and its driver come from
apt (``make test`` installs them when missing); this test fails, never skips, without them."""
from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WINDOW = (1280, 1000)
INSTALL_HINT = ("the browser test needs Debian's chromium and chromium-driver: run `make test` (it installs them) "
                "or `apt-get install -y chromium chromium-driver` as root")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, lake_cache):
    import uvicorn

    from include.serving.app import create_app
    from include.serving.service import ForecastService
    from include.serving.store import LocalStore
    from tests.sample_lakes import build_serving_lake

    root = build_serving_lake(tmp_path_factory.mktemp("web") / "lake", cache=lake_cache)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held until uvicorn serves on it
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ForecastService(LocalStore(root))), log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def _chromium(tmp_path_factory, accept_language: str):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(p) and os.access(p, os.X_OK))]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: {INSTALL_HINT}", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import driver_finder

    def no_selenium_manager(*_a, **_k):  # there is no internet: never let Selenium Manager fetch a driver
        raise AssertionError("Selenium Manager must not run: the driver path is given explicitly")

    original = driver_finder.SeleniumManager.binary_paths
    driver_finder.SeleniumManager.binary_paths = no_selenium_manager
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 "--force-device-scale-factor=1", f"--lang={accept_language.split(',')[0]}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
    try:
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # noqa: BLE001 - say what to do, then fail
        pytest.fail(f"could not start headless chromium ({type(exc).__name__}: {exc}); {INSTALL_HINT}", pytrace=False)
    finally:
        driver_finder.SeleniumManager.binary_paths = original
    drv.set_window_size(*WINDOW)
    return drv, profile


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    drv, profile = _chromium(tmp_path_factory, "en-GB,en")
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def driver_zh(tmp_path_factory):
    """A browser whose user reads Simplified Chinese (Accept-Language: zh-CN)."""
    drv, profile = _chromium(tmp_path_factory, "zh-CN,zh")
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(drv, condition, timeout=15, what="condition"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(drv, timeout).until(lambda d: condition(d), message=f"timed out waiting for {what}")


def text(drv, element_id: str) -> str:
    return drv.find_element("id", element_id).text.strip()


def offered(drv) -> list[str]:
    """The type-ahead's visible options, read in one script call (the list is re-rendered as the
    user types, so element handles can go stale between two WebDriver calls)."""
    return drv.execute_script(
        "const l = document.getElementById('city-list');"
        "return l.hidden ? [] : [...l.querySelectorAll('li')].map((li) => li.dataset.city);")


def shown_city(drv, name):
    wait(drv, lambda d: text(d, "city-name") == name and d.find_element("id", "result").is_displayed(),
         what=f"the forecast card of {name}")


def test_search_shows_the_api_forecast_image_and_chart(driver, base_url):
    from selenium.webdriver.common.keys import Keys

    first = httpx.get(f"{base_url}/v1/cities", params={"limit": 1}).json()[0]["city"]
    driver.get(base_url + "/")
    shown_city(driver, first)  # the first city by default

    box = driver.find_element("id", "city-input")
    assert driver.find_element("css selector", "label[for=city-input]").text == "City"
    box.clear()
    box.send_keys("Del")
    wait(driver, lambda d: offered(d) == ["Delhi"], what="the type-ahead to offer Delhi")
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ARROW_DOWN, Keys.ENTER)  # by keyboard
    shown_city(driver, "Delhi")

    api = httpx.get(f"{base_url}/v1/forecast/Delhi").json()
    assert text(driver, "aqi-value") == str(api["aqi"])
    assert text(driver, "category") == api["category"]
    assert "Sulphur" not in text(driver, "pollutant") and text(driver, "pollutant")
    # Delhi is shown in India's scale (its default), with CPCB's health impacts and the US AQI beside it
    assert api["scale"] == "in" and text(driver, "scale-label") == "India AQI"
    assert api["health"]["effects"] in text(driver, "effects") and api["health"]["general"] is None
    assert not driver.find_element("id", "advice-general").is_displayed()
    assert f"US AQI {api['scales']['us']['aqi']}" in text(driver, "other-scales")
    assert api["model_version"] in text(driver, "model")
    assert driver.find_element("id", "fallback").is_displayed() is api["fallback"] is True
    assert driver.current_url.endswith("?city=Delhi")

    # the big number: the scale's colour behind it, text with the better contrast (Delhi is Severe: white on red)
    bg, fg = driver.execute_script(
        "const s = getComputedStyle(document.getElementById('aqi-badge')); return [s.backgroundColor, s.color];")
    assert api["color"] == "#C00000" and bg == "rgb(192, 0, 0)" and fg == "rgb(255, 255, 255)"
    assert driver.execute_script("return aqicast.textOn('#FFFF00')") == "#000000"

    wait(driver, lambda d: d.execute_script(
        "const i = document.getElementById('share-img'); return i.complete && i.naturalWidth > 0;"),
        timeout=30, what="the share image")
    assert driver.execute_script("return document.getElementById('share-img').naturalWidth") == 1080
    download = driver.find_element("id", "download")
    assert download.get_attribute("download") == f"aqicast-delhi-{api['forecast_date']}.png"
    assert download.get_attribute("href").endswith(api["image_url"])

    bars = driver.find_elements("css selector", "#chart rect.bar")
    assert len(bars) == 8
    assert [int(b.get_attribute("data-aqi")) for b in bars] == [round(h["aqi"]) for h in api["history"]] + [api["aqi"]]
    assert bars[-1].get_attribute("fill") == api["color"] and "forecast" in bars[-1].get_attribute("class")


def test_unknown_city_offers_the_suggestions_as_links(driver, base_url):
    driver.get(base_url + "/?city=Dellhi")
    wait(driver, lambda d: d.find_elements("css selector", "#suggestions a"), what="the suggestions")
    assert "No forecast for" in text(driver, "problem")
    links = {a.text: a for a in driver.find_elements("css selector", "#suggestions a")}
    assert "Delhi" in links and links["Delhi"].get_attribute("href").endswith("?city=Delhi&lang=en")
    links["Delhi"].click()
    shown_city(driver, "Delhi")
    assert not driver.find_element("id", "problem").is_displayed()


def test_bad_name_says_why(driver, base_url):
    driver.get(base_url + "/?city=Mumbai")
    shown_city(driver, "Mumbai")
    box = driver.find_element("id", "city-input")
    box.clear()
    box.send_keys("Delhi;rm -rf\n")
    wait(driver, lambda d: d.find_element("id", "problem").is_displayed(), what="the 400 message")
    assert "not a valid city name" in text(driver, "problem")


def test_missing_days_are_gaps(driver, base_url):
    driver.get(base_url + "/?city=Mumbai&scale=us")  # the US scale's colours
    shown_city(driver, "Mumbai")
    driver.execute_script("""aqicast.renderChart(
        [{date: '2019-01-05', aqi: 40}, {date: '2019-01-06', aqi: null}, {date: '2019-01-07', aqi: 75},
         {date: '2019-01-08', aqi: 120}, {date: '2019-01-09', aqi: null}, {date: '2019-01-10', aqi: 260},
         {date: '2019-01-11', aqi: 420}], {date: '2019-01-12', aqi: 180});""")
    bars = driver.find_elements("css selector", "#chart rect.bar")
    gaps = driver.find_elements("css selector", "#chart rect.gap")
    assert len(bars) == 6 and [g.get_attribute("data-date") for g in gaps] == ["2019-01-06", "2019-01-09"]
    assert [b.get_attribute("fill") for b in bars] == ["#00E400", "#FFFF00", "#FF7E00", "#8F3F97", "#7E0023", "#FF0000"]


def test_screenshot(driver, base_url, tmp_path):
    driver.get(base_url + "/?city=Delhi")
    shown_city(driver, "Delhi")
    wait(driver, lambda d: d.execute_script("return document.getElementById('share-img').naturalWidth") == 1080,
         timeout=30, what="the share image")
    out = Path(os.getenv("AQICAST_SCREENSHOT") or tmp_path / "page.png")
    assert driver.save_screenshot(str(out))
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.verify()
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    assert img.size == (width, height) and width == WINDOW[0] and abs(height - WINDOW[1]) <= 150


# -- the page in Chinese ----------------------------------------------------------------------------

def test_the_page_in_chinese(driver_zh, base_url):
    from selenium.webdriver.common.keys import Keys

    driver_zh.get(base_url + "/?city=" + "孟买")
    shown_city(driver_zh, "孟买")  # found by its Chinese name, shown in Chinese
    assert driver_zh.find_element("tag name", "html").get_attribute("lang") == "zh-Hans"
    assert driver_zh.find_element("css selector", "label[for=city-input]").text == "城市"
    assert text(driver_zh, "go") == "查看预报" and driver_zh.title.startswith("孟买")
    api = httpx.get(f"{base_url}/v1/forecast/Mumbai", headers={"Accept-Language": "zh-CN"}).json()
    assert api["lang"] == "zh-Hans" and text(driver_zh, "category") == api["category"]
    assert text(driver_zh, "scale-label") == "印度 AQI" and api["health"]["effects"] in text(driver_zh, "effects")
    assert text(driver_zh, "aqi-value") == str(api["aqi"])
    assert "颗粒物" in text(driver_zh, "pollutant")
    legend = [li.text for li in driver_zh.find_elements("css selector", "#legend li")]
    assert legend[0].startswith("好") and legend[-1] == "虚线框：预报"

    box = driver_zh.find_element("id", "city-input")
    box.clear()
    box.send_keys("德")  # type-ahead in Chinese script, answered in Chinese
    wait(driver_zh, lambda d: "德里" in offered(d), what="the type-ahead to offer 德里")
    box.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
    shown_city(driver_zh, "德里")
    wait(driver_zh, lambda d: d.execute_script("return document.getElementById('share-img').naturalWidth") == 1080,
         timeout=30, what="the share image")
    assert "lang=zh-Hans" in driver_zh.find_element("id", "share-img").get_attribute("src")

    driver_zh.get(base_url + "/?city=Bombey")
    wait(driver_zh, lambda d: d.find_elements("css selector", "#suggestions a"), what="the suggestions")
    assert "没有“Bombey”的预报" in text(driver_zh, "problem") and "您是不是要找" in text(driver_zh, "problem")
    assert "孟买" in [a.text for a in driver_zh.find_elements("css selector", "#suggestions a")]


def test_lang_parameter_overrides_the_browser_language(driver_zh, base_url):
    driver_zh.get(base_url + "/?city=Mumbai&lang=es")
    shown_city(driver_zh, "Mumbai")
    assert driver_zh.find_element("tag name", "html").get_attribute("lang") == "es"
    assert text(driver_zh, "go") == "Ver pronóstico" and text(driver_zh, "scale-label") == "AQI India"
