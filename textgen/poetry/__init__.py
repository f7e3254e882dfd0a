"""Classical Chinese poetry: forms (绝句, 律诗, custom line lengths, 词牌), rhyme schemes (平水韵,
中华新韵), the 格律 rules and judging.

from textgen.poetry import get_tune, resolve_form, rhymes_of, tone_faults
spec = resolve_form("wujue", acrostic="春夏秋冬", rhyme=True)
spec.layout_text(["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"])
rhymes_of("斜", "pingshui") == rhymes_of("家", "pingshui")   # both 六麻 (not so today)
tone_faults(["风花山月雨", "日石去天霜", "白日风花月", "石风雨月光"])   # [Fault('孤平', 4, 1)]
get_tune("浣溪沙").lengths   # (7, 7, 7, 7, 7, 7)
"""

from textgen.poetry.forms import FORMS, FormSpec, resolve_form
from textgen.poetry.gelv import Fault, rhyme_faults, tone_faults
from textgen.poetry.rhyme import RHYME_GROUPS, SCHEMES, rhyme_group, rhymes_of, tones_of
from textgen.poetry.tunes import get_tune

__all__ = ["FORMS", "RHYME_GROUPS", "SCHEMES", "Fault", "FormSpec", "get_tune", "resolve_form",
           "rhyme_faults", "rhyme_group", "rhymes_of", "tone_faults", "tones_of"]  # fmt: skip
