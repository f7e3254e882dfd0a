"""HTTP routes, one router per concern; `api_router` includes them all."""

from fastapi import APIRouter

from service.routes import generate, health, metrics, openai

api_router = APIRouter()
api_router.include_router(generate.router)
api_router.include_router(openai.router)
api_router.include_router(health.router)
api_router.include_router(metrics.router)
