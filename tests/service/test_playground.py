"""The web playground (GET /) in a real browser: headless Chromium driven by selenium, against a real
uvicorn serving the shipped tang model on loopback. One server and one browser for the module; a
second server for the knobs (search switch, keywords, the model's defaults) serves a tiny model
trained, so its meta says, with keyword plans and shipping tang-like generation defaults.

The browser is Debian's: `apt-get install chromium chromium-driver` (.ci/run does); selenium is told
where both are, so Selenium Manager never downloads one. Without them the browser tests skip (fail
under CI). The README's screenshot comes from test_wujue_acrostic_writes_a_poem_that_complies:

    OMP_NUM_THREADS=1 python -m pytest tests/service/test_playground.py -q -m slow
    TEXTGEN_PLAYGROUND_SCREENSHOT=docs/playground.png python -m pytest tests/service/test_playground.py -m slow
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.app import create_app
from service.cache import MemoryCache
from textgen.poetry.check import form_problems, split_lines
from textgen.poetry.forms import resolve_form
from textgen.sampling import Generator, SamplingParams

from .conftest import title_model

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 60  # seconds; generous for a loaded 2-core CI machine


@pytest.fixture(scope="module")
def gens(tmp_path_factory):
    poet = title_model(tmp_path_factory.mktemp("models") / "poet.safetensors")
    return {"tang": Generator.from_checkpoint("tang"), "poet": Generator.from_checkpoint(poet)}


@pytest.fixture(scope="module")
def server(serve, gens):
    with serve(create_app(gens, cache=MemoryCache(3600, 256))) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if webdriver is None or not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):  # CI installs them: their absence there is a failure, not a skip
            pytest.fail("selenium, chromium or chromium-driver is not installed")
        pytest.skip("needs selenium and Debian's chromium + chromium-driver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def by(css: str):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def wait(driver, condition, timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def written(driver) -> list[dict]:
    """Wait until the page has finished writing, then the candidates: text, body, pieces streamed."""

    def done(d):
        busy = d.execute_script("return document.body.classList.contains('busy')")
        cards = d.find_elements(*by(".poem"))
        return not busy and cards and all(c.get_attribute("data-finish") for c in cards) and cards

    cards = wait(driver, done)
    return [{k: c.get_attribute(f"data-{k}") for k in ("text", "body", "pieces")} for c in cards]


def set_fields(
    driver, form: str = "", acrostic: str = "", rhyme: bool | None = None, n: str = "1", seed: str = "",
    search: bool | None = None, model: str = "tang",
) -> None:  # fmt: skip
    """Fill in the settings; a switch given as None is left as the page has it (the model's default)."""
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(*by("#model"))).select_by_value(model)
    Select(driver.find_element(*by("#form"))).select_by_value(form)
    Select(driver.find_element(*by("#n"))).select_by_value(n)
    for name, value in (("acrostic", acrostic), ("seed", seed)):
        field = driver.find_element(*by(f"#{name}"))
        field.clear()
        field.send_keys(value)
    for name, on in (("rhyme", rhyme), ("search", search)):
        if on is not None and driver.find_element(*by(f"#{name}")).is_selected() != on:
            driver.find_element(*by(f"#{name}")).click()


def defaults_of(server, model: str) -> dict:
    """The model's generation defaults as /playground/config gives them to the page."""
    models = httpx.get(server.url + "/playground/config").json()["models"]
    return next(m for m in models if m["id"] == model)["defaults"]


def record_requests(driver) -> None:
    """From now on the page keeps the body of each POST /generate it sends in window.sent."""
    driver.execute_script("""
      window.sent = [];
      const real = window.fetch;
      window.fetch = (url, opts) => {
        if (url === "/generate") window.sent.push(JSON.parse(opts.body));
        return real(url, opts);
      };
    """)


def sent(driver) -> list[dict]:
    return driver.execute_script("return window.sent")


def wujue_problems(body: str) -> list[str]:
    spec = resolve_form("wujue", "春夏秋冬", rhyme=True)
    return form_problems(body, spec, "春夏秋冬", rhyme=True, scheme="pingshui")


def test_page_loads_without_console_errors_or_external_requests(server, browser):
    browser.get_log("browser"), browser.get_log("performance")  # drop what came before
    open_page(browser, server.url + "/")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    local = [u for u in urls if u.startswith(server.url + "/")]
    assert {
        server.url + p
        for p in ("/", "/static/app.js", "/static/poems.js", "/static/style.css", "/playground/config")
    } <= set(local)
    assert [u for u in urls if u not in local and not u.startswith("data:")] == []
    options = browser.find_elements(*by("#model option"))
    assert [o.get_attribute("value") for o in options] == ["tang", "poet"]
    browser.set_window_size(390, 844)  # a phone: nothing wider than the screen
    try:
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        browser.set_window_size(1200, 900)


def test_wujue_acrostic_writes_a_poem_that_complies(server, browser, tmp_path_factory):
    open_page(browser, server.url + "/")
    set_fields(browser, form="wujue", acrostic="春夏秋冬", rhyme=True, n="2", seed="7")
    browser.find_element(*by("#write")).click()
    poems = written(browser)  # under tang's own settings (line-level search: each poem comes whole)
    assert len(poems) == 2
    for p in poems:
        assert wujue_problems(p["body"]) == [], p["body"]
    browser.find_element(*by("#explain")).click()
    verdict = wait(browser, lambda d: d.find_elements(*by("#verdict")))[0]
    assert "ok" in verdict.get_attribute("class").split()
    rhymes = browser.find_elements(*by(".poem.picked .ch.rhyme"))
    assert [r.text for r in rhymes] == [x[-1] for x in split_lines(poems[0]["body"])[1::2]]
    tones = browser.find_elements(*by(".poem.picked .ch[data-tone]"))
    assert len(tones) == 20 and {t.get_attribute("data-tone") for t in tones} <= set("平仄中？")
    shot = tmp_path_factory.mktemp("shots") / "playground.png"
    browser.save_screenshot(str(shot))
    if os.environ.get("TEXTGEN_PLAYGROUND_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["TEXTGEN_PLAYGROUND_SCREENSHOT"])


def test_rewrite_from_line_3_keeps_lines_1_and_2(server, browser):
    open_page(browser, server.url + "/?model=tang&form=wujue&acrostic=春夏秋冬&rhyme=1&n=1&seed=11&t=1")
    [before] = written(browser)
    browser.find_element(*by('.poem .line[data-line="3"] .redo')).click()
    wait(browser, lambda d: d.find_element(*by("#seed")).get_attribute("value") != "11")
    [after] = written(browser)
    old, new = split_lines(before["body"]), split_lines(after["body"])
    assert new[:2] == old[:2]
    kept = before["body"][: before["body"].index(old[2])]  # lines 1-2 with their punctuation
    assert (
        after["body"].startswith(kept) and browser.find_element(*by("#prompt")).get_attribute("value") == kept
    )
    assert wujue_problems(after["body"]) == []


def test_a_title_model_shows_its_title_and_rewrites_under_it(server, browser):
    open_page(browser, server.url + "/?model=poet&form=wujue&n=1&seed=1")
    assert browser.find_element(*by("#title")).is_displayed()  # tang (no titles) hides it
    [before] = written(browser)
    title = browser.find_element(*by(".poem .title")).text
    assert title and before["text"] == f"{title}\n{before['body']}"
    assert form_problems(before["body"], resolve_form("wujue")) == []
    browser.find_element(*by('.poem .line[data-line="3"] .redo')).click()
    wait(browser, lambda d: d.find_element(*by("#seed")).get_attribute("value") != "1")
    [after] = written(browser)
    assert browser.find_element(*by("#title")).get_attribute("value") == title  # asked for: kept
    assert (
        after["text"].startswith(f"{title}\n")
        and split_lines(after["body"])[:2] == split_lines(before["body"])[:2]
    )
    assert form_problems(after["body"], resolve_form("wujue")) == []


def test_shared_url_reproduces_the_text(server, browser):
    rhyme = not defaults_of(server, "tang")["rhyme"]  # set against the model's default: in the link
    open_page(browser, server.url + "/")
    set_fields(browser, form="qijue", rhyme=rhyme, n="2")
    browser.find_element(*by("#write")).click()
    first = written(browser)
    url = browser.current_url
    query = parse_qs(urlsplit(url).query)
    assert (
        query["form"] == ["qijue"]
        and query["rhyme"] == ["1" if rhyme else "0"]
        and query["seed"][0].isdigit()
    )
    assert "t" not in query and "p" not in query and "search" not in query  # untouched: the model's own
    browser.get("about:blank")
    open_page(browser, url)  # a seed in the URL: the page writes at once
    again = written(browser)
    assert [p["text"] for p in again] == [p["text"] for p in first]
    assert "cache" in browser.find_element(*by("#status")).text  # the very same request


def test_the_keyboard_alone_writes_a_poem_and_reaches_every_control(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_page(browser, server.url + "/")
    set_fields(browser, form="wujue", seed="3")
    browser.find_element(*by("#seed")).send_keys(Keys.ENTER)  # Enter in a field writes, as the button does
    [poem] = written(browser)
    assert form_problems(poem["body"], resolve_form("wujue")) == []
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    reached = set()
    for _ in range(80):  # Tab walks the page: the settings, Write and the poem's actions
        ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.add(browser.execute_script("return document.activeElement.id"))
    assert {"model", "form", "acrostic", "rhyme", "seed", "write", "explain", "copy", "share"} <= reached


@pytest.mark.parametrize("acrostic", ["春夏秋", "春夏秋\U00020000"])
def test_invalid_acrostic_shows_the_server_message_next_to_the_field(server, browser, acrostic):
    body = {"model": "tang", "form": "wujue", "acrostic": acrostic, "n": 1}
    r = httpx.post(server.url + "/generate", json=body)
    assert r.status_code == 422
    open_page(browser, server.url + "/")
    set_fields(browser, form="wujue", acrostic=acrostic)
    browser.find_element(*by("#write")).click()
    slot = wait(
        browser,
        lambda d: d.find_element(*by("#acrostic-error")).text and d.find_element(*by("#acrostic-error")),
    )
    assert slot.text == r.json()["error"]
    assert browser.find_element(*by("#acrostic")).get_attribute("aria-invalid") == "true"
    assert browser.find_element(*by("#general-error")).text == ""


def test_explain_names_tones_rhymes_and_faults(server):
    jingyesi = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    r = httpx.post(server.url + "/explain", json={"text": jingyesi})
    assert r.status_code == 200
    ex = r.json()
    assert ex["form"] == "wujue" and [x["text"] for x in ex["lines"]] == split_lines(jingyesi)
    assert ex["lines"][0]["tones"] == "平平平仄平" and ex["lines"][1]["groups"] == ["阳"]
    assert [x["rhyme"] for x in ex["lines"]] == [False, True, False, True]
    assert {"rule": "失粘", "line": 3, "pos": 2, "message": "失粘 (line 3, char 2)"} in ex["faults"]
    assert ex["checks"] == {"form": True, "rhyme": True, "tones": False} and not ex["complies"]
    dengguan = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。"
    ex = httpx.post(server.url + "/explain", json={"text": dengguan, "acrostic": "白黄欲更"}).json()
    assert ex["complies"] and ex["faults"] == [] and ex["lines"][3]["groups"] == ["尤"]
    ex = httpx.post(server.url + "/explain", json={"text": dengguan, "form": "qijue"}).json()
    assert ex["checks"]["form"] is False and not ex["complies"]
    for bad in ({"text": ""}, {"text": "春" * 1001}, {"text": "春", "form": "sonnet"}, {"text": "春", "x": 1},
                {"text": "春", "rhyme_scheme": "cilin"}, {"text": "春眠", "form": "wujue", "acrostic": "春夏"}):  # fmt: skip
        r = httpx.post(server.url + "/explain", json=bad)
        assert r.status_code == 422 and r.json()["error"], bad


def test_page_files_are_local_and_confined(server, gens):
    r = httpx.get(server.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "//" not in r.text.replace("http://www.w3.org/2000/svg", "")  # no URL to another host
    assert httpx.get(server.url + "/static/app.js").headers["content-type"].startswith("text/javascript")
    for path in ("/static/nope.js", "/static/..%2Fapp.py", "/static/%2E%2E/routes/explain.py"):
        r = httpx.get(server.url + path)
        assert r.status_code == 404 and r.json()["type"] == "not_found", path
    config = httpx.get(server.url + "/playground/config").json()
    tang, poet = config["models"]
    assert tang["id"] == "tang" and tang["rhyme_scheme"] == "pingshui" and isinstance(tang["title"], bool)
    lib = SamplingParams()
    assert poet == {"id": "poet", "title": True, "tunes": False, "rhyme_scheme": "pingshui", "keywords": False,
                    "defaults": poet["defaults"]}  # fmt: skip
    assert poet["defaults"]["temperature"] == lib.temperature and poet["defaults"]["search"] is False
    own = gens["tang"].defaults  # its generation.json, over the library's defaults
    assert tang["defaults"] == {**poet["defaults"], **own, "search": bool(own.get("search"))}
    assert tang["keywords"] == ("keywords" in gens["tang"].header_fields)
    assert config["limits"]["acrostic"] == 16


def test_the_page_opens_on_tang_whatever_the_order(serve, gens, browser):
    from selenium.webdriver.support.ui import Select

    # `textgen serve` lists the shipped models by name: lyrics, songci, tang. The page opens on tang.
    with serve(create_app({"poet": gens["poet"], "tang": gens["tang"]}, cache=MemoryCache(60, 8))) as live:
        open_page(browser, live.url + "/")
        assert [o.get_attribute("value") for o in browser.find_elements(*by("#model option"))] == [
            "poet",
            "tang",
        ]
        assert (
            Select(browser.find_element(*by("#model"))).first_selected_option.get_attribute("value") == "tang"
        )
        open_page(browser, live.url + "/?model=poet")  # a shared link keeps its model
        assert (
            Select(browser.find_element(*by("#model"))).first_selected_option.get_attribute("value") == "poet"
        )


def errors_shown(driver) -> list[str]:
    return [e.text for e in driver.find_elements(*by(".error")) if e.text]


def test_switching_model_drops_the_previous_models_settings(server, browser):
    from selenium.webdriver.support.ui import Select

    open_page(browser, server.url + "/")
    set_fields(browser, form="wujue", acrostic="春夏秋", rhyme=True)
    browser.find_element(*by("#write")).click()  # refused: a 五绝 has 4 lines
    wait(browser, lambda d: d.find_element(*by("#acrostic-error")).text)
    Select(browser.find_element(*by("#model"))).select_by_value("poet")
    values = [
        browser.find_element(*by(f"#{f}")).get_attribute("value") for f in ("form", "acrostic", "title")
    ]
    assert values == ["", "", ""] and not browser.find_element(*by("#rhyme")).is_selected()
    assert errors_shown(browser) == []  # not the Tang acrostic's error, nor one about what was dropped
    browser.find_element(*by("#write")).click()
    [poem] = written(browser)
    assert poem["text"] and errors_shown(browser) == []


def test_a_refused_request_takes_the_actions_from_the_poems_on_show(server, browser):
    open_page(browser, server.url + "/")
    set_fields(browser, form="wujue", seed="3")
    browser.find_element(*by("#write")).click()
    [poem] = written(browser)
    assert browser.find_elements(*by(".poem .redo")) and browser.find_element(*by("#explain")).is_enabled()
    set_fields(browser, form="wujue", acrostic="春夏秋", seed="3")
    browser.find_element(*by("#write")).click()
    wait(browser, lambda d: d.find_element(*by("#acrostic-error")).text)
    wait(browser, lambda d: not d.execute_script("return document.body.classList.contains('busy')"))
    assert browser.find_element(*by(".poem")).get_attribute("data-text") == poem["text"]  # still shown
    assert browser.find_elements(*by(".poem .redo")) == []
    assert not any(browser.find_element(*by(f"#{b}")).is_enabled() for b in ("explain", "copy", "share"))


def test_stop_stops_the_cursors(server, browser):
    open_page(browser, server.url + "/")
    # A stream that writes one character and then waits until it is aborted: Stop always comes first.
    browser.execute_script("""
      const real = window.fetch;
      window.fetch = (url, opts) => url !== "/generate" ? real(url, opts) : Promise.resolve(new Response(
        new ReadableStream({ start(c) {
          c.enqueue(new TextEncoder().encode('data: {"index": 0, "text": "春"}\\n\\n'));
          opts.signal.addEventListener("abort", () => c.error(new DOMException("stopped", "AbortError")));
        } }), { status: 200, headers: { "content-type": "text/event-stream" } }));
    """)
    set_fields(browser, n="1")
    browser.find_element(*by("#write")).click()
    wait(browser, lambda d: d.find_elements(*by(".poem .cursor")))
    browser.find_element(*by("#stop")).click()
    wait(browser, lambda d: not d.execute_script("return document.body.classList.contains('busy')"))
    assert (
        browser.find_elements(*by(".cursor")) == []
        and browser.find_element(*by("#status")).text == "Stopped."
    )


def test_a_prompt_opens_the_body_after_a_header_line_the_model_writes(serve, browser, tmp_path):
    import torch

    from textgen.checkpoint import save_checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.tokenizer import CharTokenizer

    # Like lyrics (an artist line first) or songci (a tune): the header is no title, but it is shown as one.
    tok = CharTokenizer.train(["周杰伦\n春眠不觉晓，处处闻啼鸟。", "汪峰\n床前明月光，疑是地上霜。"])
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=32, n_embd=16)).eval()
    meta = {"corpus": {"name": "singer", "manifest": {"read": {"header": "{artist}"}}}}
    save_checkpoint(tmp_path / "singer.safetensors", model, tok, meta)
    gens = {"singer": Generator.from_checkpoint(tmp_path / "singer.safetensors")}
    with serve(create_app(gens, cache=MemoryCache(60, 8))) as live:
        open_page(browser, live.url + "/?model=singer&prompt=春眠&n=1&seed=5&max=20")
        [poem] = written(browser)
        header = poem["text"].split("\n", 1)[0]
        assert browser.find_element(*by(".poem .title")).text == header
        assert poem["body"].startswith("春眠") and poem["text"] == f"{header}\n{poem['body']}"


# A model trained with keyword plans: documents open with form, title and keyword lines.
PLAN_DOCS = ["五绝\n静夜思\n明月、故乡\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
             "五绝\n春晓\n春眠、啼鸟\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。"]  # fmt: skip
# Its generation defaults, as tang's: search and rhyme on, temperature 0.8, top-p 0.9.
PLAN_DEFAULTS = {"temperature": 0.8, "top_p": 0.9, "rhyme": True, "search": True, "beams": 2, "candidates": 4}


@pytest.fixture(scope="module")
def planned(serve, gens, tmp_path_factory):
    """A server with `planner` (a tiny random model whose meta header is form, title and keywords, with
    PLAN_DEFAULTS as its generation.json) and `poet` (titles, no keyword plans, no defaults)."""
    import torch

    from textgen.checkpoint import save_checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.tokenizer import CharTokenizer

    tok = CharTokenizer.train(PLAN_DOCS)
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=32, n_embd=16)).eval()
    meta = {"corpus": {"name": "planner", "manifest": {"read": {"header": "{form}\n{title}\n{keywords}"}}}}
    d = tmp_path_factory.mktemp("planner")
    save_checkpoint(d / "planner.safetensors", model, tok, meta)
    (d / "generation.json").write_text(json.dumps(PLAN_DEFAULTS))
    gen = Generator.from_checkpoint(d / "planner.safetensors")
    with serve(create_app({"planner": gen, "poet": gens["poet"]}, cache=MemoryCache(60, 8))) as live:
        yield live


def test_the_search_switch_shows_the_models_default_and_sends_only_a_change(planned, browser):
    from selenium.webdriver.support.ui import Select

    open_page(browser, planned.url + "/?model=planner")
    record_requests(browser)
    switch = browser.find_element(*by("#search"))
    assert not switch.is_displayed()  # free text: no lines to search
    set_fields(browser, model="planner", form="wujue", seed="4")
    assert switch.is_displayed() and switch.is_selected()  # the model's default: on
    browser.find_element(*by("#write")).click()
    [searched] = written(browser)
    assert searched["pieces"] == "1"  # searched line by line, the poem comes whole
    set_fields(browser, model="planner", form="wujue", seed="4", search=False)
    browser.find_element(*by("#write")).click()
    [plain] = written(browser)
    assert int(plain["pieces"]) >= 20  # plain sampling streams piece by piece
    first, second = sent(browser)
    assert "search" not in first and second == {**first, "search": False}
    for p in (searched, plain):
        assert form_problems(p["body"], resolve_form("wujue")) == [], p["body"]
    assert parse_qs(urlsplit(browser.current_url).query)["search"] == ["0"]  # the link keeps it off
    Select(browser.find_element(*by("#model"))).select_by_value("poet")  # no generation.json: off
    Select(browser.find_element(*by("#form"))).select_by_value("wujue")
    assert switch.is_displayed() and not switch.is_selected()
    browser.find_element(*by("#acrostic")).send_keys("春夏秋冬")
    Select(browser.find_element(*by("#form"))).select_by_value("")
    assert switch.is_displayed()  # an acrostic has lines too


def test_keywords_for_a_model_with_plans_are_sent_and_shown(planned, browser):
    from selenium.webdriver.support.ui import Select

    open_page(browser, planned.url + "/?model=poet")
    assert not browser.find_element(*by("#keywords")).is_displayed()  # poet was trained without plans
    Select(browser.find_element(*by("#model"))).select_by_value("planner")
    field = browser.find_element(*by("#keywords"))
    assert field.is_displayed()
    record_requests(browser)
    set_fields(browser, model="planner", form="wujue", seed="2")
    field.send_keys("明月、故乡")
    browser.find_element(*by("#write")).click()
    [poem] = written(browser)
    assert sent(browser)[-1]["keywords"] == "明月、故乡"
    kw = browser.find_element(*by(".poem .kw"))
    assert kw.is_displayed() and kw.get_attribute("data-keywords") == "明月、故乡" and "明月、故乡" in kw.text
    title = browser.find_element(*by(".poem .title"))
    assert browser.execute_script("return arguments[0].previousElementSibling === arguments[1]", kw, title)
    assert poem["text"] == f"{title.text}\n{poem['body']}"  # the plan is no part of the text
    assert form_problems(poem["body"], resolve_form("wujue")) == []
    browser.find_element(*by('.poem .line[data-line="3"] .redo')).click()  # a rewrite keeps the plan
    wait(browser, lambda d: d.find_element(*by("#seed")).get_attribute("value") != "2")
    written(browser)
    assert sent(browser)[-1]["keywords"] == "明月、故乡"
    Select(browser.find_element(*by("#model"))).select_by_value("poet")
    assert not field.is_displayed() and field.get_attribute("value") == ""


def test_untouched_knobs_are_left_to_the_model(planned, browser):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    def shown(knob):
        return browser.find_element(*by(f"#{knob}-out")).text

    open_page(browser, planned.url + "/?model=planner")
    record_requests(browser)
    assert (shown("temperature"), shown("top_p")) == ("0.8", "0.9")  # the model's own values
    assert (
        browser.find_element(*by("#rhyme")).is_selected()
        and not browser.find_element(*by("#tones")).is_selected()
    )
    set_fields(browser, model="planner", form="wujue", seed="5")
    browser.find_element(*by("#write")).click()
    [poem] = written(browser)
    body = sent(browser)[-1]
    assert not {"temperature", "top_p", "rhyme", "tones", "search", "keywords"} & set(body), body
    query = parse_qs(urlsplit(browser.current_url).query)
    assert not {"t", "p", "rhyme", "tones", "search"} & set(query)
    # The server applied the model's defaults: the same text as a request that states them.
    stated = {"model": "planner", "form": "wujue", "seed": 5, "n": 1, "max_new_tokens": 200, **PLAN_DEFAULTS}
    assert httpx.post(planned.url + "/generate", json=stated).json()["text"] == poem["text"]
    browser.find_element(*by("#temperature")).send_keys(Keys.ARROW_RIGHT)  # moved: sent
    assert shown("temperature") == "0.85"
    browser.find_element(*by("#rhyme")).click()  # off, against the model's default: sent
    browser.find_element(*by("#write")).click()
    written(browser)
    body = sent(browser)[-1]
    assert body["temperature"] == 0.85 and body["rhyme"] is False
    assert not {"top_p", "tones", "search"} & set(body), body
    Select(browser.find_element(*by("#model"))).select_by_value("poet")  # that model's own: the library's
    assert (shown("temperature"), shown("top_p")) == ("1", "1") and not browser.find_element(
        *by("#rhyme")
    ).is_selected()
