"""Pinned seeded generations: the same model, prompt, parameters and seed give the same text.

A tiny random-init model (built here, not the shipped one) with a vocabulary that covers every
constraint: forms, acrostics, 平水韵 rhymes, tones, the guards' characters, header lines (form +
title, or a 词牌). Every SamplingParams field is given explicitly, so a changed default cannot move
a pin. A refactor that changes any of these texts changed behaviour.

Regenerate (only when a behaviour change is intended): python tests/textgen/sampling/test_pinned.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

from textgen.checkpoint import save_checkpoint
from textgen.model import RNNLM, ModelConfig
from textgen.sampling import Generator, SamplingParams
from textgen.tokenizer import CharTokenizer

# Rhymes of several 平水韵 groups and both tones, the guards' characters (兮, 鴈, 不知何处, weak
# rhymes 之一何), header words (五绝 七绝 春夜) and a tune (浣溪沙), punctuation, newline, some Latin.
CHARS = ("，。、？！\n" "床前明月光疑是地上霜举头望低思故乡春眠不觉晓处闻啼鸟夜来风雨声花落知多少白日依山尽黄河入海流"
         "欲穷千里目更一层楼秋冬天年霜香人吹柳雪节绿曲玉生红石家斜看五七绝律言鴈兮何之浣溪沙 helowrdab!")  # fmt: skip
PLAIN = {"corpus": "test"}
TANG = {"corpus": {"name": "tang", "manifest": {"read": {"header": "{form}\n{title}"}}}}
SONGCI = {"corpus": {"name": "songci", "manifest": {"read": {"header": "{rhythmic}"}}}}
MODELS = {"plain": PLAIN, "tang": TANG, "songci": SONGCI}


def pinned_generator(meta: dict, folder: Path) -> Generator:
    tok = CharTokenizer(list(dict.fromkeys(CHARS)))
    torch.manual_seed(1234)
    cfg = ModelConfig(vocab_size=tok.vocab_size, cell="lstm", n_layer=2, hidden_size=32, n_embd=16)
    model = RNNLM(cfg).eval()
    with torch.no_grad():
        model.head.weight.mul_(6)  # peaky distributions, like a trained model's
    # Through a file, as every real model is loaded.
    path = folder / "best.safetensors"
    save_checkpoint(path, model, tok, meta)
    return Generator.from_checkpoint(path)


def params(**kw) -> SamplingParams:
    """Every field explicit (a field added later must be added here): plain sampling, overridden by `kw`."""
    base = dict(max_new_tokens=40, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0,
                no_repeat_ngram_size=0, stop=(), form=None, acrostic=None, rhyme=False, tones=False,
                title=None, tune=None, guards=True, rhyme_scheme=None, min_new_tokens=0,
                keywords=None, search=False, beams=2, candidates=8)  # fmt: skip
    assert set(base) == set(SamplingParams.__dataclass_fields__)
    return SamplingParams(**{**base, **kw})


# name: (model meta, prompt(s), params, n, seed)
CASES = {
    "free": (PLAIN, "床前", params(), 1, 1),
    "free_greedy": (PLAIN, "春", params(temperature=0.0, max_new_tokens=30), 1, 0),
    "free_topk_topp": (PLAIN, "夜来", params(temperature=0.8, top_k=5, top_p=0.9), 1, 7),
    "free_stop_min": (PLAIN, "", params(stop=("头",), min_new_tokens=3), 1, 3),
    "repetition_penalty": (PLAIN, "春", params(repetition_penalty=1.8, max_new_tokens=30), 1, 2),
    "no_repeat_ngram": (PLAIN, "春", params(no_repeat_ngram_size=2, temperature=0.5), 1, 2),
    "wujue": (PLAIN, "", params(form="wujue"), 1, 5),
    "qijue_rhyme": (PLAIN, "白日", params(form="qijue", rhyme=True, max_new_tokens=60), 1, 9),
    "acrostic": (PLAIN, "", params(acrostic="春夜花月", rhyme=True), 1, 4),
    "tones": (PLAIN, "", params(form="wujue", rhyme=True, tones=True), 1, 11),
    "xinyun": (PLAIN, "", params(form="wujue", rhyme=True, rhyme_scheme="xinyun"), 1, 11),
    "guards_off": (PLAIN, "", params(form="wujue", guards=False, temperature=1.5), 1, 6),
    "guards_on": (PLAIN, "", params(form="wujue", guards=True, temperature=1.5), 1, 6),
    "wulv_line": (PLAIN, "", params(form="5,5,7,7", temperature=0.7), 1, 8),
    "title_written": (TANG, "", params(form="wujue", rhyme=True), 1, 12),
    "title_given": (TANG, "", params(form="qijue", title="春夜", tones=True, max_new_tokens=60), 1, 12),
    "tune": (SONGCI, "", params(tune="浣溪沙", rhyme=True, max_new_tokens=60), 1, 13),
    "batch_n": (PLAIN, "床前", params(temperature=1.2, max_new_tokens=12), 3, 21),
    "batch_prompts": (PLAIN, ["春", "夜"], params(form="wujue", rhyme=True), 2, 30),
}

PINS: dict[str, list[tuple[str, str, str | None]]] = {  # (text, finish_reason, title) per row
    "free": [
        ("红觉知玉。看落生里日冬欲吹处依日里河l天闻望知觉鸟海看石，七冬d律、，乡l多节眠", "length", None)
    ],
    "free_greedy": [("目目目目生生生目生生生声目目目生生生生声目目目生生生生声目目", "length", None)],
    "free_topk_topp": [
        ("声，目目望望望目望生生声望望声望目，生，生声目目声目生目目，生目目声目生望望望望", "length", None)
    ],
    "free_stop_min": [("，光晓，山？石生更之依看地知、依举o鴈之天望w，", "stop", None)],
    "repetition_penalty": [("楼声秋尽绿层少前层？里穷落 穷曲曲望处a", "eos", None)],
    "no_repeat_ngram": [("目声更依吹目知\n目，欲入声溪入柳吹头乡d", "eos", None)],
    "wujue": [("生举七曲绝，望人明沙穷。\n层年欲溪更，绝楼觉月吹。", "eos", None)],
    "qijue_rhyme": [("层闻依节五，觉何声知言穷头。\n山河风少更天生，香少是绝绿浣秋。", "eos", None)],
    "acrostic": [("春欲地乡明，夜七目浣声。\n花千绿柳乡，月河来目生。", "eos", None)],
    "tones": [("望黄溪故千，穷望海言眠。\n日柳黄头吹，柳红天曲年。", "eos", None)],
    "xinyun": [("望尽溪思千，穷头欲律觉。\n白柳尽上吹，柳家天生节。", "eos", None)],
    "guards_off": [("千穷溪更不，冬雪穷思风。\n绿春曲看目，晓思闻落家。", "eos", None)],
    "guards_on": [("穷欲溪目眠，秋柳流低啼。\n雪春绿家里，觉望闻知曲。", "eos", None)],
    "wulv_line": [("里红何闻山，看床穷望石。\n举床看玉处依思，黄霜千绿地雨多。", "eos", None)],
    "title_written": [  # the title has its own budget (30 characters), not max_new_tokens's
        (
            "山眠依里多举一眠吹吹思天千更流举浣家举少楼光望生人晓闻目千目\n斜夜觉不低，思望柳人兮。\n里少雪低夜，五溪目石低。",
            "eos",
            "山眠依里多举一眠吹吹思天千更流举浣家举少楼光望生人晓闻目千目",
        )
    ],
    "title_given": [("依处少千落望目，香天乡更里千山。\n红望少目光思曲，晓晓里穷更落生。", "eos", None)],
    "tune": [
        (
            "地山生床床目望。\n故是多绝黄海光。\n生头之少花绿香。\n香少眠月觉目生，晓知鸟吹望之霜。\n柳生何来望红黄。",
            "eos",
            None,
        )
    ],
    "batch_n": [
        ("黄秋，、里春欲层绿一!是", "length", None),
        ("声节闻", "eos", None),
        ("白晓少风w月晓e目疑吹明", "length", None),
    ],
    "batch_prompts": [
        ("五吹依红，绿五目多穷。\n看多思来言，举冬斜夜风。", "eos", None),
        ("眠少闻入，河更山处乡。\n入明穷秋闻，望天看吹香。", "eos", None),
        ("斜晓多柳，穷更明千春。\n斜年秋明律，年人尽律人。", "eos", None),
        ("目欲故风，冬更望生穷。\n明年月眠乡，欲觉光天红。", "eos", None),
    ],
}


@pytest.fixture(scope="module")
def generators(tmp_path_factory) -> dict[str, Generator]:
    return {k: pinned_generator(m, tmp_path_factory.mktemp(k)) for k, m in MODELS.items()}


def run(generators: dict[str, Generator], name: str) -> list[tuple[str, str, str | None]]:
    meta, prompts, p, n, seed = CASES[name]
    key = next(k for k, m in MODELS.items() if m is meta)
    return [(c.text, c.finish_reason, c.title) for c in generators[key].generate(prompts, p, n=n, seed=seed)]


@pytest.mark.parametrize("name", list(CASES))
def test_pinned(generators, name):
    assert run(generators, name) == PINS[name]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        gens = {k: pinned_generator(m, Path(tmp) / k) for k, m in MODELS.items()}
        for name in CASES:
            print(f"    {name!r}: {run(gens, name)!r},")
