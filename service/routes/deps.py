"""Route dependencies as Annotated aliases (the FastAPI template's deps.py)."""

from typing import Annotated

from fastapi import Depends, Request

from service.metrics import Metrics
from service.serving import Serving


def get_serving(request: Request) -> Serving:
    return request.app.state.serving


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


ServingDep = Annotated[Serving, Depends(get_serving)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
