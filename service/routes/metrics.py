"""GET /metrics: Prometheus text format from the app's own registry."""

from fastapi import APIRouter
from starlette.responses import Response

from service.routes.deps import MetricsDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def metrics(m: MetricsDep) -> Response:
    """Prometheus metrics."""
    return Response(m.render(), media_type=m.content_type)
