"""The aqicast API (FastAPI). The same app runs locally (`aqicast serve`, uvicorn) and on AWS
Lambda behind API Gateway (``include/serving/lambda_handler.py``, Mangum).

    GET /health                      liveness and what is loaded
    GET /v1/cities?prefix=Bei        cities with a forecast, by name prefix (any name, any script)
    GET /v1/forecast/{city}          tomorrow's AQI, category, colour, advice, model, history
    GET /v1/forecast/{city}/image    the 1080x1080 share image (PNG, or a redirect to a presigned URL)
    GET /                            the web page;  /openapi.json and /docs for the API

Every answer but /health takes ``?lang=`` (en, zh-Hans, es; also zh, zh-CN, es-MX...) or the
``Accept-Language`` header (``?lang=`` wins), and the forecasts take ``?scale=us|cn|in`` (default:
the city's national scale where aqicast has one, China -> cn, India -> in, else us).
"""
from __future__ import annotations

from pathlib import Path

from typing import Literal

from fastapi import FastAPI, Header, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from include.serving import i18n
from include.serving.service import MAX_NAME, BadCityName, ForecastService, NoForecasts, NoScale, UnknownCity

STATIC = Path(__file__).resolve().parent / "static"


class City(BaseModel):
    city_id: int
    city: str
    country: str | None
    gazetteer_name: str


class Health(BaseModel):
    """The scale's health texts in the answer's language; None where the scale has no such text
    (HJ 633 gives effects and one advice for all, CPCB health impacts only)."""
    general: str | None
    sensitive_groups: str | None
    who_is_concerned: str | None
    effects: str | None
    official: bool
    source: str


class ScaleValue(BaseModel):
    aqi: int
    aqi_range: list[int | None]
    category: str
    color: str
    label: str


class Day(BaseModel):
    date: str
    aqi: float | None


class Forecast(BaseModel):
    city: str
    gazetteer_name: str
    city_id: int
    country: str | None
    lang: str
    scale: str
    scale_label: str
    forecast_date: str
    issued_from: str
    issued_at: str | None
    aqi: int
    aqi_range: list[int | None]
    category: str
    color: str
    dominant_pollutant: str | None
    health: Health
    scales: dict[str, ScaleValue]
    model_version: str | None
    method: str | None
    fallback: bool
    fallback_reason: str | None
    history: list[Day]
    image_url: str


class Problem(BaseModel):
    detail: str
    suggestions: list[str] = []


ERRORS = {400: {"model": Problem, "description": "bad city name, or no forecast in the scale asked for"},
          404: {"model": Problem, "description": "unknown city (with suggestions)"},
          503: {"model": Problem, "description": "no forecast published yet, or the published snapshot is "
                                                   "unreadable (corrupt, truncated, wrong schema)"}}
CITY = PathParam(..., max_length=MAX_NAME * 4,
                 description="city name or any alternate name (any script, case- and accent-insensitive) or GeoNames id")
LANG = Query(None, max_length=35, description="answer language: en, zh-Hans (zh, zh-CN...), es (es-MX...); "
                                               "wins over Accept-Language; unsupported: Accept-Language, then en")
SCALE = Query(None, description="index scale: us (US EPA AQI), cn (China HJ 633-2012), in (India NAQI); "
                                "default: the city's national scale where there is one, else us")
ACCEPT_LANGUAGE = Header(None, max_length=i18n.MAX_ACCEPT_LANGUAGE * 4,
                         description="the client's languages (RFC 9110), used when lang is not given")
Scale = Literal["us", "cn", "in"]


def create_app(service: ForecastService) -> FastAPI:
    app = FastAPI(title="aqicast", version="1.0.0",
                  description="Tomorrow's US EPA Air Quality Index for cities worldwide.")

    @app.exception_handler(BadCityName)
    async def bad_name(_, exc: BadCityName):
        return JSONResponse(status_code=400, content={"detail": str(exc), "suggestions": []})

    @app.exception_handler(UnknownCity)
    async def unknown(_, exc: UnknownCity):
        return JSONResponse(status_code=404, content={"detail": str(exc), "suggestions": exc.suggestions})

    @app.exception_handler(NoScale)
    async def no_scale(_, exc: NoScale):
        return JSONResponse(status_code=400, content={"detail": str(exc), "suggestions": []})

    @app.exception_handler(NoForecasts)
    async def nothing(_, exc: NoForecasts):
        return JSONResponse(status_code=503, content={"detail": str(exc), "suggestions": []})

    def background_status() -> dict:
        """aws: where share images get their background (Bedrock model, or the local gradient and why)."""
        status = getattr(service.background, "status", None)
        return {"image_background": status} if status else {}

    @app.get("/health")
    def health() -> dict:
        try:
            snap = service.snapshot()
            return {"status": "ok", "issued_from": snap["issued_from"], "cities": len(snap["cities"]),
                    **background_status()}
        except NoForecasts as exc:  # alive, with nothing (good) to serve yet: say why
            return {"status": "ok", "issued_from": None, "cities": 0, "detail": str(exc), **background_status()}

    @app.get("/v1/cities", response_model=list[City], responses=ERRORS)
    def cities(prefix: str = Query("", max_length=MAX_NAME * 4,
                                   description="start of any of the city's names (any script, case- and accent-insensitive)"),
               limit: int = Query(20, ge=1, le=100), lang: str | None = LANG,
               accept_language: str | None = ACCEPT_LANGUAGE, response: Response = None):
        response.headers["Vary"] = "Accept-Language"
        return service.cities(prefix, limit, lang=i18n.negotiate(lang, accept_language))

    @app.get("/v1/forecast/{city}", response_model=Forecast, responses=ERRORS)
    def forecast(city: str = CITY, lang: str | None = LANG, scale: Scale | None = SCALE,
                 accept_language: str | None = ACCEPT_LANGUAGE, response: Response = None):
        response.headers["Vary"] = "Accept-Language"
        return service.forecast(city, lang=i18n.negotiate(lang, accept_language), scale=scale)

    @app.get("/v1/forecast/{city}/image", responses={**ERRORS, 200: {"content": {"image/png": {}}},
                                                      307: {"description": "presigned URL of the cached image"}})
    def image(city: str = CITY, lang: str | None = LANG, scale: Scale | None = SCALE,
              accept_language: str | None = ACCEPT_LANGUAGE):
        data, url = service.image(city, lang=i18n.negotiate(lang, accept_language), scale=scale)
        marks = {"X-Aqicast-Background": bg["source"]} if (bg := background_status().get("image_background")) else {}
        if url:
            return RedirectResponse(url, status_code=307, headers=marks)
        return Response(data, media_type="image/png",
                        headers={"Cache-Control": "public, max-age=3600", "Vary": "Accept-Language", **marks})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(lang: str | None = Query(None, max_length=35), accept_language: str | None = ACCEPT_LANGUAGE):
        code = i18n.negotiate(lang, accept_language)
        return HTMLResponse(render_page(code), headers={"Vary": "Accept-Language", "Content-Language": code})

    return app


def render_page(lang: str) -> str:
    """The web page in ``lang``: its ``lang`` attribute and the catalogue the script reads."""
    import html
    import json

    page = _page_template()
    catalogue = json.dumps(i18n.page_catalogue(lang), ensure_ascii=False).replace("</", "<\\/")
    return (page.replace('<html lang="en">', f'<html lang="{html.escape(lang)}">', 1)
                .replace("/*I18N*/{}", catalogue, 1))


def _page_template() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def service_from_settings(settings) -> ForecastService:
    """Local: the lake folder. AWS: the S3 lake, the SageMaker endpoint for live predictions (batch
    forecast as fallback) and Bedrock for the image background."""
    from include.serving.store import store_for

    root = settings.serving_root or settings.lake_root
    if settings.backend != "aws":
        return ForecastService(store_for(root), ttl_s=settings.snapshot_ttl_s)
    from include.serving.aws import bedrock_background, endpoint_predictor

    a = settings.aws
    background = bedrock_background(model_id=a.bedrock_image_model, family=a.bedrock_image_family,
                                    region=a.bedrock_region, check=True)
    background.check()  # the model's lifecycle (GetFoundationModel), once per start: gone -> local gradient
    return ForecastService(store_for(root), ttl_s=settings.snapshot_ttl_s,
                           predict=endpoint_predictor(endpoint=a.endpoint), background=background)


def service_from_env() -> ForecastService:
    """The service for this environment's settings (the Lambda's cold start)."""
    from include import config

    return service_from_settings(config.load())
