"""Settings from the environment and the NAME=CHECKPOINT syntax."""

from __future__ import annotations

import pytest

from service.app import make_cache
from service.cache import MemoryCache, NullCache, RedisCache
from service.settings import Settings, parse_models
from textgen.errors import ConfigError


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("TEXTGEN_MODELS", "tang=a,b")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("TEXTGEN_MAX_BATCH_SIZE", "16")
    s = Settings()
    assert (s.models, s.redis_url, s.max_batch_size) == ("tang=a,b", "redis://cache:6379/1", 16)
    assert isinstance(make_cache(s), RedisCache)
    monkeypatch.setenv("TEXTGEN_MAX_QUEUE", "0")
    with pytest.raises(ValueError):
        Settings()


def test_default_cache_is_the_in_process_lru_and_can_be_turned_off(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(make_cache(Settings()), MemoryCache)
    assert isinstance(make_cache(Settings(cache=False)), NullCache)


def test_parse_models():
    assert parse_models("tang=ckpt/a, ckpt/b,") == [("tang", "ckpt/a"), (None, "ckpt/b")]
    assert parse_models(["lyrics=x=y"]) == [("lyrics", "x=y")]
    with pytest.raises(ConfigError, match="NAME=CHECKPOINT"):
        parse_models(["=ckpt"])


def test_no_models_given_serves_the_shipped_ones(tiny_path, tmp_path, monkeypatch):
    import shutil

    from service.app import load_generators

    (tmp_path / "shipped" / "toy").mkdir(parents=True)
    shutil.copy(tiny_path, tmp_path / "shipped" / "toy" / "model.safetensors")
    monkeypatch.setenv("TEXTGEN_CHECKPOINTS", str(tmp_path / "shipped"))
    gens = load_generators([])
    assert "toy" in gens and gens["toy"].name == "toy"
    assert load_generators([("mine", "toy")])["mine"].digest == gens["toy"].digest  # a name resolves too


def test_quantize_and_threads_reach_the_generators(tiny_path, monkeypatch):
    import torch

    from service.app import load_generators

    monkeypatch.setenv("TEXTGEN_QUANTIZE", "fp16")
    s = Settings()
    before = torch.get_num_threads()
    try:
        gens = load_generators([("t", str(tiny_path))], s.device, s.quantize, 1)
        assert gens["t"].quantize == "fp16" and gens["t"].digest.endswith("+fp16")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    exact = load_generators([("t", str(tiny_path))])["t"]
    assert exact.digest != gens["t"].digest  # a shared cache never mixes exact and quantized text
    monkeypatch.setenv("TEXTGEN_QUANTIZE", "int4")
    with pytest.raises(ValueError):
        Settings()


def test_cpu_settings_are_set_once_at_start_up_not_per_model_call(tiny_path, monkeypatch):
    import torch
    from fastapi.testclient import TestClient

    from service.app import create_app, load_generators
    from service.cache import NullCache
    from textgen.sampling import Generator

    before = torch.get_num_threads()
    Generator.from_checkpoint(tiny_path)
    assert torch.get_num_threads() == before  # constructing a generator changes nothing global
    gens = load_generators([("t", str(tiny_path))])  # what `textgen serve` does at start-up
    assert torch._C._get_mkldnn_enabled() is False
    switches = []
    monkeypatch.setattr(torch._C, "_set_mkldnn_enabled", switches.append)
    with TestClient(create_app(gens, cache=NullCache(0))) as c:
        assert c.post("/generate", json={"prompt": "春", "max_new_tokens": 8, "n": 2}).status_code == 200
    assert switches == []  # engine threads never flip the process-wide oneDNN flag
