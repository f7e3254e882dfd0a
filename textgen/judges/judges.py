"""Judges: the learned scores the line-level search adds to the language model's, loaded from the
two files `textgen judges train` writes beside a model.

    from textgen.checkpoint import resolve_checkpoint
    j = Judges.load(resolve_checkpoint("tang"))     # the shipped model's; None when it has none
    feats = j.features("静夜思", ["床前明月光"], ["疑是地上霜", "疑是地上地"])
    sorted(feats)                                   # ["follow", "real", "repeat", "title"]
    tuple(feats["real"].shape)                      # (2,): one score per candidate, higher = better
    lm = torch.tensor([-3.1, -3.4])                 # the model's mean log-probability per character
    total = j.combine(feats, lm)                    # w_lm * lm + sum of w_i * feature_i
    sorted(j.weights)                               # ["follow", "lm", "real", "repeat", "title"]

judges.safetensors holds the networks' weights (nothing pickled); judges.json the config, the
judges' own character list, the combination weights, the repetition calibration and the training
figures (held-out accuracy and AUC of each judge).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from textgen.errors import CheckpointError
from textgen.judges.data import PAD, UNK, RepeatTable
from textgen.judges.nets import JudgeConfig, JudgeNet, follow_extra, title_extra
from textgen.paths import make_readable

FORMAT = "textgen-judges-1"
WEIGHTS_FILE, INFO_FILE = "judges.safetensors", "judges.json"
NAMES = ("real", "follow", "title", "repeat")
# Used when fitting the combination fails (too few validation contexts): the judges' logits count
# about as much as one nat of mean log-probability per character, repetition fully.
FALLBACK_WEIGHTS = {"lm": 1.0, "real": 0.5, "follow": 0.5, "title": 0.25, "repeat": 1.0}


class Judges:
    """The four judges of a model and the weights that combine them with its log-probabilities."""

    def __init__(self, net: JudgeNet, chars: str, repeat: RepeatTable, weights: dict | None = None,
                 info: dict | None = None):  # fmt: skip
        self.net = net.eval()
        self.chars = chars
        self.char_id = {c: i + 2 for i, c in enumerate(chars)}
        self.repeat = repeat
        self._weights = {k: float(v) for k, v in (weights or FALLBACK_WEIGHTS).items()}
        self.info = info or {}  # everything else judges.json records (figures, source model)

    @property
    def weights(self) -> dict:
        """The combination weights: "lm" and one per judge."""
        return dict(self._weights)

    def set_weights(self, weights: dict) -> None:
        self._weights = {k: float(v) for k, v in weights.items()}

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(N, T) char ids of N lines, padded with PAD; characters not in the list are UNK."""
        T = max((len(t) for t in texts), default=1) or 1
        get = self.char_id.get
        return torch.tensor(
            [[get(c, UNK) for c in t] + [PAD] * (T - len(t)) for t in texts], dtype=torch.long
        )

    @torch.inference_mode()
    def features(self, title: str | None, lines: list[str], candidates: list[str]) -> dict[str, torch.Tensor]:
        """Each judge's score of each candidate next line, given the title (None: unknown) and the
        verse lines so far (no punctuation): name -> (K,) float, higher = better."""
        net, n, K = self.net, len(lines), len(candidates)
        if K == 0:
            return {name: torch.zeros(0) for name in NAMES}
        # The context's lines are encoded once for all K candidates, by three judges in one pass.
        ids = self.encode([*lines, *candidates])
        real, follow, poem = net.lines_many([net.enc_real, net.enc_follow, net.enc_poem], ids)
        ones = torch.ones(K, n + 1, dtype=torch.bool)

        def with_candidate(v):  # (n+K, h) -> (K, n+1, h): the context's lines, then a candidate
            return torch.cat([v[:n].expand(K, n, v.shape[-1]), v[n:, None]], 1)

        out = {"real": net.real(with_candidate(real), ones)}
        # Mean character embeddings: of each line, the context's, and the poem with each candidate.
        counts = (ids != PAD).sum(1, keepdim=True).float()  # (n+K, 1)
        bags = net.bag(ids)  # (n+K, d)
        ctx_sum, ctx_n = (bags[:n] * counts[:n]).sum(0), counts[:n].sum()
        if n:
            extra = follow_extra(bags[n - 1 : n].expand(K, -1), (ctx_sum / ctx_n).expand(K, -1), bags[n:])
            out["follow"] = net.follow(
                follow[:n].expand(K, n, follow.shape[-1]), ones[:, :n], follow[n:], extra
            )
        else:  # nothing to follow
            out["follow"] = torch.zeros(K)
        if title:
            tids = self.encode([title])
            t = net.lines(net.enc_title, tids).expand(K, -1)  # (K, h)
            known = tids[0] > UNK
            hit = torch.isin(tids[0], ids[:n].flatten())[None, :] | (
                tids[0][None, :, None] == ids[n:, None, :]
            ).any(-1)
            shared = (hit & known).sum(1) / known.sum().clamp(min=1)
            poem_bag = (ctx_sum + bags[n:] * counts[n:]) / (ctx_n + counts[n:])
            extra = title_extra(shared, net.bag(tids).expand(K, -1), poem_bag)
            out["title"] = net.title(t, with_candidate(poem), ones, extra)
        else:
            out["title"] = torch.zeros(K)
        out["repeat"] = torch.tensor(self.repeat.scores(lines, candidates))
        return {k: v.float() for k, v in out.items()}

    def combine(self, feats: dict[str, torch.Tensor], lm: torch.Tensor) -> torch.Tensor:
        """(K,) total score: w_lm * lm + sum of w_i * feats[i] (a judge missing from feats adds 0)."""
        w = self._weights
        w_lm = w.get("lm", 1.0)
        total = w_lm * lm.float() if w_lm else torch.zeros(len(lm))  # 0 * -inf would be NaN
        for name, x in feats.items():
            if name in w and name != "lm":
                total = total + w[name] * x.float()
        return total

    # -- files ---------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        """Write judges.safetensors and judges.json into `folder` (each atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().float().contiguous() for k, v in self.net.state_dict().items()}
        info = {
            "format": FORMAT,
            "config": self.net.config.to_dict(),
            "weights": self._weights,
            **self.info,
            "repeat": self.repeat.to_dict(),
            "chars": self.chars,
        }
        st, js = folder / WEIGHTS_FILE, folder / INFO_FILE
        _atomic(st, lambda tmp: save_file(state, tmp, metadata={"format": FORMAT}))
        text = json.dumps(info, ensure_ascii=False, indent=1)
        _atomic(js, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
        return st, js

    @classmethod
    def load(cls, model_dir: str | Path) -> Judges | None:
        """The judges beside a model (its folder, or its weights file): None when there are none;
        CheckpointError naming the file when one is missing, corrupt or does not match the other."""
        folder = Path(model_dir)
        if folder.is_file() or folder.suffix == ".safetensors":
            folder = folder.parent
        st, js = folder / WEIGHTS_FILE, folder / INFO_FILE
        if not st.exists() and not js.exists():
            return None
        for have, missing in ((st, js), (js, st)):
            if have.exists() and not missing.exists():
                raise CheckpointError(f"{missing}: missing (its pair {have.name} is there)")
        try:
            info = json.loads(js.read_text(encoding="utf-8"))
            if not isinstance(info, dict) or info.get("format") != FORMAT:
                fmt = info.get("format") if isinstance(info, dict) else None
                raise CheckpointError(f"{js}: not a textgen judges file (format {fmt!r})")
            config = JudgeConfig.from_dict(info["config"])
            chars = info["chars"]
            repeat = RepeatTable.from_dict(info["repeat"])
            weights = {str(k): float(v) for k, v in info["weights"].items()}
        except CheckpointError:
            raise
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise CheckpointError(f"{js}: corrupt judges file ({type(e).__name__}: {e})") from e
        if not isinstance(chars, str) or config.vocab_size != len(chars) + 2:
            raise CheckpointError(f"{js}: corrupt judges file (character list does not match the config)")
        try:
            state = load_file(str(st))
            net = JudgeNet(config)
            net.load_state_dict(state, strict=True)
        except (SafetensorError, OSError, RuntimeError, ValueError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CheckpointError(f"{st}: corrupt judges weights or not those of {js.name} ({reason})") from e
        rest = {k: v for k, v in info.items() if k not in ("format", "config", "chars", "repeat", "weights")}
        return cls(net, chars, repeat, weights, rest)


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
