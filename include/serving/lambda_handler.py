"""AWS Lambda entry point (API Gateway HTTP API): the same FastAPI app through Mangum.
Cold start stays small: no pandas, pyarrow or model is imported here."""
from mangum import Mangum

from include.serving.app import create_app, service_from_env

app = create_app(service_from_env())
handler = Mangum(app, lifespan="off")
