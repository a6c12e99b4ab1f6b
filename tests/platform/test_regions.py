"""Region data (GB/T 2260) and the lookups region fields use: the real divisions, including
province-level cities (北京市/市辖区/东城区) and county-level cities under their province
(省直辖县级行政区划); the data ships inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from loandesk.fields import regions
from loandesk.fields.registry import FieldSpec
from loandesk.fields.values import Invalid, parse

ROOT = Path(__file__).resolve().parents[2]


def test_the_data_holds_every_province_with_six_digit_codes() -> None:
    provinces = regions.children(None)
    assert len(provinces) == 31
    assert ("110000", "北京市") in provinces and ("650000", "新疆维吾尔自治区") in provinces
    assert all(len(code) == 6 and code.isdigit() for code in regions.names())
    assert len(regions.names()) > 3000


def test_a_province_level_city_has_its_districts_under_shixiaqu() -> None:
    assert regions.children("110000") == [("110100", "市辖区")]
    districts = dict(regions.children("110100"))
    assert districts["110101"] == "东城区" and len(districts) == 16
    assert regions.parent("110101") == "110100"
    assert regions.parent("110100") == "110000"
    assert regions.path("110101") == ["北京市", "市辖区", "东城区"]
    assert regions.label("110101") == "北京市/市辖区/东城区"
    assert regions.chain("110101") == ["110000", "110100", "110101"]
    assert [c for c, _ in regions.children("500000")] == ["500100", "500200"]  # 重庆: 市辖区, 县


def test_county_level_cities_governed_by_their_province() -> None:
    assert regions.path("419001") == ["河南省", "省直辖县级行政区划", "济源市"]
    assert ("429004", "仙桃市") in regions.children("429000")
    assert regions.path("659001") == ["新疆维吾尔自治区", "自治区直辖县级行政区划", "石河子市"]


def test_a_city_without_districts_is_a_leaf() -> None:
    assert regions.path("441900") == ["广东省", "东莞市"]
    assert regions.children("441900") == []


def test_code_of_reads_codes_and_name_paths() -> None:
    assert regions.code_of("440305") == "440305"
    assert regions.code_of("广东省/深圳市/南山区") == "440305"
    assert regions.code_of("广东省 深圳市 南山区") == "440305"
    assert regions.code_of("深圳市/南山区") == "440305"
    assert regions.code_of("北京市/市辖区/东城区") == "110101"
    assert regions.code_of("北京市/东城区") == "110101"  # 市辖区 may be left out
    assert regions.code_of("河南省/济源市") == "419001"
    assert regions.code_of("广东省") == "440000"
    assert regions.code_of("广东省/东莞市") == "441900"


def test_code_of_refuses_unknown_and_ambiguous_names() -> None:
    assert regions.code_of("北京市/朝阳区") == "110105"
    assert regions.code_of("吉林省/长春市/朝阳区") == "220104"
    assert regions.code_of("朝阳区") is None  # Beijing's and Changchun's
    assert regions.code_of("市辖区") is None
    assert regions.code_of("广东省/东城区") is None  # not its ancestor
    assert regions.code_of("南山区/深圳市") is None  # order matters
    assert regions.code_of("999999") is None
    assert regions.code_of(" / ") is None


def test_a_region_field_parses_through_the_real_data() -> None:
    spec = FieldSpec("home_region", "籍贯", "Home region", kind="region")
    assert parse(spec, "广东省/深圳市/南山区") == "440305"
    assert parse(spec, "110101") == "110101"
    with pytest.raises(Invalid):
        parse(spec, "朝阳区")
    with pytest.raises(Invalid):
        parse(spec, "123456")


@pytest.mark.slow
def test_the_wheel_carries_the_region_data(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("loandesk-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read("loandesk/fields/data/gbt2260.json").decode("utf-8")
    assert '"110101":"东城区"' in data
