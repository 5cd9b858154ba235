"""Word lists for synthetic residents: surnames by frequency, given names by sex and generation,
ethnic groups per county, road and village names.

Surname weights follow the national frequency ranking published by the Ministry of Public
Security for 2020 (in basis points of the population), with 唐 and 蒋, both very common in
Yongzhou, raised to a local estimate. Yao residents draw from the surnames common among the
Yao of southern Hunan. All shares here are demo estimates, not statistics to report.
"""

from __future__ import annotations

from typing import Final

# (surname, weight in basis points). 欧阳 stands for the rare two-character surnames.
# fmt: off
SURNAMES: Final[tuple[tuple[str, int], ...]] = (
    ("王", 725), ("李", 719), ("张", 690), ("刘", 538), ("陈", 461), ("杨", 322), ("黄", 245),
    ("赵", 219), ("吴", 200), ("周", 195), ("徐", 145), ("孙", 138), ("马", 129), ("朱", 128),
    ("胡", 116), ("郭", 113), ("何", 106), ("林", 101), ("高", 100), ("罗", 95), ("郑", 93),
    ("梁", 85), ("谢", 76), ("宋", 70), ("唐", 160), ("许", 66), ("韩", 65), ("邓", 62),
    ("冯", 62), ("曹", 61), ("彭", 58), ("曾", 57), ("肖", 56), ("田", 53), ("董", 52),
    ("潘", 50), ("袁", 50), ("蔡", 48), ("蒋", 150), ("余", 47), ("于", 47), ("杜", 45),
    ("叶", 44), ("程", 43), ("魏", 41), ("苏", 41), ("吕", 40), ("丁", 39), ("任", 38),
    ("卢", 37), ("姚", 36), ("沈", 36), ("钟", 35), ("姜", 34), ("崔", 34), ("谭", 33),
    ("陆", 33), ("范", 31), ("汪", 31), ("廖", 30), ("石", 30), ("金", 30), ("韦", 29),
    ("贾", 29), ("夏", 28), ("付", 27), ("方", 27), ("邹", 26), ("熊", 25), ("白", 25),
    ("孟", 25), ("秦", 24), ("邱", 24), ("侯", 24), ("江", 23), ("尹", 23), ("薛", 22),
    ("段", 22), ("雷", 22), ("龙", 21), ("黎", 21), ("陶", 20), ("贺", 20), ("毛", 20),
    ("龚", 19), ("邵", 19), ("万", 18), ("武", 18), ("戴", 17), ("欧", 17), ("莫", 17),
    ("向", 16), ("汤", 16), ("欧阳", 5),
)

# Surnames common among the Yao of 江华, 江永 and 道县, with rough weights.
YAO_SURNAMES: Final[tuple[tuple[str, int], ...]] = (
    ("盘", 20), ("赵", 18), ("李", 12), ("邓", 10), ("黄", 8), ("奉", 8), ("唐", 6),
    ("蒋", 5), ("郑", 4), ("任", 3), ("周", 3), ("陈", 3),
)
# fmt: on

# Given-name characters by sex and generation (born before 1970, 1970-1999, 2000 and later).
MALE_GIVEN: Final[tuple[str, str, str]] = (
    "国建华明德文志荣春富贵福海林清生金云正学",
    "伟强军勇杰涛斌磊超辉鹏波亮刚平峰俊飞龙东",
    "浩宇轩睿泽子博豪铭俊晨然航皓逸宸瑞锦哲一",
)
FEMALE_GIVEN: Final[tuple[str, str, str]] = (
    "秀英兰桂珍凤玉梅芳翠莲菊娥香花荣春华云淑",
    "丽芳娟敏静艳燕霞玲红萍琴娜莉婷丹慧洁倩佳",
    "欣怡涵梓萱琪思雨诗瑶悦梦可依语馨彤妍嘉若",
)
# Share of one-character given names per generation; they have grown rarer.
SINGLE_GIVEN_SHARE: Final[tuple[float, float, float]] = (0.25, 0.15, 0.08)
# The first year of each generation after the oldest.
GENERATION_STARTS: Final[tuple[int, int]] = (1970, 2000)

HAN: Final = "汉族"
YAO: Final = "瑶族"
# Small groups present across the city, as shares of the population.
OTHER_ETHNIC_GROUPS: Final[tuple[tuple[str, float], ...]] = (
    ("壮族", 0.0020),
    ("苗族", 0.0010),
    ("土家族", 0.0010),
    ("侗族", 0.0005),
    ("回族", 0.0005),
)
# Share of Yao residents per county (estimates: 江华 is the Yao autonomous county, 江永 and
# 道县 have large Yao townships); counties not listed have a few Yao residents.
YAO_SHARE_BY_COUNTY: Final[dict[str, float]] = {
    "431129": 0.55,
    "431125": 0.45,
    "431124": 0.10,
    "431127": 0.08,
    "431126": 0.05,
    "431123": 0.04,
}
YAO_SHARE_ELSEWHERE: Final = 0.005

# Stems of road names in towns (街道) and of village names in townships (镇).
# fmt: off
ROAD_STEMS: Final = (
    "潇湘", "湘江", "人民", "建设", "解放", "新华", "朝阳", "河东", "河西",
    "中山", "五一", "文化", "滨江", "环城", "南津", "西山", "学院", "凤凰",
)
ROAD_SUFFIXES: Final = ("路", "大道", "街")
VILLAGE_STEMS: Final = (
    "石塘", "杨家", "李家", "白竹", "上岭", "下洞", "新屋", "黄泥", "枫木",
    "竹山", "龙塘", "大坪", "田心", "塘边", "岭头", "高山", "水口", "桐木",
    "樟树", "柏家",
)

# Mobile number prefixes of the three operators.
MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "134", "135", "136", "137",
    "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "166", "173", "176", "177", "180",
    "181", "182", "183", "184", "185", "186", "187", "188",
    "189", "191", "198", "199",
)
# fmt: on


def given_name_pool(characters: str, single_share: float) -> tuple[str, ...]:
    """Every one- and two-character given name from `characters`, the single ones repeated so
    that a uniform pick from the pool gives about `single_share` of single names."""
    pairs = [first + second for first in characters for second in characters]
    repeats = max(1, round(len(pairs) * single_share / (len(characters) * (1 - single_share))))
    return tuple(list(characters) * repeats + pairs)
