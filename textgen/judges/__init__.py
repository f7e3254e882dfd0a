"""Learned judges that score the line-level search (the cooperative discriminators of Holtzman et
al. 2018), trained by `textgen judges train CHECKPOINT` and shipped beside the model:

(a) real: a real poem, or the model's own sample; (b) follow: does the candidate line follow the
lines before it; (c) title: does the poem so far answer its title; (d) repeat: characters repeated
across lines, calibrated to real poems. Their weights with the language model's mean
log-probability are fitted on validation contexts.

    from textgen.judges import Judges
    j = Judges.load("checkpoints/tang")          # None when the model has none
    feats = j.features("静夜思", ["床前明月光"], ["疑是地上霜", "举头望明月"])
    j.combine(feats, lm)                         # lm: (K,) mean log-probability per character

Training them: `textgen judges train tang` (textgen/cli/judges.py, textgen.judges.pipeline).
"""

from textgen.judges.judges import FALLBACK_WEIGHTS, NAMES, Judges

__all__ = ["FALLBACK_WEIGHTS", "NAMES", "Judges"]
