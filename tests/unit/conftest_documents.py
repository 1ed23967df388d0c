"""A small, fast, fully synthetic :class:`Population` for the document-writer tests and benchmark.

Independent of ``sample_ward.population`` (written in parallel): numpy only, vectorised, so it
also builds a 1,000,000-resident population in a few seconds. Only invented people: names are drawn from
short lists of common surnames and given names, addresses from the ward's 町丁目 names with invented
block numbers, My Numbers are random digits with a valid check digit.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_ward.model import Population, SCHEMAS
from sample_ward.wire_text import corporate_number_check_digit, my_number_check_digit

FAMILY = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("斉藤", "サイトウ"), ("山崎", "ヤマザキ"), ("服部", "ハットリ"),
    ("堀田", "ホッタ"), ("大野", "オオノ"), ("長谷川", "ハセガワ"), ("沢田", "サワダ"), ("浜田", "ハマダ"),
    ("桜井", "サクライ"), ("広瀬", "ヒロセ"), ("島田", "シマダ"), ("関口", "セキグチ"), ("太田", "オオタ"),
    ("𠮷田", "ヨシダ"), ("髙木", "タカギ"), ("辻\U000e0100本", "ツジモト"), ("斎藤", "サイトウ"), ("石橋", "イシバシ"),
]
FAMILY_P = np.array([40, 35, 30, 30, 25, 25, 22, 20, 20, 18, 18, 17, 15, 15, 14, 13, 13, 12, 12, 8,
                     6, 8, 8, 6, 6, 6, 6, 6, 5, 6, 0.5, 0.5, 0.3, 8, 6], dtype=float)
MALE = [("太郎", "タロウ"), ("健一", "ケンイチ"), ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("拓也", "タクヤ"),
        ("浩二", "コウジ"), ("誠", "マコト"), ("悠真", "ユウマ"), ("蓮", "レン"), ("実", "ミノル"),
        ("栄一", "エイイチ"), ("勇", "イサム"), ("修", "オサム"), ("哲也", "テツヤ"), ("竜也", "タツヤ")]
FEMALE = [("花子", "ハナコ"), ("陽子", "ヨウコ"), ("美咲", "ミサキ"), ("恵子", "ケイコ"), ("由美", "ユミ"),
          ("真由美", "マユミ"), ("さくら", "サクラ"), ("結衣", "ユイ"), ("直子", "ナオコ"), ("優子", "ユウコ"),
          ("智子", "トモコ"), ("久美子", "クミコ"), ("葵", "アオイ"), ("京子", "キョウコ"), ("マリー", "マリー")]
TOWNS = [("芝", "1050014", 5), ("芝浦", "1080023", 4), ("海岸", "1050022", 3), ("三田", "1080073", 5),
         ("高輪", "1080074", 4), ("白金", "1080072", 6), ("白金台", "1080071", 5), ("南麻布", "1060047", 5),
         ("元麻布", "1060046", 3), ("西麻布", "1060031", 4), ("六本木", "1060032", 7), ("赤坂", "1070052", 9),
         ("南青山", "1070062", 7), ("北青山", "1070061", 3), ("虎ノ門", "1050001", 5), ("新橋", "1050004", 6),
         ("浜松町", "1050013", 2), ("台場", "1350091", 2), ("港南", "1080075", 4)]
KANJI_NUM = "一二三四五六七八九"
OTHER_MUNICIPALITIES = [("131016", "東京都千代田区", "1000001"), ("131130", "東京都渋谷区", "1500001"),
                        ("141003", "神奈川県横浜市", "2200001"), ("271004", "大阪府大阪市", "5300001"),
                        ("131202", "東京都練馬区", "1760001")]
PAYERS = [("999", "日本年金機構"), ("501", "国家公務員共済組合連合会"), ("594", "地方職員共済組合"),
          ("596", "東京都職員共済組合"), ("700", "全国市町村共済組合連合会")]
DONEES = [("011002", "北海道札幌市"), ("012025", "北海道函館市"), ("042021", "宮城県石巻市"), ("152021", "新潟県長岡市"),
          ("192015", "山梨県甲府市"), ("222038", "静岡県沼津市"), ("342076", "広島県福山市"), ("402036", "福岡県久留米市"),
          ("432016", "熊本県熊本市"), ("462012", "鹿児島県鹿児島市"), ("472018", "沖縄県那覇市")]


def _fw(numbers: np.ndarray) -> np.ndarray:
    table = str.maketrans("0123456789", "０１２３４５６７８９")
    return np.array([str(n).translate(table) for n in numbers], dtype=object)


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return rng.integers(0, 10, size=(n, width), dtype=np.int64)


def _fast_join(d: np.ndarray) -> list[str]:
    """Rows of digits (n, w) → list of w-character strings."""
    raw = np.ascontiguousarray((d + 48).astype(np.uint8))
    return raw.view(f"S{d.shape[1]}").reshape(-1).astype(f"U{d.shape[1]}").tolist()


def _frame(columns: dict, schema: dict | None = None) -> pl.DataFrame:
    """DataFrame from numpy arrays; object arrays (str/None) go through lists so Polars types them."""
    data = {k: (v.tolist() if isinstance(v, np.ndarray) and v.dtype == object else v) for k, v in columns.items()}
    return pl.DataFrame(data, schema=schema) if schema else pl.DataFrame(data)


def _my_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    body = _digits(rng, n, 11)
    check = my_number_check_digit(body)
    full = np.concatenate([body, check[:, None]], axis=1)
    return np.array(_fast_join(full), dtype=object)


def _corporate_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    body = _digits(rng, n, 12)
    check = corporate_number_check_digit(body)
    full = np.concatenate([check[:, None], body], axis=1)
    return np.array(_fast_join(full), dtype=object)


def build_fixture_population(
    n_residents: int = 2000, seed: int = 7, fiscal_year: int = 2026, municipality_code: str = "131032"
) -> Population:
    """A synthetic population of about ``n_residents`` registry residents (plus removed, 住登外, outsiders)."""
    rng = np.random.default_rng([seed, 4242])
    income_year = fiscal_year - 1
    dec31 = np.datetime64(f"{income_year}-12-31")

    # households --------------------------------------------------------------------------------------
    n_target = int(n_residents * 1.04)
    n_house = max(3, int(n_target / 2.0))
    sizes = rng.choice([1, 2, 3, 4, 5], size=n_house, p=[0.42, 0.27, 0.15, 0.13, 0.03])
    hh_of = np.repeat(np.arange(n_house), sizes)[:n_target]
    n = len(hh_of)
    start = np.zeros(n_house, dtype=np.int64)
    start[1:] = np.cumsum(sizes)[:-1]
    rank = np.arange(n) - start[hh_of]
    hh_size = sizes[hh_of]

    head_age = rng.integers(20, 96, size=n_house)
    age = np.where(rank == 0, head_age[hh_of], 0)
    spouse_gap = rng.integers(-4, 5, size=n)
    age = np.where(rank == 1, np.clip(head_age[hh_of] + spouse_gap, 18, 100), age)
    child_age = np.clip(head_age[hh_of] - rng.integers(24, 42, size=n), 0, 60)
    age = np.where(rank >= 2, child_age, age)
    birth_year = income_year - age
    doy = rng.integers(0, 365, size=n)
    birth = ((birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + doy).astype("datetime64[D]")
    birth = np.minimum(birth, dec31)
    head_sex = rng.integers(1, 3, size=n_house)
    sex = np.where(rank == 0, head_sex[hh_of], np.where(rank == 1, 3 - head_sex[hh_of], rng.integers(1, 3, size=n)))

    fam_idx_h = rng.choice(len(FAMILY), size=n_house, p=FAMILY_P / FAMILY_P.sum())
    # a few households always carry the rare names (outside JIS X 0208: 𠮷, 髙, 辻 + variation selector)
    rare = [i for i, (kanji, _) in enumerate(FAMILY) if kanji in ("𠮷田", "髙木", "辻\U000e0100本")]
    fam_idx_h[: 3 * len(rare) : 3] = rare[: len(fam_idx_h[: 3 * len(rare) : 3])]
    fam_idx = fam_idx_h[hh_of]
    given_idx = rng.integers(0, len(MALE), size=n)
    fam_k = np.array([f[0] for f in FAMILY], dtype=object)[fam_idx]
    fam_kn = np.array([f[1] for f in FAMILY], dtype=object)[fam_idx]
    male_k = np.array([g[0] for g in MALE], dtype=object)
    male_kn = np.array([g[1] for g in MALE], dtype=object)
    female_k = np.array([g[0] for g in FEMALE], dtype=object)
    female_kn = np.array([g[1] for g in FEMALE], dtype=object)
    given_k = np.where(sex == 1, male_k[given_idx], female_k[given_idx])
    given_kn = np.where(sex == 1, male_kn[given_idx], female_kn[given_idx])

    # status per household
    status_h = rng.choice(["resident", "moved_out", "deceased_head", "not_registered"], size=n_house,
                          p=[0.963, 0.025, 0.007, 0.005])
    status = status_h[hh_of].astype(object)
    status = np.where((status == "deceased_head") & (rank == 0), "deceased", status)
    status = np.where(status == "deceased_head", "resident", status)
    in_registry = np.isin(status, ["resident", "moved_out", "deceased"])

    town_h = rng.integers(0, len(TOWNS), size=n_house)
    max_chome = np.array([t[2] for t in TOWNS])[town_h]
    chome_h = (rng.integers(0, 10**6, size=n_house) % max_chome) + 1
    ban_h = rng.integers(1, 30, size=n_house)
    go_h = rng.integers(1, 25, size=n_house)
    town_names = np.array([t[0] for t in TOWNS], dtype=object)
    kanji_chome = np.array(list(KANJI_NUM), dtype=object)
    addr_h = ("東京都港区" + town_names[town_h] + kanji_chome[chome_h - 1] + "丁目" + _fw(ban_h) + "番" + _fw(go_h) + "号")
    room = rng.integers(101, 1500, size=n_house)
    has_bldg = rng.random(n_house) < 0.6
    detail_h = np.where(has_bldg, "港パークハウス" + _fw(room) + "号室", None)
    postal_h = np.array([t[1] for t in TOWNS], dtype=object)[town_h]
    town_code_h = np.array([f"{1000 + 10 * t + c:07d}" for t, c in zip(town_h, chome_h)], dtype=object)

    other_h = rng.integers(0, len(OTHER_MUNICIPALITIES), size=n_house)
    moved = status == "moved_out"
    dead = status == "deceased"
    jan1_code = np.where(moved, np.array([m[0] for m in OTHER_MUNICIPALITIES], dtype=object)[other_h[hh_of]],
                         np.where(dead, None, municipality_code))
    jan1_addr = np.where(moved, np.array([m[1] for m in OTHER_MUNICIPALITIES], dtype=object)[other_h[hh_of]] + "本町１番１号",
                         np.where(dead, None, addr_h[hh_of]))
    jan1_zip = np.where(moved, np.array([m[2] for m in OTHER_MUNICIPALITIES], dtype=object)[other_h[hh_of]],
                        np.where(dead, None, postal_h[hh_of]))
    removal_day = rng.integers(0, 364, size=n)
    removal_date = np.where(moved | dead, np.datetime64(f"{income_year}-01-01") + removal_day, np.datetime64("NaT"))
    removal_reason = np.where(moved, "転出", np.where(dead, "死亡", None))

    # incomes -----------------------------------------------------------------------------------------
    r = rng.random(n)
    profile = np.full(n, "none", dtype=object)
    adult = (age >= 23) & (age < 65)
    profile = np.where(adult & (r < 0.80), "salaried", profile)
    profile = np.where(adult & (r >= 0.80) & (r < 0.88), "self_employed", profile)
    profile = np.where(adult & (r >= 0.88) & (r < 0.90), "landlord", profile)
    profile = np.where((age >= 16) & (age < 23) & (r < 0.45), "student", profile)
    profile = np.where((age >= 65) & (r < 0.88), "pensioner", profile)
    spouse_home = (rank == 1) & adult & (rng.random(n) < 0.35)
    profile = np.where(spouse_home, "none", profile)

    business_rev = np.where(profile == "self_employed", rng.integers(2_000_000, 15_000_000, size=n), 0)
    business_inc = np.where(profile == "self_employed", (business_rev * rng.uniform(-0.05, 0.5, size=n)).astype(np.int64), 0)
    real_estate = np.where(profile == "landlord", rng.integers(-500_000, 8_000_000, size=n), 0)
    real_estate = np.where((profile == "pensioner") & (rng.random(n) < 0.04), rng.integers(300_000, 3_000_000, size=n), real_estate)
    dividend = np.where(rng.random(n) < 0.03, rng.integers(10_000, 800_000, size=n), 0)
    misc = np.where(rng.random(n) < 0.03, rng.integers(10_000, 600_000, size=n), 0)
    occasional = np.where(rng.random(n) < 0.01, rng.integers(10_000, 2_000_000, size=n), 0)
    medical = np.where(rng.random(n) < 0.05, rng.integers(50_000, 900_000, size=n), 0)

    # employers ---------------------------------------------------------------------------------------
    n_emp = max(8, n // 30)
    emp_ids = np.arange(n_emp, dtype=np.int64)
    corp = _corporate_numbers(rng, n_emp)
    corp = np.where(rng.random(n_emp) < 0.08, None, corp)
    designation = np.array([f"{x:08d}" for x in rng.choice(10**8, size=n_emp, replace=False)], dtype=object)
    kinds = np.array(["株式会社", "有限会社", "合同会社", "一般社団法人"], dtype=object)
    stems = np.array(["港湾", "芝浦", "青山", "赤坂", "六本木", "高輪", "白金", "虎ノ門", "東京", "日本", "中央", "品川"], dtype=object)
    suffix = np.array(["商事", "電機", "製作所", "システム", "フーズ", "物流", "建設", "企画", "総研", "工業"], dtype=object)
    emp_name = kinds[rng.integers(0, 4, n_emp)] + stems[rng.integers(0, 12, n_emp)] + suffix[rng.integers(0, 10, n_emp)] + _fw(emp_ids % 97)
    emp_name = np.where(corp == None, "港" + stems[rng.integers(0, 12, n_emp)] + "事務所" + _fw(emp_ids % 97), emp_name)  # noqa: E711
    emp_town = rng.integers(0, len(TOWNS), n_emp)
    emp_addr = "東京都港区" + town_names[emp_town] + "一丁目" + _fw(rng.integers(1, 20, n_emp)) + "番" + _fw(rng.integers(1, 20, n_emp)) + "号"
    employers = _frame({
        "employer_id": emp_ids,
        "designation_no": designation,
        "corporate_number": corp,
        "name": emp_name,
        "address": emp_addr,
        "postal_code": np.array([t[1] for t in TOWNS], dtype=object)[emp_town],
        "phone": np.array([f"03-{a:04d}-{b:04d}" for a, b in zip(rng.integers(1000, 9999, n_emp), rng.integers(0, 9999, n_emp))], dtype=object),
        "business_type": np.array(["卸売業", "製造業", "情報通信業", "飲食業", "運輸業", "建設業", "サービス業"], dtype=object)[rng.integers(0, 7, n_emp)],
    }, SCHEMAS["employers"])

    # employments
    pid = np.arange(n, dtype=np.int64)
    works = (profile == "salaried") | ((profile == "student") & (rng.random(n) < 0.7)) | ((profile == "pensioner") & (rng.random(n) < 0.15))
    workers = pid[works & (status != "deceased") | (works & dead & (rng.random(n) < 0.5))]
    zipf = rng.zipf(1.6, size=len(workers)) % n_emp
    emp_of = zipf.astype(np.int64)
    rev = np.where(profile[workers] == "salaried", np.exp(rng.normal(15.25, 0.55, len(workers))), rng.integers(200_000, 1_400_000, len(workers)))
    rev = (rev // 1000 * 1000).astype(np.int64)
    start_d = np.where(rng.random(len(workers)) < 0.04, np.datetime64(f"{income_year}-01-01") + rng.integers(30, 300, len(workers)), np.datetime64("NaT"))
    end_d = np.where(rng.random(len(workers)) < 0.04, np.datetime64(f"{income_year}-01-01") + rng.integers(60, 360, len(workers)), np.datetime64("NaT"))
    end_d = np.where(~np.isnat(start_d) & ~np.isnat(end_d) & (end_d <= start_d), np.datetime64("NaT"), end_d)
    end_d = np.where(dead[workers], removal_date[workers], end_d)
    leaver = ~np.isnat(end_d)
    ordinary = leaver | (rng.random(len(workers)) < 0.03)
    reason = np.where(leaver, "普F", np.where(ordinary, np.array(["普A", "普B", "普C", "普D", "普E"], dtype=object)[rng.integers(0, 5, len(workers))], None))
    second = rng.random(len(workers)) < 0.06
    sec_workers = workers[second]
    sec_rev = rng.integers(100_000, 2_500_000, len(sec_workers)) // 1000 * 1000
    all_pid = np.concatenate([workers, sec_workers])
    all_emp = np.concatenate([emp_of, (emp_of[second] + 1 + rng.integers(0, n_emp - 1, len(sec_workers))) % n_emp])
    all_rev = np.concatenate([rev, sec_rev])
    is_primary = np.concatenate([np.ones(len(workers), bool), np.zeros(len(sec_workers), bool)])
    all_start = np.concatenate([start_d, np.full(len(sec_workers), np.datetime64("NaT"), dtype="datetime64[D]")])
    all_end = np.concatenate([end_d, np.full(len(sec_workers), np.datetime64("NaT"), dtype="datetime64[D]")])
    all_ord = np.concatenate([ordinary, np.zeros(len(sec_workers), bool)])
    all_reason = np.concatenate([reason, np.full(len(sec_workers), None, dtype=object)])
    withholding = np.where(is_primary, (all_rev * rng.uniform(0.01, 0.08, len(all_rev))), all_rev * 0.1).astype(np.int64)
    social = np.where(is_primary, all_rev * 0.145, 0).astype(np.int64)
    n_job = len(all_pid)
    employments = _frame({
        "employment_id": np.arange(n_job, dtype=np.int64),
        "person_id": all_pid,
        "employer_id": all_emp.astype(np.int64),
        "employee_no": np.array([f"E{x:07d}" for x in rng.integers(0, 10**7, n_job)], dtype=object),
        "is_primary": is_primary,
        "salary_revenue": all_rev,
        "withholding_tax": withholding,
        "social_insurance": social,
        "start_date": all_start,
        "end_date": all_end,
        "ordinary_collection": all_ord,
        "ordinary_collection_reason": all_reason,
    }, SCHEMAS["employments"])

    # pensions
    pens = pid[(profile == "pensioner") & ~dead]
    pen_rev = rng.integers(600_000, 3_200_000, len(pens))
    extra = pens[rng.random(len(pens)) < 0.2]
    p_pid = np.concatenate([pens, extra])
    p_payer = np.concatenate([np.zeros(len(pens), np.int64), rng.integers(1, len(PAYERS), len(extra))])
    p_rev = np.concatenate([pen_rev, rng.integers(300_000, 2_000_000, len(extra))]) // 100 * 100
    n_pen = len(p_pid)
    bpn = np.array(_fast_join(_digits(rng, n_pen, 10)), dtype=object)
    pensions = _frame({
        "pension_id": np.arange(n_pen, dtype=np.int64),
        "person_id": p_pid,
        "payer_code": np.array([p[0] for p in PAYERS], dtype=object)[p_payer],
        "payer_name": np.array([p[1] for p in PAYERS], dtype=object)[p_payer],
        "basic_pension_no": bpn,
        "pension_code": np.where(p_payer == 0, "1150", "1350"),
        "pension_revenue": p_rev.astype(np.int64),
        "withholding_tax": (p_rev * 0.02).astype(np.int64),
        "social_insurance": (p_rev * 0.06).astype(np.int64),
    }, SCHEMAS["pensions"])

    # outsiders: parents living elsewhere, dependants of some heads
    head_pids = pid[(rank == 0) & works & (age >= 30) & (age < 65)]
    parent_of = head_pids[rng.random(len(head_pids)) < 0.04]
    n_out = len(parent_of)
    out_pid = np.arange(n, n + n_out, dtype=np.int64)
    out_age = np.clip(age[parent_of] + rng.integers(25, 35, n_out), 0, 104)
    out_birth = (income_year - out_age - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, n_out)

    # dependants
    hh_head_pid = start[hh_of]
    head_income_ok = np.isin(hh_head_pid, workers) | np.isin(hh_head_pid, pens)
    low_income = ~np.isin(pid, workers) & (business_rev == 0) & (real_estate <= 0)
    spouse_dep = (rank == 1) & low_income & head_income_ok & (status != "deceased")
    child_dep = (rank >= 2) & (age <= 22) & low_income & head_income_ok
    dep_pid = np.concatenate([pid[spouse_dep], pid[child_dep], out_pid])
    tax_pid = np.concatenate([hh_head_pid[spouse_dep], hh_head_pid[child_dep], parent_of])
    dep_kind = np.concatenate([np.full(spouse_dep.sum(), "spouse"), np.full(child_dep.sum(), "dependant"), np.full(n_out, "dependant")])
    dep_tog = np.concatenate([np.ones(spouse_dep.sum() + child_dep.sum(), bool), np.zeros(n_out, bool)])
    dependants = _frame({
        "taxpayer_person_id": tax_pid.astype(np.int64),
        "dependant_person_id": dep_pid.astype(np.int64),
        "kind": dep_kind.astype(object),
        "living_together": dep_tog,
    }, SCHEMAS["dependants"])

    # donations
    donors = pid[works & (rank == 0) & (rng.random(n) < 0.12) & ~dead]
    n_don_each = rng.integers(1, 7, len(donors))
    d_pid = np.repeat(donors, n_don_each)
    nd = len(d_pid)
    donee = rng.integers(0, len(DONEES), nd)
    one_stop_donor = rng.random(len(donors)) < 0.7
    d_one_stop = np.repeat(one_stop_donor, n_don_each)
    donations = _frame({
        "donation_id": np.arange(nd, dtype=np.int64),
        "person_id": d_pid.astype(np.int64),
        "recipient_municipality_code": np.array([d[0] for d in DONEES], dtype=object)[donee],
        "recipient_name": np.array([d[1] for d in DONEES], dtype=object)[donee],
        "amount": (rng.integers(5, 100, nd) * 1000).astype(np.int64),
        "donation_date": np.datetime64(f"{income_year}-01-01") + rng.integers(0, 365, nd),
        "one_stop": d_one_stop,
    }, SCHEMAS["donations"])

    # filing flags
    total_salary = np.bincount(all_pid, weights=all_rev, minlength=n)
    n_jobs = np.bincount(all_pid, minlength=n)
    donor_no_one_stop = np.isin(pid, donors[~one_stop_donor])
    files_final = ((profile == "self_employed") | (profile == "landlord") | (total_salary > 20_000_000) | (n_jobs >= 2)
                   | (medical > 600_000) | donor_no_one_stop | (real_estate > 0) | (rng.random(n) < 0.004))
    files_final = files_final & ~dead
    files_final = np.where(np.isin(pid, donors[one_stop_donor]) & (rng.random(n) < 0.05), True, files_final)
    files_resident = ~files_final & ~dead & (age >= 18) & (((profile == "none") & (rng.random(n) < 0.25))
                                                          | ((profile == "pensioner") & (rng.random(n) < 0.05)))

    my_numbers = _my_numbers(rng, n + n_out)
    my_numbers = np.where(rng.random(n + n_out) < 0.004, None, my_numbers)
    atena = np.where(in_registry, np.array([f"{100000000 + i:010d}" for i in range(n)], dtype=object), None)
    hh_no = np.where(in_registry, np.array([f"{2000000000 + h:010d}" for h in hh_of], dtype=object), None)
    relationship = np.where(rank == 0, "世帯主", np.where(rank == 1, np.where(sex == 2, "妻", "夫"), "子"))
    disabled = rng.random(n)
    dis_cert = np.where(disabled < 0.03, "身体", np.where(disabled < 0.04, "精神", None))
    dis_grade = np.where(dis_cert == "身体", np.array(list("123456"), dtype=object)[rng.integers(0, 6, n)],
                         np.where(dis_cert == "精神", np.array(list("123"), dtype=object)[rng.integers(0, 3, n)], None))
    special = (dis_cert == "身体") & np.isin(dis_grade, ["1", "2"]) | (dis_cert == "精神") & (dis_grade == "1")
    widow = (sex == 2) & (age >= 60) & (hh_size == 1) & (rng.random(n) < 0.3)

    def col(values_main, values_out):
        return np.concatenate([np.asarray(values_main, dtype=object), np.asarray(values_out, dtype=object)])

    zeros_out = np.zeros(n_out, dtype=np.int64)
    nulls_out = np.full(n_out, None, dtype=object)
    persons = _frame({
        "person_id": np.arange(n + n_out, dtype=np.int64),
        "atena_no": col(atena, nulls_out),
        "household_id": np.concatenate([hh_of, n_house + np.arange(n_out)]).astype(np.int64),
        "household_no": col(hh_no, nulls_out),
        "relationship": col(relationship, np.full(n_out, "父", dtype=object)),
        "family_name_kanji": col(fam_k, fam_k[parent_of - 0] if n_out else nulls_out),
        "given_name_kanji": col(given_k, np.full(n_out, "実", dtype=object)),
        "family_name_kana": col(fam_kn, fam_kn[parent_of] if n_out else nulls_out),
        "given_name_kana": col(given_kn, np.full(n_out, "ミノル", dtype=object)),
        "alias_kanji": np.full(n + n_out, None, dtype=object),
        "alias_kana": np.full(n + n_out, None, dtype=object),
        "birth_date": np.concatenate([birth, out_birth]).astype("datetime64[D]"),
        "sex": np.concatenate([sex, np.ones(n_out, dtype=np.int64)]).astype(np.int8),
        "resident_type": np.ones(n + n_out, dtype=np.int8),
        "nationality": np.full(n + n_out, None, dtype=object),
        "my_number": my_numbers,
        "registry_status": col(status, np.full(n_out, "outsider", dtype=object)),
        "in_registry": np.concatenate([in_registry, np.zeros(n_out, bool)]),
        "ward_town_code": col(town_code_h[hh_of], nulls_out),
        "ward_postal_code": col(postal_h[hh_of], nulls_out),
        "ward_address": col(addr_h[hh_of], nulls_out),
        "ward_address_detail": col(detail_h[hh_of], nulls_out),
        "jan1_municipality_code": col(jan1_code, np.full(n_out, "222038", dtype=object)),
        "jan1_address": col(jan1_addr, np.full(n_out, "静岡県沼津市大手町１番１号", dtype=object)),
        "jan1_postal_code": col(jan1_zip, np.full(n_out, "4100801", dtype=object)),
        "became_resident_date": np.concatenate([np.where(in_registry, birth, np.datetime64("NaT")),
                                                np.full(n_out, np.datetime64("NaT"), dtype="datetime64[D]")]).astype("datetime64[D]"),
        "removal_reason": col(removal_reason, nulls_out),
        "removal_date": np.concatenate([removal_date, np.full(n_out, np.datetime64("NaT"), dtype="datetime64[D]")]).astype("datetime64[D]"),
        "livelihood_assistance": np.concatenate([rng.random(n) < 0.01, np.zeros(n_out, bool)]),
        "disability_certificate": col(dis_cert, nulls_out),
        "disability_grade": col(dis_grade, nulls_out),
        "special_disability": np.concatenate([special, np.zeros(n_out, bool)]),
        "widow": np.concatenate([widow, np.zeros(n_out, bool)]),
        "single_parent": np.concatenate([(rank == 0) & (hh_size >= 2) & (rng.random(n) < 0.02), np.zeros(n_out, bool)]),
        "working_student": np.concatenate([(profile == "student") & works & (total_salary < 1_300_000), np.zeros(n_out, bool)]),
        "income_profile": col(profile, np.full(n_out, "pensioner", dtype=object)),
        "business_revenue": np.concatenate([business_rev, zeros_out]).astype(np.int64),
        "business_income": np.concatenate([business_inc, zeros_out]).astype(np.int64),
        "real_estate_income": np.concatenate([real_estate, zeros_out]).astype(np.int64),
        "dividend_income": np.concatenate([dividend, zeros_out]).astype(np.int64),
        "misc_income": np.concatenate([misc, zeros_out]).astype(np.int64),
        "occasional_income": np.concatenate([occasional, zeros_out]).astype(np.int64),
        "social_insurance_paid": np.concatenate([np.where(np.isin(profile, ["self_employed", "landlord", "none"]) & (age >= 20), rng.integers(200_000, 900_000, n), 0), zeros_out]).astype(np.int64),
        "small_enterprise_mutual_aid": np.concatenate([np.where(profile == "self_employed", rng.integers(0, 3, n) * 120_000, 0), zeros_out]).astype(np.int64),
        "life_insurance_new_general": np.concatenate([np.where(rng.random(n) < 0.4, rng.integers(10_000, 150_000, n), 0), zeros_out]).astype(np.int64),
        "life_insurance_old_general": np.concatenate([np.where(rng.random(n) < 0.15, rng.integers(10_000, 150_000, n), 0), zeros_out]).astype(np.int64),
        "life_insurance_new_pension": np.concatenate([np.where(rng.random(n) < 0.1, rng.integers(10_000, 150_000, n), 0), zeros_out]).astype(np.int64),
        "life_insurance_old_pension": np.concatenate([np.where(rng.random(n) < 0.05, rng.integers(10_000, 150_000, n), 0), zeros_out]).astype(np.int64),
        "life_insurance_care_medical": np.concatenate([np.where(rng.random(n) < 0.25, rng.integers(10_000, 100_000, n), 0), zeros_out]).astype(np.int64),
        "earthquake_insurance": np.concatenate([np.where(rng.random(n) < 0.2, rng.integers(5_000, 60_000, n), 0), zeros_out]).astype(np.int64),
        "medical_expenses": np.concatenate([medical, zeros_out]).astype(np.int64),
        "spouse_person_id": np.concatenate([np.where((rank == 1), hh_head_pid, np.where((rank == 0) & (hh_size >= 2), pid + 1, -1)), np.full(n_out, -1)]),
        "files_final_return": np.concatenate([files_final, np.zeros(n_out, bool)]),
        "files_resident_return": np.concatenate([files_resident, np.zeros(n_out, bool)]),
    })
    persons = persons.with_columns(
        pl.when(pl.col("spouse_person_id") < 0).then(None).otherwise(pl.col("spouse_person_id")).alias("spouse_person_id"),
        # its 住登外 persons stay unconfirmed candidates (no 宛名番号), so none has a 住民票 elsewhere on record
        pl.lit(None, pl.String).alias("registered_municipality_code"),
        pl.lit(None, pl.String).alias("registered_address"),
    ).cast(SCHEMAS["persons"]).select(list(SCHEMAS["persons"]))
    pop = Population(municipality_code, fiscal_year, seed, persons, employers, employments, pensions, dependants, donations)
    pop.check()
    return pop


if __name__ == "__main__":  # pragma: no cover
    import time

    t0 = time.perf_counter()
    p = build_fixture_population(20000)
    print(time.perf_counter() - t0, p.persons.height, p.employments.height, p.pensions.height, p.dependants.height, p.donations.height)
