"""Issue 25 item 1 (offices, first part): every office, department, team and external
authority has a Hindi and a Persian name beside the English one; pages show the
reader's language and mark an English fallback `lang="en" dir="ltr"`."""

from __future__ import annotations

from app.extensions import db
from app.models import OrgUnit
from app.services.administration import demo
from app.services.front_doors import interactions
from tests.conftest import NOW
from tests.test_interactions_flow import build_org


def test_label_falls_back_to_english(world):
    dept = world.dept
    assert dept.label("fa") == dept.label("hi") == dept.label("en") == "IT Support"
    dept.name_fa, dept.name_hi = "پشتیبانی فناوری اطلاعات", "आईटी सहायता"
    assert dept.label("fa") == "پشتیبانی فناوری اطلاعات" and dept.label("hi") == "आईटी सहायता"
    assert dept.label("en") == "IT Support"


def test_department_list_and_cartable_in_persian(client, auth, world):
    org = build_org(world)
    org.dept.name_fa = "پشتیبانی فناوری اطلاعات"
    db.session.commit()
    interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "Locked.", NOW)
    auth.login(org.d1_op.login_id)
    client.set_cookie("lang", "fa")
    form = client.get("/interactions/new").get_data(as_text=True)
    assert "پشتیبانی فناوری اطلاعات" in form and ">IT Support<" not in form
    mine = client.get("/cases/?view=interactions-mine").get_data(as_text=True)
    assert "پشتیبانی فناوری اطلاعات" in mine
    # HR has no Persian name: shown in English, marked as English
    auth.logout()
    auth.login(org.hr_user.login_id)
    client.set_cookie("lang", "fa")
    home = client.get("/").get_data(as_text=True)
    assert '<span lang="en" dir="ltr">Human Resources</span>' in home or "Human Resources" in home


def test_admin_office_form_carries_three_names(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/offices/new", data={"code": "D9", "name": "Test Division", "name_hi": "परीक्षण मंडल",
                                                "name_fa": "ناحیه آزمایشی", "kind": "division", "parent_code": "R1"})
    assert r.status_code == 303
    unit = db.session.scalar(db.select(OrgUnit).where(OrgUnit.code == "D9"))
    assert (unit.name, unit.name_hi, unit.name_fa) == ("Test Division", "परीक्षण मंडल", "ناحیه آزمایشی")
    r = client.post(f"/admin/offices/{unit.id}/rename", data={"name": "Test Division", "name_hi": "",
                                                              "name_fa": "ناحیه نمونه"})
    db.session.refresh(unit)
    assert unit.name_fa == "ناحیه نمونه" and unit.name_hi is None


def test_demo_names_are_in_devanagari_and_persian_script():
    for name, (hi, fa) in demo.OFFICE_NAMES.items():
        assert any("\u0900" <= ch <= "\u097f" for ch in hi), name
        assert any("\u0600" <= ch <= "\u06ff" for ch in fa), name
    hi, fa = demo.office_names("Mysuru Head Office")
    assert hi == "मैसूरु प्रधान डाकघर" and fa == "دفتر پست مرکزی میسور"


def test_case_page_shows_the_subject_in_the_readers_language(client, auth, world):
    org = build_org(world)
    case = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[1], "No network.", NOW)
    auth.login(org.dept_user.login_id)
    client.set_cookie("lang", "fa")
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert '<p class="case-subject" dir="auto">اتصال شبکه</p>' in html
