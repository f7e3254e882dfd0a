"""Classical Chinese poetry: forms (绝句, 律诗, custom line lengths), rhyme groups and judging.

from textgen.poetry import resolve_form, rhyme_group
spec = resolve_form("wujue", acrostic="春夏秋冬", rhyme=True)
spec.layout_text(["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"])
rhyme_group("少")   # 'ao' group (豪)
"""

from textgen.poetry.forms import FORMS, FormSpec, resolve_form
from textgen.poetry.rhyme import RHYME_GROUPS, rhyme_group

__all__ = ["FORMS", "RHYME_GROUPS", "FormSpec", "resolve_form", "rhyme_group"]
