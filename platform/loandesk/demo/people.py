"""Made-up borrowers that pass the system's checks: Chinese names, mainland mobile numbers,
resident ID numbers with their region code, birth date and GB 11643 check digit, bank cards
with their Luhn digit, and the regions of the demo firm's four branches. Everything comes from
the ``random.Random`` given, so a seed gives the same people."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from stdnum import luhn
from stdnum.cn import ric

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
    "陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英辉玲华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国"
    "志刚海燕婷雪梅琳晨晓东子涵一诺欣怡梓轩雨泽佳琪思远文博嘉怡浩然紫萱天佑心怡俊杰雅静"
)
# the branches' provinces (GB/T 2260 prefixes): 华东 上海 浙江 江苏, 华南 广东 广西, 华北 北京
# 天津 河北, 西南 四川 重庆 云南
BRANCH_PROVINCES = {
    "华东分公司": ("31", "33", "32"),
    "华南分公司": ("44", "45"),
    "华北分公司": ("11", "12", "13"),
    "西南分公司": ("51", "50", "53"),
}
EMPLOYERS = (
    "某某科技有限公司", "某某制造有限公司", "某某商贸有限公司", "某某物流有限公司",
    "某某餐饮管理有限公司", "某某建筑工程有限公司", "某某医院", "某某中学",
    "某某物业服务有限公司", "某某电子有限公司",
)  # fmt: skip
MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "157", "158", "159", "166", "175", "176", "177", "180", "181", "182",
                   "185", "186", "187", "188", "189", "191", "198", "199")  # fmt: skip


@cache
def counties(branch: str) -> tuple[tuple[str, str], ...]:
    """The counties (code, name path) of a branch's provinces that a resident ID may carry."""
    from loandesk.fields import regions
    from loandesk.pii.validation import _birth_place

    found = []
    for code in sorted(regions.names()):
        county = code[:2] in BRANCH_PROVINCES[branch] and not code.endswith("00")
        if county and _birth_place(code + "19900101001") is not None:
            found.append((code, "/".join(regions.path(code))))
    return tuple(found)


@dataclass(frozen=True)
class Borrower:
    name: str
    mobile: str
    id_number: str
    bank_card: str
    region: str  # the county's code
    address: str
    income: Decimal
    values: dict[str, object]


def id_number(rng: random.Random, county: str, today: dt.date) -> str:
    age_days = rng.randint(22 * 365, 58 * 365)
    born = today - dt.timedelta(days=age_days)
    body = f"{county}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18


def bank_card(rng: random.Random) -> str:
    body = "62" + "".join(str(rng.randint(0, 9)) for _ in range(15))
    return body + luhn.calc_check_digit(body)


def borrower(rng: random.Random, branch: str, today: dt.date, taken: set[str]) -> Borrower:
    """A new borrower living in one of ``branch``'s counties; ``taken`` mobiles and ID
    numbers are not given twice."""
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    code, path = rng.choice(counties(branch))
    while True:
        mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        number = id_number(rng, code, today)
        if mobile not in taken and number not in taken:
            taken.update((mobile, number))
            break
    income = Decimal(rng.choice((4, 5, 6, 7, 8, 9, 10, 12, 15, 18, 25))) * 1000 + Decimal(
        rng.randint(0, 9) * 100
    )
    street = f"{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2802)}室"
    address = path.replace("/", "").replace("市辖区", "") + street
    firm = rng.choice(("恒信", "华泰", "宏达", "金鼎", "天成", "瑞丰", "鑫源", "嘉和"))
    values: dict[str, object] = {
        "name": name,
        "mobile": mobile,
        "id_number": number,
        "bank_card": bank_card(rng),
        "address": address,
        "employer": rng.choice(EMPLOYERS).replace("某某", firm),
        "monthly_income": str(income),
        "marital_status": rng.choice(("unmarried", "married", "married", "married", "divorced")),
        "home_region": code,
        "education": rng.choice(("middle", "college", "college", "bachelor", "bachelor", "master")),
        "housing": rng.choice(("own", "mortgage", "rent", "rent", "family")),
        "industry": rng.choice(
            ("manufacturing", "retail", "it", "public", "service", "service", "other")
        ),
    }  # fmt: skip
    return Borrower(name, mobile, number, str(values["bank_card"]), code, address, income, values)
