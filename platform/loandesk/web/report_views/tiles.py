"""China's provinces as a tile map (省份方块图): one equal square per province-level region at
about its place — a grid, not boundaries. LoanDesk ships no boundary data (there is none with
a clear licence, and a published map with boundaries needs an approval number; see
static/vendor/README.md), so a "map by province" report colours these squares by its first
measure. Every province-level region is on it, Taiwan, Hong Kong and Macao included.

``TILES``: GB/T 2260 code → (column, row, short name in Chinese, in English); row 0 is the
north. Drawn by ``static/js/reports.js``.
"""

from __future__ import annotations

from typing import Any

TILES: dict[str, tuple[int, int, str, str]] = {
    "230000": (6, 0, "黑龙江", "Heilongjiang"),
    "650000": (0, 1, "新疆", "Xinjiang"),
    "620000": (1, 1, "甘肃", "Gansu"),
    "640000": (2, 1, "宁夏", "Ningxia"),
    "150000": (3, 1, "内蒙古", "Inner Mongolia"),
    "110000": (4, 1, "北京", "Beijing"),
    "210000": (5, 1, "辽宁", "Liaoning"),
    "220000": (6, 1, "吉林", "Jilin"),
    "540000": (0, 2, "西藏", "Xizang"),
    "630000": (1, 2, "青海", "Qinghai"),
    "610000": (2, 2, "陕西", "Shaanxi"),
    "140000": (3, 2, "山西", "Shanxi"),
    "130000": (4, 2, "河北", "Hebei"),
    "120000": (5, 2, "天津", "Tianjin"),
    "510000": (1, 3, "四川", "Sichuan"),
    "500000": (2, 3, "重庆", "Chongqing"),
    "410000": (3, 3, "河南", "Henan"),
    "370000": (4, 3, "山东", "Shandong"),
    "530000": (1, 4, "云南", "Yunnan"),
    "520000": (2, 4, "贵州", "Guizhou"),
    "420000": (3, 4, "湖北", "Hubei"),
    "340000": (4, 4, "安徽", "Anhui"),
    "320000": (5, 4, "江苏", "Jiangsu"),
    "450000": (2, 5, "广西", "Guangxi"),
    "430000": (3, 5, "湖南", "Hunan"),
    "360000": (4, 5, "江西", "Jiangxi"),
    "330000": (5, 5, "浙江", "Zhejiang"),
    "310000": (6, 5, "上海", "Shanghai"),
    "440000": (3, 6, "广东", "Guangdong"),
    "350000": (4, 6, "福建", "Fujian"),
    "710000": (6, 6, "台湾", "Taiwan"),
    "460000": (2, 7, "海南", "Hainan"),
    "820000": (3, 7, "澳门", "Macao"),
    "810000": (4, 7, "香港", "Hong Kong"),
}


def province_level(code: Any) -> bool:
    """A province-level code (two digits, then zeros)."""
    text = str(code or "")
    return len(text) == 6 and text.isdigit() and text.endswith("0000")


def tiles(locale: str) -> list[dict[str, Any]]:
    """The squares as static/js/reports.js draws them, named in ``locale``."""
    chinese = locale.startswith("zh")
    return [
        {"code": code, "x": x, "y": y, "name": zh if chinese else en}
        for code, (x, y, zh, en) in TILES.items()
    ]
