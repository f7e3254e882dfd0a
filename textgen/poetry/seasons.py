"""The season a verse line paints, from words that belong to one season only: spring and autumn in
one quatrain is a give-away of generated poems (real 绝句 rarely mix them; see seasons_mixed).

    seasons("桃花流水鳜鱼肥")     # {"春"}
    seasons("霜叶红于二月花")     # {"秋"}
"""

from __future__ import annotations

# Words and characters tied to one season in 唐诗 (conservative: a character many seasons share,
# such as 花, 风 or 寒, is not listed).
SEASON_WORDS: dict[str, tuple[str, ...]] = {
    "春": (
        "春",
        "桃花",
        "杏花",
        "梨花",
        "柳絮",
        "杨花",
        "新燕",
        "燕归",
        "莺啼",
        "啼莺",
        "清明",
        "寒食",
        "踏青",
        "新柳",
    ),
    "夏": ("夏", "荷花", "莲叶", "鸣蝉", "蝉鸣", "新蝉", "炎", "酷暑", "萤", "五月"),
    "秋": (
        "秋",
        "菊",
        "霜叶",
        "枫",
        "蟋蟀",
        "蛩",
        "砧",
        "归雁",
        "雁南",
        "重阳",
        "落叶",
        "桂花",
        "西风",
        "金风",
    ),
    "冬": ("冬", "雪", "冰", "腊", "寒梅", "岁暮", "朔风"),
}
# 春秋 (years), 千秋 and the like name time, not the season.
_NOT_SEASON = ("春秋", "千秋", "秋千", "春官", "青春", "万春", "长春", "阳春曲")


def seasons(text: str) -> set[str]:
    for w in _NOT_SEASON:
        text = text.replace(w, "")
    return {s for s, words in SEASON_WORDS.items() if any(w in text for w in words)}


def seasons_mixed(text: str) -> bool:
    """More than one season in one poem (spring with autumn, summer with snow, ...)."""
    return len(seasons(text)) > 1
