"""The forecast stage, between training and serving: D's features through the champion (a local
model or the endpoint) -> ``forecasts/city_daily/date=D`` -> the serving snapshot the API reads."""
