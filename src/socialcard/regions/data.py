"""The shipped Yongzhou division profile (DOMAIN.md §1.3–1.5).

Census figures are the 7th census (2020-11-01) resident population. 蓝山, 新田 and 江华 were not
retrieved one by one: together they are 1,121,699 (total minus the others); the split below is
an estimate proportional to their 2010 shares, marked as such, for an administrator to correct.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialcard.regions.models import RegionKind

CITY_CODE = "431100"
CENSUS = "第七次全国人口普查（2020）"
ESTIMATE = "估算：蓝山、新田、江华三县合计 1,121,699 按 2010 年比例拆分，待核实"


@dataclass(frozen=True, slots=True)
class RegionSeed:
    code: str
    name: str
    kind: RegionKind
    population: int | None = None
    population_source: str | None = None
    host_code: str | None = None
    current_code: str | None = None


REGIONS: tuple[RegionSeed, ...] = (
    RegionSeed(CITY_CODE, "永州市", RegionKind.CITY, 5_289_824, CENSUS),
    RegionSeed("431102", "零陵区", RegionKind.COUNTY, 563_556, CENSUS),
    RegionSeed("431103", "冷水滩区", RegionKind.COUNTY, 583_136, CENSUS),
    RegionSeed("431181", "祁阳市", RegionKind.COUNTY, 832_813, CENSUS),
    RegionSeed("431122", "东安县", RegionKind.COUNTY, 490_385, CENSUS),
    RegionSeed("431123", "双牌县", RegionKind.COUNTY, 157_140, CENSUS),
    RegionSeed("431124", "道县", RegionKind.COUNTY, 621_275, CENSUS),
    RegionSeed("431125", "江永县", RegionKind.COUNTY, 235_699, CENSUS),
    RegionSeed("431126", "宁远县", RegionKind.COUNTY, 684_121, CENSUS),
    RegionSeed("431127", "蓝山县", RegionKind.COUNTY, 359_000, ESTIMATE),
    RegionSeed("431128", "新田县", RegionKind.COUNTY, 341_000, ESTIMATE),
    RegionSeed("431129", "江华瑶族自治县", RegionKind.COUNTY, 421_699, ESTIMATE),
    RegionSeed("431171", "永州经济技术开发区", RegionKind.ZONE, host_code="431103"),
    RegionSeed("431172", "金洞管理区", RegionKind.ZONE, host_code="431181"),
    RegionSeed("431173", "回龙圩管理区", RegionKind.ZONE, host_code="431102"),
    RegionSeed("431121", "祁阳县（2021 年前代码）", RegionKind.HISTORICAL, current_code="431181"),
    RegionSeed("432900", "零陵地区（1995 年前）", RegionKind.HISTORICAL, current_code=CITY_CODE),
    RegionSeed("432901", "永州市（县级，1995 年前）", RegionKind.HISTORICAL, current_code="431102"),
    RegionSeed("432902", "冷水滩市（1995 年前）", RegionKind.HISTORICAL, current_code="431103"),
    RegionSeed("432922", "东安县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431122"),
    RegionSeed("432923", "道县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431124"),
    RegionSeed("432924", "宁远县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431126"),
    RegionSeed("432925", "江永县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431125"),
    RegionSeed("432926", "江华县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431129"),
    RegionSeed("432927", "蓝山县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431127"),
    RegionSeed("432928", "新田县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431128"),
    RegionSeed("432929", "双牌县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431123"),
    RegionSeed("432930", "祁阳县（1995 年前代码）", RegionKind.HISTORICAL, current_code="431181"),
)

# Township names per county for the demo and for tests (a few real ones per county).
TOWNSHIPS: dict[str, tuple[str, ...]] = {
    "431102": ("徐家井街道", "七里店街道", "朝阳街道", "富家桥镇", "邮亭圩镇", "石岩头镇"),
    "431103": ("梅湾街道", "菱角塘街道", "凤凰街道", "蔡市镇", "普利桥镇", "黄阳司镇"),
    "431181": ("龙山街道", "浯溪街道", "长虹街道", "黎家坪镇", "白水镇", "大忠桥镇"),
    "431122": ("白牙市镇", "大庙口镇", "紫溪市镇", "横塘镇", "石期市镇", "井头圩镇"),
    "431123": ("泷泊镇", "江村镇", "五里牌镇", "茶林镇", "何家洞镇", "麻江镇"),
    "431124": ("濂溪街道", "西洲街道", "上关街道", "白马渡镇", "清塘镇", "寿雁镇"),
    "431125": ("潇浦镇", "上江圩镇", "夏层铺镇", "桃川镇", "粗石江镇", "允山镇"),
    "431126": ("舜陵街道", "桃源街道", "天堂镇", "水市镇", "湾井镇", "冷水镇"),
    "431127": ("塔峰镇", "总市镇", "新圩镇", "土市镇", "楠市镇", "所城镇"),
    "431128": ("龙泉街道", "金盆圩镇", "骥村镇", "新圩镇", "枧头镇", "石羊镇"),
    "431129": ("沱江镇", "白芒营镇", "涛圩镇", "水口镇", "码市镇", "大路铺镇"),
}
