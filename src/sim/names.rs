//! Chinese names for the synthetic city's units, workers and checkpoints.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Changsha's districts with their national codes.
const DISTRICTS: [(&str, &str); 8] = [
    ("430102", "芙蓉区"),
    ("430103", "天心区"),
    ("430104", "岳麓区"),
    ("430105", "开福区"),
    ("430111", "雨花区"),
    ("430112", "望城区"),
    ("430121", "长沙县"),
    ("430181", "浏阳市"),
];

const STREETS: [&str; 24] = [
    "定王台",
    "文艺路",
    "五里牌",
    "马王堆",
    "东屯渡",
    "湘湖",
    "火星",
    "朝阳",
    "韭菜园",
    "东岸",
    "坡子街",
    "城南路",
    "裕南街",
    "金盆岭",
    "新开铺",
    "赤岭路",
    "桔子洲",
    "望月湖",
    "岳麓",
    "望岳",
    "新河",
    "伍家岭",
    "东风",
    "清水塘",
];

const COMMUNITIES: [&str; 40] = [
    "都正街",
    "蔡锷北路",
    "浏城桥",
    "丰泉古井",
    "八一桥",
    "荷花池",
    "古稻田",
    "马益顺巷",
    "燕山街",
    "白沙",
    "天心阁",
    "学院街",
    "太平街",
    "西湖",
    "化龙池",
    "营盘街",
    "藩城堤",
    "黄兴路",
    "湘春",
    "新安巷",
    "清水塘",
    "韭菜园",
    "识字岭",
    "曙光",
    "杨家山",
    "人民路",
    "东茅街",
    "文庙坪",
    "碧湘街",
    "沙河",
    "书院路",
    "桂花树",
    "鸿铭",
    "芙蓉",
    "湘江",
    "德政园",
    "望麓园",
    "晴岚",
    "洪山",
    "金鹰",
];

const SURNAMES: [&str; 30] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "邓", "彭", "曾",
];

const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "华", "霞", "平", "刚", "桂英", "建国", "玉兰", "志强", "海燕", "文", "红", "婷",
    "湘", "岚", "晓东", "建华", "凤", "慧", "鑫", "彬", "春梅", "国庆",
];

const HOUSEHOLD: [&str; 5] = ["独居老人", "空巢老人", "留守儿童", "残疾人家庭", "特困户"];
const KEY_SITES: [&str; 8] = [
    "加油站",
    "学校周边",
    "农贸市场",
    "建筑工地",
    "出租屋",
    "燃气站",
    "娱乐场所",
    "消防通道",
];

/// Chinese numerals for suffixes when a list runs out.
fn numeral(n: usize) -> String {
    const D: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if n < 10 {
        D[n].to_string()
    } else {
        n.to_string()
    }
}

/// Code and name of the `i`-th of `n` districts.
///
/// Past Changsha's eight real districts the codes are `43019` followed by the district's
/// number, zero-padded to the width of `n`: all such codes have one length and a prefix no
/// real district has, so every unit and grid code cut from them is unique at any size.
pub(crate) fn district(i: usize, n: usize) -> (String, String) {
    match DISTRICTS.get(i) {
        Some((c, n)) => (c.to_string(), n.to_string()),
        None => {
            let width = n.saturating_sub(DISTRICTS.len()).to_string().len();
            let k = i - DISTRICTS.len();
            (
                format!("43019{k:0width$}"),
                format!("新{}区", numeral(k + 1)),
            )
        }
    }
}

/// Name of the `i`-th street (街道).
pub(crate) fn street(i: usize) -> String {
    let base = STREETS[i % STREETS.len()];
    match i / STREETS.len() {
        0 => format!("{base}街道"),
        k => format!("{base}{}街道", numeral(k + 1)),
    }
}

/// Name of the `i`-th community.
pub(crate) fn community(i: usize) -> String {
    let base = COMMUNITIES[i % COMMUNITIES.len()];
    match i / COMMUNITIES.len() {
        0 => format!("{base}社区"),
        k => format!("{base}{}社区", numeral(k + 1)),
    }
}

/// A random person's name.
pub(crate) fn person(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// A random household checkpoint's name: who lives there.
pub(crate) fn household(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{} {}家",
        HOUSEHOLD[rng.random_range(0..HOUSEHOLD.len())],
        person(rng)
    )
}

/// A random key site's name.
pub(crate) fn key_site(rng: &mut ChaCha8Rng) -> String {
    format!(
        "重点部位 {}{}号",
        KEY_SITES[rng.random_range(0..KEY_SITES.len())],
        rng.random_range(1..40)
    )
}
