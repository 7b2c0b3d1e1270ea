"""Demo data: the whole office hierarchy, users for every role and level, reference
data from the seeds and a few hundred cases in every state, made through the case
engine so every timeline is real."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db
from app.models import Case, Category, OrgUnit, PincodeEntry, SlaRule, User
from app.services.engine import cases, sla

DEMO_PASSWORD = "Seva@2026"  # noqa: S105 - printed by `make run` for the demo

# (circle, [(region, [(division, [pincode, ...])])])
HIERARCHY = [
    ("KA", "Karnataka Circle", [
        ("BHQ", "Bengaluru HQ Region", [
            ("BGE", "Bengaluru East Division", ["560001", "560008", "560016"]),
            ("BGW", "Bengaluru West Division", ["560010", "560040", "560079"]),
        ]),
        ("SKR", "South Karnataka Region", [
            ("MYS", "Mysuru Division", ["570001", "570010", "570020"]),
            ("MDY", "Mandya Division", ["571401", "571402", "571430"]),
        ]),
    ]),
    ("TN", "Tamil Nadu Circle", [
        ("CCR", "Chennai City Region", [
            ("CCC", "Chennai City Central Division", ["600001", "600002", "600008"]),
            ("CCS", "Chennai City South Division", ["600017", "600020", "600041"]),
        ]),
        ("WR", "Western Region", [
            ("CBE", "Coimbatore Division", ["641001", "641002", "641018"]),
            ("TUP", "Tiruppur Division", ["641601", "641602", "641604"]),
        ]),
    ]),
]

PLACE = {
    "BGE": ("Bangalore GPO", ["Shivajinagar", "Frazer Town"]),
    "BGW": ("Rajajinagar", ["Malleswaram", "Vijayanagar"]),
    "MYS": ("Mysuru", ["Krishnamurthypuram", "Jayalakshmipuram"]),
    "MDY": ("Mandya", ["Maddur", "Srirangapatna"]),
    "CCC": ("Chennai GPO", ["Parrys", "Egmore"]),
    "CCS": ("T Nagar", ["Adyar", "Velachery"]),
    "CBE": ("Coimbatore", ["RS Puram", "Gandhipuram"]),
    "TUP": ("Tiruppur", ["Avinashi", "Palladam"]),
}

TEAMS = [
    ("MT", "Master Trainers", "team"),
    ("TECH", "Technical Team", "team"),
    ("VEND", "Vendor Team (eGov)", "team"),
    ("INFRA", "Infrastructure Team", "team"),
]
DEPARTMENTS = [
    ("DIT", "IT Support Department", [
        ("it_account", "Account or password problem", "समस्या: खाता या पासवर्ड", "مشکل حساب کاربری یا گذرواژه"),
        ("it_hardware", "Computer or printer fault", "कंप्यूटर या प्रिंटर खराबी", "خرابی رایانه یا چاپگر"),
        ("it_network", "Network connectivity", "नेटवर्क कनेक्टिविटी", "اتصال شبکه"),
    ]),
    ("DHR", "Human Resources Department", [
        ("hr_leave", "Leave and attendance", "छुट्टी और उपस्थिति", "مرخصی و حضور و غیاب"),
        ("hr_pay", "Salary and allowances", "वेतन और भत्ते", "حقوق و مزایا"),
    ]),
    ("DAC", "Accounts Department", [
        ("ac_bills", "Bills and reimbursements", "बिल और प्रतिपूर्ति", "صورت‌حساب و بازپرداخت"),
        ("ac_advance", "Advances", "अग्रिम", "پیش‌پرداخت"),
    ]),
]
EXTERNALS = [
    ("EXT-AIR", "Air Cargo Unit"),
    ("EXT-CUS", "Customs Department"),
    ("EXT-FOR", "Foreign Administration"),
]

SERVICES = [
    ("cash_withdrawal", "Cash withdrawal at the doorstep (AePS)", "घर पर नकद निकासी (AePS)", "برداشت وجه نقد در محل (AePS)"),
    ("speed_post_booking", "Bill or Speed Post booking", "बिल या स्पीड पोस्ट बुकिंग", "ثبت مرسوله پست پیشتاز یا قبض"),
    ("pension_delivery", "Pension delivery", "पेंशन वितरण", "تحویل مستمری"),
    ("account_opening", "Account opening (IPPB / Post Office Savings)", "खाता खोलना (IPPB / डाकघर बचत)", "افتتاح حساب (IPPB / پس‌انداز پستی)"),
    ("life_certificate", "Digital life certificate", "डिजिटल जीवन प्रमाण पत्र", "گواهی حیات دیجیتال"),
    ("aadhaar_update", "Aadhaar enrolment or update", "आधार नामांकन या अद्यतन", "ثبت‌نام یا به‌روزرسانی آدهار"),
]

TICKET_CATEGORIES = [
    ("login", "Login or password", "लॉगिन या पासवर्ड", "ورود یا گذرواژه"),
    ("sync", "Data synchronisation", "डेटा सिंक्रनाइज़ेशन", "همگام‌سازی داده"),
    ("transactions", "Transactions (booking, delivery, payments)", "लेन-देन (बुकिंग, वितरण, भुगतान)", "تراکنش‌ها (ثبت، تحویل، پرداخت)"),
    ("device", "Device (handheld, printer, scanner)", "उपकरण (हैंडहेल्ड, प्रिंटर, स्कैनर)", "دستگاه (دستی، چاپگر، اسکنر)"),
    ("other", "Other", "अन्य", "سایر"),
]

# category -> services -> types
COMPLAINT_TAXONOMY = [
    ("mail", "Mail / Money Orders", "डाक / मनीऑर्डर", "مرسولات / حواله پستی", [
        ("speed_post", "Speed Post", "स्पीड पोस्ट", "پست پیشتاز"),
        ("registered", "Registered letter / parcel", "रजिस्टर्ड पत्र / पार्सल", "نامه / بسته سفارشی"),
        ("money_order", "Money Order", "मनीऑर्डर", "حواله پستی"),
    ], [
        ("delay", "Delay in delivery", "वितरण में देरी", "تأخیر در تحویل"),
        ("loss", "Article lost", "वस्तु खो गई", "گم شدن مرسوله"),
        ("damage", "Article damaged", "वस्तु क्षतिग्रस्त", "آسیب دیدن مرسوله"),
        ("non_payment", "Non-payment of money order", "मनीऑर्डर का भुगतान नहीं", "عدم پرداخت حواله"),
    ]),
    ("financial", "Financial Services", "वित्तीय सेवाएँ", "خدمات مالی", [
        ("savings", "Savings account", "बचत खाता", "حساب پس‌انداز"),
        ("neft", "NEFT / RTGS transfer", "NEFT / RTGS अंतरण", "انتقال NEFT / RTGS"),
    ], [
        ("account_issue", "Account issue", "खाते की समस्या", "مشکل حساب"),
        ("transfer_dispute", "Transfer not credited / disputed", "अंतरण जमा नहीं / विवादित", "واریز نشدن یا اختلاف انتقال"),
    ]),
    ("insurance", "Insurance", "बीमा", "بیمه", [
        ("pli", "Postal Life Insurance", "डाक जीवन बीमा", "بیمه عمر پستی"),
        ("rpli", "Rural Postal Life Insurance", "ग्रामीण डाक जीवन बीमा", "بیمه عمر پستی روستایی"),
    ], [
        ("claim_delay", "Delay in claim settlement", "दावा निपटान में देरी", "تأخیر در پرداخت خسارت"),
    ]),
    ("other", "Other", "अन्य", "سایر", [
        ("conduct", "Staff conduct", "कर्मचारी आचरण", "رفتار کارکنان"),
    ], [
        ("behaviour", "Staff misbehaviour", "कर्मचारी का दुर्व्यवहार", "رفتار نامناسب کارکنان"),
        ("corruption", "Corruption", "भ्रष्टाचार", "فساد"),
    ]),
]

# Seed 002's escalation paths: functional → Master Trainers; technical issues with the
# infrastructure provided by HUDD → the Technical Team of HUDD; other technical issues (the
# MUKTASoft app or iFIX) and bugs and enhancements → the eGov (vendor) team.
HELPDESK_CATEGORIES = [
    ("functional", "Functional issue", "कार्यात्मक समस्या", "مشکل کارکردی", "MT"),
    ("infrastructure", "Technical issue: infrastructure provided by HUDD",
     "तकनीकी समस्या: HUDD द्वारा दिया गया बुनियादी ढांचा", "مشکل فنی: زیرساخت فراهم‌شده توسط HUDD", "TECH"),
    ("technical", "Technical issue: the MUKTASoft app or iFIX",
     "तकनीकी समस्या: MUKTASoft ऐप या iFIX", "مشکل فنی: برنامهٔ MUKTASoft یا iFIX", "VEND"),
    ("bug", "Bugs and enhancements", "बग और सुधार", "اشکال‌ها و بهبودها", "VEND"),
]

TEAM_SUPERVISORS = ["Latha Krishnan", "Imran Qureshi", "Sandeep Joshi", "Usha Varma"]

FIRST = ["Anil", "Sunita", "Ravi", "Lakshmi", "Mohammed", "Priya", "Suresh", "Kavitha", "Arjun",
         "Meena", "Farhan", "Deepa", "Ganesh", "Asha", "Vikram", "Nirmala", "Rahul", "Shabana"]
LAST = ["Kumar", "Rao", "Iyer", "Shetty", "Khan", "Nair", "Reddy", "Gowda", "Pillai", "Sharma",
        "Menon", "Das", "Hegde", "Naidu"]


# The demo's offices in Hindi and Persian (issue 25 item 1): English name → (hi, fa).
OFFICE_NAMES = {
    "CEPT Mysuru": ("डाक प्रौद्योगिकी केंद्र, मैसूरु", "مرکز فناوری پست میسور"),
    "O&M Helpdesk": ("संचालन एवं रखरखाव हेल्पडेस्क", "میز پشتیبانی بهره‌برداری و نگهداری"),
    "Master Trainers": ("मास्टर प्रशिक्षक", "مربیان ارشد"),
    "Technical Team": ("तकनीकी दल", "تیم فنی"),
    "Vendor Team (eGov)": ("विक्रेता दल (ई-गवर्नेंस)", "تیم پیمانکار (دولت الکترونیک)"),
    "Infrastructure Team": ("अवसंरचना दल", "تیم زیرساخت"),
    "IT Support Department": ("आईटी सहायता विभाग", "دپارتمان پشتیبانی فناوری اطلاعات"),
    "Human Resources Department": ("मानव संसाधन विभाग", "دپارتمان منابع انسانی"),
    "Accounts Department": ("लेखा विभाग", "دپارتمان حسابداری"),
    "Air Cargo Unit": ("हवाई कार्गो इकाई", "واحد بار هوایی"),
    "Customs Department": ("सीमा शुल्क विभाग", "اداره گمرک"),
    "Foreign Administration": ("विदेशी डाक प्रशासन", "اداره پست خارجی"),
    "Karnataka Circle": ("कर्नाटक परिमंडल", "حوزه کارناتاکا"),
    "Tamil Nadu Circle": ("तमिलनाडु परिमंडल", "حوزه تامیل نادو"),
    "Bengaluru HQ Region": ("बेंगलुरु मुख्यालय क्षेत्र", "منطقه ستاد بنگلور"),
    "South Karnataka Region": ("दक्षिण कर्नाटक क्षेत्र", "منطقه کارناتاکای جنوبی"),
    "Chennai City Region": ("चेन्नई शहर क्षेत्र", "منطقه شهر چنای"),
    "Western Region": ("पश्चिमी क्षेत्र", "منطقه غربی"),
    "Bengaluru East Division": ("बेंगलुरु पूर्व मंडल", "ناحیه شرق بنگلور"),
    "Bengaluru West Division": ("बेंगलुरु पश्चिम मंडल", "ناحیه غرب بنگلور"),
    "Mysuru Division": ("मैसूरु मंडल", "ناحیه میسور"),
    "Mandya Division": ("मंड्या मंडल", "ناحیه ماندیا"),
    "Chennai City Central Division": ("चेन्नई शहर मध्य मंडल", "ناحیه مرکزی شهر چنای"),
    "Chennai City South Division": ("चेन्नई शहर दक्षिण मंडल", "ناحیه جنوبی شهر چنای"),
    "Coimbatore Division": ("कोयंबटूर मंडल", "ناحیه کویمباتور"),
    "Tiruppur Division": ("तिरुप्पुर मंडल", "ناحیه تیروپور"),
}
PLACE_NAMES = {  # post office places: (hi, fa)
    "Bangalore GPO": ("बेंगलुरु जीपीओ", "اداره کل پست بنگلور"), "Shivajinagar": ("शिवाजीनगर", "شیواجی‌نگر"),
    "Frazer Town": ("फ्रेज़र टाउन", "فریزر تاون"), "Rajajinagar": ("राजाजीनगर", "راجاجی‌نگر"),
    "Malleswaram": ("मल्लेश्वरम", "ملسورام"), "Vijayanagar": ("विजयनगर", "ویجای‌نگر"),
    "Mysuru": ("मैसूरु", "میسور"), "Krishnamurthypuram": ("कृष्णमूर्तिपुरम", "کریشنامورتی‌پورام"),
    "Jayalakshmipuram": ("जयलक्ष्मीपुरम", "جایالاکشمی‌پورام"), "Mandya": ("मंड्या", "ماندیا"),
    "Maddur": ("मद्दूर", "مدور"), "Srirangapatna": ("श्रीरंगपट्टण", "سریرانگاپاتنا"),
    "Chennai GPO": ("चेन्नई जीपीओ", "اداره کل پست چنای"), "Parrys": ("पैरीज़", "پریز"),
    "Egmore": ("एग्मोर", "اگمور"), "T Nagar": ("टी नगर", "تی‌نگر"), "Adyar": ("अड्यार", "آدیار"),
    "Velachery": ("वेलाचेरी", "ولاچری"), "Coimbatore": ("कोयंबटूर", "کویمباتور"),
    "RS Puram": ("आर एस पुरम", "آر اس پورام"), "Gandhipuram": ("गांधीपुरम", "گاندی‌پورام"),
    "Tiruppur": ("तिरुप्पुर", "تیروپور"), "Avinashi": ("अविनाशी", "آویناشی"), "Palladam": ("पल्लडम", "پالادام"),
}
OFFICE_SUFFIXES = {" Head Office": ("प्रधान डाकघर", "دفتر پست مرکزی"),
                   " Sub Office": ("उप डाकघर", "دفتر پست فرعی")}


def office_names(name: str) -> tuple[str | None, str | None]:
    """(Hindi, Persian) of a demo office's English name."""
    if name in OFFICE_NAMES:
        return OFFICE_NAMES[name]
    for suffix, (hi, fa) in OFFICE_SUFFIXES.items():
        if name.endswith(suffix) and name[: -len(suffix)] in PLACE_NAMES:
            place_hi, place_fa = PLACE_NAMES[name[: -len(suffix)]]
            return f"{place_hi} {hi}", f"{fa} {place_fa}"
    return None, None


def _office(code, name, kind, parent) -> OrgUnit:
    name_hi, name_fa = office_names(name)
    unit = OrgUnit(code=code, name=name, name_hi=name_hi, name_fa=name_fa, kind=kind)
    db.session.add(unit)
    db.session.flush()
    unit.set_parent(parent)
    return unit


_emp_seq = [10000000]
_hash: list[str | None] = [None]  # the demo password's hash, made once per load
LOGINS: list[tuple[str, str]] = []


def _user(office, name, roles, login_id=None, describe=None) -> User:
    if login_id is None:
        _emp_seq[0] += 1
        login_id = f"{_emp_seq[0]:08d}"
    slug = login_id.lower()
    user = User(login_id=login_id, name=name, office_id=office.id, email=f"{slug}@demo.sevadesk.invalid",
                mobile=f"9{random.randint(100000000, 999999999)}")
    # Every demo account has the same password: hash it once per load (a scrypt hash costs
    # a third of a second on a busy 2-core machine; 87 of them were most of `make run`'s
    # first start) and give each account that hash, with its own session token.
    if _hash[0] is None:
        user.set_password(DEMO_PASSWORD)
        _hash[0] = user.password_hash
    else:
        user.password_hash = _hash[0]
        user.session_token = secrets.token_hex(16)
    user.set_roles(roles)
    db.session.add(user)
    if describe:
        LOGINS.append((login_id, describe))
    return user


def demo_logins() -> list[tuple[str, str]]:
    """(login id, description) of the showcase accounts: named ones right after `load()`
    in this process, otherwise one account per (office level, roles) from the database."""
    if LOGINS:
        return list(LOGINS)
    wanted = {}
    for u in db.session.scalars(select(User).order_by(User.id)):
        key = (u.office.kind, tuple(sorted(u.roles)))
        if key not in wanted:
            wanted[key] = (u.login_id, f"{u.office.kind:<12} {','.join(sorted(u.roles)):<28} {u.office.name}")
    return list(wanted.values())


def _cat(kind, code, en, hi, fa, level="category", parent=None, department=None, route_to=None, order=0):
    c = Category(kind=kind, code=code, name_en=en, name_hi=hi, name_fa=fa, level=level,
                 parent_id=parent.id if parent else None,
                 department_id=department.id if department else None,
                 route_to_id=route_to.id if route_to else None, sort_order=order)
    db.session.add(c)
    db.session.flush()
    return c


def load(case_count: int = 300, seed: int = 20261122) -> None:
    """Create everything (assumes an empty database)."""
    from sqlalchemy import text

    # The engine commits every action on its own (about 800 commits for 300 cases). On
    # SQLite in WAL mode, synchronous=NORMAL skips the fsync of each commit and still never
    # corrupts the file; the connection's setting is put back afterwards.
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        before = db.session.execute(text("PRAGMA synchronous")).scalar()
        db.session.execute(text("PRAGMA synchronous=NORMAL"))
    try:
        _load(case_count, seed)
    finally:
        if sqlite:
            db.session.rollback()
            db.session.execute(text(f"PRAGMA synchronous={int(before)}"))


def _load(case_count: int, seed: int) -> None:
    random.seed(seed)
    LOGINS.clear()
    _hash[0] = None
    _emp_seq[0] = 10000000
    cept = _office("CEPT", "CEPT Mysuru", "cept", None)
    _user(cept, "Asha Menon", ["admin", "supervisor", "monitor"], describe="CEPT administrator")
    _user(cept, "Kiran Bhat", ["operator", "supervisor"], describe="CEPT ticket handler")
    helpdesk = _office("HELPDESK", "O&M Helpdesk", "team", cept)
    _user(helpdesk, "Pooja Nair", ["helpdesk"], describe="L1 helpdesk operator")
    teams = {}
    for code, name, kind in TEAMS:
        teams[code] = _office(code, name, kind, cept)
        _user(teams[code], f"{random.choice(FIRST)} {random.choice(LAST)}", ["operator"],
              describe=f"{name} member" if code == "MT" else None)
    depts = {}
    for code, name, _subjects in DEPARTMENTS:
        depts[code] = _office(code, name, "department", cept)
        for i in range(2):
            _user(depts[code], f"{random.choice(FIRST)} {random.choice(LAST)}", ["operator"],
                  describe=(f"{name} member", f"{name} colleague")[i] if code == "DIT" else None)
    externals = {code: _office(code, name, "external", cept) for code, name in EXTERNALS}

    divisions = []
    post_offices = []
    for ccode, cname, regions in HIERARCHY:
        circle = _office(ccode, cname, "circle", cept)
        first_circle = ccode == "KA"
        _user(circle, f"{random.choice(FIRST)} {random.choice(LAST)}", ["supervisor", "monitor"],
              describe=f"{cname} supervisor" if first_circle else None)
        _user(circle, f"{random.choice(FIRST)} {random.choice(LAST)}", ["admin"],
              describe=f"{cname} administrator" if first_circle else None)
        _user(circle, f"{random.choice(FIRST)} {random.choice(LAST)}", ["operator"])
        for rcode, rname, divs in regions:
            region = _office(f"{ccode}-{rcode}", rname, "region", circle)
            first_region = first_circle and rcode == "BHQ"
            _user(region, f"{random.choice(FIRST)} {random.choice(LAST)}", ["supervisor", "operator"],
                  describe=f"{rname} officer" if first_region else None)
            _user(region, f"{random.choice(FIRST)} {random.choice(LAST)}", ["monitor"])
            for dcode, dname, pins in divs:
                division = _office(f"{ccode}-{dcode}", dname, "division", region)
                divisions.append(division)
                first_div = first_region and dcode == "BGE"
                _user(division, f"{random.choice(FIRST)} {random.choice(LAST)}", ["operator"],
                      describe=f"{dname} operator" if first_div else None)
                _user(division, f"{random.choice(FIRST)} {random.choice(LAST)}", ["supervisor"],
                      describe=f"{dname} supervisor" if first_div else None)
                ho_name, so_names = PLACE[dcode]
                fac = f"{random.randint(10, 99)}{divisions.index(division):02d}"
                ho = _office(f"PO{fac}1000000", f"{ho_name} Head Office", "head_office", division)
                post_offices.append(ho)
                _user(ho, f"{ho_name} HO", ["operator"], login_id=ho.code,
                      describe=f"{ho_name} Head Office (Facility ID)" if first_div else None)
                _user(ho, f"{random.choice(FIRST)} {random.choice(LAST)}", ["operator"],
                      describe=f"{ho_name} HO counter operator" if first_div else None)
                _user(ho, f"{random.choice(FIRST)} {random.choice(LAST)}", ["supervisor"],
                      describe=f"{ho_name} HO postmaster (supervisor)" if first_div else None)
                for i, so_name in enumerate(so_names):
                    so = _office(f"PO{fac}10{i + 1:05d}", f"{so_name} Sub Office", "sub_office", ho)
                    post_offices.append(so)
                    _user(so, f"{so_name} SO", ["operator"], login_id=so.code,
                          describe=f"{so_name} Sub Office (Facility ID)" if (first_div and i == 0) else None)
                for i, pin in enumerate(pins):
                    name = ho_name if i == 0 else so_names[min(i - 1, len(so_names) - 1)]
                    db.session.add(PincodeEntry(pincode=pin, office_name=f"{name} PO",
                                                district=dname.replace(" Division", ""),
                                                state=cname.replace(" Circle", ""),
                                                division_id=division.id))
    # The supervisors of each helpdesk team: an escalated helpdesk case goes to them first
    # (level 1, same office; `routing.escalation_target`). Created after every other demo
    # user, and with fixed names, so the demo's other IDs and its random cases stay as
    # they were.
    for (code, name, _kind), person in zip(TEAMS, TEAM_SUPERVISORS, strict=True):
        _user(teams[code], person, ["supervisor"],
              describe=f"{name} supervisor" if code == "MT" else None)
    db.session.flush()

    # Reference data
    for i, (code, en, hi, fa) in enumerate(SERVICES):
        _cat("service_request", code, en, hi, fa, level="service", order=i)
    for i, (code, en, hi, fa) in enumerate(TICKET_CATEGORIES):
        _cat("office_ticket", code, en, hi, fa, order=i)
    for i, (code, en, hi, fa, services, types) in enumerate(COMPLAINT_TAXONOMY):
        top = _cat("complaint", code, en, hi, fa, order=i)
        for j, (scode, sen, shi, sfa) in enumerate(services):
            svc = _cat("complaint", f"{code}.{scode}", sen, shi, sfa, level="service", parent=top, order=j)
            for k, (tcode, ten, thi, tfa) in enumerate(types):
                _cat("complaint", f"{code}.{scode}.{tcode}", ten, thi, tfa, level="type", parent=svc, order=k)
    for code, _name, subjects in DEPARTMENTS:
        for i, (scode, en, hi, fa) in enumerate(subjects):
            _cat("interaction", scode, en, hi, fa, level="subject", department=depts[code], order=i)
    for i, (code, en, hi, fa, team) in enumerate(HELPDESK_CATEGORIES):
        _cat("helpdesk", code, en, hi, fa, route_to=teams[team], order=i)
    for kind in kinds.all():
        for prio, (resp, res) in kind.sla.items():
            db.session.add(SlaRule(kind=kind.code, priority=prio, response_days=resp, resolution_days=res))
    db.session.commit()
    now = datetime.utcnow()
    sla.load_national_holidays([now.year - 1, now.year, now.year + 1])

    showcase = SHOWCASE_CASES if case_count >= 10 else 0  # part of `case_count`
    _make_cases(case_count - showcase, now, divisions, post_offices, externals, depts, teams, helpdesk)
    _complaint_follow_ups(now)
    if showcase:
        _overdue_showcase(now, divisions[0], teams["MT"], helpdesk)
    _history_delivered()


# The cases the demo deliberately leaves past their response time, for the first sweep
# (`flask run-jobs`, or the scheduler a minute after `make run`) to act on: it escalates
# the complaint and the helpdesk call (to the supervisors of the holding office or team)
# and flags the doorstep request and the office ticket as breached. Every other case is
# within its due times at the demo's clock.
OVERDUE_SHOWCASE = {"escalated": 2, "breached": 2}
SHOWCASE_CASES = 4
OVERDUE_DAYS = 10  # more than any response time of the demo's SLA matrix, in business days


def _overdue_showcase(now, division, team, desk):
    start = now - timedelta(days=OVERDUE_DAYS)
    ho = next(o for o in division.children if o.kind == "head_office")
    so = next(o for o in ho.children if o.kind == "sub_office")
    pin = db.session.scalars(select(PincodeEntry).where(PincodeEntry.division_id == division.id)
                             .order_by(PincodeEntry.pincode)).first()
    counter = next(u for u in _users_of(ho) if u.has_role("operator"))
    cases.raise_case(wf.COMPLAINT, office=ho, now=start, actor=counter, channel="counter",
                     category=db.session.scalars(select(Category).where(
                         Category.kind == wf.COMPLAINT, Category.level == "type").order_by(Category.id)).first(),
                     subject="Overdue (demo): Speed Post article not delivered",
                     description="Nobody has answered this complaint yet: the next sweep escalates it.",
                     requester=_requester(pin.pincode),
                     data={"article": "EE123456789IN"})
    cases.raise_case(wf.HELPDESK, office=desk, now=start, actor=_users_of(desk)[0], priority="P1",
                     category=db.session.scalars(select(Category).where(
                         Category.kind == wf.HELPDESK, Category.route_to_id == team.id)).first(),
                     channel="phone", classification="incident",
                     subject="Overdue (demo): muster roll screen does not load",
                     description="Nobody at the helpdesk (L1) resolved or escalated this call: the "
                                 "next sweep forwards it along its path to the Master Trainers.",
                     requester={"name": _name(), "mobile": "9876500011"},
                     data={"diagnosis": "Reproduced on the caller's login."})
    cases.raise_case(wf.SERVICE_REQUEST, office=division, now=start, channel="web",
                     category=db.session.scalars(select(Category).where(
                         Category.kind == wf.SERVICE_REQUEST).order_by(Category.sort_order)).first(),
                     subject="Overdue (demo): doorstep cash withdrawal",
                     description="Not started yet: the next sweep flags it as breached.",
                     requester=_requester(pin.pincode))
    cases.raise_case(wf.OFFICE_TICKET, office=division, now=start, actor=_users_of(so)[0],
                     category=db.session.scalars(select(Category).where(
                         Category.kind == wf.OFFICE_TICKET).order_by(Category.sort_order)).first(),
                     subject="Overdue (demo): DARPAN login fails at the counter",
                     description="No reply yet: the next sweep flags it as breached.")


def _history_delivered():
    """The demo's messages are history: mark them delivered, so that switching to a real
    e-mail or SMS gateway never sends them to the made-up addresses and numbers. Messages
    written by actions taken after the load stay pending as usual."""
    from sqlalchemy import update

    from app.models import Notification

    db.session.execute(update(Notification).where(Notification.status == "pending")
                       .values(status="sent", sent_at=Notification.created_at, attempts=1))
    db.session.commit()


def _users_of(office) -> list[User]:
    return list(db.session.scalars(select(User).where(User.office_id == office.id)))


def _name():
    return f"{random.choice(FIRST)} {random.choice(LAST)}"


def _requester(pin):
    name = _name()
    return {"name": name, "mobile": f"9{random.randint(100000000, 999999999)}",
            "email": f"{name.split()[0].lower()}{random.randint(1, 99)}@example.in",
            "address": f"{random.randint(1, 200)}, {random.choice(['MG Road', 'Temple Street', 'Gandhi Nagar', 'Station Road'])}",
            "pincode": pin, "locale": random.choice(["en", "en", "hi", "fa"])}


def _try(case, action, when, **kw):
    try:
        cases.act(case, action, now=when, **kw)
        return True
    except WorkflowError:
        db.session.rollback()
        return False


def _ends_closed(kind, fate) -> bool:
    """Whether `_make_cases` takes a case of this kind and fate to `closed` (it mirrors
    the branches below; `tests/test_demo.py` holds the two together through the sweep)."""
    if kind == wf.SERVICE_REQUEST:
        return fate > 0.55
    if kind == wf.OFFICE_TICKET:
        return 0.6 < fate <= 0.7 or fate > 0.85
    if kind in (wf.COMPLAINT, wf.INTERACTION):
        return fate > 0.75
    return fate > 0.6 or fate <= L1_RESOLVED  # helpdesk


L1_RESOLVED = 0.15  # the share of demo calls the helpdesk (L1) resolves at first contact


def _make_cases(n, now, divisions, post_offices, externals, depts, teams, helpdesk):
    cats = {k: list(db.session.scalars(select(Category).where(Category.kind == k)))
            for k in wf.KINDS}
    pins = list(db.session.scalars(select(PincodeEntry)))
    all_users = {o.id: _users_of(o) for o in divisions + post_offices}
    for i in range(n):
        kind = wf.KINDS[i % len(wf.KINDS)]
        start = now - timedelta(days=random.uniform(0.1, 60), hours=random.uniform(0, 8))
        step = timedelta(hours=random.uniform(2, 30))
        fate = random.random()
        if not _ends_closed(kind, fate):
            # A case that is still being worked (or waits on the customer) was raised
            # within the last day, and its steps followed quickly: no response, resolution,
            # confirmation or information time has run out at the demo's clock. Only the
            # closed history goes back two months. (`_overdue_showcase` adds the few
            # cases that are overdue on purpose.)
            start = now - timedelta(hours=random.uniform(1, 20))
            step = timedelta(minutes=random.uniform(5, 14))
        if kind == wf.SERVICE_REQUEST:
            pin = random.choice(pins)
            division = db.session.get(type(divisions[0]), pin.division_id)
            svc = random.choice(cats[kind])
            case = cases.raise_case(kind, office=division, now=start, category=svc,
                                    description="Please visit in the morning; senior citizen at home.",
                                    requester=_requester(pin.pincode), channel=random.choice(["web", "app"]))
            handler = all_users[division.id][0]
            if fate > 0.25:
                _try(case, "start", start + step, actor=handler, text="Postman assigned for the visit.")
            if fate > 0.55:
                _try(case, "complete" if fate < 0.9 else "not_served", start + 2 * step, actor=handler,
                     text="Served at the doorstep." if fate < 0.9 else "Customer not available at the address.")
        elif kind == wf.OFFICE_TICKET:
            po = random.choice(post_offices)
            raiser = all_users[po.id][0]
            division = po.ancestor_of_kind("division")
            cat = random.choice(cats[kind])
            case = cases.raise_case(kind, office=division, now=start, actor=raiser, category=cat,
                                    subject=f"{cat.name_en}: DARPAN app problem at {po.name}",
                                    description="The DARPAN application shows an error since this morning.")
            div_user = _users_of(division)[0]
            t = start
            if fate > 0.2:
                t += step
                _try(case, "reply", t, actor=div_user, text="Please clear the app cache and sync again.")
            if fate > 0.45:
                t += step
                _try(case, "escalate", t, actor=div_user, text="Not solved locally; needs the Region.")
                region = case.current_office
                t += step
                _try(case, "reply", t, actor=_users_of(region)[0], text="Checking with the app team.")
                if 0.6 < fate <= 0.7:
                    t += step
                    _try(case, "close", t, actor=_users_of(region)[0], text="Fixed by a settings update.")
                if fate > 0.7:
                    t += step
                    _try(case, "escalate", t, actor=_users_of(region)[0], text="Needs the Circle.")
                    if fate > 0.78:
                        circle = case.current_office
                        t += step
                        _try(case, "escalate", t, actor=_users_of(circle)[-1],
                             text="Application defect: needs CEPT.")
            if fate > 0.85:
                t += step
                _try(case, "accept", t, actor=raiser, text="Working now, thank you.")
        elif kind == wf.COMPLAINT:
            po = random.choice(post_offices)
            operator = all_users[po.id][1] if len(all_users[po.id]) > 1 else all_users[po.id][0]
            typ = random.choice([c for c in cats[kind] if c.level == "type"])
            pin = random.choice(pins)
            case = cases.raise_case(kind, office=po, now=start, actor=operator, category=typ,
                                    channel="counter",
                                    description="Article booked on the first of the month has not reached.",
                                    requester=_requester(pin.pincode),
                                    data={"article": f"EE{random.randint(100000000, 999999999)}IN"})
            t = start + step
            _try(case, "start", t, actor=operator)
            if 0.2 < fate < 0.35:
                _try(case, "refer_external", t + step, actor=operator, target_office=random.choice(list(externals.values())),
                     text="Referred to the authority holding the article.")
            elif 0.35 <= fate < 0.45:
                _try(case, "request_info", t + step, actor=operator, text="Please send a copy of the booking receipt.")
            elif fate >= 0.45:
                _try(case, "propose_resolution", t + step, actor=operator,
                     text="The article was traced and delivered on the 12th.")
                if fate > 0.6:
                    outcome = "accept" if fate > 0.75 else "reject"
                    _try(case, outcome, t + 2 * step, as_=wf.REQUESTER,
                         text="" if outcome == "accept" else "The article never reached me.")
                    if outcome == "accept" and fate > 0.85:
                        _try(case, "rate", t + 3 * step, as_=wf.REQUESTER,
                             data={"rating": random.randint(3, 5), "comment": "Thank you."})
        elif kind == wf.INTERACTION:
            code = random.choice(list(depts))
            dept = depts[code]
            subj = random.choice([c for c in cats[kind] if c.department_id == dept.id])
            raiser = random.choice(all_users[random.choice(divisions).id])
            if random.random() < 0.3:  # addressed to a named colleague (seed 004, «همکار»)
                member = random.choice(_users_of(dept))
                case = cases.raise_case(kind, office=dept, now=start, actor=raiser, assignee=member,
                                        subject="Could you share the latest circular?",
                                        description="Could you share the latest circular?\nThanks.",
                                        priority=random.choice(["P2", "P3"]),
                                        data={"addressed_to": "colleague", "request_type": "question"})
            else:
                case = cases.raise_case(kind, office=dept, now=start, actor=raiser, category=subj,
                                        description="Kindly look into this at the earliest.",
                                        data={"addressed_to": "department"})
                member = _users_of(dept)[0]
            if fate > 0.3:
                _try(case, "propose_resolution", start + step, actor=member, text="Done; please check now.")
            if fate > 0.6:
                _try(case, "accept" if fate > 0.75 else "reject", start + 2 * step, actor=raiser,
                     text="" if fate > 0.75 else "Still not working.")
            if fate > 0.85:
                _try(case, "rate", start + 3 * step, actor=raiser,
                     data={"rating": random.randint(3, 5), "comment": "Thank you for the quick answer."})
        else:
            cat = random.choice(cats[kind])
            team = db.session.get(OrgUnit, cat.route_to_id)
            op = _users_of(helpdesk)[0]
            # Logged with the desk (L1, seed 002), which resolves a few calls itself and
            # escalates the others along their category's path.
            case = cases.raise_case(kind, office=helpdesk, now=start, actor=op, category=cat,
                                    priority=random.choice(["P1", "P2", "P3", "P4"]), channel="phone",
                                    subject=f"{cat.name_en} reported by caller",
                                    description="Caller reports the muster roll screen does not load.",
                                    requester={"name": _name(), "mobile": f"9{random.randint(100000000, 999999999)}"},
                                    classification=random.choice(["problem", "incident", "change_request", "bug_fix"]),
                                    data={"diagnosis": "Reproduced on the caller's login; not a local setting."})
            if fate <= L1_RESOLVED:
                _try(case, "close", start + step / 2, actor=op,
                     text="Resolved on the call: walked the caller through the screen.")
                continue
            _try(case, "escalate", start + step / 4, actor=op,
                 text="Not solvable at the helpdesk; the team of the category takes it.")
            member = _users_of(team)[0]
            if fate > 0.3:
                _try(case, "reply", start + step, actor=member, text="Looking into it.")
            if fate > 0.6:
                _try(case, "close", start + 2 * step, actor=member, text="Fixed in configuration.")


def _complaint_follow_ups(now):
    """Complaints only: updates from external authorities, repeat complaints that refer
    to closed ones, and a few closure reviews (one poor, opening a follow-up)."""
    from app.services.front_doors import complaint_reviews

    def of(status, n):
        return list(db.session.scalars(select(Case).where(Case.kind == wf.COMPLAINT, Case.status == status)
                                       .order_by(Case.id).limit(n)))

    for case in of(wf.PENDING_EXTERNAL, 3):
        handler = _users_of(case.current_office)[0]
        _try(case, "external_update", now - timedelta(hours=6), actor=handler,
             text=f"{case.external_office.name}: article under examination, reply expected in a week.")
    closed = of(wf.CLOSED, 6)
    for old in closed[:3]:
        operator = _users_of(old.current_office)[0]
        cases.raise_case(wf.COMPLAINT, office=old.current_office, now=now - timedelta(hours=3),
                         actor=operator, category=old.category, subject=old.subject, channel="counter",
                         description="The same problem has happened again after the earlier complaint was closed.",
                         related_case=old, requester={"name": old.requester_name, "mobile": old.requester_mobile,
                                                      "email": old.requester_email, "pincode": old.pincode})
    for old, verdict in zip(closed[3:], ("good", "good", "poor"), strict=False):
        circle = old.current_office.ancestor_of_kind("circle")
        reviewer = next((u for u in _users_of(circle) if u.has_role("supervisor")), None)
        if reviewer is not None:
            complaint_reviews.record(reviewer, old, verdict,
                                     "" if verdict == "good" else "The customer was not told about compensation.",
                                     now - timedelta(hours=1))
