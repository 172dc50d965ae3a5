"""Organizer setup forms. Labels and messages are Chinese (the UI's source language)."""
from __future__ import annotations

import string

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from judging.core.i18n import N_
from judging.contests.models import REWARD_ACCUMULATION, REWARD_SPLIT, SCORING_METHODS

CODE_RULE = Regexp(r"^[A-Za-z0-9]+$", message="代码只能由字母和数字组成")

ENTRY_CODE_FIELDS = {"类别代码", "组别代码", "序号", "学校代码", "届次"}
CERTIFICATE_NUMBER_FIELDS = {"年", "大赛代码", "类别代码", "组别代码", "等级序", "序号", "届次"}
CERTIFICATE_TEXT_FIELDS = {"姓名", "作品名称", "届次", "大赛名称", "类别", "组别", "等级", "指导教师", "学校", "学生", "日期"}


def placeholders(pattern: str) -> list[str]:
    """The {names} a pattern uses; raises ValueError when the braces are malformed."""
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]


def check_pattern(pattern: str, allowed: set[str], sample: dict | None = None) -> str | None:
    """A Chinese message naming what is wrong with a pattern, or None."""
    try:
        names = placeholders(pattern)
    except ValueError:
        return "花括号不成对，请检查格式"
    unknown = [n for n in names if n not in allowed]
    if unknown:
        return "未知的占位符：" + "、".join("{" + n + "}" for n in unknown) + "；可用：" + "、".join(
            "{" + n + "}" for n in sorted(allowed))
    if any(not n for n in names):
        return "占位符不能为空 {}"
    if sample is not None:
        try:
            pattern.format(**sample)
        except (ValueError, KeyError, IndexError):
            return "格式说明有误（例如 {序号:03d} 表示三位序号）"
    return None


def _pattern_validator(allowed: set[str], sample: dict | None = None):
    def validate(form, field):
        message = check_pattern(field.data or "", allowed, sample)
        if message:
            raise ValidationError(message)

    return validate


ENTRY_CODE_SAMPLE = {"类别代码": "XF", "组别代码": "X", "序号": 1, "学校代码": "S01", "届次": 13}
CERTIFICATE_NUMBER_SAMPLE = {"年": 2026, "大赛代码": "KC", "类别代码": "XF", "组别代码": "X", "等级序": 1,
                             "序号": 1, "届次": 13}


class EditionForm(FlaskForm):
    name = StringField(N_("大赛名称"), validators=[DataRequired("请填写大赛名称"), Length(max=120)],
                       description=N_("不含届次，例如：XX县青少年科技创新大赛"))
    number = IntegerField(N_("届次（数字）"), validators=[InputRequired("请填写届次"), NumberRange(1, 999, "届次应为1到999")])
    code = StringField(N_("大赛代码"), validators=[DataRequired("请填写大赛代码"), Length(max=20), CODE_RULE],
                       description=N_("用于证书编号，例如 KC"))
    theme = StringField(N_("主题"), validators=[Optional(), Length(max=120)])
    organizers = StringField(N_("主办单位"), validators=[Optional(), Length(max=255)])
    school_year = StringField(N_("学年"), validators=[Optional(), Length(max=20)], description=N_("例如 2026-2027"))
    registration_opens = DateTimeLocalField(N_("报名开始"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    registration_closes = DateTimeLocalField(N_("报名截止"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    registration_locked = BooleanField(N_("锁定报名（学校不可再修改）"))
    judging_starts = DateField(N_("评审开始日期"), validators=[Optional()])
    judging_ends = DateField(N_("评审结束日期"), validators=[Optional()])
    notice_days = IntegerField(N_("公示天数"), validators=[InputRequired("请填写公示天数"), NumberRange(0, 60, "公示天数应为0到60")])
    max_entries_per_class = IntegerField(N_("每班每类别作品上限"), validators=[Optional(), NumberRange(1, 999, "应为正整数")],
                                         description=N_("留空表示不限"))
    max_entries_per_school = IntegerField(N_("每校每类别作品上限"), validators=[Optional(), NumberRange(1, 9999, "应为正整数")],
                                          description=N_("留空表示不限"))
    entry_code_pattern = StringField(
        "作品编号格式", validators=[DataRequired("请填写作品编号格式"), Length(max=80),
                              _pattern_validator(ENTRY_CODE_FIELDS, ENTRY_CODE_SAMPLE)],
        description=N_("可用 {类别代码} {组别代码} {序号:03d} {学校代码} {届次}"))
    scoring_method = SelectField(N_("评分方法"), choices=list(SCORING_METHODS.items()))
    trim_min_judges = IntegerField(N_("去极值最少评委数"), validators=[InputRequired("请填写"), NumberRange(3, 99, "应为3到99")],
                                   description=N_("评委数达到此数时去掉一个最高分和一个最低分"))
    min_judges = IntegerField(N_("最少评委数"), validators=[InputRequired("请填写"), NumberRange(1, 99, "应为1到99")],
                              description=N_("评分人数少于此数的作品不参与排名，并提示组委会"))
    reward_split = SelectField(N_("合作指导教师奖励"), choices=list(REWARD_SPLIT.items()))
    reward_accumulation = SelectField(N_("多件作品奖励"), choices=list(REWARD_ACCUMULATION.items()))
    org_award_enabled = BooleanField(N_("评选优秀组织奖"))
    org_award_min_entries = IntegerField(N_("优秀组织奖最少参赛作品数"), validators=[InputRequired("请填写"), NumberRange(0, 9999, "应为非负整数")])

    def validate_registration_closes(self, field):
        if field.data and self.registration_opens.data and field.data <= self.registration_opens.data:
            raise ValidationError("报名截止时间应晚于报名开始时间")

    def validate_judging_ends(self, field):
        if field.data and self.judging_starts.data and field.data < self.judging_starts.data:
            raise ValidationError("评审结束日期不能早于开始日期")


class CopyEditionForm(FlaskForm):
    name = StringField(N_("大赛名称"), validators=[DataRequired("请填写大赛名称"), Length(max=120)])
    number = IntegerField(N_("新届次（数字）"), validators=[InputRequired("请填写届次"), NumberRange(1, 999, "届次应为1到999")])
    theme = StringField(N_("主题"), validators=[Optional(), Length(max=120)])
    school_year = StringField(N_("学年"), validators=[Optional(), Length(max=20)])


class CategoryForm(FlaskForm):
    code = StringField(N_("类别代码"), validators=[DataRequired("请填写类别代码"), Length(max=10), CODE_RULE],
                       description=N_("例如 XF"))
    name = StringField(N_("类别名称"), validators=[DataRequired("请填写类别名称"), Length(max=40)])
    subforms = StringField(N_("作品形式（可选）"), validators=[Optional(), Length(max=200)],
                           description=N_("用顿号分隔，例如：卡通画、素描画、国画"))
    max_students = IntegerField(N_("每件作品学生人数上限"), validators=[InputRequired("请填写"), NumberRange(1, 10, "应为1到10")])
    max_instructors = IntegerField(N_("指导教师人数上限"), validators=[InputRequired("请填写"), NumberRange(0, 5, "应为0到5")])
    position = IntegerField(N_("排序"), validators=[Optional(), NumberRange(0, 999, "应为0到999")])


class DivisionForm(FlaskForm):
    code = StringField(N_("组别代码"), validators=[DataRequired("请填写组别代码"), Length(max=10), CODE_RULE],
                       description=N_("例如 X（小学组）、C（初中组）"))
    name = StringField(N_("组别名称"), validators=[DataRequired("请填写组别名称"), Length(max=40)])
    position = IntegerField(N_("排序"), validators=[Optional(), NumberRange(0, 999, "应为0到999")])


class CriterionRow(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token

    criterion_id = HiddenField()
    name = StringField(N_("指标"), validators=[Optional(), Length(max=40)])
    max_points = DecimalField(N_("满分"), places=1, validators=[Optional(), NumberRange(0.1, 100, "满分应在0.1到100之间")])
    descriptor = TextAreaField(N_("说明"), validators=[Optional(), Length(max=2000)])

    def validate_max_points(self, field):
        if field.data is not None and field.data != field.data.quantize(type(field.data)("0.1")):
            raise ValidationError("满分最多一位小数")


class RubricForm(FlaskForm):
    rows = FieldList(FormField(CriterionRow), min_entries=1)


class PrizeLevelRow(FlaskForm):
    class Meta:
        csrf = False

    level_id = HiddenField()
    name = StringField(N_("奖项"), validators=[Optional(), Length(max=20)])
    reward_amount = DecimalField(N_("奖励金额（元）"), places=2, validators=[Optional(), NumberRange(0, 100000, "金额应在0到100000之间")])
    reward_points = DecimalField(N_("加分"), places=2, validators=[Optional(), NumberRange(0, 100, "加分应在0到100之间")])
    instructor_certificate = BooleanField(N_("颁发优秀指导教师证书"))
    org_points = IntegerField(N_("优秀组织奖积分"), validators=[Optional(), NumberRange(0, 100, "积分应在0到100之间")])


class PrizeLevelsForm(FlaskForm):
    rows = FieldList(FormField(PrizeLevelRow), min_entries=1)


class CertificateSettingsForm(FlaskForm):
    issuer = StringField(N_("落款单位"), validators=[Optional(), Length(max=255)], description=N_("证书右下角的颁发单位"))
    issue_date = DateField(N_("颁发日期"), validators=[Optional()], description=N_("证书上以中文数字印出，例如 二〇二六年十一月"))
    student_text = TextAreaField(N_("学生证书正文"), validators=[DataRequired("请填写证书正文"),
                                                      _pattern_validator(CERTIFICATE_TEXT_FIELDS)])
    instructor_text = TextAreaField(N_("优秀指导教师证书正文"), validators=[DataRequired("请填写证书正文"),
                                                             _pattern_validator(CERTIFICATE_TEXT_FIELDS)])
    school_text = TextAreaField(N_("优秀组织奖证书正文"), validators=[DataRequired("请填写证书正文"),
                                                        _pattern_validator(CERTIFICATE_TEXT_FIELDS)])
    number_pattern = StringField(N_("证书编号格式"), validators=[
        DataRequired("请填写证书编号格式"), Length(max=120),
        _pattern_validator(CERTIFICATE_NUMBER_FIELDS, CERTIFICATE_NUMBER_SAMPLE)])
    one_per_member = BooleanField(N_("集体作品每位学生各发一张证书"))
    org_award_count = IntegerField(N_("优秀组织奖名额（所）"), validators=[
        Optional(), NumberRange(1, 999, "优秀组织奖名额应为1到999所")],
        description=N_("按积分名次颁发，名次并列的一并颁发；不填则所有达到参评作品数且有积分的学校都颁发"))

    def validate_number_pattern(self, field):
        try:
            names = placeholders(field.data or "")
        except ValueError:
            return  # the pattern validator has said so
        if "序号" not in names:
            raise ValidationError("编号格式必须包含 {序号}（例如 {序号:04d}），否则同组证书的编号会重复")
