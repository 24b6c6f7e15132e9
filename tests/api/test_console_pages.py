"""The console's pages are served by the app, from our own assets, and say so when missing."""

from __future__ import annotations

import re

import pytest

from server.console import assets
from tests.conftest import under_ci


def test_the_root_leads_to_the_console(client):
    answer = client.get("/")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/console/")


@pytest.mark.parametrize("path", ["/console/", "/console/login", "/console/queue",
                                  "/console/whistle", "/console/whereabouts", "/console/ranking",
                                  "/console/cases/8b2d2dd6-42a8-50ea-9335-42e555ceb919",
                                  "/api/v1/docs"])
def test_pages_load_nothing_from_outside(client, path):
    answer = client.get(path)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert re.findall(r"""(?:src|href)=["']?(https?:)?//""", html) == []
    for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        if url.startswith("/console/static/"):
            static = client.get(url)
            static.close()  # a file response keeps its file open until closed
            assert static.status_code == 200, url


def test_the_console_is_chinese_first(client):
    html = client.get("/console/queue").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "工单队列" in html
    assert "派单" in html


def test_missing_assets_are_explained_in_words_not_a_blank_page(client, monkeypatch, tmp_path):
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path / "vendor")
    monkeypatch.setattr(assets.missing, "__defaults__", (tmp_path / "vendor",))
    for path in ("/console/", "/api/v1/docs"):
        answer = client.get(path)
        assert answer.status_code == 503
        html = answer.get_data(as_text=True)
        assert "控制台的前端资源尚未安装" in html
        assert "gridops assets" in html
        assert "leaflet/leaflet.js" in html


def test_the_gcj02_offsets_answer_a_box_and_refuse_nonsense(client):
    answer = client.get("/console/gcj02-offsets?bbox=116.3,39.9,116.5,40.0")
    assert answer.status_code == 200
    assert answer.json["nx"] == len(answer.json["dlon"][0])
    assert client.get("/console/gcj02-offsets?bbox=a,b").status_code == 400


def test_copying_the_assets_from_the_npm_packages(tmp_path):
    if not (assets.DEFAULT_NODE_MODULES / "leaflet").is_dir():
        message = "clients/console/node_modules is not installed (npm ci there)"
        if under_ci():
            pytest.fail(message + " (CI is set: .ci/run installs it)")
        pytest.skip(message)
    versions = assets.copy_assets(assets.DEFAULT_NODE_MODULES, tmp_path / "vendor")
    assert set(versions) == {"leaflet", "alpinejs", "echarts", "swagger-ui-dist"}
    assert assets.missing(tmp_path / "vendor") == []
    with pytest.raises(FileNotFoundError, match="npm ci"):
        assets.copy_assets(tmp_path / "nothing", tmp_path / "other")


def test_a_tile_crs_the_console_cannot_shift_to_is_refused_at_start_up():
    from config import TestConfig

    class Baidu(TestConfig):
        MAP_TILES_CRS = "bd09"

    with pytest.raises(RuntimeError, match="GRID_MAP_TILES_CRS"):
        Baidu.check()
