from textgen.poetry.defects import defect_rates, defects


def test_each_defect_is_found_and_real_poems_are_clean():
    assert defects("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。") == dict.fromkeys(
        defects("一"), False
    )
    d = defects("夜夜夜夜坐，黄花侧漫漫。\n年少年华岁，秋风鴈之之。")
    assert d["triple"] and d["repeat"] and d["variant"]
    assert not defects("黄花侧漫漫，秋风吹落叶。")["repeat"]  # 漫漫 is a 叠字
    assert defects("山高月小之，水落石出之。")["weak_rhyme"]
    assert defects("山高月小之，水落石出花。\n风吹云散去，雨过日斜花。")["repeated_rhyme"]
    assert defects("大风起兮云飞扬")["xi"] and defects("不知何处是他乡")["filler"]
    assert defect_rates(["夜夜夜坐", "床前明月光"])["triple"] == 0.5
