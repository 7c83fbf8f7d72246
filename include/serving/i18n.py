"""Every text the API, the web page and the share image show, in each language: one catalogue.

Languages: ``en``, ``zh-Hans`` (asked as zh, zh-CN, zh-SG, zh-Hans...), ``es`` (es, es-MX, es-419...).
Negotiation (:func:`negotiate`): ``?lang=`` first, then ``Accept-Language`` by weight (RFC 9110
§12.5.4), then English. Traditional Chinese (zh-TW, zh-HK, zh-Hant) is not offered: it falls to
the next language the client accepts.

Official wording and translations. Each scale's texts carry their source (``SOURCES``); a text is
**official** only where the scale's own authority publishes it in that language:

=====  ========  ====================================================================================
scale  language  wording
=====  ========  ====================================================================================
us     en        official: EPA's category names, AirNow "AQI Basics" meanings, TAD cautionary
                 statements (``include.categories``)
us     es        names official (AirNow en español: Buena, Moderada, Dañina a la salud para grupos
                 sensibles, ...); the health texts are aqicast's translation of EPA's English
                 (**non-official**)
us     zh-Hans   **non-official** translation
cn     zh-Hans   official: HJ 633-2012 Table 2 (类别, 对健康影响情况, 建议采取的措施)
cn     en, es    **non-official** translation of HJ 633-2012 Table 2
in     en        official: CPCB National AQI (2014) categories and "possible health impacts"
in     zh, es    **non-official** translation of CPCB's texts
(UI)   zh, es    labels of the page and the image: **non-official** (aqicast's own wording)
=====  ========  ====================================================================================

Pure Python, no I/O: imported by the API at cold start.
"""
from __future__ import annotations

import functools

from include.categories import CATEGORIES, SCALE_LEVELS, level_of

LANGUAGES = ("en", "zh-Hans", "es")
DEFAULT_LANGUAGE = "en"
#: Language tags (lower case) -> the language served. Prefix matching: "es-ar" -> "es".
_TAGS = {"en": "en", "zh": "zh-Hans", "zh-hans": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans",
         "zh-my": "zh-Hans", "es": "es"}
_NOT_SIMPLIFIED = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")
MAX_ACCEPT_LANGUAGE = 512  # longer headers are read only this far


def language_of(tag: str | None) -> str | None:
    """The catalogue language of one BCP 47 tag ("zh-CN" -> "zh-Hans", "es-419" -> "es"), or None."""
    t = (tag or "").strip().lower().replace("_", "-")
    if not t or t.startswith(_NOT_SIMPLIFIED):
        return None
    parts = t.split("-")
    for n in range(len(parts), 0, -1):
        hit = _TAGS.get("-".join(parts[:n]))
        if hit:
            return hit
    return None


def parse_accept_language(header: str | None) -> list[str]:
    """Tags of an ``Accept-Language`` header, best first (q=0 dropped; equal weights keep order)."""
    ranked = []
    for i, item in enumerate((header or "")[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, *params = [p.strip() for p in item.split(";")]
        if not tag:
            continue
        q = 1.0
        for p in params:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


@functools.lru_cache(maxsize=512)  # clients send few distinct headers: negotiate each once
def negotiate(lang: str | None = None, accept_language: str | None = None) -> str:
    """The language to answer in: ``lang`` when the catalogue has it, else the first supported
    language of ``accept_language``, else English (``*`` means any: English)."""
    for tag in ([lang] if lang else []) + parse_accept_language(accept_language):
        hit = language_of(tag)
        if hit:
            return hit
    return DEFAULT_LANGUAGE


# ---- scales: level names and health texts ---------------------------------------------------
# Each level: (name, effects, who is concerned, advice for everyone, advice for sensitive groups);
# None where the scale publishes no such text.

_US_EN = tuple((c.name, c.health_effects, c.who_is_concerned, c.advice_general, c.advice_sensitive)
               for c in CATEGORIES)

_SENSITIVE_ES = ("Personas con enfermedades del corazón o de los pulmones (incluida el asma), adultos "
                 "mayores, niños y adolescentes, y personas activas al aire libre.")
_US_ES = (  # names: AirNow en español (official); texts: translated from EPA's English (non-official)
    ("Buena", "La calidad del aire es satisfactoria y la contaminación del aire representa poco o ningún riesgo.",
     "Nadie.", "Ninguna. Es un gran día para estar activo al aire libre.",
     "Ninguna. Es un gran día para estar activo al aire libre."),
    ("Moderada", "La calidad del aire es aceptable. Sin embargo, puede haber un riesgo para algunas personas, "
     "en particular las inusualmente sensibles a la contaminación del aire.",
     "Personas inusualmente sensibles a la contaminación del aire.",
     "Es un buen día para estar activo al aire libre.",
     "Personas inusualmente sensibles: consideren acortar y hacer menos intensas las actividades al aire libre. "
     "Presten atención a síntomas como tos o falta de aire."),
    ("Dañina a la salud para grupos sensibles", "Los miembros de grupos sensibles pueden sufrir efectos en la "
     "salud. Es menos probable que el público en general se vea afectado.", _SENSITIVE_ES,
     "Está bien estar activo al aire libre.",
     "Reduzca los esfuerzos prolongados o intensos al aire libre: tome más descansos y haga actividades menos "
     "intensas. Las personas con asma deben seguir su plan de acción y tener a mano su medicamento de alivio rápido."),
    ("Dañina a la salud", "Algunos miembros del público en general pueden sufrir efectos en la salud; los "
     "miembros de grupos sensibles pueden sufrir efectos más graves.", "Todos.",
     "Reduzca los esfuerzos prolongados o intensos al aire libre. Tome más descansos durante las actividades al aire libre.",
     "Evite los esfuerzos prolongados o intensos al aire libre. Considere realizar las actividades en interiores o "
     "cambiarlas de fecha."),
    ("Muy dañina a la salud", "Alerta sanitaria: aumenta para todos el riesgo de efectos en la salud.", "Todos.",
     "Evite los esfuerzos prolongados o intensos al aire libre. Considere realizar las actividades en interiores o "
     "cambiarlas de fecha.",
     "Evite toda actividad física al aire libre. Realice las actividades en interiores o cámbielas a un momento con "
     "mejor calidad del aire."),
    ("Peligrosa", "Advertencia sanitaria de condiciones de emergencia: es más probable que todos se vean afectados.",
     "Todos.", "Evite toda actividad física al aire libre.", "Permanezca en interiores y mantenga un nivel bajo de actividad."),
)

_SENSITIVE_ZH = "心脏病或肺病（包括哮喘）患者、老年人、儿童和青少年，以及经常户外活动的人。"
_US_ZH = (  # non-official translation of EPA's English
    ("良好", "空气质量令人满意，空气污染几乎没有风险。", "无。", "无。非常适合户外活动。", "无。非常适合户外活动。"),
    ("中等", "空气质量可以接受，但对少数对空气污染异常敏感的人可能存在风险。", "对空气污染异常敏感的人。",
     "适合户外活动。", "异常敏感人群：考虑缩短户外活动时间、降低强度。留意咳嗽或气短等症状。"),
    ("对敏感人群不健康", "敏感人群可能出现健康影响，一般公众受影响的可能性较小。", _SENSITIVE_ZH,
     "可以进行户外活动。", "减少长时间或高强度的户外运动：多休息，降低活动强度。哮喘患者应遵循哮喘行动计划，备好速效药物。"),
    ("不健康", "部分公众可能出现健康影响；敏感人群可能出现更严重的健康影响。", "所有人。",
     "减少长时间或高强度的户外运动，户外活动时多休息。", "避免长时间或高强度的户外运动，考虑改在室内或改期进行。"),
    ("非常不健康", "健康警报：所有人出现健康影响的风险增加。", "所有人。",
     "避免长时间或高强度的户外运动，考虑改在室内或改期进行。", "避免一切户外体力活动，改在室内或在空气质量较好时进行。"),
    ("危险", "紧急状况健康警告：所有人都更可能受到影响。", "所有人。", "避免一切户外体力活动。", "留在室内，保持低活动量。"),
)

_CN_ZH = (  # HJ 633-2012 表2 (official): 类别, 对健康影响情况, 建议采取的措施
    ("优", "空气质量令人满意，基本无空气污染", None, "各类人群可正常活动", None),
    ("良", "空气质量可接受，但某些污染物可能对极少数异常敏感人群健康有较弱影响", None,
     "极少数异常敏感人群应减少户外活动", None),
    ("轻度污染", "易感人群症状有轻度加剧，健康人群出现刺激症状", None,
     "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼", None),
    ("中度污染", "进一步加剧易感人群症状，可能对健康人群心脏、呼吸系统有影响", None,
     "儿童、老年人及心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻炼，一般人群适量减少户外运动", None),
    ("重度污染", "心脏病和肺病患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状", None,
     "儿童、老年人和心脏病、肺病患者应停留在室内，停止户外运动，一般人群减少户外运动", None),
    ("严重污染", "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病", None,
     "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动", None),
)
_CN_EN = (  # non-official translation of HJ 633-2012 Table 2
    ("Excellent", "Air quality is satisfactory; there is basically no air pollution.", None,
     "Everyone can continue normal activities.", None),
    ("Good", "Air quality is acceptable, but some pollutants may have a weak effect on the health of a very small "
     "number of unusually sensitive people.", None, "A very small number of unusually sensitive people should reduce "
     "outdoor activities.", None),
    ("Lightly Polluted", "Symptoms of susceptible people are slightly aggravated; healthy people show irritation "
     "symptoms.", None, "Children, older people and people with heart or respiratory disease should reduce prolonged "
     "or intense outdoor exercise.", None),
    ("Moderately Polluted", "Symptoms of susceptible people are further aggravated; the heart and respiratory system "
     "of healthy people may be affected.", None, "Children, older people and people with heart or respiratory "
     "disease should avoid prolonged or intense outdoor exercise; everyone else should reduce outdoor exercise "
     "somewhat.", None),
    ("Heavily Polluted", "Symptoms of people with heart or lung disease are markedly aggravated and exercise "
     "tolerance falls; healthy people commonly show symptoms.", None, "Children, older people and people with heart "
     "or lung disease should stay indoors and stop outdoor exercise; everyone else should reduce outdoor exercise.",
     None),
    ("Severely Polluted", "Exercise tolerance of healthy people falls, with marked strong symptoms; some diseases "
     "appear earlier.", None, "Children, older people and the sick should stay indoors and avoid physical exertion; "
     "everyone else should avoid outdoor activities.", None),
)
_CN_ES = (  # non-official translation of HJ 633-2012 Table 2
    ("Excelente", "La calidad del aire es satisfactoria; prácticamente no hay contaminación.", None,
     "Todas las personas pueden realizar sus actividades normales.", None),
    ("Buena", "La calidad del aire es aceptable, pero algunos contaminantes pueden afectar levemente a un número muy "
     "pequeño de personas inusualmente sensibles.", None,
     "Un número muy pequeño de personas inusualmente sensibles debe reducir las actividades al aire libre.", None),
    ("Contaminación leve", "Los síntomas de las personas susceptibles se agravan levemente; las personas sanas "
     "presentan síntomas de irritación.", None, "Niños, adultos mayores y personas con enfermedades cardíacas o "
     "respiratorias deben reducir el ejercicio prolongado o intenso al aire libre.", None),
    ("Contaminación moderada", "Los síntomas de las personas susceptibles se agravan más; puede afectar al corazón y "
     "al sistema respiratorio de las personas sanas.", None, "Niños, adultos mayores y personas con enfermedades "
     "cardíacas o respiratorias deben evitar el ejercicio prolongado o intenso al aire libre; el resto debe "
     "reducirlo.", None),
    ("Contaminación fuerte", "Los síntomas de las personas con enfermedades cardíacas o pulmonares se agravan "
     "notablemente y baja la tolerancia al ejercicio; las personas sanas suelen presentar síntomas.", None,
     "Niños, adultos mayores y personas con enfermedades cardíacas o pulmonares deben permanecer en interiores y "
     "dejar el ejercicio al aire libre; el resto debe reducirlo.", None),
    ("Contaminación grave", "Baja la tolerancia al ejercicio de las personas sanas, con síntomas marcados; algunas "
     "enfermedades aparecen antes.", None, "Niños, adultos mayores y enfermos deben permanecer en interiores y "
     "evitar el esfuerzo físico; el resto debe evitar las actividades al aire libre.", None),
)

_IN_EN = (  # CPCB National AQI (2014), "possible health impacts" (official)
    ("Good", "Minimal impact", None, None, None),
    ("Satisfactory", "Minor breathing discomfort to sensitive people", None, None, None),
    ("Moderate", "Breathing discomfort to the people with lungs, asthma and heart diseases", None, None, None),
    ("Poor", "Breathing discomfort to most people on prolonged exposure", None, None, None),
    ("Very Poor", "Respiratory illness on prolonged exposure", None, None, None),
    ("Severe", "Affects healthy people and seriously impacts those with existing diseases", None, None, None),
)
_IN_ZH = (  # non-official translation of CPCB's texts
    ("好", "影响极小", None, None, None),
    ("满意", "敏感人群有轻微呼吸不适", None, None, None),
    ("中等", "肺病、哮喘和心脏病患者呼吸不适", None, None, None),
    ("差", "长时间暴露时大多数人呼吸不适", None, None, None),
    ("很差", "长时间暴露可致呼吸系统疾病", None, None, None),
    ("严重", "影响健康人群，并严重影响已有疾病的人", None, None, None),
)
_IN_ES = (  # non-official translation of CPCB's texts
    ("Buena", "Impacto mínimo", None, None, None),
    ("Satisfactoria", "Ligera molestia respiratoria en personas sensibles", None, None, None),
    ("Moderada", "Molestia respiratoria en personas con enfermedades pulmonares, asma o cardíacas", None, None, None),
    ("Mala", "Molestia respiratoria en la mayoría de las personas con exposición prolongada", None, None, None),
    ("Muy mala", "Enfermedades respiratorias con exposición prolongada", None, None, None),
    ("Severa", "Afecta a personas sanas y perjudica gravemente a quienes tienen enfermedades", None, None, None),
)

SCALE_TEXTS: dict[str, dict[str, tuple]] = {
    "us": {"en": _US_EN, "es": _US_ES, "zh-Hans": _US_ZH},
    "cn": {"zh-Hans": _CN_ZH, "en": _CN_EN, "es": _CN_ES},
    "in": {"en": _IN_EN, "zh-Hans": _IN_ZH, "es": _IN_ES},
}
#: Where each (scale, language)'s texts come from; "official" only when the authority publishes them.
SOURCES: dict[tuple[str, str], dict[str, object]] = {
    ("us", "en"): {"official": True, "source": "US EPA AQI (TAD 2024, AirNow AQI Basics)"},
    ("us", "es"): {"official": False, "source": "category names: AirNow en español; health texts: aqicast's "
                                                "translation of EPA's English (non-official)"},
    ("us", "zh-Hans"): {"official": False, "source": "aqicast's translation of EPA's English (non-official)"},
    ("cn", "zh-Hans"): {"official": True, "source": "HJ 633-2012 表2"},
    ("cn", "en"): {"official": False, "source": "aqicast's translation of HJ 633-2012 Table 2 (non-official)"},
    ("cn", "es"): {"official": False, "source": "aqicast's translation of HJ 633-2012 Table 2 (non-official)"},
    ("in", "en"): {"official": True, "source": "CPCB National Air Quality Index (2014)"},
    ("in", "zh-Hans"): {"official": False, "source": "aqicast's translation of CPCB's texts (non-official)"},
    ("in", "es"): {"official": False, "source": "aqicast's translation of CPCB's texts (non-official)"},
}
#: Which parts of a (scale, language) are official although the rest is not.
OFFICIAL_NAMES = {("us", "es")}
SCALE_LABELS = {  # the index's short name (badge); non-official outside each scale's own language
    "us": {"en": "US AQI", "es": "AQI EE. UU.", "zh-Hans": "美国 AQI"},
    "cn": {"en": "China AQI", "es": "AQI China", "zh-Hans": "中国 AQI"},
    "in": {"en": "India AQI", "es": "AQI India", "zh-Hans": "印度 AQI"},
}


def level_text(scale: str, index: float, lang: str) -> dict:
    """Name, colour and health texts of ``index`` on ``scale`` in ``lang`` (with their source).
    The same dict for every index of a level: read it, never change it."""
    return _level(scale, level_of(scale, index), lang)


@functools.lru_cache(maxsize=None)
def _level(scale: str, k: int, lang: str) -> dict:
    name, effects, who, general, sensitive = SCALE_TEXTS[scale][lang][k]
    src = SOURCES[(scale, lang)]
    return {"level": k, "name": name, "color": SCALE_LEVELS[scale][k][3], "key": SCALE_LEVELS[scale][k][0],
            "effects": effects, "who_is_concerned": who, "general": general, "sensitive_groups": sensitive,
            "official": bool(src["official"]), "name_official": bool(src["official"]) or (scale, lang) in OFFICIAL_NAMES,
            "source": src["source"]}


def legend(scale: str, lang: str) -> list[dict]:
    """Every level of ``scale``: name, range and colour (for the page's chart legend)."""
    return [{"name": SCALE_TEXTS[scale][lang][i][0], "lower": lo, "upper": hi, "color": color}
            for i, (_, lo, hi, color) in enumerate(SCALE_LEVELS[scale])]


# ---- the page's and the image's own words ----------------------------------------------------
# English: aqicast's wording; Chinese and Spanish: aqicast's translations (non-official).
UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "aqicast: tomorrow's air quality", "tagline": "Tomorrow's air quality", "skip": "Skip to the forecast",
        "city": "City", "placeholder": "Search a city, e.g. Delhi", "go": "Show forecast",
        "search_hint": "Type to see cities with a forecast; use the arrow keys and Enter to choose.",
        "cities_label": "Cities with a forecast", "forecast_for": "Forecast for", "fallback": "Fallback forecast.",
        "main_pollutant": "Main pollutant", "based_on": "Based on data of", "model": "Model",
        "general_public": "General public", "sensitive_groups": "Sensitive groups", "who": "Who: ",
        "share_image": "Share image", "rendering": "Rendering the image…", "image_caption": "1080 × 1080 PNG, ready for social media.",
        "download": "Download", "open_full": "Open full size", "chart_heading": "Last 7 days and tomorrow",
        "chart_title": "Daily AQI, last 7 days and tomorrow's forecast", "legend_label": "AQI categories",
        "footer": "Air Quality Index forecast for tomorrow, in the city's national scale. Data: OpenAQ and NOAA GSOD.",
        "api_docs": "API documentation", "type_city": "Type a city name.", "loading": "Loading the forecast for {name}…",
        "unreachable": "Could not reach the forecast service. Check your connection and try again.",
        "no_forecast": "No forecast for “{name}”.", "try_other": " Try another spelling or a nearby larger city.",
        "did_you_mean": "Did you mean:", "invalid_name": "“{name}” is not a valid city name: {detail}.",
        "none_yet": "No forecasts have been published yet. Please check back later.",
        "went_wrong": "Something went wrong (HTTP {status}). Please try again.", "likely_between": "Likely between {lo} and {hi}",
        "next_day_index": "Next-day Air Quality Index", "not_known": "Not known", "published": "published",
        "image_unavailable": "The share image is not available right now.", "tomorrow": "Tomorrow", "tmrw": "Tmrw",
        "no_data": "no data", "forecast_dashed": "Dashed outline: forecast", "cities_found": "{n} cities found.",
        "none_start": "No city starts with that.", "scale": "Scale", "forecast_label": "FORECAST",
        "last_7_days": "LAST 7 DAYS", "header_label": "AIR QUALITY FORECAST", "category_label": "CATEGORY",
        "na": "n/a", "sensitive_prefix": "Sensitive groups", "health_effects": "Health effects",
        "translation_note": "",
    },
    "zh-Hans": {
        "title": "aqicast：明日空气质量", "tagline": "明日空气质量", "skip": "跳到预报",
        "city": "城市", "placeholder": "搜索城市，例如 北京", "go": "查看预报",
        "search_hint": "输入以查看有预报的城市；用方向键和回车键选择。",
        "cities_label": "有预报的城市", "forecast_for": "预报日期", "fallback": "备用预报。",
        "main_pollutant": "首要污染物", "based_on": "数据日期", "model": "模型",
        "general_public": "一般人群", "sensitive_groups": "敏感人群", "who": "涉及人群：",
        "share_image": "分享图片", "rendering": "正在生成图片…", "image_caption": "1080 × 1080 PNG，可直接分享到社交媒体。",
        "download": "下载", "open_full": "查看原图", "chart_heading": "过去 7 天和明天",
        "chart_title": "每日 AQI：过去 7 天和明天的预报", "legend_label": "AQI 类别",
        "footer": "明日空气质量指数预报，采用城市所在国家的标准。数据来源：OpenAQ 和 NOAA GSOD。",
        "api_docs": "API 文档", "type_city": "请输入城市名称。", "loading": "正在加载{name}的预报…",
        "unreachable": "无法连接预报服务。请检查网络后重试。",
        "no_forecast": "没有“{name}”的预报。", "try_other": "请尝试其他写法或附近的较大城市。",
        "did_you_mean": "您是不是要找：", "invalid_name": "“{name}”不是有效的城市名称：{detail}。",
        "none_yet": "尚未发布任何预报，请稍后再来。",
        "went_wrong": "出错了（HTTP {status}）。请重试。", "likely_between": "可能在 {lo} 到 {hi} 之间",
        "next_day_index": "明日空气质量指数", "not_known": "未知", "published": "发布于",
        "image_unavailable": "分享图片暂时无法显示。", "tomorrow": "明天", "tmrw": "明天",
        "no_data": "无数据", "forecast_dashed": "虚线框：预报", "cities_found": "找到 {n} 个城市。",
        "none_start": "没有以此开头的城市。", "scale": "标准", "forecast_label": "预报",
        "last_7_days": "过去 7 天", "header_label": "空气质量预报", "category_label": "类别",
        "na": "无", "sensitive_prefix": "敏感人群", "health_effects": "对健康影响情况",
        "translation_note": "界面文字为 aqicast 翻译（非官方）。",
    },
    "es": {
        "title": "aqicast: la calidad del aire de mañana", "tagline": "La calidad del aire de mañana",
        "skip": "Ir al pronóstico", "city": "Ciudad", "placeholder": "Busque una ciudad, p. ej. Delhi",
        "go": "Ver pronóstico", "search_hint": "Escriba para ver las ciudades con pronóstico; elija con las flechas y Intro.",
        "cities_label": "Ciudades con pronóstico", "forecast_for": "Pronóstico para", "fallback": "Pronóstico de respaldo.",
        "main_pollutant": "Contaminante principal", "based_on": "Con datos del", "model": "Modelo",
        "general_public": "Público en general", "sensitive_groups": "Grupos sensibles", "who": "Quiénes: ",
        "share_image": "Imagen para compartir", "rendering": "Generando la imagen…",
        "image_caption": "PNG de 1080 × 1080, lista para redes sociales.", "download": "Descargar",
        "open_full": "Abrir en tamaño completo", "chart_heading": "Últimos 7 días y mañana",
        "chart_title": "AQI diario, últimos 7 días y pronóstico de mañana", "legend_label": "Categorías del AQI",
        "footer": "Pronóstico del índice de calidad del aire de mañana, en la escala nacional de la ciudad. "
                  "Datos: OpenAQ y NOAA GSOD.",
        "api_docs": "Documentación de la API", "type_city": "Escriba el nombre de una ciudad.",
        "loading": "Cargando el pronóstico de {name}…",
        "unreachable": "No se pudo contactar con el servicio de pronósticos. Revise su conexión e inténtelo de nuevo.",
        "no_forecast": "No hay pronóstico para “{name}”.", "try_other": " Pruebe otra grafía o una ciudad más grande cercana.",
        "did_you_mean": "Quizás quiso decir:", "invalid_name": "“{name}” no es un nombre de ciudad válido: {detail}.",
        "none_yet": "Todavía no se ha publicado ningún pronóstico. Vuelva más tarde.",
        "went_wrong": "Algo salió mal (HTTP {status}). Inténtelo de nuevo.", "likely_between": "Probablemente entre {lo} y {hi}",
        "next_day_index": "Índice de calidad del aire de mañana", "not_known": "Desconocido", "published": "publicado",
        "image_unavailable": "La imagen para compartir no está disponible ahora.", "tomorrow": "Mañana", "tmrw": "Mañ.",
        "no_data": "sin datos", "forecast_dashed": "Contorno discontinuo: pronóstico", "cities_found": "{n} ciudades encontradas.",
        "none_start": "Ninguna ciudad empieza así.", "scale": "Escala", "forecast_label": "PRONÓSTICO",
        "last_7_days": "ÚLTIMOS 7 DÍAS", "header_label": "PRONÓSTICO DE CALIDAD DEL AIRE", "category_label": "CATEGORÍA",
        "na": "s/d", "sensitive_prefix": "Grupos sensibles", "health_effects": "Efectos en la salud",
        "translation_note": "Textos de la interfaz: traducción de aqicast (no oficial).",
    },
}
POLLUTANTS: dict[str, dict[str, str]] = {
    "en": {"pm25": "PM2.5 (fine particles)", "pm10": "PM10 (coarse particles)", "o3": "Ozone (O₃)",
           "no2": "Nitrogen dioxide (NO₂)", "so2": "Sulphur dioxide (SO₂)", "co": "Carbon monoxide (CO)"},
    "zh-Hans": {"pm25": "PM2.5（细颗粒物）", "pm10": "PM10（可吸入颗粒物）", "o3": "臭氧（O₃）",
                "no2": "二氧化氮（NO₂）", "so2": "二氧化硫（SO₂）", "co": "一氧化碳（CO）"},
    "es": {"pm25": "PM2.5 (partículas finas)", "pm10": "PM10 (partículas gruesas)", "o3": "Ozono (O₃)",
           "no2": "Dióxido de nitrógeno (NO₂)", "so2": "Dióxido de azufre (SO₂)", "co": "Monóxido de carbono (CO)"},
}
WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
            "zh-Hans": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
            "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")}
WEEKDAYS_SHORT = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
                  "zh-Hans": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
                  "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")}
MONTHS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December"),
          "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                 "octubre", "noviembre", "diciembre")}


def ui(lang: str) -> dict[str, str]:
    return UI[lang]


def format_date(day, lang: str) -> str:
    """'Monday, 12 January 2015' / '2015年1月12日 星期一' / 'lunes, 12 de enero de 2015'."""
    wd = WEEKDAYS[lang][day.weekday()]
    if lang == "zh-Hans":
        return f"{day.year}年{day.month}月{day.day}日 {wd}"
    if lang == "es":
        return f"{wd}, {day.day} de {MONTHS['es'][day.month - 1]} de {day.year}"
    return f"{wd}, {day.day} {MONTHS['en'][day.month - 1]} {day.year}"


def page_catalogue(lang: str, scale: str = "us") -> dict:
    """What the web page needs in ``lang``: its words, pollutant names, the legend of each scale."""
    return {"lang": lang, "ui": UI[lang], "pollutants": POLLUTANTS[lang],
            "scales": {s: {"label": SCALE_LABELS[s][lang], "levels": legend(s, lang)} for s in SCALE_LEVELS},
            "default_scale": scale}


def all_texts(lang: str) -> str:
    """Every character the image may draw in ``lang`` (for the font coverage test)."""
    parts = list(UI[lang].values()) + list(POLLUTANTS[lang].values()) + list(WEEKDAYS[lang])
    parts += list(WEEKDAYS_SHORT[lang]) + list(MONTHS.get(lang, ())) + [SCALE_LABELS[s][lang] for s in SCALE_LABELS]
    for texts in SCALE_TEXTS.values():
        for row in texts[lang]:
            parts += [t for t in row if t]
    return "".join(parts)
